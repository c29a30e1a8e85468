package source

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xenify/xenify/disk/disktest"
)

func diskOf(t *testing.T, l *disktest.Layout) Disk {
	t.Helper()
	data, err := os.ReadFile(l.Path)
	if err != nil {
		t.Fatal(err)
	}
	return Disk{Name: "disk.img", R: bytes.NewReader(data), Size: int64(len(data))}
}

// TestDiscoverAndResolve builds images without root (sfdisk, mke2fs,
// mkswap, md superblocks written by disktest) and resolves fstab specs.
func TestDiscoverAndResolve(t *testing.T) {
	a := disktest.Build(t, disktest.Spec{Size: 64 * disktest.MiB, Label: "dos", Parts: []disktest.Part{
		{Size: 8 * disktest.MiB, Type: "83", Content: disktest.Ext{Type: "ext3", Label: "/boot"}},
		{Type: "5"},
		{Number: 5, Size: 24 * disktest.MiB, Type: "83", Content: disktest.Ext{Type: "ext3", UUID: "0b0a6c1e-7d0e-4c62-9d4b-6f2d8e1b9a10"}},
		{Number: 6, Size: 8 * disktest.MiB, Type: "82", Content: disktest.Swap{Label: "SWAP-sda6"}},
		{Number: 7, Type: "fd", Content: disktest.MD{Version: "0.90", Content: disktest.Ext{Type: "ext2", Label: "data"}}},
	}})
	b := disktest.Build(t, disktest.Spec{Size: 16 * disktest.MiB, Label: "gpt", Parts: []disktest.Part{
		{Type: "L", Name: "srv", Content: disktest.Ext{Type: "ext4"}},
	}})
	m, err := Discover([]Disk{diskOf(t, a), diskOf(t, b)})
	if err != nil {
		t.Fatalf("Discover() = %v", err)
	}
	for _, tc := range []struct {
		spec string
		want string // Describe of the match, "" for none
	}{
		{"LABEL=/boot", "disk.img partition 1"},
		{"/dev/hda1", "disk.img partition 1"},
		{"/dev/sda5", "disk.img partition 5"},
		{"UUID=0B0A6C1E-7D0E-4C62-9D4B-6F2D8E1B9A10", "disk.img partition 5"},
		{"LABEL=SWAP-sda6", "disk.img partition 6"},
		{"/dev/md0", "md array " + m.Volumes[3].MD + " on disk.img partition 7"},
		{"/dev/md/0", "md array " + m.Volumes[3].MD + " on disk.img partition 7"},
		{"/dev/sdb1", "disk.img partition 1"},
		{"PARTLABEL=srv", "disk.img partition 1"},
		{"/dev/sdc1", ""},
		{"/dev/sda3", ""},
		{"/dev/VolGroup00/LogVol00", ""},
		{"LABEL=nothing", ""},
		{"none", ""},
	} {
		idx, u, err := m.Resolve(tc.spec, nil)
		got := ""
		if idx >= 0 {
			got = m.Volumes[idx].Describe(m.Disks)
		}
		if err != nil || u != nil || got != tc.want {
			t.Errorf("Resolve(%q) = %q, %v, %v; want %q", tc.spec, got, u, err, tc.want)
		}
	}
	if idx, _, _ := m.Resolve("/dev/sdb1", nil); idx >= 0 && m.Volumes[idx].Disk != 1 {
		t.Errorf("Resolve(/dev/sdb1) is on disk %d, want the second disk", m.Volumes[idx].Disk)
	}
	if idx, _, _ := m.Resolve("/dev/md0", nil); idx >= 0 && m.Volumes[idx].Probe.Label != "data" {
		t.Errorf("Resolve(/dev/md0) = %+v, want the ext2 labelled data inside the array", m.Volumes[idx].Probe)
	}
}

func TestDiscoverAmbiguousLabel(t *testing.T) {
	l := disktest.Build(t, disktest.Spec{Size: 32 * disktest.MiB, Label: "dos", Parts: []disktest.Part{
		{Size: 12 * disktest.MiB, Type: "83", Content: disktest.Ext{Label: "/"}},
		{Type: "83", Content: disktest.Ext{Label: "/"}},
	}})
	m, err := Discover([]Disk{diskOf(t, l)})
	if err != nil {
		t.Fatal(err)
	}
	if idx, _, err := m.Resolve("LABEL=/", nil); err == nil {
		t.Errorf("Resolve(LABEL=/) = %d, nil; want an error naming both filesystems", idx)
	}
}

