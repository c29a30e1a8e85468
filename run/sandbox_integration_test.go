package run_test

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/xenify/xenify/internal/testenv"
	"github.com/xenify/xenify/run"
)

// TestIntegrationSandbox runs a hostile guest command and checks it can
// reach neither the host's disks nor its processes, sees only the private
// /dev, and that none of the sandbox's mounts shows on the host even when
// the guest root is a shared mount (as under systemd), where a mount that
// is not private would propagate back.
func TestIntegrationSandbox(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTools(t, "losetup", "sleep")
	root := testenv.BusyboxGuest(t)
	if err := unix.Mount(root, root, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(root, unix.MNT_DETACH) })
	if err := unix.Mount("", root, "", unix.MS_SHARED, ""); err != nil {
		t.Fatal(err)
	}
	const marker = "HOST-DISK-MARKER"
	disk := testenv.HostDisk(t, marker)
	sleep := testenv.HostSleeper(t)
	if err := os.WriteFile(filepath.Join(root, "sbin/mkinitrd"), []byte(testenv.HostileScript(disk, marker, sleep.Process.Pid)), 0o755); err != nil {
		t.Fatal(err)
	}
	before := mountinfoUnder(t, root)

	// The script prints "ready" and waits on stdin while its mounts are
	// up: the host's mount table is checked at that point.
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdinW.Close()
	streamR, streamW := io.Pipe()
	var during []string
	go func() {
		sc := bufio.NewScanner(streamR)
		for sc.Scan() {
			if sc.Text() == "ready" {
				during = mountinfoUnder(t, root)
				stdinW.Close()
			}
		}
	}()
	out, err := run.Exec{}.Run(context.Background(), run.Cmd{Argv: []string{"/sbin/mkinitrd"}, Chroot: root, Stdin: stdinR, Stream: streamW})
	streamW.Close()
	stdinR.Close()
	if err != nil {
		t.Fatalf("Run(hostile mkinitrd) = %v", err)
	}
	if during == nil {
		t.Fatalf("the guest command never said ready:\n%s", out)
	}
	if diff := cmp.Diff(before, during); diff != "" {
		t.Errorf("while the guest command ran, the host's mounts under the guest changed (-before +during):\n%s", diff)
	}
	got := testenv.ParseReport(string(out))
	for _, k := range testenv.HostileAttempts {
		if got[k] != "blocked" {
			t.Errorf("guest attempt %s: %q, want blocked\nfull report:\n%s", k, got[k], out)
		}
	}
	if got["pid"] == "" || len(got["pid"]) > 2 {
		t.Errorf("guest shell pid = %q, want a small pid of its own PID namespace", got["pid"])
	}
	dev := strings.Fields(got["dev"])
	sort.Strings(dev)
	want := []string{"console", "fd", "full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty", "urandom", "zero"}
	if diff := cmp.Diff(want, dev); diff != "" {
		t.Errorf("guest /dev (-want +got):\n%s", diff)
	}
	if !testenv.Alive(t, sleep) {
		t.Errorf("host process %d was killed by the guest command", sleep.Process.Pid)
	}
	if h := testenv.ReadHead(t, disk, len(marker)); h != marker {
		t.Errorf("host disk %s starts %q after the guest command, want %q", disk, h, marker)
	}
	if diff := cmp.Diff(before, mountinfoUnder(t, root)); diff != "" {
		t.Errorf("host mounts under the guest changed (-before +after):\n%s", diff)
	}
}

func mountinfoUnder(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			out = append(out, f[4])
		}
	}
	sort.Strings(out)
	return out
}

// TestIntegrationSandboxExit checks the guest command's own failure and
// output still come back as before, and a missing command is a clear
// error.
func TestIntegrationSandboxExit(t *testing.T) {
	testenv.RequireRoot(t)
	root := testenv.BusyboxGuest(t)
	_, err := run.Exec{}.Run(context.Background(), run.Cmd{Argv: []string{"/bin/sh", "-c", "echo out; echo err >&2; exit 7"}, Chroot: root})
	re, ok := err.(*run.Error)
	if !ok || re.ExitCode != 7 || re.Stdout != "out\n" || re.Stderr != "err\n" {
		t.Errorf("Run(exit 7) = %#v, want *run.Error with exit 7, stdout out, stderr err", err)
	}
	_, err = run.Exec{}.Run(context.Background(), run.Cmd{Argv: []string{"/sbin/missing"}, Chroot: root})
	if err == nil || !strings.Contains(err.Error(), "starting /sbin/missing in the guest") {
		t.Errorf("Run(missing command) = %v, want an error naming it", err)
	}
}

// TestIntegrationSandboxLeakStopsCommand mounts a tmpfs under the guest
// on the host while a guest command runs (as a sandbox whose mounts
// propagated would): the command must fail, naming the mount, and the
// mount must be gone from the host afterwards.
func TestIntegrationSandboxLeakStopsCommand(t *testing.T) {
	testenv.RequireRoot(t)
	root := testenv.BusyboxGuest(t)
	leak := filepath.Join(root, "tmp")
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdinW.Close()
	streamR, streamW := io.Pipe()
	mountErr := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(streamR)
		for sc.Scan() {
			if sc.Text() == "ready" {
				mountErr <- unix.Mount("tmpfs", leak, "tmpfs", 0, "size=1m")
				stdinW.Close()
			}
		}
	}()
	_, err = run.Exec{}.Run(context.Background(), run.Cmd{
		Argv: []string{"/bin/sh", "-c", "echo ready; read line || true"}, Chroot: root,
		Stdin: stdinR, Stream: streamW,
	})
	streamW.Close()
	if merr := <-mountErr; merr != nil {
		t.Fatalf("mounting the stand-in leak: %v", merr)
	}
	if err == nil || !strings.Contains(err.Error(), "leaked onto the host") || !strings.Contains(err.Error(), leak) {
		t.Errorf("Run with a mount leaked to %s = %v, want an error naming it", leak, err)
	}
	if got := mountinfoUnder(t, leak); len(got) != 0 {
		t.Errorf("host mounts under %s after Run = %v, want none", leak, got)
	}
}
