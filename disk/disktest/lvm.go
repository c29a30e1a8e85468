package disktest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/xenify/xenify/disk/lvm"
)

// LVM makes the range an LVM2 PV holding one VG with the given LVs. It
// needs root (loop device) and the lvm2 tools.
type LVM struct {
	VG string
	// ExtentSize in bytes (default 4 MiB; RHEL 4/5 installers used 32 MiB).
	ExtentSize int64
	LVs        []LV
}

// LV is a logical volume. After all LVs are created, each LV with
// ExtendBy > 0 is extended, which gives it a second, non-contiguous
// segment when another LV follows it.
type LV struct {
	Name     string
	Size     int64
	ExtendBy int64
	Content  Content
}

// lvmConfig makes LVM work without device-mapper and without touching
// /etc/lvm; see the package comment.
const lvmConfig = "global{activation=0} backup{backup=0 archive=0} devices{obtain_device_list_from_udev=0}"

func (l LVM) build(b *builder, where string, off, size int64) {
	t := b.t
	t.Helper()
	RequireRoot(t)
	RequireTools(t, "losetup", "pvcreate", "vgcreate", "lvcreate", "lvextend", "lvs", "pvs")
	dev := Losetup(t, b.path, off, size)
	lvmc := func(cmd string, args ...string) string {
		t.Helper()
		return Run(t, nil, append([]string{cmd, "--devices", dev, "--config", lvmConfig}, args...)...)
	}
	ext := l.ExtentSize
	if ext == 0 {
		ext = 4 * MiB
	}
	lvmc("pvcreate", "-q", "-ff", "-y", dev)
	lvmc("vgcreate", "-q", "-s", fmt.Sprintf("%dk", ext/1024), l.VG, dev)
	for _, lv := range l.LVs {
		lvmc("lvcreate", "-q", "-an", "-Zn", "-y", "-L", fmt.Sprintf("%dk", lv.Size/1024), "-n", lv.Name, l.VG)
	}
	for _, lv := range l.LVs {
		if lv.ExtendBy > 0 {
			lvmc("lvextend", "-q", "-L", fmt.Sprintf("+%dk", lv.ExtendBy/1024), l.VG+"/"+lv.Name)
		}
	}

	// Our parser computes the LV offsets; LVM's own tools cross-check them.
	f, err := os.Open(b.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pv, err := lvm.ReadPV(io.NewSectionReader(f, off, size), size)
	if err != nil {
		t.Fatalf("lvm.ReadPV(%s at %d) = %v", b.path, off, err)
	}
	peStart := atoi(t, lvmc("pvs", "--noheadings", "--units", "b", "--nosuffix", "-o", "pe_start", dev))
	extSize := atoi(t, lvmc("vgs", "--noheadings", "--units", "b", "--nosuffix", "-o", "vg_extent_size", l.VG))
	if got := pv.Self.PEStart * 512; got != peStart {
		t.Fatalf("lvm.ReadPV: pe_start = %d bytes, pvs says %d", got, peStart)
	}
	if got := pv.VG.ExtentSize * 512; got != extSize {
		t.Fatalf("lvm.ReadPV: extent size = %d bytes, vgs says %d", got, extSize)
	}
	b.add(Volume{Where: where, Kind: "LVM2_member", Offset: off, Size: size, UUID: pv.Label.PVID, Linear: true})
	for _, lv := range l.LVs {
		w := where + "/" + l.VG + "/" + lv.Name
		loc, err := pv.VG.Locate(lv.Name)
		ranges := strings.Fields(lvmc("lvs", "--noheadings", "-o", "seg_pe_ranges", l.VG+"/"+lv.Name))
		if errors.Is(err, lvm.ErrNotLinear) {
			if len(ranges) < 2 {
				t.Fatalf("Locate(%s) = %v, but lvs shows PE ranges %q", lv.Name, err, ranges)
			}
			if lv.Content != nil {
				t.Fatalf("cannot put content into non-linear LV %s: %v", w, err)
			}
			b.add(Volume{Where: w, Kind: "lv"})
			continue
		}
		if err != nil {
			t.Fatalf("Locate(%s) = %v", lv.Name, err)
		}
		// A linear LV may still show several ranges when lvextend added
		// a contiguous segment; they must then be adjacent.
		first, last := peRange(t, ranges[0])
		for _, r := range ranges[1:] {
			a, z := peRange(t, r)
			if a != last+1 {
				t.Fatalf("Locate(%s) says linear but lvs shows PE ranges %q", lv.Name, ranges)
			}
			last = z
		}
		wantOff := peStart + first*extSize
		wantSize := (last - first + 1) * extSize
		if loc.Offset != wantOff || loc.Size != wantSize {
			t.Fatalf("Locate(%s) = offset %d size %d, want %d %d from pvs/lvs (%q)", lv.Name, loc.Offset, loc.Size, wantOff, wantSize, ranges)
		}
		v := Volume{Where: w, Kind: "lv", Offset: off + loc.Offset, Size: loc.Size, Linear: true}
		if lv.Content != nil {
			lv.Content.build(b, w, v.Offset, v.Size)
			continue
		}
		b.add(v)
	}
}

func atoi(t testing.TB, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		t.Fatalf("parsing number %q: %v", s, err)
	}
	return n
}

// peRange parses "/dev/loop0:3-7".
func peRange(t testing.TB, s string) (int64, int64) {
	t.Helper()
	i := strings.LastIndexByte(s, ':')
	a, z, ok := strings.Cut(s[i+1:], "-")
	if i < 0 || !ok {
		t.Fatalf("bad PE range %q", s)
	}
	return atoi(t, a), atoi(t, z)
}
