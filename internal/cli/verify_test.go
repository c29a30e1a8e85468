package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
