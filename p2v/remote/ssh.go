package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xenify/xenify/run"
)

// Errors that name why a connection could not be used. The ssh client's
// own explanation is part of the message.
var (
	// ErrHostKey: the remote's host key is unknown or does not match
	// known_hosts. It is never accepted silently.
	ErrHostKey = errors.New("host key not trusted")
	// ErrConnect: ssh could not connect or log in.
	ErrConnect = errors.New("cannot connect")
	// ErrConnLost: the connection went away during the job; running the
	// same command again resumes.
	ErrConnLost = errors.New("connection lost")
)

// Options configure a connection.
type Options struct {
	// ConfigFile is passed to ssh -F; "" uses ~/.ssh/config as usual.
	ConfigFile string
	// Compress sends extent data through gzip -1 on the remote side when
	// it has gzip.
	Compress bool
	// BWLimit caps the bytes per second read from the connection (after
	// compression); 0 is unlimited.
	BWLimit int64
	// Runner runs ssh; default run.Exec.
	Runner run.Runner
	Logger *slog.Logger
}

// Conn is one multiplexed OpenSSH connection: a master process
// (ControlMaster) owned by this Conn, whose control socket lives in a
// private temporary directory, and one short-lived ssh client per command.
type Conn struct {
	t      Target
	opt    Options
	dir    string
	ctl    string
	env    []string
	cancel context.CancelFunc
	done   chan struct{} // closed when the master exits
	mu     sync.Mutex
	err    error // the master's exit
	stats  Stats
}

// Stats count what went over the connection.
type Stats struct {
	Commands int64 `json:"commands"`
	// BytesIn are bytes of command output received (compressed data when
	// compressing), BytesOut the command lines sent.
	BytesIn  int64 `json:"bytes_in"`
	BytesOut int64 `json:"bytes_out"`
}

// Dial starts the master connection and waits until it is authenticated.
// Host keys are checked strictly (an unknown or changed key is refused);
// BatchMode forbids password prompts.
func Dial(ctx context.Context, t Target, opt Options) (*Conn, error) {
	if opt.Runner == nil {
		opt.Runner = run.Exec{Log: opt.Logger}
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	dir, err := os.MkdirTemp("", "xenify-ssh-")
	if err != nil {
		return nil, fmt.Errorf("creating the ssh control directory: %w", err)
	}
	c := &Conn{t: t, opt: opt, dir: dir, ctl: filepath.Join(dir, "ctl"), env: os.Environ(), done: make(chan struct{})}
	mctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go func() {
		// The master lives as long as this Conn (ControlPersist=no): it
		// dies with xenify instead of lingering in the background.
		_, err := opt.Runner.Run(mctx, run.Cmd{Argv: c.argv("-M", "-N", "-o", "ControlPersist=no"), Env: c.env})
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		close(c.done)
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if st, err := os.Stat(c.ctl); err == nil && st.Mode()&fs.ModeSocket != 0 {
			return c, nil
		}
		select {
		case <-c.done:
			err := c.masterErr()
			c.Close()
			return nil, err
		case <-ctx.Done():
			c.Close()
			return nil, ctx.Err()
		case <-tick.C:
		}
	}
}

// argv is the ssh command line: the user's config, then options that
// xenify insists on, then extra, then the host.
func (c *Conn) argv(extra ...string) []string {
	a := []string{run.SSH}
	if c.opt.ConfigFile != "" {
		a = append(a, "-F", c.opt.ConfigFile)
	}
	a = append(a,
		"-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "ControlPath="+c.ctl,
		"-o", "ClearAllForwardings=yes",
		// The data is either random-looking or already gzip'ed
		// (--compress): ssh's own zlib would only cost CPU.
		"-o", "Compression=no",
		"-o", "ServerAliveInterval=15",
		"-o", "ServerAliveCountMax=4",
		"-a", "-x", "-T")
	if c.t.User != "" {
		a = append(a, "-l", c.t.User)
	}
	if c.t.Port != 0 {
		a = append(a, "-p", strconv.Itoa(c.t.Port))
	}
	a = append(a, extra...)
	return append(a, "--", c.t.Host)
}

// masterErr explains why the master is gone, with ssh's own reason.
func (c *Conn) masterErr() error {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	reason := "the ssh master exited"
	var re *run.Error
	if errors.As(err, &re) {
		if s := sshReason(re.Stderr); s != "" {
			reason = s
		}
	} else if err != nil {
		reason = err.Error()
	}
	host := c.t.String()
	host = strings.TrimSuffix(host, c.t.Device)
	switch {
	case strings.Contains(reason, "Host key verification failed"), strings.Contains(reason, "IDENTIFICATION HAS CHANGED"),
		strings.Contains(reason, "No ") && strings.Contains(reason, "host key is known"):
		return fmt.Errorf("%w: %s: %s", ErrHostKey, host, reason)
	}
	return fmt.Errorf("%w to %s: %s", ErrConnect, host, reason)
}

// sshReason keeps the lines of ssh's stderr that explain a failure,
// without the banner frames.
func sshReason(stderr string) string {
	var keep []string
	for _, l := range strings.Split(stderr, "\n") {
		l = strings.TrimSpace(strings.Trim(strings.TrimSpace(l), "@"))
		if l == "" || strings.HasPrefix(l, "Warning: Permanently added") {
			continue
		}
		keep = append(keep, l)
	}
	if len(keep) > 16 {
		keep = keep[len(keep)-16:]
	}
	return strings.Join(keep, "\n  ")
}

// Alive tells whether the master still runs.
func (c *Conn) Alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// Stats returns the counters so far.
func (c *Conn) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

func (c *Conn) count(in, out int64, cmds int64) {
	c.mu.Lock()
	c.stats.BytesIn += in
	c.stats.BytesOut += out
	c.stats.Commands += cmds
	c.mu.Unlock()
}

// Run runs script with the remote's POSIX sh through the master and
// returns its stdout, or streams it into stdout when that is not nil.
func (c *Conn) Run(ctx context.Context, script string, stdout io.Writer) ([]byte, error) {
	if !c.Alive() {
		return nil, fmt.Errorf("%w: %v", ErrConnLost, c.masterErr())
	}
	// The login shell may not be a POSIX shell; sh is.
	line := "sh -c " + run.Quote(script)
	c.count(0, int64(len(line)), 1)
	out, err := c.opt.Runner.Run(ctx, run.Cmd{Argv: append(c.argv("-o", "ControlMaster=no"), line), Env: c.env, Stdout: stdout})
	c.count(int64(len(out)), 0, 0)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !c.Alive() {
			return nil, fmt.Errorf("%w: %v", ErrConnLost, c.masterErr())
		}
		var re *run.Error
		if errors.As(err, &re) && re.ExitCode == 255 {
			return nil, fmt.Errorf("%w: %s", ErrConnLost, sshReason(re.Stderr))
		}
		return nil, err
	}
	return out, nil
}

// Close stops the master and removes the control directory.
func (c *Conn) Close() error {
	c.cancel()
	<-c.done
	return os.RemoveAll(c.dir)
}
