package source

import (
	"strings"
	"testing"

	"github.com/xenify/xenify/disk/disktest"
)

// TestEncryptedLV: an LV holding LUKS (Ubuntu's "LVM, encrypt /home" is
// the other way round; EL kickstarts do this) is named as encrypted, and
// an fstab entry the guest's crypttab opens from it is recognised.
func TestEncryptedLV(t *testing.T) {
	const uuid = "2d5a4b9e-6c1f-4e3a-8b7d-0f9e8d7c6b5a"
	l := disktest.Build(t, disktest.Spec{Size: 64 * disktest.MiB, Label: "dos", Parts: []disktest.Part{
		{Type: "8e", Content: disktest.LVM{VG: "vg0", ExtentSize: 4 * disktest.MiB, LVs: []disktest.LV{
			{Name: "root", Size: 24 * disktest.MiB, Content: disktest.Ext{Type: "ext4"}},
			{Name: "home", Size: 16 * disktest.MiB, Content: disktest.LUKS{UUID: uuid, Label: "home"}},
		}}},
	}})
	m, err := Discover([]Disk{diskOf(t, l)})
	if err != nil {
		t.Fatalf("Discover() = %v", err)
	}
	enc := m.encrypted()
	want := "vg0/home on disk.img partition 1 (LUKS2, UUID=" + uuid + ", label home)"
	if len(enc) != 1 || enc[0] != want {
		t.Errorf("Discover().encrypted() = %q, want [%q]", enc, want)
	}
	op := &opener{m: m}
	crypt := []cryptEntry{{Line: 3, Name: "home_crypt", Device: "/dev/mapper/vg0-home"}}
	why, ok := op.encryptedEntry("/dev/mapper/home_crypt", crypt)
	if !ok || !strings.Contains(why, "/etc/crypttab line 3 opens home_crypt from "+want) {
		t.Errorf("encryptedEntry(/dev/mapper/home_crypt) = %q, %v; want it to name crypttab line 3 and %s", why, ok, want)
	}
	if _, ok := op.encryptedEntry("/dev/mapper/vg0-root", crypt); ok {
		t.Errorf("encryptedEntry(/dev/mapper/vg0-root) = encrypted, want not (no crypttab line opens it)")
	}
}
