package lvm

import (
	"fmt"
	"io"
	"slices"
	"sort"
)

// VolumeGroup is the part of a VG's metadata that xenify needs.
type VolumeGroup struct {
	Name  string
	ID    string
	Seqno int64
	// ExtentSize is the extent size in 512-byte sectors.
	ExtentSize int64
	Status     []string
	PVs        []PhysicalVolume
	LVs        []LogicalVolume
	// Config is the parsed VG section, for anything not decoded above.
	Config *Section
}

// PhysicalVolume is one entry of physical_volumes.
type PhysicalVolume struct {
	// Name is the metadata-local name ("pv0") used in stripe lists.
	Name string
	// ID is the PV UUID (dashed form), matching Label.PVID.
	ID string
	// Device is the device path hint recorded when the metadata was written.
	Device string
	// DevSize is the device size in sectors (0 if not recorded).
	DevSize int64
	// PEStart is the offset of the first physical extent, in sectors.
	PEStart int64
	// PECount is the number of physical extents.
	PECount int64
	Status  []string
}

// LogicalVolume is one entry of logical_volumes.
type LogicalVolume struct {
	Name     string
	ID       string
	Status   []string
	Flags    []string
	Segments []Segment
}

// Visible reports whether the LV has the VISIBLE status flag (hidden LVs
// are internal parts of mirrors, thin pools, snapshots, ...).
func (lv *LogicalVolume) Visible() bool { return slices.Contains(lv.Status, "VISIBLE") }

// Extents returns the LV's total length in extents.
func (lv *LogicalVolume) Extents() int64 {
	var n int64
	for _, s := range lv.Segments {
		n += s.ExtentCount
	}
	return n
}

// Segment is one segmentN section of an LV.
type Segment struct {
	StartExtent int64
	ExtentCount int64
	// Type is "striped" (linear is striped with one stripe), "mirror",
	// "raid1", "thin", "thin-pool", "snapshot", ...
	Type        string
	StripeCount int
	// StripeSize is in sectors (0 for single-stripe segments).
	StripeSize int64
	// Stripes are the (PV name, starting extent) pairs of a striped
	// segment; for mirror/raid segments Areas holds the sub-LV names.
	Stripes []Stripe
	// Areas are the (LV name, starting extent) pairs of mirror ("mirrors")
	// and raid ("raids") segments.
	Areas []Stripe
	// Config is the raw segment section.
	Config *Section
}

// Stripe is one entry of a stripes/mirrors/raids list: a PV or LV name
// and the starting extent on it.
type Stripe struct {
	Name        string
	StartExtent int64
}

// Location is a linear LV's byte range on one PV.
type Location struct {
	// PVName is the metadata-local PV name ("pv0"), PVID its UUID.
	PVName, PVID string
	// Offset and Size are bytes relative to the start of the PV.
	Offset, Size int64
}

// LV returns the logical volume with the given name, or nil.
func (vg *VolumeGroup) LV(name string) *LogicalVolume {
	for i := range vg.LVs {
		if vg.LVs[i].Name == name {
			return &vg.LVs[i]
		}
	}
	return nil
}

// PV returns the physical volume with the given metadata name ("pv0") or
// UUID, or nil.
func (vg *VolumeGroup) PV(nameOrID string) *PhysicalVolume {
	for i := range vg.PVs {
		if vg.PVs[i].Name == nameOrID || vg.PVs[i].ID == nameOrID {
			return &vg.PVs[i]
		}
	}
	return nil
}

