package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// DebianKernel returns the extracted tree (boot/, lib/modules/VER/ with
// modules.builtin and xen-blkfront.ko) of Debian 12's current
// linux-image-6.1.*-amd64 package. The .deb is cached in
// ${XENIFY_TEST_CACHE:-/var/cache/xenify-test}/debs; CI can pre-fetch it
// with:
//
//	pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-6/{print $2; exit}')
//	mkdir -p /var/cache/xenify-test/debs && cd /var/cache/xenify-test/debs && apt-get download "$pkg"
//
// It skips the test when the package is not cached and apt cannot fetch it.
func DebianKernel(tb testing.TB) string {
	tb.Helper()
	cache := CacheDir()
	debs := filepath.Join(cache, "debs")
	matches, _ := filepath.Glob(filepath.Join(debs, "linux-image-6.1*-amd64_*_amd64.deb"))
	if len(matches) == 0 {
		for _, tool := range []string{"apt-cache", "apt-get", "dpkg-deb"} {
			if _, err := exec.LookPath(tool); err != nil {
				tb.Skipf("Debian kernel not cached in %s and %s is unavailable: %v", debs, tool, err)
			}
		}
		out, err := exec.Command("apt-cache", "depends", "linux-image-amd64").CombinedOutput()
		if err != nil {
			tb.Skipf("Debian kernel not cached in %s; apt-cache depends linux-image-amd64: %v\n%s", debs, err, out)
		}
		var pkg string
		for _, line := range strings.Split(string(out), "\n") {
			if name, ok := strings.CutPrefix(strings.TrimSpace(line), "Depends: "); ok && strings.HasPrefix(name, "linux-image-6.1") {
				pkg = name
				break
			}
		}
		if pkg == "" {
			tb.Skipf("Debian kernel not cached in %s and apt-cache names no linux-image-6.1 package (run apt-get update):\n%s", debs, out)
		}
		if err := os.MkdirAll(debs, 0o755); err != nil {
			tb.Skipf("cannot create kernel cache %s: %v", debs, err)
		}
		// Download into a private directory and move the .deb into
		// place, so that test binaries running in parallel never see a
		// partial file.
		dl, err := os.MkdirTemp(debs, "download-")
		if err != nil {
			tb.Skipf("cannot create kernel cache %s: %v", debs, err)
		}
		defer os.RemoveAll(dl)
		cmd := exec.Command("apt-get", "download", pkg)
		cmd.Dir = dl
		if out, err := cmd.CombinedOutput(); err != nil {
			tb.Skipf("Debian kernel not cached in %s; apt-get download %s: %v\n%s", debs, pkg, err, out)
		}
		got, _ := filepath.Glob(filepath.Join(dl, "*.deb"))
		for _, g := range got {
			if err := os.Rename(g, filepath.Join(debs, filepath.Base(g))); err != nil {
				tb.Fatalf("caching %s: %v", g, err)
			}
		}
		matches, _ = filepath.Glob(filepath.Join(debs, "linux-image-6.1*-amd64_*_amd64.deb"))
		if len(matches) == 0 {
			tb.Skipf("apt-get download %s left no .deb in %s", pkg, debs)
		}
	}
	deb := matches[len(matches)-1]
	root := filepath.Join(cache, "extract", strings.TrimSuffix(filepath.Base(deb), ".deb"))
	if _, err := os.Stat(filepath.Join(root, ".done")); err == nil {
		return root
	}
	tmp, err := os.MkdirTemp(filepath.Join(cache), "extract-")
	if err != nil {
		tb.Skipf("cannot extract into %s: %v", cache, err)
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
