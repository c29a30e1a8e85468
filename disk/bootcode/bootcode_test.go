package bootcode

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// grubDir is where Debian's grub-pc-bin installs GRUB 2 for BIOS.
const grubDir = "/usr/lib/grub/i386-pc"

// realGrub2Disk lays GRUB 2 out on a disk image as grub-bios-setup
// does, from the real images: boot.img in the MBR (with the partition
// table kept) pointing at sector 1, and core.img made by grub-mkimage in
// the post-MBR gap, its diskboot.img blocklist naming the rest.
func realGrub2Disk(t *testing.T) []byte {
	t.Helper()
	boot, err := os.ReadFile(filepath.Join(grubDir, "boot.img"))
	if err != nil {
		t.Fatalf("GRUB 2's boot.img (Debian package grub-pc-bin, see scripts/install-deps.sh): %v", err)
	}
	core := filepath.Join(t.TempDir(), "core.img")
	out, err := exec.Command("grub-mkimage", "-O", "i386-pc", "-d", grubDir, "-o", core, "-p", "(hd0,msdos1)/boot/grub", "biosdisk", "part_msdos", "ext2").CombinedOutput()
	if err != nil {
		t.Fatalf("grub-mkimage (grub-common, grub-pc-bin): %v: %s", err, out)
	}
	c, err := os.ReadFile(core)
	if err != nil {
		t.Fatal(err)
	}
	disk := make([]byte, 2048*sector)
	copy(disk, boot[:440])
	disk[510], disk[511] = 0x55, 0xaa
	binary.LittleEndian.PutUint64(disk[0x5c:], 1)
	copy(disk[sector:], c)
	n := (len(c) - sector + sector - 1) / sector
	binary.LittleEndian.PutUint64(disk[sector+0x1f4:], 2)
	binary.LittleEndian.PutUint16(disk[sector+0x1fc:], uint16(n))
	return disk
}

func TestInspectGrub2(t *testing.T) {
	disk := realGrub2Disk(t)
	r := Inspect(bytes.NewReader(disk), int64(len(disk)))
	if !r.OK || r.Loader != Grub2 {
		t.Fatalf("Inspect = %+v, want GRUB 2 OK", r)
	}
	if !strings.Contains(r.Detail, "sector 1") {
		t.Errorf("detail %q does not name core.img's sector", r.Detail)
	}
}

// The failures a guest meets: nothing in the MBR (an installer that put
// GRUB on a partition, or a disk image never made bootable), and boot.img
// whose core.img is gone (the gap overwritten).
func TestInspectRefuses(t *testing.T) {
	good := realGrub2Disk(t)
	for _, tc := range []struct {
		name   string
		change func(d []byte)
		loader string
		want   string
	}{
		{"no signature", func(d []byte) { d[510] = 0 }, "", "no boot signature"},
		{"table only", func(d []byte) { clear(d[:440]) }, "", "no boot code"},
		{"core.img gone", func(d []byte) { clear(d[sector : 2048*sector]) }, Grub2, "holds no diskboot.img"},
		{"core.img body gone", func(d []byte) { clear(d[2*sector : 2048*sector]) }, Grub2, "it is empty"},
		{"core.img sector outside", func(d []byte) { binary.LittleEndian.PutUint64(d[0x5c:], 1<<40) }, Grub2, "outside the disk"},
		{"not GRUB", func(d []byte) { copy(d[0x180:], "SYSLINUX") }, Other, "not GRUB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := bytes.Clone(good)
			tc.change(d)
			r := Inspect(bytes.NewReader(d), int64(len(d)))
			if r.Loader != tc.loader || !strings.Contains(r.Detail, tc.want) || (r.OK != (tc.loader == Other)) {
				t.Errorf("Inspect = %+v, want loader %q, detail with %q", r, tc.loader, tc.want)
			}
		})
	}
}

// GRUB legacy's stage1 as GRUB 0.97 writes it: version 3.2 at 0x3e,
// stage1.5's sector at 0x44, and stage1.5 beginning "Loading stage1.5".
func TestInspectGrubLegacy(t *testing.T) {
	disk := make([]byte, 64*sector)
	copy(disk[0x17b:], grubMessages)
	disk[0], disk[1] = 0xeb, 0x48
	disk[0x3e], disk[0x3f] = 3, 2
	binary.LittleEndian.PutUint32(disk[0x44:], 1)
	disk[510], disk[511] = 0x55, 0xaa
	copy(disk[sector+0x100:], "Loading stage1.5\x00")
	r := Inspect(bytes.NewReader(disk), int64(len(disk)))
	if !r.OK || r.Loader != GrubLegacy || !strings.Contains(r.Detail, "stage1.5") {
		t.Fatalf("Inspect = %+v, want GRUB legacy stage1.5 OK", r)
	}
	clear(disk[sector:])
	if r := Inspect(bytes.NewReader(disk), int64(len(disk))); r.OK {
		t.Fatalf("Inspect without stage1.5 = %+v, want not OK", r)
	}
}
