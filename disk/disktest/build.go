package disktest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Spec describes an image to build.
type Spec struct {
	// Size is the image size in bytes.
	Size int64
	// Label is the partition table: "dos", "gpt", or "" for none (then
	// Content fills the whole image).
	Label string
	Parts []Part
	// Content is the whole-image content when Label is "".
	Content Content
}

// Part is one partition, created with sfdisk.
type Part struct {
	// Number is the partition number; 0 means "next". Logical partitions
	// (dos, inside a Type "5" partition) need an explicit Number >= 5.
	Number int
	// Size in bytes (a multiple of 1 MiB); 0 means the rest of the free
	// space (or of the extended partition).
	Size int64
	// Type is an sfdisk type: "83", "82", "8e", "fd", "5" for dos, or a
	// GUID / sfdisk alias ("L", "S", "V", "R", "U") for gpt.
	Type     string
	Bootable bool
	// Name is the GPT partition name.
	Name    string
	Content Content
}

// Content is something to put into a byte range of the image: Ext, Swap,
// LVM or MD.
type Content interface {
	build(b *builder, where string, off, size int64)
}

// Volume is one thing Build put into the image.
type Volume struct {
	// Where names the location: "p1", "p2/VolGroup00/LogVol00", "disk"
	// (whole image without a table), "p3/md" (an md member) and
	// "p3/md/data" (the content put into that member's array data area).
	Where string
	// Kind is the blkid type ("ext4", "swap", "LVM2_member",
	// "linux_raid_member") or "lv" for a logical volume without content.
	Kind string
	// Offset and Size are bytes within the image file.
	Offset, Size int64
	UUID, Label  string
	// Linear is false for an LV that is not one contiguous range (then
	// Offset and Size are zero).
	Linear bool
}

// PartInfo is a partition as reported by `sfdisk --json` (an oracle
// independent of package part).
type PartInfo struct {
	Number   int
	Start    int64 // bytes
	Size     int64 // bytes
	Type     string
	Bootable bool
	Name     string
}

// Layout is what Build made.
type Layout struct {
	Path    string
	Size    int64
	Parts   []PartInfo
	Volumes []Volume
}

// Volume returns the volume at where, failing the test if there is none.
func (l *Layout) Volume(t testing.TB, where string) Volume {
	t.Helper()
	for _, v := range l.Volumes {
		if v.Where == where {
			return v
		}
	}
	t.Fatalf("layout of %s has no volume %q (have %v)", l.Path, where, l.Volumes)
	return Volume{}
}

type builder struct {
	t      testing.TB
	path   string
	layout *Layout
}

// Build creates the image described by spec in t.TempDir() and returns its
// layout. It skips the test if a needed tool is missing or root is needed.
func Build(t testing.TB, spec Spec) *Layout {
	t.Helper()
	RequireTools(t, "sfdisk")
	path := filepath.Join(t.TempDir(), "disk.img")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(spec.Size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	b := &builder{t: t, path: path, layout: &Layout{Path: path, Size: spec.Size}}
	if spec.Label == "" {
		if spec.Content != nil {
			spec.Content.build(b, "disk", 0, spec.Size)
		}
		return b.layout
	}
	var script strings.Builder
	fmt.Fprintf(&script, "label: %s\n", spec.Label)
	n := 0
	for _, p := range spec.Parts {
		if p.Number == 0 {
			n++
			p.Number = n
		} else if p.Number > n && p.Number <= 4 {
			n = p.Number
		}
		fmt.Fprintf(&script, "%s%d : ", path, p.Number)
		var fields []string
		if p.Size > 0 {
			fields = append(fields, fmt.Sprintf("size=%dKiB", p.Size/1024))
		}
		if p.Type != "" {
			fields = append(fields, "type="+p.Type)
		}
		if p.Bootable {
			fields = append(fields, "bootable")
		}
		if p.Name != "" {
			fields = append(fields, fmt.Sprintf("name=%q", p.Name))
		}
		script.WriteString(strings.Join(fields, ", ") + "\n")
	}
	Run(t, []byte(script.String()), "sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", path)
	b.layout.Parts = sfdiskParts(t, path)
	n = 0
	for _, p := range spec.Parts {
		if p.Number == 0 {
			n++
			p.Number = n
		} else if p.Number > n && p.Number <= 4 {
			n = p.Number
		}
		if p.Content == nil {
			continue
		}
		var pi *PartInfo
		for i := range b.layout.Parts {
			if b.layout.Parts[i].Number == p.Number {
				pi = &b.layout.Parts[i]
			}
		}
		if pi == nil {
			t.Fatalf("sfdisk did not create partition %d of %s", p.Number, path)
		}
		p.Content.build(b, fmt.Sprintf("p%d", p.Number), pi.Start, pi.Size)
	}
	return b.layout
}

func sfdiskParts(t testing.TB, path string) []PartInfo {
	t.Helper()
	out := Run(t, nil, "sfdisk", "--json", path)
	var j struct {
		PartitionTable struct {
			SectorSize int64 `json:"sectorsize"`
			Partitions []struct {
				Node     string `json:"node"`
				Start    int64  `json:"start"`
				Size     int64  `json:"size"`
				Type     string `json:"type"`
				Bootable bool   `json:"bootable"`
				Name     string `json:"name"`
			} `json:"partitions"`
		} `json:"partitiontable"`
	}
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Fatalf("decoding sfdisk --json %s: %v", path, err)
	}
	ss := j.PartitionTable.SectorSize
	if ss == 0 {
		ss = 512
	}
	var parts []PartInfo
	for _, p := range j.PartitionTable.Partitions {
		var num int
		if _, err := fmt.Sscanf(strings.TrimPrefix(p.Node, path), "%d", &num); err != nil {
			t.Fatalf("sfdisk node %q: %v", p.Node, err)
		}
		parts = append(parts, PartInfo{Number: num, Start: p.Start * ss, Size: p.Size * ss,
			Type: strings.ToLower(p.Type), Bootable: p.Bootable, Name: p.Name})
	}
	sort.Slice(parts, func(i, k int) bool { return parts[i].Number < parts[k].Number })
	return parts
}

