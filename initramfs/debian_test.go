package initramfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xenify/xenify/decompress"
	"github.com/xenify/xenify/internal/testenv"
)

// debianKernel is the extracted Debian 12 kernel package (see
// testenv.DebianKernel for how CI pre-fetches it).
func debianKernel(tb testing.TB) string { return testenv.DebianKernel(tb) }

// TestIntegrationDebianKernel checks the module helpers against the real
// Debian 12 kernel package, and lists an initramfs laid out as Debian's
// mkinitramfs does (uncompressed early microcode archive, then a zstd
// main archive made by cpio) holding the real xen-blkfront.ko.
func TestIntegrationDebianKernel(t *testing.T) {
	root := debianKernel(t)
	mods, _ := filepath.Glob(filepath.Join(root, "lib/modules/*"))
	if len(mods) != 1 {
		t.Fatalf("want one lib/modules/VERSION in %s, found %q", root, mods)
	}
	version := filepath.Base(mods[0])
	builtin, err := os.ReadFile(filepath.Join(mods[0], "modules.builtin"))
	if err != nil {
		t.Fatal(err)
	}
	config, err := os.ReadFile(filepath.Join(root, "boot", "config-"+version))
	if err != nil {
		t.Fatal(err)
	}
	// Debian builds the block frontend as a module, and xen-kbdfront in.
	if BuiltinFromModulesBuiltin(builtin, "xen-blkfront") {
		t.Errorf("BuiltinFromModulesBuiltin(Debian %s, xen-blkfront) = true, want false", version)
	}
	if !BuiltinFromModulesBuiltin(builtin, "xen_kbdfront") {
		t.Errorf("BuiltinFromModulesBuiltin(Debian %s, xen_kbdfront) = false, want true", version)
	}
	if got := ConfigHas(config, "XEN_BLKDEV_FRONTEND"); got != "m" {
		t.Errorf("ConfigHas(Debian config-%s, XEN_BLKDEV_FRONTEND) = %q, want m", version, got)
	}
	if got := ConfigHas(config, "CONFIG_XEN_PV"); got != "y" {
		t.Errorf("ConfigHas(Debian config-%s, CONFIG_XEN_PV) = %q, want y", version, got)
	}

	ko := filepath.Join("usr/lib/modules", version, "kernel/drivers/block/xen-blkfront.ko")
	tree := t.TempDir()
	if err := os.MkdirAll(filepath.Join(tree, filepath.Dir(ko)), 0o755); err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(mods[0], "kernel/drivers/block/xen-blkfront.ko"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tree, ko), mod, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("usr/lib", filepath.Join(tree, "lib")); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("cpio"); err != nil {
		testenv.Skipf(t, "cpio not installed: %v", err)
	}
	list, err := exec.Command("sh", "-c", "cd \"$1\" && find . | LC_ALL=C sort", "sh", tree).Output()
	if err != nil {
		t.Fatal(err)
	}
	main := run(t, []string{"cpio", "--quiet", "-o", "-H", "newc", "--reproducible"}, tree, list)
	img := append(newc(microcode, false), compressWith(t, decompress.Zstd, main)...)

	got, err := List(img)
	if err != nil {
		t.Fatalf("List(Debian-style initramfs) error: %v", err)
	}
	e, ok := HasXenBlockFrontend(got)
	want := Entry{Path: ko, Mode: 0o100644, Size: int64(len(mod)), Part: 1, Compression: decompress.Zstd}
	if !ok {
		t.Fatalf("HasXenBlockFrontend(Debian-style initramfs) = false; entries %v", got)
	}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("HasXenBlockFrontend(Debian-style initramfs) mismatch (-want +got):\n%s", diff)
	}
	content, err := ReadFile(img, ko)
	if err != nil || string(content) != string(mod) {
		t.Errorf("ReadFile(%s) = %d bytes, %v; want the %d-byte module", ko, len(content), err, len(mod))
	}
	if !strings.HasPrefix(string(content), "\x7fELF") {
		t.Errorf("ReadFile(%s) does not start with an ELF header", ko)
	}
}
