package testenv

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// BusyboxGuest makes a minimal guest root: a static busybox as /bin/sh and
// the directories the sandbox mounts on.
func BusyboxGuest(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	for _, d := range []string{"bin", "sbin", "dev", "proc", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	InstallBusybox(t, root)
	return root
}

// InstallBusybox puts the host's static busybox into the guest tree as
// /bin/busybox and /bin/sh, and detaches anything left mounted under
// root when the test ends (see UnmountUnder).
func InstallBusybox(t *testing.T, root string) {
	t.Helper()
	RequireTools(t, "busybox")
	bb, _ := exec.LookPath("busybox")
	if out, err := exec.Command("cp", bb, filepath.Join(root, "bin/busybox")).CombinedOutput(); err != nil {
		t.Fatalf("cp busybox: %v\n%s", err, out)
	}
	sh := filepath.Join(root, "bin/sh")
	if err := os.Remove(sh); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if err := os.Symlink("busybox", sh); err != nil {
		t.Fatal(err)
	}
	UnmountUnder(t, root)
}

// HostDisk attaches a loop device over a file that starts with marker.
func HostDisk(t *testing.T, marker string) (dev string) {
	t.Helper()
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, append([]byte(marker), make([]byte, 1<<20-len(marker))...), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "-f", "--show", img).Output()
	if err != nil {
		t.Fatalf("losetup -f --show %s: %v", img, err)
	}
	dev = strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
	return dev
}

// HostSleeper starts a host process for the guest to try to kill.
func HostSleeper(t *testing.T) *exec.Cmd {
	t.Helper()
	sleep := exec.Command("sleep", "3600")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
	return sleep
}

// Alive reports whether p is still running (not exited, not a zombie).
func Alive(t *testing.T, p *exec.Cmd) bool {
	var ws unix.WaitStatus
	pid, err := unix.Wait4(p.Process.Pid, &ws, unix.WNOHANG, nil)
	if err != nil {
		t.Fatalf("wait4(%d): %v", p.Process.Pid, err)
	}
	return pid == 0
}

// ReadHead reads the first n bytes of dev.
func ReadHead(t *testing.T, dev string, n int) string {
	t.Helper()
	f, err := os.Open(dev)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, 0); err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// HostileAttempts names every attempt HostileScript makes.
var HostileAttempts = []string{"open-host-disk", "write-host-disk", "open-vda", "mknod-host-disk", "mknod-in-dev",
	"mount-devtmpfs", "remount-dev", "kill-host-process", "see-host-process", "set-hostname", "write-sysctl"}

// HostileScript is a guest "mkinitrd" that tries to reach the host in
// every way a root shell script could without exploiting a kernel bug, and
// prints one "name: reached" or "name: blocked" line per attempt. Each
// attempt is harmless when it succeeds (it writes back what is there,
// signals 0, unmounts what it mounted, removes the node it made), because
// run against code without the sandbox it does succeed: a devtmpfs left
// mounted in a test's temporary directory lets the directory's removal
// delete the host's /dev.
func HostileScript(disk, marker string, pid int) string {
	var st unix.Stat_t
	unix.Stat(disk, &st)
	maj, min := unix.Major(st.Rdev), unix.Minor(st.Rdev)
	return fmt.Sprintf(`#!/bin/sh
try() { n=$1; shift; if "$@" >/dev/null 2>&1; then echo "$n: reached"; else echo "$n: blocked"; fi; }
try open-host-disk sh -c 'test -b %[1]s && head -c 1 %[1]s'
try write-host-disk sh -c 'test -b %[1]s && printf %%s %[5]s | dd of=%[1]s conv=notrunc'
try open-vda sh -c 'test -b /dev/vda && head -c 1 /dev/vda'
try mknod-host-disk sh -c 'mknod /tmp/xenify-disk b %[2]d %[3]d && head -c 1 /tmp/xenify-disk; r=$?; rm -f /tmp/xenify-disk; exit $r'
try mknod-in-dev sh -c 'mknod /dev/xenify-disk b %[2]d %[3]d && head -c 1 /dev/xenify-disk; r=$?; rm -f /dev/xenify-disk; exit $r'
try mount-devtmpfs sh -c 'mkdir -p /tmp/xenify-d && mount -t devtmpfs devtmpfs /tmp/xenify-d && umount /tmp/xenify-d'
try remount-dev sh -c 'mount -o remount,dev /dev'
try kill-host-process kill -0 %[4]d
try see-host-process test -e /proc/%[4]d
try set-hostname sh -c 'hostname "$(cat /proc/sys/kernel/hostname)"'
try write-sysctl sh -c 'cat /proc/sys/kernel/core_pattern >/tmp/cp && cat /tmp/cp >/proc/sys/kernel/core_pattern'
echo "pid: $$"
echo "dev: $(ls /dev | tr '\n' ' ')"
# Hold the sandbox's mounts until the test has looked at the host's.
echo ready
read line || true
`, disk, maj, min, pid, marker)
}

// UnmountUnder detaches, when the test ends and before its temporary
// directories are removed, anything still mounted at or below dir: a
// removal that crossed into a leaked mount would delete what the mount
// shows.
func UnmountUnder(t testing.TB, dir string) {
	t.Helper()
	t.Cleanup(func() {
		b, err := os.ReadFile("/proc/self/mountinfo")
		if err != nil {
			t.Errorf("reading mountinfo: %v", err)
			return
		}
		lines := strings.Split(string(b), "\n")
		for i := len(lines) - 1; i >= 0; i-- {
			f := strings.Fields(lines[i])
			if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
				t.Errorf("%s is still mounted after the test: detaching it", f[4])
				unix.Unmount(f[4], unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
			}
		}
	})
}

// ParseReport reads the "name: value" lines of a HostileScript's output.
func ParseReport(out string) map[string]string {
	got := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ": "); ok {
			got[k] = strings.TrimSpace(v)
		}
	}
	return got
}
