package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBtrfsBootPath: pygrub cannot read btrfs. A guest whose kernels
// live on a btrfs root (Ubuntu's subvol=@) is refused for --boot pygrub
// with the boot paths that work; --boot auto picks pvgrub, and --boot
// direct plans. With /boot on
// ext4 of its own (Fedora), pygrub reads it, and it is not merged into
// the btrfs root.
func TestBtrfsBootPath(t *testing.T) {
	g := copyTree(t, filepath.Join(fixtures, "debian12"))
	fstab := filepath.Join(g, "etc/fstab")
	data, err := os.ReadFile(fstab)
	if err != nil {
		t.Fatal(err)
	}
	btrfs := strings.Replace(string(data), "/dev/sda1       /               ext4    errors=remount-ro 0       1", "/dev/sda1       /               btrfs   defaults,subvol=@ 0       0", 1)
	if btrfs == string(data) {
		t.Fatal("fixture fstab changed: no ext4 root line to replace")
	}
	if err := os.WriteFile(fstab, []byte(btrfs), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "g.cfg")
	_, errOut, code := xenify(t, "plan", "--hypervisor-caps", hostCaps, "--config-out", cfg, "--boot", "pygrub", g)
	if code != 3 || !strings.Contains(errOut, "no btrfs reader") || !strings.Contains(errOut, "--boot pvgrub") || !strings.Contains(errOut, "--boot direct") {
		t.Errorf("xenify plan (kernels on btrfs, --boot pygrub) = %d, want 3 naming btrfs, --boot pvgrub and --boot direct\n%s", code, errOut)
	}
	if out, errOut, code := xenify(t, "plan", "--hypervisor-caps", hostCaps, "--config-out", cfg, g); code != 0 || !strings.Contains(out, "boot path:  pvgrub") || !strings.Contains(out, "grub-i386-xen_pvh.bin") {
		t.Errorf("xenify plan (kernels on btrfs, --boot auto) = %d, want 0 booting through pvgrub\n%s\n%s", code, out, errOut)
	}
	out, errOut, code := xenify(t, "plan", "--hypervisor-caps", hostCaps, "--config-out", cfg, "--boot", "direct", "--direct-dir", "/var/lib/xen/kernels/g", g)
	if code != 0 {
		t.Errorf("xenify plan --boot direct (kernels on btrfs) = %d, want 0\n%s\n%s", code, out, errOut)
	}
}
