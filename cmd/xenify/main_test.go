package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/xenify/xenify/xerr"
)

// helperEnv makes the test binary, run again as a child, act as xenify
// with a stand-in for the work (see TestMain).
const helperEnv = "XENIFY_SIGNAL_HELPER"

// TestMain lets the test binary play xenify with runWithSignals and a
// work function that either honours its context ("honours") or blocks
// in a way no context can interrupt ("stuck", as a read of a FIFO did).
func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "honours":
		os.Exit(runWithSignals(nil, os.Stdin, os.Stdout, os.Stderr, func(ctx context.Context, _ []string, _ io.Reader, stdout, _ io.Writer) int {
			fmt.Fprintln(stdout, "ready")
			<-ctx.Done()
			return xerr.ExitInterrupted
		}))
	case "stuck":
		os.Exit(runWithSignals(nil, os.Stdin, os.Stdout, os.Stderr, func(ctx context.Context, _ []string, _ io.Reader, stdout, _ io.Writer) int {
			fmt.Fprintln(stdout, "ready")
			select {} // never returns, whatever the context says
		}))
	}
}

// helper starts the test binary as xenify with the given work, and
// returns once it has set up its signal handling.
func helper(t *testing.T, work string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+work)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("helper said %q, %v; want ready", line, err)
	}
	return cmd, bufio.NewReader(stderr)
}

func exitOf(t *testing.T, cmd *exec.Cmd) *os.ProcessState {
	t.Helper()
	err := cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState
}

// The first SIGINT or SIGTERM cancels the work's context: xenify stops
// and exits 130.
func TestFirstSignalCancels(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd, _ := helper(t, "honours")
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if st := exitOf(t, cmd); st.ExitCode() != xerr.ExitInterrupted {
				t.Errorf("after %v: %v, want exit %d", sig, st, xerr.ExitInterrupted)
			}
		})
	}
}

// A second signal kills xenify when the work does not return after the
// first. Before the first signal restored the default action, the second
// was swallowed too, and this test never ended.
func TestSecondSignalKills(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd, stderr := helper(t, "stuck")
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			// The notice comes after the default action is back.
			line, err := stderr.ReadString('\n')
			if err != nil || !strings.Contains(line, "a second signal kills") {
				t.Fatalf("after the first %v xenify said %q, %v; want the notice", sig, line, err)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			st := exitOf(t, cmd)
			ws, ok := st.Sys().(syscall.WaitStatus)
			if !ok || !ws.Signaled() || ws.Signal() != sig {
				t.Errorf("after the second %v: %v, want killed by %v", sig, st, sig)
			}
		})
	}
}

// The built xenify, copying a 20 GiB sparse image (minutes of work),
// stops on SIGINT: the copy's context is cancelled, and xenify exits 130.
func TestBuiltBinaryStopsOnSignal(t *testing.T) {
	gobin, err := exec.LookPath("go") // go test puts GOROOT/bin first in PATH
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "xenify")
	if out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "big.img")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(20 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cmd := exec.Command(bin, "copy", "--json", src, filepath.Join(dir, "copy.img"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	r := bufio.NewReader(stdout)
	if line, err := r.ReadString('\n'); err != nil || !strings.Contains(line, `"progress"`) {
		t.Fatalf("xenify copy said %q, %v; want a progress line", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, r)
	if st := exitOf(t, cmd); st.ExitCode() != xerr.ExitInterrupted {
		t.Errorf("xenify copy after SIGINT: %v, want exit %d", st, xerr.ExitInterrupted)
	}
}
