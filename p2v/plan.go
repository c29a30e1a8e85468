// Package p2v copies a machine's disk (a block device or an image file) to
// an image file or block device, reading only the bytes that hold data.
//
// Copying is two phases: Plan inspects the source (partition table, LVM,
// md RAID1, ext2/3/4 block bitmaps, swap headers) and returns a CopyPlan, a
// pure value listing the byte ranges to copy with a reason each; Copy then
// executes a plan with large sequential reads, writes the destination
// sparse, checkpoints its progress next to the destination so that an
// interrupted copy resumes, and optionally verifies the result.
package p2v

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/xenify/xenify/disk/extfs"
	"github.com/xenify/xenify/disk/fsprobe"
	"github.com/xenify/xenify/disk/lvm"
	"github.com/xenify/xenify/disk/part"
)

// Range is a byte range of the source to copy, and why.
type Range struct {
	Off    int64  `json:"off"`
	Len    int64  `json:"len"`
	Reason string `json:"reason"`
}

// End is the first byte after the range.
func (r Range) End() int64 { return r.Off + r.Len }

// CopyPlan is the list of source ranges a copy reads; every byte outside
// them is left as a hole (zero) in a file destination and untouched on a
// block device destination.
type CopyPlan struct {
	// Size is the source size in bytes.
	Size int64 `json:"size"`
	// Ranges are sorted and disjoint. Adjacent ranges with the same reason
	// are merged.
	Ranges []Range `json:"ranges"`
	// Warnings explain where the plan fell back to reading more than the
	// used data (untrusted ext bitmaps, unsupported LVM layouts...).
	Warnings []string `json:"warnings,omitempty"`
}

// Bytes is the number of bytes the plan copies.
func (p *CopyPlan) Bytes() int64 {
	var n int64
	for _, r := range p.Ranges {
		n += r.Len
	}
	return n
}

// Hash identifies the plan's geometry (size and ranges, not the reasons),
// as a hex SHA-256. A checkpoint is only resumed with a plan of equal hash.
func (p *CopyPlan) Hash() string {
	h := sha256.New()
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:], uint64(p.Size))
	h.Write(b[:8])
	for _, r := range p.Ranges {
		binary.LittleEndian.PutUint64(b[:], uint64(r.Off))
		binary.LittleEndian.PutUint64(b[8:], uint64(r.Len))
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Summarize groups the plan's bytes by reason, with the reasons in the
// order they first appear. It is meant for --dry-run output.
func (p *CopyPlan) Summarize() []Range {
	idx := map[string]int{}
	var out []Range
	for _, r := range p.Ranges {
		i, ok := idx[r.Reason]
		if !ok {
			i = len(out)
			idx[r.Reason] = i
			out = append(out, Range{Off: r.Off, Reason: r.Reason})
		}
		out[i].Len += r.Len
	}
	return out
}

// maxDepth bounds the nesting partition → PV → LV → filesystem, so that a
// crafted image cannot recurse forever.
const maxDepth = 4

// Plan inspects the source in r (size bytes) and returns what to copy.
//
// The first sectors of every partition are always in the plan, for boot
// loaders installed there: ext plans include block 0 (boot block and
// superblock), swap its header page, LVM its label and metadata, md its
// superblock area, and anything else is read whole.
// It only reads r. Errors are returned only for I/O failures; contents it
// cannot interpret are planned as full reads with a warning.
func Plan(r io.ReaderAt, size int64) (*CopyPlan, error) {
	if size < 0 {
		return nil, fmt.Errorf("negative source size %d", size)
	}
	p := &planner{r: r}
	if err := p.disk(size); err != nil {
		return nil, err
	}
	return p.finish(size)
}

// PlanFile opens path read-only and plans its copy.
func PlanFile(path string) (*CopyPlan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening source: %w", err)
	}
	defer f.Close()
	size, err := deviceSize(f)
	if err != nil {
		return nil, fmt.Errorf("sizing %s: %w", path, err)
	}
	return Plan(f, size)
}

type planner struct {
	r        io.ReaderAt
	ranges   []Range
	warnings []string
}

func (p *planner) add(off, n int64, reason string) {
	if n > 0 {
		p.ranges = append(p.ranges, Range{Off: off, Len: n, Reason: reason})
	}
}

func (p *planner) warn(format string, args ...any) {
	p.warnings = append(p.warnings, fmt.Sprintf(format, args...))
}

