package kernelimage

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xenify/xenify/decompress"
)

// debianKernel returns the extracted tree (boot/, lib/modules/VER/ with
// modules.builtin and xen-blkfront.ko) of Debian 12's current
// linux-image-6.1.*-amd64 package. The .deb is cached in
// ${XENIFY_TEST_CACHE:-/var/cache/xenify-test}/debs; CI can pre-fetch it
// with:
//
//	pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-6/{print $2; exit}')
//	mkdir -p /var/cache/xenify-test/debs && cd /var/cache/xenify-test/debs && apt-get download "$pkg"
//
// It skips the test when the package is not cached and apt cannot fetch it.
func debianKernel(tb testing.TB) string {
	tb.Helper()
	cache := os.Getenv("XENIFY_TEST_CACHE")
	if cache == "" {
		cache = "/var/cache/xenify-test"
	}
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

func debianVmlinuz(tb testing.TB) (string, []byte) {
	root := debianKernel(tb)
	m, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	if len(m) != 1 {
		tb.Fatalf("want one vmlinuz in %s/boot, found %q", root, m)
	}
	data, err := os.ReadFile(m[0])
	if err != nil {
		tb.Fatal(err)
	}
	return m[0], data
}

func TestIntegrationDebianKernel(t *testing.T) {
	path, data := debianVmlinuz(t)
	info, err := Inspect(data)
	if err != nil {
		t.Fatalf("Inspect(%s) error: %v", path, err)
	}
	t.Logf("%s: %s, protocol %s, %v payload, %q", path, info.Format, protoString(info.BootProtocol), info.Compression, info.KernelVersion)
	if info.Format != FormatBzImage || info.Compression != decompress.XZ || info.Class != 64 || info.Machine != elf.EM_X86_64 {
		t.Errorf("Inspect(%s) format, compression, class, machine = %s, %v, %d, %v; want bzImage, xz, 64, EM_X86_64",
			path, info.Format, info.Compression, info.Class, info.Machine)
	}
	if !info.PV || !info.PVH || !info.HasEntry || !info.HasPhysEntry {
		t.Errorf("Inspect(%s) PV, PVH, ENTRY, PHYS32_ENTRY = %v, %v, %v, %v; want all true (NotPV %q)",
			path, info.PV, info.PVH, info.HasEntry, info.HasPhysEntry, info.NotPV)
	}
	if !strings.HasPrefix(info.KernelVersion, filepath.Base(path)[len("vmlinuz-"):]) {
		t.Errorf("Inspect(%s).KernelVersion = %q, want the file's version first", path, info.KernelVersion)
	}
	if ok, reason := info.CompatibleWith(debianCaps); !ok {
		t.Errorf("Inspect(%s).CompatibleWith(%q) = false, %q; want true", path, debianCaps, reason)
	}
	if ok, _ := info.CompatibleWith([]string{"xen-3.0-x86_32p"}); ok {
		t.Errorf("Inspect(%s).CompatibleWith(32-bit host) = true, want false", path)
	}

	// Xen's readnotes reads the ELF (it cannot decompress an xz bzImage).
	vmlinux, _, err := decompress.All(data[(int(data[0x1f1])+1)*512+int(leUint32(data[0x248:])):], decompress.DefaultMax)
	if err != nil {
		t.Fatalf("extracting vmlinux: %v", err)
	}
	elfPath := filepath.Join(t.TempDir(), "vmlinux")
	if err := os.WriteFile(elfPath, vmlinux, 0o644); err != nil {
		t.Fatal(err)
	}
	checkAgainstReadnotes(t, elfPath, info)

	// Cross-check against the xz tool too: the payload decompresses to the
	// same bytes with the x86 BCJ filter applied by liblzma.
	if _, err := exec.LookPath("xz"); err == nil {
		off, f := decompress.Find(data, 0)
		if f != decompress.XZ {
			t.Fatalf("decompress.Find(%s) = %d, %v; want xz", path, off, f)
		}
		cmd := exec.Command("xz", "-dc", "--single-stream")
		cmd.Stdin = bytes.NewReader(data[off:])
		want, err := cmd.Output()
		if err != nil {
			t.Fatalf("xz -dc: %v", err)
		}
		if !bytes.Equal(vmlinux, want) {
			t.Errorf("decompressed vmlinux differs from xz's output (%d vs %d bytes)", len(vmlinux), len(want))
		}
	}
}

func leUint32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func BenchmarkInspectDebianKernel(b *testing.B) {
	_, data := debianVmlinuz(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Inspect(data); err != nil {
			b.Fatal(err)
		}
	}
}
