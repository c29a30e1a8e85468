// Package run is xenify's single way to run external commands.
//
// Commands are argv slices, never shell strings; the quoted command line is
// logged; on failure stdout and stderr are folded into the error. Commands
// for the guest (Cmd.Chroot set) run in a sandbox of their own namespaces,
// chrooted into the guest root through SysProcAttr.Chroot (sandbox.go):
// the xenify process itself never changes its root.
package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Cmd describes one command.
type Cmd struct {
	Argv   []string
	Chroot string   // host path of a root to chroot into; "" runs on the host
	Dir    string   // working directory (inside the chroot when set)
	Env    []string // full environment; nil means a minimal default
	Stdin  io.Reader
	// Stream, if set, receives combined output as it is produced (for
	// progress on long guest commands such as yum).
	Stream io.Writer
	// Stdout, if set, receives stdout as it is produced instead of Run
	// returning it (for bulk data such as a disk read over ssh, which
	// must not be held in memory twice). Stderr is still captured.
	Stdout io.Writer
}

// String quotes the command line for logs and errors.
func (c Cmd) String() string {
	q := make([]string, len(c.Argv))
	for i, a := range c.Argv {
		q[i] = Quote(a)
	}
	s := strings.Join(q, " ")
	if c.Chroot != "" {
		s = "chroot " + Quote(c.Chroot) + " " + s
	}
	return s
}

// Quote quotes one argument for display in POSIX shell syntax.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Error is a failed command with its output.
type Error struct {
	Cmd      string
	ExitCode int
	Stdout   string
	Stderr   string
	Err      error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "running %s: %v", e.Cmd, e.Err)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		fmt.Fprintf(&b, "\nstderr:\n%s", indent(tail(s, 40)))
	}
	if s := strings.TrimSpace(e.Stdout); s != "" {
		fmt.Fprintf(&b, "\nstdout:\n%s", indent(tail(s, 20)))
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines omitted]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

func indent(s string) string { return "  " + strings.ReplaceAll(s, "\n", "\n  ") }

// Runner runs commands. Tests substitute their own.
type Runner interface {
	Run(ctx context.Context, c Cmd) (stdout []byte, err error)
}

// Exec runs commands for real.
type Exec struct {
	// Log receives the command log: each command, at level Info. Nil
	// uses the logger the context carries (WithLog), else none.
	Log *slog.Logger
}

type logKey struct{}

// WithLog returns a context whose commands log to log, for code that
// runs commands several layers down (attaching loop devices, guest
// commands) without a logger of its own.
func WithLog(ctx context.Context, log *slog.Logger) context.Context {
	return context.WithValue(ctx, logKey{}, log)
}

// logger is e.Log, the context's logger, or one that discards.
func (e Exec) logger(ctx context.Context) *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	if l, ok := ctx.Value(logKey{}).(*slog.Logger); ok && l != nil {
		return l
	}
	return slog.New(slog.DiscardHandler)
}

// DefaultEnv is the environment of commands that set none: a fixed PATH
// that suits both old and new guests, and the C locale for parseable output.
var DefaultEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"LC_ALL=C",
	"LANG=C",
	"HOME=/root",
	"TERM=dumb",
	"DEBIAN_FRONTEND=noninteractive",
}

// Run runs c and returns its stdout. A command with Chroot set runs in
// the guest sandbox (see sandbox.go).
func (e Exec) Run(ctx context.Context, c Cmd) ([]byte, error) {
	if len(c.Argv) == 0 {
		return nil, errors.New("run: empty command")
	}
	e.logger(ctx).Info("running", "cmd", c.String())
	env := c.Env
	if env == nil {
		env = DefaultEnv
	}
	var (
		cmd    *exec.Cmd
		status *os.File
		before map[string]int
	)
	if c.Chroot != "" {
		var w *os.File
		var err error
		if before, err = mountsUnder(c.Chroot); err != nil {
			return nil, fmt.Errorf("reading the host's mounts: %w", err)
		}
		cmd, status, w, err = sandboxCmd(c, env)
		if err != nil {
			return nil, err
		}
		defer status.Close()
		defer w.Close()
		// Pdeathsig fires when the thread that started the sandbox
		// exits: keep this goroutine on it until the sandbox is done.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	} else {
		cmd = exec.Command(c.Argv[0], c.Argv[1:]...)
		cmd.Dir = c.Dir
		cmd.Env = env
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.Stdin = c.Stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if c.Stream != nil {
		cmd.Stdout = io.MultiWriter(&stdout, c.Stream)
		cmd.Stderr = io.MultiWriter(&stderr, c.Stream)
	}
	if c.Stdout != nil {
		cmd.Stdout = c.Stdout
	}
	// Kill the whole process group on cancellation (guest package managers
	// fork helpers; a sandbox takes its namespace down with it).
	cmd.SysProcAttr.Setpgid = true
	err := cmd.Start()
	if err == nil {
		if c.Chroot != "" {
			cmd.ExtraFiles[0].Close()
		}
		stop := context.AfterFunc(ctx, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
		err = cmd.Wait()
		stop()
	}
	code := -1
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	if c.Chroot != "" && cmd.Process != nil {
		report, _ := io.ReadAll(status)
		code, err = sandboxResult(report, err)
		after, merr := mountsUnder(c.Chroot)
		if merr == nil {
			merr = unmountLeaked(before, after, unix.Unmount)
		}
		if merr != nil {
			// Not a failure of the guest command: the convert must
			// stop on it.
			return stdout.Bytes(), errors.Join(err, merr)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return stdout.Bytes(), &Error{Cmd: c.String(), ExitCode: code, Stdout: stdout.String(), Stderr: stderr.String(), Err: err}
	}
	return stdout.Bytes(), nil
}