// finish sorts the ranges, resolves overlaps (the earlier range wins, the
// later is trimmed) and merges neighbours with equal reasons.
func (p *planner) finish(size int64) (*CopyPlan, error) {
	slices.SortStableFunc(p.ranges, func(a, b Range) int {
		switch {
		case a.Off < b.Off:
			return -1
		case a.Off > b.Off:
			return 1
		}
		return 0
	})
	out := make([]Range, 0, len(p.ranges))
	for _, r := range p.ranges {
		if r.Off < 0 || r.End() > size {
			return nil, fmt.Errorf("internal error: planned range %d+%d (%s) outside the %d-byte source", r.Off, r.Len, r.Reason, size)
		}
		if n := len(out); n > 0 {
			last := &out[n-1]
			if r.Off < last.End() {
				if r.End() <= last.End() {
					continue
				}
				r.Len = r.End() - last.End()
				r.Off = last.End()
			}
			if r.Off == last.End() && r.Reason == last.Reason {
				last.Len += r.Len
				continue
			}
		}
		out = append(out, r)
	}
	return &CopyPlan{Size: size, Ranges: out, Warnings: p.warnings}, nil
}

// disk plans the whole source: a partition table and its partitions, or a
// single volume when there is no table.
func (p *planner) disk(size int64) error {
	t, err := part.Read(p.r, size)
	if err != nil {
		if errors.Is(err, part.ErrCorrupt) {
			p.warn("partition table unreadable (%v): reading the whole disk", err)
			p.add(0, size, "corrupt partition table: full read")
			return nil
		}
		return fmt.Errorf("reading partition table: %w", err)
	}
	for _, w := range t.Warnings {
		p.warn("partition table: %s", w)
	}
	if t.Kind == part.None {
		return p.volume(0, size, "disk", 0)
	}
	var data, ext []part.Partition
	for _, pt := range t.Partitions {
		if pt.Class == part.ClassExtended {
			ext = append(ext, pt)
		} else {
			data = append(data, pt)
		}
	}
	slices.SortFunc(data, func(a, b part.Partition) int {
		switch {
		case a.Start < b.Start:
			return -1
		case a.Start > b.Start:
			return 1
		}
		return 0
	})
	// Everything outside the data partitions is read whole: the MBR or
	// GPT and boot loader before the first partition, EBRs, free space,
	// and the backup GPT at the end.
	gapReason := func(off, end int64) string {
		switch {
		case off == 0:
			return fmt.Sprintf("%s and boot area", t.Kind)
		case end == size && t.Kind == part.GPT:
			return "free space and backup gpt: full read"
		}
		for _, e := range ext {
			if off >= e.Start && end <= e.End() {
				return fmt.Sprintf("extended partition %d (EBRs, free space): full read", e.Number)
			}
		}
		return "free space between partitions: full read"
	}
	var vols [][2]int64
	for _, pt := range data {
		vols = append(vols, [2]int64{pt.Start, pt.Size})
	}
	p.prefetchVolumes(vols)
	pos := int64(0)
	for _, pt := range data {
		if pt.Start > pos {
			p.splitGaps(pos, pt.Start, ext, gapReason)
		}
		if err := p.volume(pt.Start, pt.Size, fmt.Sprintf("partition %d", pt.Number), 0); err != nil {
			return err
		}
		pos = max(pos, pt.End())
	}
	if pos < size {
		p.splitGaps(pos, size, ext, gapReason)
	}
	return nil
}