func (b *builder) add(v Volume) { b.layout.Volumes = append(b.layout.Volumes, v) }

// Ext is an ext2/3/4 filesystem made with `mke2fs -E offset=`.
type Ext struct {
	// Type is "ext2", "ext3" or "ext4" (default ext4).
	Type        string
	Label, UUID string
	// BlockSize in bytes (0: mke2fs default).
	BlockSize int
	// InodeSize in bytes (0: mke2fs default; 128 mimics RHEL 4/5).
	InodeSize int
	// Features is passed to mke2fs -O (e.g. "^metadata_csum,^64bit").
	Features string
	// Files are created in the filesystem (path relative to its root →
	// content); directories are created as needed.
	Files map[string]string
}

func (e Ext) build(b *builder, where string, off, size int64) {
	t := b.t
	t.Helper()
	RequireTools(t, "mke2fs")
	typ := e.Type
	if typ == "" {
		typ = "ext4"
	}
	args := []string{"mke2fs", "-q", "-F", "-t", typ, "-E", fmt.Sprintf("offset=%d,nodiscard", off)}
	if e.Label != "" {
		args = append(args, "-L", e.Label)
	}
	if e.UUID != "" {
		args = append(args, "-U", e.UUID)
	}
	if e.BlockSize != 0 {
		args = append(args, "-b", fmt.Sprint(e.BlockSize))
	}
	if e.InodeSize != 0 {
		args = append(args, "-I", fmt.Sprint(e.InodeSize))
	}
	if e.Features != "" {
		args = append(args, "-O", e.Features)
	}
	if len(e.Files) > 0 {
		dir := t.TempDir()
		for name, content := range e.Files {
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		args = append(args, "-d", dir)
	}
	args = append(args, b.path, fmt.Sprintf("%dk", size/1024))
	Run(t, nil, args...)
	b.add(Volume{Where: where, Kind: typ, Offset: off, Size: size, UUID: e.UUID, Label: e.Label, Linear: true})
}

// Swap is a swap area made with mkswap on a temp file and copied in.
type Swap struct {
	Label, UUID string
}

func (s Swap) build(b *builder, where string, off, size int64) {
	t := b.t
	t.Helper()
	RequireTools(t, "mkswap")
	tmp := filepath.Join(t.TempDir(), "swap")
	if err := os.WriteFile(tmp, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(tmp, size); err != nil {
		t.Fatal(err)
	}
	args := []string{"mkswap", "-q"}
	if s.Label != "" {
		args = append(args, "-L", s.Label)
	}
	if s.UUID != "" {
		args = append(args, "-U", s.UUID)
	}
	Run(t, nil, append(args, tmp)...)
	// mkswap only writes the first page; copy the first 64 KiB.
	f, err := os.Open(tmp)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, min(size, 64*1024))
	if _, err := f.ReadAt(head, 0); err != nil {
		t.Fatal(err)
	}
	WriteAt(t, b.path, head, off)
	b.add(Volume{Where: where, Kind: "swap", Offset: off, Size: size, UUID: s.UUID, Label: s.Label, Linear: true})
}
