package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// nativeDiskGuest is a copy of fixture as installed on a disk the
// native machine calls sda: /boot on sda1, / on sda2, swap on sda3, in
// fstab and on the boot entries' root=.
func nativeDiskGuest(t *testing.T, fixture, grubConf string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, fixture, grubConf))
	if err != nil {
		t.Fatal(err)
	}
	return vncGuest(t, fixture, map[string]string{
		"etc/fstab": "/dev/sda2 / ext3 defaults 1 1\n/dev/sda1 /boot ext3 defaults 1 2\n" +
			"tmpfs /dev/shm tmpfs defaults 0 0\nproc /proc proc defaults 0 0\n/dev/sda3 swap swap defaults 0 0\n",
		grubConf: strings.ReplaceAll(string(b), "root=/dev/VolGroup00/LogVol00", "root=/dev/sda2"),
	})
}

// TestPlanGoldenHVM: --guest-type hvm and what auto picks for a kernel
// with neither a PV nor a PVH entry. HVM boots the guest's own GRUB
// from the MBR of the whole disk (--layout disk), or a kernel from dom0
// (--boot direct). A kernel with PV-on-HVM drivers (Debian 12, Rocky 9)
// ends up on xvda; the native kernels of EL4 and EL5, without them, on
// the emulated IDE disk, hda. Refusals name what would work.
func TestPlanGoldenHVM(t *testing.T) {
	for _, v := range []struct {
		name, fixture, grub string
		args                []string
	}{
		{"debian12-hvm", "debian12", "", []string{"--guest-type", "hvm", "--layout", "disk"}},
		{"debian12-hvm-vnc-xm", "debian12", "", []string{"--guest-type", "hvm", "--layout", "disk", "--vnc", "--toolstack", "xm"}},
		{"debian12-hvm-rebuild", "debian12", "", []string{"--guest-type", "hvm", "--layout", "disk", "--initrd", "rebuild"}},
		// Refused: no MBR with --layout lv; pygrub boots no HVM guest.
		{"debian12-hvm-lv", "debian12", "", []string{"--guest-type", "hvm"}},
		{"debian12-hvm-pygrub", "debian12", "", []string{"--guest-type", "hvm", "--layout", "disk", "--boot", "pygrub"}},
		{"debian12-hvm-no-hvm-host", "debian12", "", []string{"--guest-type", "hvm", "--layout", "disk", "--hypervisor-caps", "xen-3.0-x86_64"}},
		// auto: Rocky 9's kernel has neither entry; HVM with PV drivers.
		{"rocky9-hvm-direct", "rocky9", "", []string{"--boot", "direct"}},
		// EL5 and EL4 native kernels: no PV-on-HVM drivers, IDE names.
		{"centos5-x86_64-hvm", "centos5-x86_64", "boot/grub/grub.conf", []string{"--guest-type", "hvm", "--layout", "disk"}},
		{"centos5-x86_64-hvm-rebuild", "centos5-x86_64", "boot/grub/grub.conf", []string{"--guest-type", "hvm", "--layout", "disk", "--initrd", "rebuild"}},
		{"centos44-i386-hvm", "centos44-i386", "boot/grub/grub.conf", []string{"--guest-type", "hvm", "--layout", "disk"}},
		{"centos5-x86_64-hvm-direct", "centos5-x86_64", "boot/grub/grub.conf", []string{"--guest-type", "hvm", "--boot", "direct"}},
	} {
		t.Run(v.name, func(t *testing.T) {
			dir := filepath.Join(fixtures, v.fixture)
			as := ""
			if v.grub != "" {
				dir, as = nativeDiskGuest(t, v.fixture, v.grub), "$GUEST"
			}
			checkPlanGolden(t, v.name, dir, as, v.args)
		})
	}
}