// Locate returns the byte range of a linear LV on its PV:
// offset = pe_start*512 + first_extent*extent_size*512.
// An LV qualifies when all its segments are "striped" with a single stripe,
// lie on the same PV, and are contiguous both in the LV and on the PV.
// Otherwise the error wraps ErrNotLinear and says why.
func (vg *VolumeGroup) Locate(lvName string) (Location, error) {
	lv := vg.LV(lvName)
	if lv == nil {
		return Location{}, fmt.Errorf("volume group %s has no logical volume %q", vg.Name, lvName)
	}
	if len(lv.Segments) == 0 {
		return Location{}, fmt.Errorf("logical volume %s/%s has no segments", vg.Name, lvName)
	}
	if vg.ExtentSize <= 0 {
		return Location{}, fmt.Errorf("volume group %s has invalid extent_size %d", vg.Name, vg.ExtentSize)
	}
	segs := slices.Clone(lv.Segments)
	sort.Slice(segs, func(i, j int) bool { return segs[i].StartExtent < segs[j].StartExtent })
	var pvName string
	var firstPE, nextLE, nextPE int64
	for i, s := range segs {
		if s.Type != "striped" {
			return Location{}, fmt.Errorf("%w: %s/%s segment %d has type %q; only linear LVs can be reached without device-mapper",
				ErrNotLinear, vg.Name, lvName, i+1, s.Type)
		}
		if s.StripeCount != 1 || len(s.Stripes) != 1 {
			return Location{}, fmt.Errorf("%w: %s/%s segment %d is striped over %d PVs",
				ErrNotLinear, vg.Name, lvName, i+1, max(s.StripeCount, len(s.Stripes)))
		}
		st := s.Stripes[0]
		if i == 0 {
			pvName, firstPE, nextLE, nextPE = st.Name, st.StartExtent, s.StartExtent, st.StartExtent
			if s.StartExtent != 0 {
				return Location{}, fmt.Errorf("%s/%s: first segment starts at extent %d, want 0", vg.Name, lvName, s.StartExtent)
			}
		}
		if st.Name != pvName {
			return Location{}, fmt.Errorf("%w: %s/%s spans PVs %s and %s", ErrNotLinear, vg.Name, lvName, pvName, st.Name)
		}
		if s.StartExtent != nextLE {
			return Location{}, fmt.Errorf("%s/%s: segment %d starts at extent %d, want %d (gap or overlap in the LV)", vg.Name, lvName, i+1, s.StartExtent, nextLE)
		}
		if st.StartExtent != nextPE {
			return Location{}, fmt.Errorf("%w: %s/%s has %d segments that are not contiguous on %s (segment %d starts at PE %d, previous ends at PE %d)",
				ErrNotLinear, vg.Name, lvName, len(segs), pvName, i+1, st.StartExtent, nextPE)
		}
		if s.ExtentCount <= 0 || s.ExtentCount > 1<<40 {
			return Location{}, fmt.Errorf("%s/%s: segment %d has invalid extent_count %d", vg.Name, lvName, i+1, s.ExtentCount)
		}
		nextLE += s.ExtentCount
		nextPE += s.ExtentCount
	}
	pv := vg.PV(pvName)
	if pv == nil {
		return Location{}, fmt.Errorf("%s/%s refers to unknown PV %q", vg.Name, lvName, pvName)
	}
	if firstPE < 0 || nextPE > pv.PECount {
		return Location{}, fmt.Errorf("%s/%s uses extents %d-%d beyond pe_count %d of %s", vg.Name, lvName, firstPE, nextPE-1, pv.PECount, pvName)
	}
	const sector = 512
	// Guard against overflow with absurd values from untrusted metadata.
	if pv.PEStart < 0 || pv.PEStart > 1<<50 || vg.ExtentSize > 1<<40 || nextPE > (1<<62)/(vg.ExtentSize*sector) {
		return Location{}, fmt.Errorf("%s/%s: extent arithmetic overflows", vg.Name, lvName)
	}
	return Location{
		PVName: pvName,
		PVID:   pv.ID,
		Offset: pv.PEStart*sector + firstPE*vg.ExtentSize*sector,
		Size:   (nextPE - firstPE) * vg.ExtentSize * sector,
	}, nil
}