func TestLVFromPath(t *testing.T) {
	for _, tc := range []struct{ in, vg, lv string }{
		{"/dev/VolGroup00/LogVol00", "VolGroup00", "LogVol00"},
		{"/dev/mapper/VolGroup00-LogVol00", "VolGroup00", "LogVol00"},
		{"/dev/mapper/my--vg-root--lv", "my-vg", "root-lv"},
		{"/dev/md/0", "", ""},
		{"/dev/disk/by-uuid", "", ""},
		{"/dev/sda1", "", ""},
		{"/dev/mapper/novolume", "", ""},
	} {
		vg, lv, _ := lvFromPath(tc.in)
		if vg != tc.vg || lv != tc.lv {
			t.Errorf("lvFromPath(%q) = %q, %q; want %q, %q", tc.in, vg, lv, tc.vg, tc.lv)
		}
	}
}

func TestSmallHelpers(t *testing.T) {
	if got := partitionDevice("/dev/sdb", 2); got != "/dev/sdb2" {
		t.Errorf("partitionDevice(/dev/sdb, 2) = %q, want /dev/sdb2", got)
	}
	if got := partitionDevice("/dev/nvme0n1", 2); got != "/dev/nvme0n1p2" {
		t.Errorf("partitionDevice(/dev/nvme0n1, 2) = %q, want /dev/nvme0n1p2", got)
	}
	if got := unescapeMount(`/mnt/a\040b\134c`); got != `/mnt/a b\c` {
		t.Errorf("unescapeMount = %q, want %q", got, `/mnt/a b\c`)
	}
	for _, tc := range []struct {
		info string
		want bool
	}{
		{"pos:\t0\nflags:\t0100000\nmnt_id:\t1\n", false},
		{"pos:\t0\nflags:\t0100002\n", true},
		{"pos:\t0\nflags:\t02100001\n", true},
	} {
		if got := writeFlags(tc.info); got != tc.want {
			t.Errorf("writeFlags(%q) = %v, want %v", tc.info, got, tc.want)
		}
	}
	if letterIndex("a") != 0 || letterIndex("z") != 25 || letterIndex("aa") != 26 {
		t.Errorf("letterIndex(a, z, aa) = %d, %d, %d; want 0, 25, 26", letterIndex("a"), letterIndex("z"), letterIndex("aa"))
	}
}

// TestSessionState checks the state file life cycle without root.
func TestSessionState(t *testing.T) {
	old := RunDir
	RunDir = t.TempDir()
	defer func() { RunDir = old }()
	s, err := newSession()
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.begin(Item{Kind: "loop", Backing: "/x.img", Offset: 512})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.update(id, func(it *Item) { it.Loop = "/dev/loop7" }); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(s.path)
	if err != nil {
		t.Fatal(err)
	}
	want := State{PID: os.Getpid(), Start: s.st.Start, MountDir: s.st.MountDir, Items: []Item{{ID: 1, Kind: "loop", Loop: "/dev/loop7", Backing: "/x.img", Offset: 512}}}
	var got State
	if err := jsonUnmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("state file (-want +got):\n%s", diff)
	}
	if err := s.finish(); err == nil {
		t.Errorf("finish() with an unreleased item = nil, want an error")
	}
	if err := s.end(id); err != nil {
		t.Fatal(err)
	}
	if err := s.finish(); err != nil {
		t.Errorf("finish() = %v", err)
	}
	if _, err := os.Stat(s.path); !os.IsNotExist(err) {
		t.Errorf("state file still there after finish: %v", err)
	}
	if _, err := os.Stat(s.st.MountDir); !os.IsNotExist(err) {
		t.Errorf("mount directory still there after finish: %v", err)
	}
	// A live owner's state is never touched by Cleanup.
	s2, _ := newSession()
	if rel, err := Cleanup(); err != nil || len(rel) != 0 {
		t.Errorf("Cleanup() with only this process's state = %v, %v; want nothing released", rel, err)
	}
	s2.finish()
}

func FuzzDiscover(f *testing.F) {
	mbr := make([]byte, 64*1024)
	mbr[510], mbr[511] = 0x55, 0xaa
	copy(mbr[446:], []byte{0x80, 0, 0, 0, 0x83, 0, 0, 0, 1, 0, 0, 0, 0x40, 0, 0, 0})
	f.Add(mbr)
	f.Add([]byte("LABELONE"))
	f.Add(make([]byte, 4096))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Discover([]Disk{{Name: "fuzz", R: bytes.NewReader(data), Size: int64(len(data))}})
		if err != nil {
			return
		}
		for _, spec := range []string{"/dev/sda1", "/dev/md0", "LABEL=/", "/dev/VolGroup00/LogVol00", "UUID=x"} {
			m.Resolve(spec, nil)
		}
	})
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
