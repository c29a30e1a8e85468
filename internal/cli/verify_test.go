package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xenify/xenify/verify"
)

// convertedDebian converts a copy of the Debian 12 fixture (its
// initramfs already has xen-blkfront, as Debian's MODULES=most builds
// it) and returns the guest and domain config paths.
func convertedDebian(t *testing.T) (guest, cfg string) {
	t.Helper()
	guest = copyTree(t, filepath.Join(fixtures, "debian12"))
	cfg = filepath.Join(t.TempDir(), "d12.cfg")
	if out, errOut, code := xenify(t, "convert", "--skip-guest-commands", "--hypervisor-caps", hostCaps, "--config-out", cfg, guest); code != 0 {
		t.Fatalf("convert = exit %d\n%s%s", code, out, errOut)
	}
	return guest, cfg
}

func verifyJSON(t *testing.T, guest, cfg string) (*verify.Report, int) {
	t.Helper()
	out, errOut, code := xenify(t, "verify", "--json", "--hypervisor-caps", hostCaps, "--config", cfg, guest)
	var r verify.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("verify --json output: %v\n%s%s", err, out, errOut)
	}
	return &r, code
}

func check(r *verify.Report, name string) verify.Check {
	for _, c := range r.Checks {
		if c.Name == name {
			return c
		}
	}
	return verify.Check{}
}

func TestVerifyConvertedGuestBoots(t *testing.T) {
	guest, cfg := convertedDebian(t)
	r, code := verifyJSON(t, guest, cfg)
	if code != 0 || !r.Bootable {
		t.Fatalf("verify of a converted Debian 12 = exit %d, bootable %v: %+v", code, r.Bootable, r.Checks)
	}
	if r.Kernel != "/boot/vmlinuz-6.1.0-56-amd64" {
		t.Errorf("verify kernel = %q, want the Debian kernel", r.Kernel)
	}
}

func TestVerifyCatchesInitramfsWithoutBlkfront(t *testing.T) {
	guest, cfg := convertedDebian(t)
	// An initramfs without the Xen block frontend (a native EL5 one).
	native, err := os.ReadFile(filepath.Join(fixtures, "centos5-x86_64/boot/initrd-2.6.18-8.el5.img"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(guest, "boot/initrd.img-6.1.0-56-amd64"), native, 0o644); err != nil {
		t.Fatal(err)
	}
	r, code := verifyJSON(t, guest, cfg)
	if c := check(r, "initramfs"); code != 3 || r.Bootable || c.Status != verify.Fail || !strings.Contains(c.Detail, "xen-blkfront") {
		t.Errorf("verify with blkfront removed = exit %d, initramfs check %+v; want exit 3 and a failure naming xen-blkfront", code, c)
	}
}

func TestVerifyCatchesMismatchedFstab(t *testing.T) {
	guest, cfg := convertedDebian(t)
	p := filepath.Join(guest, "etc/fstab")
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), "/dev/xvda1", "/dev/xvdc1", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	r, code := verifyJSON(t, guest, cfg)
	if c := check(r, "fstab"); code != 3 || c.Status != verify.Fail || !strings.Contains(c.Detail, "/dev/xvdc1") {
		t.Errorf("verify with a mismatched fstab = exit %d, fstab check %+v; want exit 3 and a failure naming /dev/xvdc1", code, c)
	}
}

func TestVerifyCatchesWrongABI(t *testing.T) {
	guest, cfg := convertedDebian(t)
	out, _, code := xenify(t, "verify", "--json", "--hypervisor-caps", "xen-3.0-x86_32p", "--config", cfg, guest)
	var r verify.Report
	json.Unmarshal([]byte(out), &r)
	if c := check(&r, "kernel"); code != 3 || c.Status != verify.Fail || !strings.Contains(c.Detail, "x86_64") {
		t.Errorf("verify of a 64-bit kernel on a 32-bit PAE host = exit %d, kernel check %+v", code, c)
	}
}