// splitGaps adds the gap [off, end) split at extended partition borders so
// each piece gets the right reason.
func (p *planner) splitGaps(off, end int64, ext []part.Partition, reason func(off, end int64) string) {
	cuts := []int64{off, end}
	for _, e := range ext {
		for _, c := range []int64{e.Start, e.End()} {
			if c > off && c < end {
				cuts = append(cuts, c)
			}
		}
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	for i := 0; i+1 < len(cuts); i++ {
		p.add(cuts[i], cuts[i+1]-cuts[i], reason(cuts[i], cuts[i+1]))
	}
}

// volume plans the byte range [off, off+size) of the source, named name
// ("partition 1", "LV VolGroup00/LogVol00"), by what it contains.
func (p *planner) volume(off, size int64, name string, depth int) error {
	if size <= 0 {
		return nil
	}
	var sec io.ReaderAt = io.NewSectionReader(p.r, off, size)
	if _, ok := p.r.(extfs.Prefetcher); ok {
		sec = &section{r: p.r, off: off, size: size}
		p.prefetchVolumes([][2]int64{{off, size}}) // nothing if disk or pv did
	}
	if depth > maxDepth {
		p.warn("%s: nested too deep, reading it whole", name)
		p.add(off, size, name+": full read")
		return nil
	}
	res, err := fsprobe.Probe(sec, size)
	if err != nil {
		return fmt.Errorf("probing %s: %w", name, err)
	}
	switch res.Type {
	case fsprobe.Ext2, fsprobe.Ext3, fsprobe.Ext4:
		return p.ext(sec, off, size, name, res.Type)
	case fsprobe.Swap:
		page := int64(4096)
		if res.Swap != nil && res.Swap.PageSize > 0 {
			page = int64(res.Swap.PageSize)
		}
		p.add(off, min(page, size), "swap header of "+name)
		return nil
	case fsprobe.LVM2PV:
		return p.pv(sec, off, size, name, depth)
	case fsprobe.MDMember:
		return p.md(res, off, size, name, depth)
	case "":
		p.add(off, size, "unknown content of "+name+": full read")
		return nil
	default:
		p.add(off, size, res.Type+" "+name+": full read")
		return nil
	}
}

// prefetchVolumes hints a reader that takes hints (a remote disk, where
// each request is a round trip) at where every probe and metadata reader
// looks first in each volume ([offset, size] pairs): the start
// (superblocks, group descriptors, LVM label and text, md 1.1 and 1.2)
// and the end (md 0.90 and 1.0), all in one request. disk and pv call it
// for all their volumes before they plan the first (four partitions:
// one round trip instead of four).
func (p *planner) prefetchVolumes(vols [][2]int64) {
	pf, ok := p.r.(extfs.Prefetcher)
	if !ok {
		return
	}
	var hints [][2]int64
	for _, v := range vols {
		if off, size := v[0], v[1]; size > 0 {
			head, tail := min(size, volumeHead), min(size, volumeTail)
			hints = append(hints, [2]int64{off, head}, [2]int64{off + size - tail, tail})
		}
	}
	if len(hints) > 0 {
		pf.Prefetch(hints)
	}
}

// volumeHead and volumeTail are what volume prefetches from a reader
// that takes hints.
const (
	volumeHead = 1 << 20
	volumeTail = 128 << 10
)

// section is an io.SectionReader that passes prefetch hints on to a
// reader that takes them.
type section struct {
	r         io.ReaderAt
	off, size int64
}

func (s *section) ReadAt(b []byte, off int64) (int, error) {
	return io.NewSectionReader(s.r, s.off, s.size).ReadAt(b, off)
}

func (s *section) Prefetch(ranges [][2]int64) {
	pf := s.r.(extfs.Prefetcher)
	abs := make([][2]int64, 0, len(ranges))
	for _, r := range ranges {
		if r[0] >= 0 && r[0] < s.size {
			abs = append(abs, [2]int64{s.off + r[0], min(r[1], s.size-r[0])})
		}
	}
	pf.Prefetch(abs)
}

func (p *planner) ext(sec io.ReaderAt, off, size int64, name, typ string) error {
	used, err := extfs.UsedRanges(sec, size)
	if err != nil {
		if !errors.Is(err, extfs.ErrInconsistent) && !errors.Is(err, extfs.ErrUnsupported) && !errors.Is(err, extfs.ErrNotExt) {
			// An I/O error: a full read would fail the same way.
			return fmt.Errorf("reading %s %s: %w", typ, name, err)
		}
		p.warn("%s %s: block bitmaps not used (%v); reading the whole filesystem", typ, name, err)
		p.add(off, size, fmt.Sprintf("%s %s (bitmaps not trusted): full read", typ, name))
		return nil
	}
	reason := fmt.Sprintf("%s used blocks of %s", typ, name)
	var end int64
	for _, r := range used {
		p.add(off+r.Off, r.Len, reason)
		end = r.End()
	}
	// The filesystem may be smaller than its container; its block count
	// is what the last range cannot exceed.
	if fs, err := extfs.Open(sec, size); err == nil {
		end = int64(fs.SB.BlocksCount) * fs.SB.BlockSize()
	}
	if end < size {
		p.add(off+end, size-end, fmt.Sprintf("space after %s filesystem of %s: full read", typ, name))
	}
	return nil
}

func (p *planner) pv(sec io.ReaderAt, off, size int64, name string, depth int) error {
	pv, err := lvm.ReadPV(sec, size)
	if err != nil {
		p.warn("LVM PV %s: %v; reading it whole", name, err)
		p.add(off, size, "LVM PV "+name+" (metadata unreadable): full read")
		return nil
	}
	if pv.Self == nil {
		p.warn("LVM PV %s: not listed in the metadata of VG %s; reading it whole", name, pv.VG.Name)
		p.add(off, size, "LVM PV "+name+" (not in its VG metadata): full read")
		return nil
	}
	vg, self := pv.VG, pv.Self
	const sector = 512
	peStart := self.PEStart * sector
	extent := vg.ExtentSize * sector
	if peStart > size || self.PECount < 0 || extent <= 0 || self.PECount > (size-peStart)/extent {
		p.warn("LVM PV %s: pe_start %d and %d extents of %d bytes do not fit its %d bytes; reading it whole",
			name, peStart, self.PECount, extent, size)
		p.add(off, size, "LVM PV "+name+" (bad geometry): full read")
		return nil
	}
	p.add(off, peStart, "LVM label and metadata of "+name)
	for _, a := range pv.Label.MetadataAreas {
		if a.Offset >= peStart && a.Offset < size {
			p.add(off+a.Offset, min(a.Size, size-a.Offset), "LVM metadata area of "+name)
		}
	}
	dataEnd := peStart + self.PECount*extent
	if dataEnd < size {
		p.add(off+dataEnd, size-dataEnd, "LVM PV "+name+" after the last extent: full read")
	}
	var vols [][2]int64
	for _, lv := range vg.LVs {
		if loc, err := vg.Locate(lv.Name); err == nil && loc.PVName == self.Name {
			vols = append(vols, [2]int64{off + loc.Offset, loc.Size})
		}
	}
	p.prefetchVolumes(vols)
	// Which extents of this PV are allocated: [first, end) intervals.
	var used [][2]int64
	for _, lv := range vg.LVs {
		lvName := vg.Name + "/" + lv.Name
		loc, err := vg.Locate(lv.Name)
		if err == nil && loc.PVName == self.Name {
			first := (loc.Offset - peStart) / extent
			n := loc.Size / extent
			if first < 0 || n > self.PECount-first {
				p.warn("LV %s: extents %d-%d outside PV %s; reading them whole", lvName, first, first+n-1, name)
				continue
			}
			used = append(used, [2]int64{first, first + n})
			if err := p.volume(off+loc.Offset, loc.Size, "LV "+lvName, depth+1); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			p.warn("LV %s: %v; reading its extents whole", lvName, err)
		}
		// Not linear (or on another PV): read its extents on this PV whole.
		for _, s := range lv.Segments {
			for _, st := range append(slices.Clone(s.Stripes), s.Areas...) {
				if st.Name != self.Name {
					continue
				}
				n := s.ExtentCount
				if s.StripeCount > 1 {
					n = (s.ExtentCount + int64(s.StripeCount) - 1) / int64(s.StripeCount)
				}
				first := st.StartExtent
				if first < 0 || n <= 0 || first >= self.PECount {
					continue
				}
				n = min(n, self.PECount-first)
				used = append(used, [2]int64{first, first + n})
				p.add(off+peStart+first*extent, n*extent, "LV "+lvName+" (not linear): full read")
			}
		}
	}
	// Free extents are unallocated space, read whole like free space
	// between partitions.
	slices.SortFunc(used, func(a, b [2]int64) int { return int(min(max(a[0]-b[0], -1), 1)) })
	next := int64(0)
	for _, u := range append(used, [2]int64{self.PECount, self.PECount}) {
		if u[0] > next {
			p.add(off+peStart+next*extent, (u[0]-next)*extent, "free extents of VG "+vg.Name+": full read")
		}
		next = max(next, u[1])
	}
	return nil
}

func (p *planner) md(res fsprobe.Result, off, size int64, name string, depth int) error {
	sb := res.MD
	if sb == nil {
		p.add(off, size, "md member "+name+": full read")
		return nil
	}
	doff, dsize, err := sb.RAID1Range()
	if err != nil || doff < 0 || dsize <= 0 || doff > size || dsize > size-doff {
		if err == nil {
			err = fmt.Errorf("data range %d+%d outside the %d-byte member", doff, dsize, size)
		}
		p.warn("md member %s: %v; reading it whole", name, err)
		p.add(off, size, "md member "+name+": full read")
		return nil
	}
	p.add(off, doff, "md superblock area of "+name)
	if end := doff + dsize; end < size {
		p.add(off+end, size-end, "md superblock area of "+name)
	}
	arrayName := "md array " + strings.TrimSpace(sb.Name)
	if strings.TrimSpace(sb.Name) == "" {
		arrayName = "md array " + sb.UUID
	}
	return p.volume(off+doff, dsize, arrayName+" on "+name, depth+1)
}
