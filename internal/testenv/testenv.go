// Package testenv gives integration tests real guests: Debian root trees
// built with mmdebstrap from Debian's packages, cached on the machine
// between runs (keyed by the recipe), and a fresh extracted copy for each
// test.
package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// CacheDir is where built guests are kept.
func CacheDir() string {
	if d := os.Getenv("XENIFY_TEST_CACHE"); d != "" {
		return d
	}
	return "/var/cache/xenify-test"
}

// Recipe describes a guest tree.
type Recipe struct {
	Suite    string   // bookworm, bullseye
	Variant  string   // mmdebstrap variant
	Packages []string // --include
	Mirror   string   // "": the machine's apt source for Suite (AptMirror)
}

// Debian12 is a minimal bookworm with a kernel, initramfs-tools and
// systemd: what the guest-command path of convert needs.
var Debian12 = Recipe{
	Suite:    "bookworm",
	Variant:  "apt",
	Packages: []string{"linux-image-amd64", "initramfs-tools", "systemd-sysv", "udev", "kmod", "zstd", "ifupdown"},
}

// Debian12Dracut is Debian12 with dracut in place of initramfs-tools
// (Debian's dracut conflicts with it), as a user who prefers RHEL's
// generator installs it.
var Debian12Dracut = Recipe{
	Suite:    "bookworm",
	Variant:  "apt",
	Packages: []string{"linux-image-amd64", "dracut", "systemd-sysv", "udev", "kmod", "zstd", "ifupdown"},
}

// RHELTools is a Debian 12 base holding every binary the redhat family's
// kernel path runs in a RHEL 6 guest: rpm (with an empty database), dracut
// (the RHEL 6 /sbin/mkinitrd is a wrapper around it) and kmod. No kernel:
// the test installs one from an RPM. PrepareEL6 turns it into a
// guest the redhat family handles.
var RHELTools = Recipe{
	Suite:    "bookworm",
	Variant:  "apt",
	Packages: []string{"rpm", "dracut", "kmod", "cpio", "mount", "xz-utils", "zstd", "e2fsprogs", "udev"},
}

// key names the cached tarball; r.Mirror is the resolved mirror.
func (r Recipe) key() string {
	h := sha256.Sum256([]byte(fmt.Sprintf("v1|%s|%s|%s|%s", r.Suite, r.Variant, strings.Join(r.Packages, ","), r.Mirror)))
	return r.Suite + "-" + hex.EncodeToString(h[:6])
}

// InCI reports whether the tests run in CI (CI=true), where a missing
// tool, root, cache or build is a failure, never a skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// Skipf skips the test for a missing requirement on a developer's machine,
// and fails it in CI: a skip there would hide exactly the regression the
// test was written to catch.
func Skipf(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf(format+" (CI=true: a missing requirement fails the test; see scripts/install-deps.sh)", args...)
	}
	t.Skipf(format, args...)
}

// RequireRoot skips the test unless it runs as root (fails in CI).
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Skipf(t, "needs root (chroot, mounts): run the integration tier as root")
	}
}

// RequireTools skips the test unless every tool is on PATH (fails in CI),
// and returns the path of the first.
func RequireTools(t testing.TB, tools ...string) string {
	t.Helper()
	first := ""
	for i, tool := range tools {
		p, err := exec.LookPath(tool)
		if err != nil {
			Skipf(t, "needs %s (see scripts/install-deps.sh): %v", tool, err)
		}
		if i == 0 {
			first = p
		}
	}
	return first
}

// Tarball returns the cached tarball of the recipe, building it with
// mmdebstrap if needed (a few minutes, once per machine).
func Tarball(t testing.TB, r Recipe) string {
	t.Helper()
	RequireRoot(t)
	RequireTools(t, "mmdebstrap", "tar")
	if r.Mirror == "" {
		m, err := AptMirror(r.Suite)
		if err != nil {
			t.Fatalf("building the %s guest: %v", r.Suite, err)
		}
		r.Mirror = m
	}
	dir := CacheDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tarball := filepath.Join(dir, r.key()+".tar")
	lock, err := os.OpenFile(tarball+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(tarball); err == nil {
		return tarball
	}
	tmp := tarball + ".partial"
	args := []string{"--format=tar", "--variant=" + r.Variant, "--include=" + strings.Join(r.Packages, ","), r.Suite, tmp, r.Mirror}
	t.Logf("building guest with mmdebstrap %s (cached in %s)", strings.Join(args, " "), dir)
	cmd := exec.Command("mmdebstrap", args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		t.Fatalf("mmdebstrap: %v\n%s", err, tail(string(out), 40))
	}
	if err := os.Rename(tmp, tarball); err != nil {
		t.Fatal(err)
	}
	return tarball
}

// Root extracts a fresh copy of the recipe's tree into a temporary
// directory owned by the test and returns its path.
func Root(t testing.TB, r Recipe) string {
	t.Helper()
	tarball := Tarball(t, r)
	root := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("tar", "-C", root, "--numeric-owner", "-xpf", tarball).CombinedOutput()
	if err != nil {
		t.Fatalf("extracting %s: %v\n%s", tarball, err, out)
	}
	return root
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
