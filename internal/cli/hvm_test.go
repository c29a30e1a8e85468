package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xenify/xenify/verify"
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

// TestVerifyHVMController: a Debian 12 guest converted as HVM gets the
// emulated AHCI controller (its kernel has PV-on-HVM drivers and ahci as
// a module) and modprobe.blacklist=ahci on its boot entry; verify passes
// the guard. Without the guard, or with an ahci built into the kernel,
// the guest would see its disk twice (Xen's QEMU before 8.2 unplugs no
// AHCI disk): verify fails. Back on IDE (no hdtype), verify asks the
// initrd for ata_piix again, and the guard is not checked.
func TestVerifyHVMController(t *testing.T) {
	guest := copyTree(t, filepath.Join(fixtures, "debian12"))
	cfg := filepath.Join(t.TempDir(), "d12.cfg")
	if out, errOut, code := xenify(t, "convert", "--skip-guest-commands", "--guest-type", "hvm", "--layout", "disk", "--hypervisor-caps", hostCaps, "--config-out", cfg, guest); code != 0 {
		t.Fatalf("convert = exit %d\n%s%s", code, out, errOut)
	}
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "hdtype = 'ahci'\n") {
		t.Fatalf("convert --guest-type hvm wrote\n%s\nwant hdtype = 'ahci'", b)
	}
	r, _ := verifyJSON(t, guest, cfg)
	if c := check(r, "disk controller"); c.Status != verify.Pass || !strings.Contains(c.Detail, "modprobe.blacklist=ahci") {
		t.Errorf("verify of the converted HVM guest: disk controller check %+v; want a pass naming the guard", c)
	}

	grubCfg := filepath.Join(guest, "boot/grub/grub.cfg")
	g, err := os.ReadFile(grubCfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(grubCfg, []byte(strings.ReplaceAll(string(g), " modprobe.blacklist=ahci", "")), 0o644); err != nil {
		t.Fatal(err)
	}
	r, code := verifyJSON(t, guest, cfg)
	if c := check(r, "disk controller"); code != 3 || c.Status != verify.Fail || !strings.Contains(c.Detail, "twice") {
		t.Errorf("verify without modprobe.blacklist=ahci = exit %d, disk controller check %+v; want a failure: the disk seen twice", code, c)
	}

	kcfg := filepath.Join(guest, "boot/config-6.1.0-56-amd64")
	k, err := os.ReadFile(kcfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(grubCfg, g, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kcfg, []byte(strings.ReplaceAll(string(k), "CONFIG_SATA_AHCI=m", "CONFIG_SATA_AHCI=y")), 0o644); err != nil {
		t.Fatal(err)
	}
	r, code = verifyJSON(t, guest, cfg)
	if c := check(r, "disk controller"); code != 3 || c.Status != verify.Fail || !strings.Contains(c.Detail, "builds ahci in") {
		t.Errorf("verify with ahci built in = exit %d, disk controller check %+v; want a failure naming the built-in ahci", code, c)
	}

	if err := os.WriteFile(kcfg, k, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(string(b), "hdtype = 'ahci'\n", "")), 0o644); err != nil {
		t.Fatal(err)
	}
	r, _ = verifyJSON(t, guest, cfg)
	if c := check(r, "disk controller"); c.Name != "" {
		t.Errorf("verify on IDE: disk controller check %+v; want none", c)
	}
}

// TestHVMControllerChoice: which emulated disk controller convert writes
// for the HVM guest, for each rule of plan.hvmController.
func TestHVMControllerChoice(t *testing.T) {
	for _, tc := range []struct {
		name, fixture string
		args          []string
		from, to      string // an edit of the kernel's build configuration
		ahci          bool   // hdtype = 'ahci' (else none: IDE)
	}{
		{"pv drivers, ahci module", "debian12", nil, "", "", true},
		{"ahci built in", "debian12", nil, "CONFIG_SATA_AHCI=m", "CONFIG_SATA_AHCI=y", false},
		{"no ahci", "debian12", nil, "CONFIG_SATA_AHCI=m", "# CONFIG_SATA_AHCI is not set", false},
		{"no PV drivers", "debian12", nil, "CONFIG_XEN_PVHVM=y", "# CONFIG_XEN_PVHVM is not set", false},
		{"direct boot", "debian12", []string{"--boot", "direct", "--direct-dir", "$TMP"}, "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			guest := copyTree(t, filepath.Join(fixtures, tc.fixture))
			if tc.from != "" {
				p := filepath.Join(guest, "boot/config-6.1.0-56-amd64")
				b, err := os.ReadFile(p)
				if err != nil || !strings.Contains(string(b), tc.from) {
					t.Fatalf("kernel config: %v, or no %s in it", err, tc.from)
				}
				if err := os.WriteFile(p, []byte(strings.ReplaceAll(string(b), tc.from, tc.to)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			tmp := t.TempDir()
			cfg := filepath.Join(tmp, "g.cfg")
			args := []string{"convert", "--dry-run", "--guest-type", "hvm", "--layout", "disk", "--hypervisor-caps", hostCaps, "--config-out", cfg}
			for _, a := range tc.args {
				args = append(args, strings.ReplaceAll(a, "$TMP", tmp))
			}
			out, errOut, code := xenify(t, append(args, guest)...)
			if code != 0 {
				t.Fatalf("convert = exit %d\n%s%s", code, out, errOut)
			}
			got := strings.Contains(out, "hdtype = 'ahci'")
			if got != tc.ahci {
				t.Errorf("plan:\n%s\nwant hdtype = 'ahci': %v", out, tc.ahci)
			}
			if strings.Contains(out, "console=ttyS0 modprobe.blacklist=ahci") != got {
				t.Errorf("plan:\n%s\nwant modprobe.blacklist=ahci exactly with hdtype = 'ahci'", out)
			}
		})
	}
}