// ParseVG parses LVM2 text metadata (as stored in a metadata area or in
// /etc/lvm/backup) into a VolumeGroup. The VG is the single top-level
// section.
func ParseVG(text []byte) (*VolumeGroup, error) {
	root, err := ParseConfig(text)
	if err != nil {
		return nil, fmt.Errorf("parsing LVM metadata: %w", err)
	}
	if len(root.Sections) != 1 {
		return nil, fmt.Errorf("LVM metadata has %d top-level sections, want exactly one volume group", len(root.Sections))
	}
	s := root.Sections[0]
	vg := &VolumeGroup{Name: s.Name, ID: s.String("id"), Status: s.Strings("status"), Config: s}
	vg.Seqno, _ = s.Int("seqno")
	var ok bool
	if vg.ExtentSize, ok = s.Int("extent_size"); !ok || vg.ExtentSize <= 0 {
		return nil, fmt.Errorf("LVM metadata line %d: volume group %s has no valid extent_size", s.Line, s.Name)
	}
	if pvs := s.Sub("physical_volumes"); pvs != nil {
		for _, p := range pvs.Sections {
			pv := PhysicalVolume{Name: p.Name, ID: p.String("id"), Device: p.String("device"), Status: p.Strings("status")}
			pv.DevSize, _ = p.Int("dev_size")
			pv.PEStart, _ = p.Int("pe_start")
			pv.PECount, _ = p.Int("pe_count")
			if pv.PEStart < 0 || pv.PECount < 0 {
				return nil, fmt.Errorf("LVM metadata line %d: PV %s has negative pe_start or pe_count", p.Line, p.Name)
			}
			vg.PVs = append(vg.PVs, pv)
		}
	}
	if lvs := s.Sub("logical_volumes"); lvs != nil {
		for _, l := range lvs.Sections {
			lv := LogicalVolume{Name: l.Name, ID: l.String("id"), Status: l.Strings("status"), Flags: l.Strings("flags")}
			for _, ss := range l.Sections {
				seg, err := parseSegment(ss)
				if err != nil {
					return nil, fmt.Errorf("LVM metadata line %d: LV %s: %w", ss.Line, l.Name, err)
				}
				lv.Segments = append(lv.Segments, seg)
			}
			vg.LVs = append(vg.LVs, lv)
		}
	}
	return vg, nil
}

func parseSegment(s *Section) (Segment, error) {
	seg := Segment{Type: s.String("type"), Config: s}
	seg.StartExtent, _ = s.Int("start_extent")
	seg.ExtentCount, _ = s.Int("extent_count")
	if seg.StartExtent < 0 || seg.ExtentCount < 0 {
		return seg, fmt.Errorf("%s: negative start_extent or extent_count", s.Name)
	}
	n, _ := s.Int("stripe_count")
	if n < 0 || n > maxListLen {
		return seg, fmt.Errorf("%s: invalid stripe_count %d", s.Name, n)
	}
	seg.StripeCount = int(n)
	seg.StripeSize, _ = s.Int("stripe_size")
	var err error
	if seg.Stripes, err = pairs(s, "stripes"); err != nil {
		return seg, err
	}
	for _, k := range []string{"mirrors", "raids"} {
		a, err := pairs(s, k)
		if err != nil {
			return seg, err
		}
		seg.Areas = append(seg.Areas, a...)
	}
	return seg, nil
}

// pairs decodes a list like [ "pv0", 0, "pv1", 100 ]. raid lists hold only
// names (metadata and data sub-LVs); those get StartExtent 0.
func pairs(s *Section, key string) ([]Stripe, error) {
	v, ok := s.Get(key)
	if !ok {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: %s is not a list", s.Name, key)
	}
	var out []Stripe
	for i := 0; i < len(l); i++ {
		name, ok := l[i].(string)
		if !ok {
			return nil, fmt.Errorf("%s: %s entry %d is not a name", s.Name, key, i)
		}
		st := Stripe{Name: name}
		if i+1 < len(l) {
			if n, ok := l[i+1].(int64); ok {
				st.StartExtent = n
				i++
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// PV is everything read from one physical volume.
type PV struct {
	Label *Label
	// Text is the committed metadata text.
	Text []byte
	VG   *VolumeGroup
	// Self is this PV's entry in VG.PVs (matched by UUID), or nil.
	Self *PhysicalVolume
}

// ReadPV reads the label, metadata and VG of the PV in r (size bytes).
func ReadPV(r io.ReaderAt, size int64) (*PV, error) {
	l, err := ReadLabel(r, size)
	if err != nil {
		return nil, err
	}
	text, err := ReadMetadata(r, size, l)
	if err != nil {
		return nil, fmt.Errorf("reading metadata of PV %s: %w", l.PVID, err)
	}
	vg, err := ParseVG(text)
	if err != nil {
		return nil, fmt.Errorf("PV %s: %w", l.PVID, err)
	}
	return &PV{Label: l, Text: text, VG: vg, Self: vg.PV(l.PVID)}, nil
}
