package source_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/xenify/xenify/disk/disktest"
	"github.com/xenify/xenify/source"
)

// BenchmarkIntegrationOpen opens (discover, check, attach, find root,
// mount every fstab filesystem) and closes a 4-partition image with LVM:
// /boot, an LVM PV with root and swap, /var and /home.
func BenchmarkIntegrationOpen(b *testing.B) {
	requireDisks(b)
	privateRunDir(b)
	l := disktest.Build(b, disktest.Spec{Size: 260 * mib, Label: "dos", Parts: []disktest.Part{
		{Size: 40 * mib, Type: "83", Bootable: true},
		{Size: 140 * mib, Type: "8e", Content: disktest.LVM{VG: "VolGroup00", LVs: []disktest.LV{
			{Name: "LogVol00", Size: 100 * mib},
			{Name: "LogVol01", Size: 16 * mib, Content: disktest.Swap{}},
		}}},
		{Size: 32 * mib, Type: "83"},
		{Type: "83"},
	}})
	root, boot := tree(b, mustRead(b, filepath.Join(fixture, "etc/fstab"))+
		"LABEL=/var /var ext3 defaults 1 2\nLABEL=/home /home ext3 defaults 1 2\n", true)
	mkext(b, l.Path, l.Volume(b, "p2/VolGroup00/LogVol00"), "ext3", "", "", root)
	mkext(b, l.Path, vol(l, 1), "ext3", "/boot", "", boot)
	mkext(b, l.Path, vol(l, 3), "ext3", "/var", "", filepath.Join(root, "var"))
	mkext(b, l.Path, vol(l, 4), "ext3", "/home", "", filepath.Join(root, "home"))
	img := copyImage(b, image{paths: []string{l.Path}})
	if _, err := os.Stat(img.paths[0]); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		o, err := source.Open(context.Background(), img.paths, source.ReadOnly)
		if err != nil {
			b.Fatal(err)
		}
		if n := len(o.Filesystems); n != 5 {
			b.Fatalf("Open() found %d filesystems, want 5 (/, /boot, /var, /home, swap); warnings %q", n, o.Warnings)
		}
		if err := o.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
