package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const kernelGlob = "linux-image-6.1*-amd64_*_amd64.deb"

// DebianKernelDeb returns the path of Debian 12's current
// linux-image-6.1.*-amd64 package, cached in
// ${XENIFY_TEST_CACHE:-/var/cache/xenify-test}/debs. On a fresh machine it
// fetches it with apt-get download (apt's own sources and proxy settings),
// and fails the test when that fails: a test that needs the real kernel
// must not pass by not running.
func DebianKernelDeb(tb testing.TB) string {
	tb.Helper()
	debs := filepath.Join(CacheDir(), "debs")
	if m, _ := filepath.Glob(filepath.Join(debs, kernelGlob)); len(m) > 0 {
		return m[len(m)-1]
	}
	RequireTools(tb, "apt-cache", "apt-get")
	if err := os.MkdirAll(debs, 0o755); err != nil {
		Skipf(tb, "cannot create the kernel cache %s (run as root, or set XENIFY_TEST_CACHE): %v", debs, err)
	}
	// One download per machine: parallel test binaries wait here.
	lock, err := os.OpenFile(filepath.Join(debs, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		Skipf(tb, "cannot lock the kernel cache %s: %v", debs, err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		tb.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(debs, kernelGlob)); len(m) > 0 {
		return m[len(m)-1]
	}
	out, err := exec.Command("apt-cache", "depends", "linux-image-amd64").CombinedOutput()
	if err != nil {
		tb.Fatalf("apt-cache depends linux-image-amd64: %v\n%s", err, out)
	}
	var pkg string
	for _, line := range strings.Split(string(out), "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "Depends: "); ok && strings.HasPrefix(name, "linux-image-6.1") {
			pkg = name
			break
		}
	}
	if pkg == "" {
		tb.Fatalf("apt-cache names no linux-image-6.1 package for linux-image-amd64 (run apt-get update):\n%s", out)
	}
	// Download into a private directory and move the .deb into place, so
	// that no reader ever sees a partial file.
	dl, err := os.MkdirTemp(debs, "download-")
	if err != nil {
		tb.Fatal(err)
	}
	defer os.RemoveAll(dl)
	cmd := exec.Command("apt-get", "download", pkg)
	cmd.Dir = dl
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("fetching the Debian kernel: apt-get download %s: %v\n%s", pkg, err, out)
	}
	got, _ := filepath.Glob(filepath.Join(dl, "*.deb"))
	for _, g := range got {
		if err := os.Rename(g, filepath.Join(debs, filepath.Base(g))); err != nil {
			tb.Fatalf("caching %s: %v", g, err)
		}
	}
	m, _ := filepath.Glob(filepath.Join(debs, kernelGlob))
	if len(m) == 0 {
		tb.Fatalf("apt-get download %s left no %s in %s", pkg, kernelGlob, debs)
	}
	return m[len(m)-1]
}

// DebianKernel returns the extracted tree (boot/, lib/modules/VER/ with
// modules.builtin and xen-blkfront.ko) of the package DebianKernelDeb
// returns.
func DebianKernel(tb testing.TB) string {
	tb.Helper()
	cache := CacheDir()
	deb := DebianKernelDeb(tb)
	root := filepath.Join(cache, "extract", strings.TrimSuffix(filepath.Base(deb), ".deb"))
	if _, err := os.Stat(filepath.Join(root, ".done")); err == nil {
		return root
	}
	RequireTools(tb, "dpkg-deb", "tar")
	tmp, err := os.MkdirTemp(cache, "extract-")
	if err != nil {
		Skipf(tb, "cannot extract into %s: %v", cache, err)
	}
	defer os.RemoveAll(tmp)
	// Only the files the tests read: the kernel, its config, the list of
	// built-in modules and the Xen block frontend module.
	sh := `dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards './boot/*' './lib/modules/*/modules.builtin' './lib/modules/*/kernel/drivers/block/xen-blkfront.ko*'`
	if out, err := exec.Command("sh", "-c", sh, "sh", deb, tmp).CombinedOutput(); err != nil {
		tb.Fatalf("extracting %s: %v\n%s", deb, err, out)
	}
	if err := os.WriteFile(filepath.Join(tmp, ".done"), nil, 0o644); err != nil {
		tb.Fatal(err)
	}
	os.MkdirAll(filepath.Dir(root), 0o755)
	if err := os.Rename(tmp, root); err != nil && !os.IsExist(err) {
		if _, serr := os.Stat(filepath.Join(root, ".done")); serr != nil {
			tb.Fatalf("installing extracted kernel: %v", err)
		}
	}
	return root
}
