package disktest_test

import (
	"errors"
	"io"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xenify/xenify/disk/disktest"
	"github.com/xenify/xenify/disk/fsprobe"
	"github.com/xenify/xenify/disk/lvm"
	"github.com/xenify/xenify/disk/md"
	"github.com/xenify/xenify/disk/part"
)

const mib = disktest.MiB

func open(t *testing.T, l *disktest.Layout) *os.File {
	t.Helper()
	f, err := os.Open(l.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// checkTable compares part.Read with what sfdisk --json reported.
func checkTable(t *testing.T, f *os.File, l *disktest.Layout, kind part.Kind) *part.Table {
	t.Helper()
	tab, err := part.Read(f, l.Size)
	if err != nil {
		t.Fatalf("part.Read() = %v", err)
	}
	if tab.Kind != kind {
		t.Fatalf("part.Read().Kind = %v, want %v", tab.Kind, kind)
	}
	var got, want []disktest.PartInfo
	for _, p := range tab.Partitions {
		typ := p.Type
		if tab.Kind == part.MBR {
			typ = typ[2:] // "0x83" -> "83"
			if typ[0] == '0' {
				typ = typ[1:]
			}
		}
		got = append(got, disktest.PartInfo{Number: p.Number, Start: p.Start, Size: p.Size, Type: typ, Bootable: p.Bootable, Name: p.Name})
	}
	for _, p := range l.Parts {
		if tab.Kind == part.GPT {
			p.Bootable = false
		}
		want = append(want, p)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("part.Read() differs from sfdisk --json (-sfdisk +part):\n%s", diff)
	}
	return tab
}

// probeAt runs fsprobe on a byte range of the image.
func probeAt(t *testing.T, f *os.File, off, size int64) fsprobe.Result {
	t.Helper()
	r, err := fsprobe.Probe(io.NewSectionReader(f, off, size), size)
	if err != nil {
		t.Fatalf("fsprobe.Probe(at %d) = %v", off, err)
	}
	return r
}

func TestIntegrationMBRRootSwap(t *testing.T) {
	l := disktest.Build(t, disktest.Spec{Size: 64 * mib, Label: "dos", Parts: []disktest.Part{
		{Size: 40 * mib, Type: "83", Bootable: true, Content: disktest.Ext{Type: "ext3", Label: "/", Files: map[string]string{"etc/fstab": "LABEL=/ / ext3 defaults 1 1\n"}}},
		{Type: "82", Content: disktest.Swap{Label: "SWAP-sda2"}},
	}})
	f := open(t, l)
	tab := checkTable(t, f, l, part.MBR)
	for _, tc := range []struct {
		n          int
		typ, label string
	}{{1, "ext3", "/"}, {2, "swap", "SWAP-sda2"}} {
		p, _ := tab.Partition(tc.n)
		if r := probeAt(t, f, p.Start, p.Size); r.Type != tc.typ || r.Label != tc.label {
			t.Errorf("Probe(partition %d) = %q %q, want %q %q", tc.n, r.Type, r.Label, tc.typ, tc.label)
		}
	}
}

func TestIntegrationLogicalRoot(t *testing.T) {
	l := disktest.Build(t, disktest.Spec{Size: 96 * mib, Label: "dos", Parts: []disktest.Part{
		{Number: 1, Size: 16 * mib, Type: "83", Bootable: true, Content: disktest.Ext{Type: "ext2", Label: "/boot"}},
		{Number: 2, Type: "5"},
		{Number: 5, Size: 16 * mib, Type: "82", Content: disktest.Swap{}},
		{Number: 6, Size: 40 * mib, Type: "83", Content: disktest.Ext{Type: "ext4", Label: "root"}},
		{Number: 7, Type: "83"},
	}})
	f := open(t, l)
	tab := checkTable(t, f, l, part.MBR)
	p, ok := tab.Partition(6)
	if !ok || !p.Logical {
		t.Fatalf("Partition(6) = %+v, %v, want a logical partition", p, ok)
	}
	if r := probeAt(t, f, p.Start, p.Size); r.Type != "ext4" || r.Label != "root" {
		t.Errorf("Probe(sda6) = %q %q, want ext4 root", r.Type, r.Label)
	}
}

func TestIntegrationGPT(t *testing.T) {
	l := disktest.Build(t, disktest.Spec{Size: 64 * mib, Label: "gpt", Parts: []disktest.Part{
		{Size: 1 * mib, Type: part.GUIDBIOSBoot, Name: "bios"},
		{Size: 20 * mib, Type: "L", Name: "boot", Content: disktest.Ext{Type: "ext4", Label: "boot"}},
		{Size: 8 * mib, Type: "S", Name: "swap", Content: disktest.Swap{}},
		{Type: "R", Name: "raid", Content: disktest.MD{Version: "1.2", Name: "h:root", Content: disktest.Ext{Label: "mdroot"}}},
	}})
	f := open(t, l)
	tab := checkTable(t, f, l, part.GPT)
	want := []part.Class{part.ClassBIOSBoot, part.ClassLinux, part.ClassSwap, part.ClassRAID}
	for i, p := range tab.Partitions {
		if p.Class != want[i] {
			t.Errorf("partition %d class = %v, want %v", p.Number, p.Class, want[i])
		}
	}
	p4 := tab.Partitions[3]
	r := probeAt(t, f, p4.Start, p4.Size)
	if r.Type != "linux_raid_member" || r.Label != "h:root" {
		t.Fatalf("Probe(p4) = %q %q, want linux_raid_member h:root", r.Type, r.Label)
	}
	off, n, err := r.MD.RAID1Range()
	if err != nil {
		t.Fatal(err)
	}
	if r := probeAt(t, f, p4.Start+off, n); r.Type != "ext4" || r.Label != "mdroot" {
		t.Errorf("Probe(md data) = %q %q, want ext4 mdroot", r.Type, r.Label)
	}
}

func TestIntegrationMD090(t *testing.T) {
	l := disktest.Build(t, disktest.Spec{Size: 64 * mib, Label: "dos", Parts: []disktest.Part{
		{Type: "fd", Content: disktest.MD{Version: "0.90", Content: disktest.Ext{Type: "ext3", Label: "/boot"}}},
	}})
	f := open(t, l)
	tab := checkTable(t, f, l, part.MBR)
	p := tab.Partitions[0]
	sb, err := md.Examine(io.NewSectionReader(f, p.Start, p.Size), p.Size)
	if err != nil {
		t.Fatal(err)
	}
	off, n, err := sb.RAID1Range()
	data := l.Volume(t, "p1/md/data")
	if err != nil || p.Start+off != data.Offset || n != data.Size {
		t.Errorf("RAID1Range() = %d, %d, %v, want %d, %d", off, n, err, data.Offset-p.Start, data.Size)
	}
	if r := probeAt(t, f, p.Start+off, n); r.Type != "ext3" || r.Label != "/boot" {
		t.Errorf("Probe(md data) = %q %q, want ext3 /boot", r.Type, r.Label)
	}
}

func TestIntegrationCorruptTable(t *testing.T) {
	l := disktest.Build(t, disktest.Spec{Size: 32 * mib, Label: "dos", Parts: []disktest.Part{
		{Size: 10 * mib, Type: "83"}, {Size: 10 * mib, Type: "83"},
	}})
	// Make partition 2 start inside partition 1.
	disktest.WriteAt(t, l.Path, []byte{0x00, 0x10, 0x00, 0x00}, 446+16+8)
	f := open(t, l)
	if tab, err := part.Read(f, l.Size); !errors.Is(err, part.ErrCorrupt) {
		t.Errorf("part.Read(overlapping) = %+v, %v, want ErrCorrupt", tab, err)
	}
}

// centos is the RHEL/CentOS 4-5 default layout: /boot ext3 on sda1, an LVM
// PV on sda2 with VolGroup00/LogVol00 (root) and LogVol01 (swap).
func centos(t *testing.T, extendRoot bool) *disktest.Layout {
	root := disktest.LV{Name: "LogVol00", Size: 96 * mib, Content: disktest.Ext{Type: "ext3", InodeSize: 128, Label: "root", Files: map[string]string{"etc/redhat-release": "CentOS release 4.9 (Final)\n"}}}
	if extendRoot {
		root.Content = nil
		root.ExtendBy = 32 * mib
	}
	return disktest.Build(t, disktest.Spec{Size: 320 * mib, Label: "dos", Parts: []disktest.Part{
		{Size: 100 * mib, Type: "83", Bootable: true, Content: disktest.Ext{Type: "ext3", Label: "/boot", InodeSize: 128}},
		{Type: "8e", Content: disktest.LVM{VG: "VolGroup00", ExtentSize: 32 * mib, LVs: []disktest.LV{
			root,
			{Name: "LogVol01", Size: 32 * mib, Content: disktest.Swap{}},
		}}},
	}})
}

func TestIntegrationCentOSDefault(t *testing.T) {
	l := centos(t, false)
	f := open(t, l)
	tab := checkTable(t, f, l, part.MBR)
	p2, _ := tab.Partition(2)
	if p2.Class != part.ClassLVM {
		t.Fatalf("partition 2 class = %v, want lvm", p2.Class)
	}
	if r := probeAt(t, f, p2.Start, p2.Size); r.Type != "LVM2_member" {
		t.Fatalf("Probe(sda2) = %q, want LVM2_member", r.Type)
	}
	pv, err := lvm.ReadPV(io.NewSectionReader(f, p2.Start, p2.Size), p2.Size)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ lv, typ, label string }{{"LogVol00", "ext3", "root"}, {"LogVol01", "swap", ""}} {
		loc, err := pv.VG.Locate(tc.lv)
		if err != nil {
			t.Fatalf("Locate(%s) = %v", tc.lv, err)
		}
		v := l.Volume(t, "p2/VolGroup00/"+tc.lv)
		if p2.Start+loc.Offset != v.Offset || loc.Size != v.Size {
			t.Errorf("Locate(%s) = %+v, want offset %d size %d", tc.lv, loc, v.Offset-p2.Start, v.Size)
		}
		if r := probeAt(t, f, p2.Start+loc.Offset, loc.Size); r.Type != tc.typ || r.Label != tc.label {
			t.Errorf("Probe(%s) = %q %q, want %q %q", tc.lv, r.Type, r.Label, tc.typ, tc.label)
		}
	}
}

func TestIntegrationMultiSegmentLV(t *testing.T) {
	l := centos(t, true)
	f := open(t, l)
	tab := checkTable(t, f, l, part.MBR)
	p2, _ := tab.Partition(2)
	pv, err := lvm.ReadPV(io.NewSectionReader(f, p2.Start, p2.Size), p2.Size)
	if err != nil {
		t.Fatal(err)
	}
	if loc, err := pv.VG.Locate("LogVol00"); !errors.Is(err, lvm.ErrNotLinear) {
		t.Errorf("Locate(LogVol00 extended after LogVol01) = %+v, %v, want ErrNotLinear", loc, err)
	}
	if _, err := pv.VG.Locate("LogVol01"); err != nil {
		t.Errorf("Locate(LogVol01) = %v", err)
	}
}

func TestIntegrationCorruptLVMMetadata(t *testing.T) {
	l := centos(t, false)
	f := open(t, l)
	tab := checkTable(t, f, l, part.MBR)
	p2, _ := tab.Partition(2)
	label, err := lvm.ReadLabel(io.NewSectionReader(f, p2.Start, p2.Size), p2.Size)
	if err != nil {
		t.Fatal(err)
	}
	// Damage the committed metadata text that raw_locn[0] points at.
	mda := p2.Start + label.MetadataAreas[0].Offset
	hdr := make([]byte, 64)
	if _, err := f.ReadAt(hdr, mda); err != nil {
		t.Fatal(err)
	}
	textOff := int64(hdr[40]) | int64(hdr[41])<<8 | int64(hdr[42])<<16
	disktest.WriteAt(t, l.Path, []byte("#"), mda+textOff+3)
	if _, err := lvm.ReadPV(io.NewSectionReader(f, p2.Start, p2.Size), p2.Size); !errors.Is(err, lvm.ErrChecksum) {
		t.Errorf("lvm.ReadPV(corrupt metadata) = %v, want ErrChecksum", err)
	}
}
