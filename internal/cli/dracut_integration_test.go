package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xenify/xenify/internal/testenv"
)

// TestIntegrationConvertDebian12Dracut converts a real Debian 12 tree whose
// initramfs-tools is replaced by dracut, configured hostonly="yes" as on
// RHEL. The guest's own dracut runs chrooted, with the conversion host's
// /proc, /sys and /dev, where hostonly detection would see the host's
// disks: the new initrd must still have xen-blkfront (and the root
// filesystem's driver), a second convert changes nothing, and rollback
// restores the tree byte for byte.
func TestIntegrationConvertDebian12Dracut(t *testing.T) {
	testenv.RequireRoot(t)
	root := testenv.Root(t, testenv.Debian12Dracut)
	if _, err := os.Stat(filepath.Join(root, "usr/sbin/update-initramfs")); err == nil {
		t.Fatalf("the dracut guest has update-initramfs: the recipe did not replace initramfs-tools")
	}
	kver := prepareNativeDebianBoot(t, root)
	if err := os.WriteFile(filepath.Join(root, "etc/dracut.conf.d/10-hostonly.conf"), []byte("hostonly=\"yes\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	initrd := filepath.Join(root, "boot/initrd.img-"+kver)
	// The native initrd: built on the physical PC, it has that PC's disk
	// drivers and no Xen frontend.
	guestCommand(t, root, "preparing the native initrd", "/usr/bin/dracut", "--force", "--no-hostonly", "--omit-drivers", "xen-blkfront xen-netfront", "/boot/initrd.img-"+kver, kver)
	if initrdHas(t, initrd, "xen-blkfront") {
		t.Fatalf("native initrd already has xen-blkfront: the test could not tell whether convert worked")
	}
	before := treeState(t, root)
	args, cfg, out := convertNative(t, root, "--initrd", "rebuild")
	if !strings.Contains(out, "/usr/bin/dracut --force --no-hostonly") {
		t.Errorf("convert did not rebuild with the guest's dracut:\n%s", out)
	}
	for _, m := range []string{"xen-blkfront", "xen-netfront", "ext4"} {
		if !initrdHas(t, initrd, m) {
			t.Errorf("initrd %s after convert lacks %s", initrd, m)
		}
	}
	conf, err := os.ReadFile(filepath.Join(root, "etc/dracut.conf.d/90-xenify.conf"))
	if err != nil || !strings.Contains(string(conf), `add_drivers+=" xen-blkfront xen-netfront ext4 "`) {
		t.Errorf("dracut.conf.d/90-xenify.conf = %q, %v; want add_drivers+= with the frontends", conf, err)
	}
	if out, errOut, code := xenify(t, "verify", "--hypervisor-caps", "xen-3.0-x86_64 hvm-3.0-x86_64", "--config", cfg, root); code != 0 {
		t.Errorf("verify = exit %d\n%s%s", code, out, errOut)
	}
	againThenRollback(t, root, args, before)
}
