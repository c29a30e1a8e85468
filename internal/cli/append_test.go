package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xenify/xenify/initramfs"
)

// convertedCentOS5 converts a copy of the CentOS 5 fixture with
// --initrd append: its el5xen initrd (built on bare metal) lacks xenblk.
func convertedCentOS5(t *testing.T) (guest, cfg string) {
	t.Helper()
	guest = copyTree(t, filepath.Join(fixtures, "centos5-x86_64"))
	cfg = filepath.Join(t.TempDir(), "c5.cfg")
	if out, errOut, code := xenify(t, "convert", "--initrd", "append", "--hypervisor-caps", hostCaps, "--config-out", cfg, guest); code != 0 {
		t.Fatalf("convert --initrd append = exit %d\n%s%s", code, out, errOut)
	}
	return guest, cfg
}

const el5Initrd = "boot/initrd-2.6.18-8.el5xen.img"

// TestAppendCentOS5 checks that the appended initrd keeps the original
// bytes as its prefix, that verify finds xenblk loaded by the final
// view's nash init, and that mkinitrd's configuration keeps it.
func TestAppendCentOS5(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join(fixtures, "centos5-x86_64", el5Initrd))
	if err != nil {
		t.Fatal(err)
	}
	guest, cfg := convertedCentOS5(t)
	got, err := os.ReadFile(filepath.Join(guest, el5Initrd))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(got, orig) || len(got) == len(orig) {
		t.Fatalf("initrd after convert: %d bytes, want the original %d bytes followed by a layer", len(got), len(orig))
	}
	r, code := verifyJSON(t, guest, cfg)
	if c := check(r, "initramfs"); code != 0 || c.Status != "pass" {
		t.Errorf("verify = exit %d, initramfs %+v; want pass", code, c)
	}
	mp, _ := os.ReadFile(filepath.Join(guest, "etc/modprobe.conf"))
	if !strings.Contains(string(mp), "\nalias scsi_hostadapter xenblk\n") {
		t.Errorf("modprobe.conf =\n%s\nwant alias scsi_hostadapter xenblk, so the guest's mkinitrd keeps the frontend", mp)
	}
}

// TestVerifyChecksTheFinalView appends hand-made layers that put
// xenblk.ko in the initrd but cannot work: verify must see through them.
func TestVerifyChecksTheFinalView(t *testing.T) {
	orig, err := os.ReadFile(filepath.Join(fixtures, "centos5-x86_64", el5Initrd))
	if err != nil {
		t.Fatal(err)
	}
	ko := func(vermagic, depends string) []byte {
		return []byte("\x7fELF\x02\x01\x01\x00license=GPL\x00depends=" + depends + "\x00vermagic=" + vermagic + " SMP mod_unload Xen gcc-4.1\x00name=xenblk\x00")
	}
	v, err := initramfs.NewView(orig)
	if err != nil {
		t.Fatal(err)
	}
	init, _ := v.ReadFile("init")
	loading := strings.Replace(string(init), "echo Waiting for driver", "insmod /lib/xenblk.ko \necho Waiting for driver", 1)
	for name, c := range map[string]struct {
		members []initramfs.Member
		want    string
	}{
		"not loaded": {[]initramfs.Member{initramfs.File("lib/xenblk.ko", ko("2.6.18-8.el5xen", ""), 0o644)}, "does not load xenblk before making the root device"},
		"vermagic": {[]initramfs.Member{initramfs.File("init", []byte(loading), 0o755), initramfs.File("lib/xenblk.ko", ko("2.6.18-8.el5", ""), 0o644)},
			"xenblk.ko was built for kernel 2.6.18-8.el5 (vermagic), not 2.6.18-8.el5xen"},
		"dependency": {[]initramfs.Member{initramfs.File("init", []byte(loading), 0o755), initramfs.File("lib/xenblk.ko", ko("2.6.18-8.el5xen", "xenbus_extra"), 0o644)},
			"xenblk.ko needs xenbus_extra"},
	} {
		t.Run(name, func(t *testing.T) {
			guest, cfg := convertedCentOS5(t)
			layer, err := initramfs.WriteNewc(c.members)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(guest, el5Initrd), append(append(orig, 0, 0, 0, 0)[:len(orig)+(4-len(orig)%4)%4], layer...), 0o600); err != nil {
				t.Fatal(err)
			}
			r, code := verifyJSON(t, guest, cfg)
			if ch := check(r, "initramfs"); code != 3 || ch.Status != "fail" || !strings.Contains(ch.Detail, c.want) {
				t.Errorf("verify = exit %d, initramfs %+v; want a failure saying %q", code, ch, c.want)
			}
		})
	}
}

// TestAppendRefusedOrRebuilt: a kernel without the block frontend cannot
// get it appended. --initrd append refuses (exit 3) naming why; auto
// says why in a warning and rebuilds with the guest's own tool.
func TestAppendRefusedOrRebuilt(t *testing.T) {
	guest := copyTree(t, filepath.Join(fixtures, "debian12"))
	dep := filepath.Join(guest, "usr/lib/modules/6.1.0-56-amd64/modules.dep")
	b, err := os.ReadFile(dep)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.Replace(string(b), "kernel/drivers/block/xen-blkfront.ko:\n", "", 1))
	if err := os.WriteFile(dep, b, 0o644); err != nil {
		t.Fatal(err)
	}
	// The initrd must lack it too, or there is nothing to add.
	native, err := os.ReadFile(filepath.Join(fixtures, "centos5-x86_64/boot/initrd-2.6.18-8.el5.img"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(guest, "boot/initrd.img-6.1.0-56-amd64"), native, 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := xenify(t, "plan", "--initrd", "append", "--hypervisor-caps", hostCaps, guest)
	if code != 3 || !strings.Contains(errOut, "has no xen-blkfront module and does not build it in") {
		t.Errorf("plan --initrd append = exit %d\n%s%s\nwant exit 3 naming the missing module", code, out, errOut)
	}
	out, errOut, code = xenify(t, "plan", "--hypervisor-caps", hostCaps, guest)
	if code != 0 || !strings.Contains(out, "cannot be appended as a layer") || !strings.Contains(out, "update-initramfs -u -k 6.1.0-56-amd64") {
		t.Errorf("plan (auto) = exit %d\n%s%s\nwant a warning and the guest's update-initramfs", code, out, errOut)
	}
}