// TestPVHShim32BitGuest: a 32-bit PAE XenLinux guest on a host built
// without 32-bit PV (Debian's Xen 4.17) is converted to run as PVH under
// the PV shim, and verify checks its kernel against the shim's ABIs; a
// shim without 32-bit PV is refused.
func TestPVHShim32BitGuest(t *testing.T) {
	guest := copyTree(t, filepath.Join(fixtures, "centos44-i386"))
	const ver = "2.6.9-55.ELxenU"
	kernel, err := os.ReadFile(filepath.Join(fixtures, "kernels", "vmlinuz-"+ver))
	if err != nil {
		t.Fatal(err)
	}
	initrd, err := os.ReadFile(filepath.Join(guest, "boot/initrd-2.6.9-42.EL.img"))
	if err != nil {
		t.Fatal(err)
	}
	for p, data := range map[string][]byte{"boot/vmlinuz-" + ver: kernel, "boot/initrd-" + ver + ".img": initrd} {
		if err := os.WriteFile(filepath.Join(guest, p), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(guest, "lib/modules", ver), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "c4.cfg")
	shim := absTestdata(t, "xen-shim")
	args := []string{"--hypervisor-caps", noPV32Caps, "--config-out", cfg, "--pvh-shim", shim}
	if out, errOut, code := xenify(t, append(append([]string{"convert", "--skip-guest-commands"}, args...), guest)...); code != 0 {
		t.Fatalf("convert = exit %d\n%s%s", code, out, errOut)
	}
	dom, _ := os.ReadFile(cfg)
	for _, want := range []string{"type = \"pvh\"\n", "pvshim = 1\n", "pvshim_path = \"" + shim + "\"\n"} {
		if !strings.Contains(string(dom), want) {
			t.Errorf("domain config lacks %q:\n%s", want, dom)
		}
	}
	out, errOut, _ := xenify(t, append(append([]string{"verify", "--json", "--config", cfg}, args...), guest)...)
	var r verify.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("verify --json: %v\n%s%s", err, out, errOut)
	}
	if c := check(&r, "kernel"); c.Status != verify.Pass || !strings.Contains(c.Detail, "PV shim") || !strings.Contains(c.Detail, "x86_32p") {
		t.Errorf("kernel check under the shim = %+v, want a pass naming the shim's xen-3.0-x86_32p", c)
	}
	if !r.PVShim {
		t.Errorf("verify report does not say the guest runs under the PV shim")
	}

	// --guest-type pv never uses the shim; pvh-shim without one is refused.
	for _, a := range [][]string{{"--guest-type", "pv", "--pvh-shim", shim}, {"--guest-type", "pvh-shim"}} {
		args := append([]string{"plan", "--hypervisor-caps", noPV32Caps}, a...)
		if out, errOut, code := xenify(t, append(args, guest)...); code != 3 {
			t.Errorf("xenify %q = exit %d, want 3\n%s%s", args, code, out, errOut)
		}
	}

	// A shim built without 32-bit PV cannot run it.
	shim64 := filepath.Join(t.TempDir(), "xen-shim")
	if err := os.WriteFile(shim64, []byte("xen-%d.%d-x86_64 \x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := xenify(t, "plan", "--hypervisor-caps", noPV32Caps, "--pvh-shim", shim64, guest); code != 3 || !strings.Contains(errOut, "xen-3.0-x86_32p") {
		t.Errorf("plan with a 64-bit-only shim = exit %d, want 3 naming xen-3.0-x86_32p\n%s%s", code, out, errOut)
	}
}

// TestDebianResumeDevice: RESUME= in initramfs-tools' config follows the
// device map, and one the guest will not have becomes its own swap, so
// the initramfs does not wait for it at every boot (found by the boot
// tier: an LV layout left RESUME=/dev/mapper/vg0-swap).
func TestDebianResumeDevice(t *testing.T) {
	for _, c := range []struct{ native, want string }{
		{"/dev/sda5", "RESUME=/dev/xvda2\n"},              // renamed by the device map
		{"/dev/mapper/vg0-swap", "RESUME=/dev/xvda2\n"},   // not in the guest: its swap
		{"UUID=1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b", ""}, // names the swap area: kept
		{"none", ""},
	} {
		guest := copyTree(t, filepath.Join(fixtures, "debian12"))
		p := filepath.Join(guest, "etc/initramfs-tools/conf.d")
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "resume"), []byte("RESUME="+c.native+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := xenify(t, "plan", "--json", "--hypervisor-caps", hostCaps, guest)
		if code != 0 {
			t.Fatalf("plan = exit %d\n%s", code, errOut)
		}
		var pl struct {
			Ops []struct{ Path, Content string }
		}
		if err := json.Unmarshal([]byte(out), &pl); err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, op := range pl.Ops {
			if op.Path == "/etc/initramfs-tools/conf.d/resume" {
				got = op.Content
			}
		}
		if got != c.want {
			t.Errorf("RESUME=%s: conf.d/resume becomes %q, want %q", c.native, got, c.want)
		}
	}
}

func TestVerifyWarnsAboutResumeDevice(t *testing.T) {
	guest, cfg := convertedDebian(t)
	p := filepath.Join(guest, "boot/grub/grub.cfg")
	b, _ := os.ReadFile(p)
	edited := strings.Replace(string(b), "root=/dev/xvda1 ", "root=/dev/xvda1 resume=/dev/mapper/vg0-swap ", 1)
	if edited == string(b) {
		t.Fatal("converted grub.cfg has no root=/dev/xvda1 to edit")
	}
	if err := os.WriteFile(p, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	r, code := verifyJSON(t, guest, cfg)
	if c := check(r, "resume"); code != 0 || c.Status != verify.Warn || !strings.Contains(c.Detail, "/dev/mapper/vg0-swap") || !strings.Contains(c.Detail, "/dev/xvda2") {
		t.Errorf("verify with resume= on a device the guest lacks = exit %d, resume check %+v; want a warning naming it and the guest's swap", code, c)
	}
}

// TestVerifyPVH: on a host that offers hvm-3.0-x86_64, auto converts the
// Debian guest to PVH, and verify checks the kernel's PVH entry and the
// host's HVM support instead of the PV ABI. A kernel without
// PHYS32_ENTRY (an EL4 XenLinux kernel), or a host without HVM, fails,
// naming what would work.
func TestVerifyPVH(t *testing.T) {
	guest, cfg := convertedDebian(t)
	if b, _ := os.ReadFile(cfg); !strings.Contains(string(b), `type = "pvh"`) {
		t.Fatalf("auto on a host with %s wrote\n%s\nwant type = \"pvh\"", hostCaps, b)
	}
	r, code := verifyJSON(t, guest, cfg)
	if c := check(r, "kernel"); code != 0 || r.Type != "pvh" || c.Status != verify.Pass || !strings.Contains(c.Detail, "PHYS32_ENTRY") {
		t.Errorf("verify of the PVH guest = exit %d, type %q, kernel check %+v; want a pass naming PHYS32_ENTRY", code, r.Type, c)
	}
	out, _, code := xenify(t, "verify", "--json", "--hypervisor-caps", "xen-3.0-x86_64", "--config", cfg, guest)
	var noHVM verify.Report
	json.Unmarshal([]byte(out), &noHVM)
	if c := check(&noHVM, "kernel"); code != 3 || c.Status != verify.Fail || !strings.Contains(c.Detail, "hvm-3.0-x86_64") || !strings.Contains(c.Fix, "--guest-type pv") {
		t.Errorf("verify of a PVH guest on a host without HVM = exit %d, kernel check %+v; want a failure naming hvm-3.0-x86_64 and --guest-type pv", code, c)
	}
	xenU, err := os.ReadFile(filepath.Join(fixtures, "kernels/vmlinuz-2.6.9-55.ELxenU.x86_64"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(guest, "boot/vmlinuz-6.1.0-56-amd64"), xenU, 0o644); err != nil {
		t.Fatal(err)
	}
	r, code = verifyJSON(t, guest, cfg)
	if c := check(r, "kernel"); code != 3 || c.Status != verify.Fail || !strings.Contains(c.Detail, "PHYS32_ENTRY") || !strings.Contains(c.Fix, "--guest-type pv") {
		t.Errorf("verify of a PVH guest with a PV-only kernel = exit %d, kernel check %+v; want a failure naming PHYS32_ENTRY and --guest-type pv", code, c)
	}
}

// TestVerifyPvgrub: with --boot pvgrub the domain boots GRUB built for
// Xen, and verify follows its embedded search order to the guest's
// grub.cfg; a guest whose grub.cfg is only where that search does not
// look (/boot/grub2, as on RHEL) fails.
func TestVerifyPvgrub(t *testing.T) {
	for _, tc := range []struct{ guestType, image string }{{"pvh", "grub-i386-xen_pvh.bin"}, {"pv", "grub-x86_64-xen.bin"}} {
		t.Run(tc.guestType, func(t *testing.T) {
			guest := copyTree(t, filepath.Join(fixtures, "debian12"))
			cfg := filepath.Join(t.TempDir(), "d12.cfg")
			if out, errOut, code := xenify(t, "convert", "--skip-guest-commands", "--hypervisor-caps", hostCaps, "--boot", "pvgrub", "--guest-type", tc.guestType, "--config-out", cfg, guest); code != 0 {
				t.Fatalf("convert --boot pvgrub = exit %d\n%s%s", code, out, errOut)
			}
			if b, _ := os.ReadFile(cfg); !strings.Contains(string(b), "/usr/lib/grub-xen/"+tc.image) || strings.Contains(string(b), "bootloader") {
				t.Fatalf("convert --boot pvgrub --guest-type %s wrote\n%s\nwant kernel = .../%s and no bootloader", tc.guestType, b, tc.image)
			}
			r, code := verifyJSON(t, guest, cfg)
			if c := check(r, "boot loader"); code != 0 || c.Status != verify.Pass || !strings.Contains(c.Detail, "GRUB reads /boot/grub/grub.cfg") || r.Kernel != "/boot/vmlinuz-6.1.0-56-amd64" {
				t.Errorf("verify --boot pvgrub = exit %d, kernel %q, boot loader check %+v; want GRUB reading /boot/grub/grub.cfg and the Debian kernel", code, r.Kernel, c)
			}
			if err := os.Rename(filepath.Join(guest, "boot/grub"), filepath.Join(guest, "boot/grub2")); err != nil {
				t.Fatal(err)
			}
			r, code = verifyJSON(t, guest, cfg)
			if c := check(r, "boot loader"); code != 3 || c.Status != verify.Fail || !strings.Contains(c.Detail, "/boot/grub/grub.cfg, /grub/grub.cfg") {
				t.Errorf("verify --boot pvgrub with only /boot/grub2/grub.cfg = exit %d, boot loader check %+v; want a failure listing the search", code, c)
			}
		})
	}
}

// TestApplianceKernel: --kernel FILE boots one host kernel, with no
// initrd, for the guest (the classic procedure's appliance case). verify
// proves its Xen block and network frontends are built in, from a
// configuration beside it; a frontend built as a module fails, and so
// does a kernel whose configuration cannot be found.
func TestApplianceKernel(t *testing.T) {
	kernel, err := os.ReadFile(filepath.Join(fixtures, "debian12/boot/vmlinuz-6.1.0-56-amd64"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	k := filepath.Join(dir, "vmlinuz-appliance")
	if err := os.WriteFile(k, kernel, 0o644); err != nil {
		t.Fatal(err)
	}
	guest := copyTree(t, filepath.Join(fixtures, "debian12"))
	cfg := filepath.Join(t.TempDir(), "app.cfg")
	conf := "CONFIG_XEN_BLKDEV_FRONTEND=y\nCONFIG_XEN_NETDEV_FRONTEND=y\nCONFIG_EXT4_FS=y\n"
	if err := os.WriteFile(k+".config", []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := xenify(t, "convert", "--skip-guest-commands", "--hypervisor-caps", hostCaps, "--kernel", k, "--config-out", cfg, guest); code != 0 {
		t.Fatalf("convert --kernel = exit %d\n%s%s", code, out, errOut)
	}
	if b, _ := os.ReadFile(cfg); !strings.Contains(string(b), `kernel = "`+k+`"`) || strings.Contains(string(b), "ramdisk") || strings.Contains(string(b), "bootloader") {
		t.Fatalf("convert --kernel %s wrote\n%s\nwant kernel = that file, no ramdisk, no bootloader", k, b)
	}
	r, code := verifyJSON(t, guest, cfg)
	if c := check(r, "frontends"); code != 0 || c.Status != verify.Pass || !strings.Contains(c.Detail, k+".config") {
		t.Errorf("verify of the appliance = exit %d, frontends check %+v (all: %+v); want a pass reading %s.config", code, c, r.Checks, k)
	}
	if err := os.WriteFile(k+".config", []byte(strings.Replace(conf, "NETDEV_FRONTEND=y", "NETDEV_FRONTEND=m", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	r, code = verifyJSON(t, guest, cfg)
	if c := check(r, "frontends"); code != 3 || c.Status != verify.Fail || !strings.Contains(c.Detail, "CONFIG_XEN_NETDEV_FRONTEND=m") {
		t.Errorf("verify of an appliance with netfront as a module = exit %d, frontends check %+v; want a failure naming CONFIG_XEN_NETDEV_FRONTEND=m", code, c)
	}
	os.Remove(k + ".config")
	r, code = verifyJSON(t, guest, cfg)
	if c := check(r, "frontends"); code != 3 || c.Status != verify.Fail || !strings.Contains(c.Detail, "CONFIG_IKCONFIG") {
		t.Errorf("verify of an appliance without a configuration = exit %d, frontends check %+v; want a failure naming CONFIG_IKCONFIG", code, c)
	}
}

// TestSecondConvertChangesNothing covers the new guest types and boot
// paths: converting again with the same options changes nothing, and
// rollback restores the fixture.
func TestSecondConvertChangesNothing(t *testing.T) {
	k := filepath.Join(t.TempDir(), "vmlinuz-appliance")
	kernel, _ := os.ReadFile(filepath.Join(fixtures, "debian12/boot/vmlinuz-6.1.0-56-amd64"))
	os.WriteFile(k, kernel, 0o644)
	os.WriteFile(k+".config", []byte("CONFIG_XEN_BLKDEV_FRONTEND=y\nCONFIG_XEN_NETDEV_FRONTEND=y\nCONFIG_EXT4_FS=y\n"), 0o644)
	for name, extra := range map[string][]string{
		"pvh":         {"--guest-type", "pvh"},
		"pvgrub":      {"--boot", "pvgrub"},
		"pv-pvgrub":   {"--boot", "pvgrub", "--guest-type", "pv"},
		"appliance":   {"--kernel", k},
		"auto-no-hvm": {"--hypervisor-caps", "xen-3.0-x86_64"},
	} {
		t.Run(name, func(t *testing.T) {
			guest := copyTree(t, filepath.Join(fixtures, "debian12"))
			before := treeState(t, guest)
			args := append([]string{"convert", "--skip-guest-commands", "--hypervisor-caps", hostCaps, "--config-out", filepath.Join(t.TempDir(), "g.cfg")}, extra...)
			args = append(args, guest)
			if out, errOut, code := xenify(t, args...); code != 0 {
				t.Fatalf("convert %v = exit %d\n%s%s", extra, code, out, errOut)
			}
			if out, errOut, code := xenify(t, args...); code != 0 || !strings.Contains(out, "nothing changed") {
				t.Errorf("second convert %v = exit %d, %q %q; want nothing changed", extra, code, out, errOut)
			}
			if out, errOut, code := xenify(t, "rollback", guest); code != 0 {
				t.Fatalf("rollback = exit %d\n%s%s", code, out, errOut)
			}
			if diff := cmp.Diff(before, treeState(t, guest)); diff != "" {
				t.Errorf("rollback after convert %v did not restore the guest (-before +after):\n%s", extra, diff)
			}
		})
	}
}

// TestVerifyInitrdAnyGenerator: verify checks the final initrd the same way
// whichever generator built it: the family's block frontend (xenblk for
// XenLinux, xen-blkfront for pvops) and the root filesystem's driver.
func TestVerifyInitrdAnyGenerator(t *testing.T) {
	tests := []struct {
		fixture, want string
	}{
		// dracut's hostonly image of the native machine: no frontend.
		{"debian12-dracut", "xen-blkfront"},
		// The native EL5 nash initrd: no xenblk.
		{"centos5-x86_64", "xenblk"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			guest := copyTree(t, filepath.Join(fixtures, tt.fixture))
			cfg := filepath.Join(t.TempDir(), "g.cfg")
			// --initrd rebuild --skip-guest-commands: the initrd is
			// neither appended to nor rebuilt.
			if out, errOut, code := xenify(t, "convert", "--initrd", "rebuild", "--skip-guest-commands", "--hypervisor-caps", hostCaps, "--config-out", cfg, guest); code != 0 {
				t.Fatalf("convert = exit %d\n%s%s", code, out, errOut)
			}
			r, code := verifyJSON(t, guest, cfg)
			if c := check(r, "initramfs"); code != 3 || c.Status != verify.Fail || !strings.Contains(c.Detail, "("+tt.want+")") {
				t.Errorf("verify of %s with its native initrd = exit %d, initramfs check %+v; want exit 3 and a failure naming %s", tt.fixture, code, c, tt.want)
			}
		})
	}
	// The same dracut guest once its initrd holds xen-blkfront and ext4
	// (here the initramfs-tools image of debian12: the generator does not
	// matter) passes.
	guest := copyTree(t, filepath.Join(fixtures, "debian12-dracut"))
	cfg := filepath.Join(t.TempDir(), "g.cfg")
	if out, errOut, code := xenify(t, "convert", "--initrd", "rebuild", "--skip-guest-commands", "--hypervisor-caps", hostCaps, "--config-out", cfg, guest); code != 0 {
		t.Fatalf("convert = exit %d\n%s%s", code, out, errOut)
	}
	good, err := os.ReadFile(filepath.Join(fixtures, "debian12/boot/initrd.img-6.1.0-56-amd64"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(guest, "boot/initrd.img-6.1.0-56-amd64"), good, 0o644); err != nil {
		t.Fatal(err)
	}
	if r, code := verifyJSON(t, guest, cfg); code != 0 || check(r, "initramfs").Status != verify.Pass {
		t.Errorf("verify with xen-blkfront and ext4 in the initrd = exit %d, initramfs check %+v; want a pass", code, check(r, "initramfs"))
	}
}
