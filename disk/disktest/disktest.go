// Package disktest builds real disk images with real tools (sfdisk,
// mke2fs, mkswap, LVM2) for integration tests of the disk packages and of
// anything that consumes disks (p2v, extfs, ...).
//
// Images are ordinary files in t.TempDir(). Partition tables and
// filesystems are made without root (sfdisk on the file, `mke2fs -E
// offset=`, mkswap on a temp file copied in). LVM needs a loop device and
// therefore root; md RAID superblocks are written by this package (the test
// machines have no md driver, so `mdadm --create` cannot run) following
// the kernel's md_p.h, and are cross-checked with `mdadm --examine` by
// package md's tests.
//
// Build skips the test (testenv.Skipf: a failure under CI=true) when a required tool is missing or root is
// needed but absent, so callers should name such tests TestIntegration...
//
// LVM without device-mapper: pvcreate/vgcreate work on a plain loop
// device, but lvcreate fails with "striped: Required device-mapper
// target(s) not detected in your kernel". It works with activation
// disabled: `--config 'global{activation=0}'` (equivalently
// `--driverloaded n`) plus `-an -Zn` (no activation, no zeroing). Every
// LVM command also gets `--devices LOOP`, so it only ever sees the test's
// own loop device (other tests may create VolGroup00 concurrently), and
// `backup{backup=0 archive=0}` so nothing is written to /etc/lvm.
// `lvs -o +seg_pe_ranges` and `pvs -o +pe_start` work without
// device-mapper (they print a harmless "/dev/mapper/control" warning).
package disktest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/xenify/xenify/internal/testenv"
)

// MiB is a mebibyte.
const MiB = 1 << 20

// RequireRoot skips the test unless running as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Skipf(t, "skipping: needs root (loop devices)")
	}
}

// RequireTools skips the test unless every named tool is in PATH (or in
// /sbin, /usr/sbin).
func RequireTools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := lookPath(tool); err != nil {
			testenv.Skipf(t, "skipping: %s not installed", tool)
		}
	}
}

func lookPath(tool string) (string, error) {
	if p, err := exec.LookPath(tool); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		p := filepath.Join(dir, tool)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", tool)
}

// Run runs a command (argv, no shell) and returns its stdout. On failure it
// fails the test with the command line and its combined output.
func Run(t testing.TB, stdin []byte, argv ...string) string {
	t.Helper()
	out, err := run(stdin, argv...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func run(stdin []byte, argv ...string) (string, error) {
	path, err := lookPath(argv[0])
	if err != nil {
		return "", err
	}
	cmd := exec.Command(path, argv[1:]...)
	cmd.Env = append(os.Environ(), "LVM_SUPPRESS_FD_WARNINGS=1", "LC_ALL=C")
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("running %q: %w\nstdout:\n%s\nstderr:\n%s", argv, err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// Losetup attaches bytes [offset, offset+size) of image as a read-write
// loop device and detaches it in t.Cleanup. It requires root.
func Losetup(t testing.TB, image string, offset, size int64) string {
	t.Helper()
	RequireRoot(t)
	RequireTools(t, "losetup")
	dev := strings.TrimSpace(Run(t, nil, "losetup", "--find", "--show",
		"--offset", strconv.FormatInt(offset, 10), "--sizelimit", strconv.FormatInt(size, 10), image))
	t.Cleanup(func() {
		if _, err := run(nil, "losetup", "--detach", dev); err != nil {
			t.Errorf("detaching %s: %v", dev, err)
		}
	})
	return dev
}

// WriteAt writes p into the file at off.
func WriteAt(t testing.TB, path string, p []byte, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(p, off); err != nil {
		t.Fatalf("writing %d bytes at %d of %s: %v", len(p), off, path, err)
	}
}
