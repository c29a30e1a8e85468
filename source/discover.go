package source

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xenify/xenify/disk/fsprobe"
	"github.com/xenify/xenify/disk/lvm"
	"github.com/xenify/xenify/disk/md"
	"github.com/xenify/xenify/disk/part"
	"github.com/xenify/xenify/xerr"
)

// Disk is one SOURCE image or block device, as discovery sees it: a name
// for messages and something to read.
type Disk struct {
	Name string
	R    io.ReaderAt
	Size int64
	// Paths are host device paths naming this disk (the path given and
	// its canonical form) when it is a block device; fstab specs naming
	// them match a filesystem that fills the disk.
	Paths []string
	// VG and LV are set when the disk is itself a logical volume device
	// (/dev/VG/LV or /dev/mapper/VG-LV, activated on a dom0).
	VG, LV string
}

// Volume is something found on the disks: a filesystem, a swap area, or
// anything else probe recognised, as a byte range of one disk.
type Volume struct {
	Disk         int   // index into the disks given to Discover
	Offset, Size int64 // bytes on that disk
	// Part is the partition number holding the volume (0: the whole disk).
	Part      int
	PartUUID  string // GPT partition GUID, or MBR "diskid-NN" as blkid forms PARTUUID
	PartLabel string // GPT partition name
	// VG and LV name a logical volume; empty otherwise.
	VG, LV string
	// MD is the md array UUID when the volume is an array's data; MDMinor
	// is its preferred minor (/dev/mdN), -1 when unknown.
	MD      string
	MDMinor int
	MDName  string
	Probe   fsprobe.Result
	// Subvol is the btrfs subvolume mount option ("subvol=root",
	// "subvolid=257") of the fstab entry the volume is mounted for;
	// empty for the top level and other filesystems.
	Subvol string
}

// Type is the blkid type of the volume ("ext3", "swap", ...).
func (v Volume) Type() string { return v.Probe.Type }

// Describe names the volume for messages ("disk.img partition 2",
// "VolGroup00/LogVol00 on disk.img partition 2").
func (v Volume) Describe(disks []Disk) string {
	where := ""
	if v.Disk >= 0 && v.Disk < len(disks) {
		where = disks[v.Disk].Name
	}
	if v.Part > 0 {
		where += " partition " + strconv.Itoa(v.Part)
	}
	if v.Subvol != "" {
		where += " (btrfs " + v.Subvol + ")"
	}
	switch {
	case v.LV != "":
		return v.VG + "/" + v.LV + " on " + where
	case v.MD != "":
		return "md array " + v.MD + " on " + where
	}
	return where
}

// Mountable reports whether xenify can mount the volume.
func (v Volume) Mountable() bool {
	switch v.Probe.Type {
	case fsprobe.Ext2, fsprobe.Ext3, fsprobe.Ext4, fsprobe.XFS, fsprobe.Btrfs, fsprobe.VFAT:
		return true
	}
	return false
}

// Unreachable is a logical volume or array that exists but cannot be
// reached as one byte range of one disk.
type Unreachable struct {
	VG, LV  string // for logical volumes
	MD      string // for md arrays
	MDMinor int
	Why     string
	Fix     string
}

// Map is everything Discover found.
type Map struct {
	Disks       []Disk
	Kinds       []part.Kind // partition table kind per disk
	Volumes     []Volume
	Unreachable []Unreachable
	Warnings    []string
	// MDMembers are the member regions of each md array found (by array
	// UUID), in the order found.
	MDMembers map[string][]Volume
	// MDConf are the ARRAY lines of the guest's mdadm.conf, set once a
	// root filesystem candidate is mounted: they name the arrays the
	// guest calls /dev/mdN (1.2 metadata carries no preferred minor).
	MDConf []MDConfArray
}

// maxNest bounds md-inside-partition-inside-... recursion.
const maxNest = 3

// Discover reads partition tables, LVM metadata and md superblocks of
// disks and returns every volume it can map to a byte range. It only
// reads. A corrupt partition table or corrupt LVM metadata is refused
// (*xerr.Refused); LVs and arrays that exist but are not one byte range
// (striped, mirrored, split LVs; RAID levels other than 1) are listed in
// Unreachable, for the caller to refuse if the guest needs them.
func Discover(disks []Disk) (*Map, error) {
	m := &Map{Disks: disks}
	m.MDMembers = map[string][]Volume{}
	d := &discovery{m: m, mdSeen: map[string]bool{}}
	for i, dk := range disks {
		t, err := part.Read(dk.R, dk.Size)
		if err != nil {
			return nil, &xerr.Refused{Msg: fmt.Sprintf("%s: cannot read its partition table", dk.Name), Err: err,
				Fix: "check the disk with 'sfdisk -d' or 'gdisk -l' and repair the table; xenify wrote nothing"}
		}
		m.Kinds = append(m.Kinds, t.Kind)
		for _, w := range t.Warnings {
			m.Warnings = append(m.Warnings, dk.Name+": "+w)
		}
		if t.Kind == part.None {
			if err := d.region(Volume{Disk: i, Offset: 0, Size: dk.Size, MDMinor: -1}, 0); err != nil {
				return nil, err
			}
			continue
		}
		for _, p := range t.Partitions {
			if p.Class == part.ClassExtended {
				continue
			}
			v := Volume{Disk: i, Offset: p.Start, Size: p.Size, Part: p.Number, PartLabel: p.Name, PartUUID: p.UUID, MDMinor: -1}
			if t.Kind == part.MBR && strings.HasPrefix(t.DiskID, "0x") {
				v.PartUUID = fmt.Sprintf("%s-%02x", strings.TrimPrefix(t.DiskID, "0x"), p.Number)
			}
			if err := d.region(v, 0); err != nil {
				return nil, err
			}
		}
	}
	if err := d.logicalVolumes(); err != nil {
		return nil, err
	}
	m.Warnings = append(m.Warnings, d.incompleteMirrors()...)
	return m, nil
}

// incompleteMirrors warns about RAID1 arrays of which fewer members than
// the array has were given: converting changes the members given only,
// and the array, assembled again, is no longer a mirror of itself.
func (d *discovery) incompleteMirrors() []string {
	var out []string
	for _, uuid := range d.mdOrder {
		have, want := len(d.m.MDMembers[uuid]), d.mdRaidDisks[uuid]
		if have == 0 || have >= want {
			continue
		}
		var where []string
		for _, v := range d.m.MDMembers[uuid] {
			where = append(where, v.Describe(d.m.Disks))
		}
		out = append(out, fmt.Sprintf("md RAID1 array %s is incomplete: %d of its %d members given (%s); converting changes only these, so the other mirror keeps the native system and a later resync picks one of the two: give every member (--disk PATH), or first shrink the array to the members given inside the native system (mdadm --grow --raid-devices=%d --force)",
			uuid, have, want, strings.Join(where, ", "), have))
	}
	return out
}

type foundPV struct {
	at Volume // the region holding the PV
	pv *lvm.PV
}

type discovery struct {
	m      *Map
	pvs    []foundPV
	mdSeen map[string]bool
	// mdOrder are the RAID1 arrays in the order found, mdRaidDisks
	// their member counts.
	mdOrder     []string
	mdRaidDisks map[string]int
}

// region probes one byte range (a partition, a whole disk, or an md
// array's data) and records what it holds.
func (d *discovery) region(v Volume, depth int) error {
	dk := d.m.Disks[v.Disk]
	r := io.NewSectionReader(dk.R, v.Offset, v.Size)
	res, err := fsprobe.Probe(r, v.Size)
	if err != nil {
		return fmt.Errorf("probing %s: %w", v.Describe(d.m.Disks), err)
	}
	v.Probe = res
	switch res.Type {
	case fsprobe.MDMember:
		return d.mdMember(v, r, depth)
	case fsprobe.LVM2PV:
		pv, err := lvm.ReadPV(r, v.Size)
		if err != nil {
			return &xerr.Refused{Msg: fmt.Sprintf("%s: cannot read the LVM physical volume", v.Describe(d.m.Disks)), Err: err,
				Fix: "repair the LVM metadata on a dom0 with the LVM tools (vgcfgrestore from the guest's /etc/lvm/backup), then run xenify again; xenify wrote nothing"}
		}
		d.pvs = append(d.pvs, foundPV{at: v, pv: pv})
		return nil
	case "":
		return nil
	}
	d.m.Volumes = append(d.m.Volumes, v)
	return nil
}

func (d *discovery) mdMember(v Volume, r *io.SectionReader, depth int) error {
	sb := v.Probe.MD
	minor := md090Minor(r, sb)
	if minor < 0 {
		if _, n, ok := strings.Cut(sb.Name, ":"); ok {
			minor = atoiOr(n, -1)
		} else {
			minor = atoiOr(sb.Name, -1)
		}
	}
	off, size, err := sb.RAID1Range()
	if err != nil {
		d.m.Unreachable = append(d.m.Unreachable, Unreachable{MD: sb.UUID, MDMinor: minor,
			Why: fmt.Sprintf("%s is a member of md array %s: %v", v.Describe(d.m.Disks), sb.UUID, err),
			Fix: "assemble the array on a dom0 with mdadm and pass the /dev/mdN device"})
		return nil
	}
	if d.m.MDMembers != nil {
		if _, seen := d.m.MDMembers[sb.UUID]; !seen {
			d.mdOrder = append(d.mdOrder, sb.UUID)
		}
		d.m.MDMembers[sb.UUID] = append(d.m.MDMembers[sb.UUID], v)
		if d.mdRaidDisks == nil {
			d.mdRaidDisks = map[string]int{}
		}
		d.mdRaidDisks[sb.UUID] = sb.RaidDisks
	}
	if d.mdSeen[sb.UUID] {
		return nil // another mirror of an array already mapped
	}
	if depth >= maxNest || off < 0 || size <= 0 || off > v.Size || size > v.Size-off {
		return &xerr.Refused{Msg: fmt.Sprintf("%s: md array %s has an impossible data range (%d+%d in %d bytes)", v.Describe(d.m.Disks), sb.UUID, off, size, v.Size),
			Fix: "check the member with 'mdadm --examine'"}
	}
	d.mdSeen[sb.UUID] = true
	inner := v
	inner.Offset, inner.Size = v.Offset+off, size
	inner.MD, inner.MDMinor, inner.MDName = sb.UUID, minor, sb.Name
	return d.region(inner, depth+1)
}

// md090Minor reads md_minor (word 11) of a 0.90 superblock: the N of
// /dev/mdN the array was created as.
func md090Minor(r io.ReaderAt, sb *md.Superblock) int {
	if sb.Version != "0.90" {
		return -1
	}
	var b [4]byte
	if _, err := r.ReadAt(b[:], sb.Offset+44); err != nil {
		return -1
	}
	if sb.BigEndian {
		return int(binary.BigEndian.Uint32(b[:]))
	}
	return int(binary.LittleEndian.Uint32(b[:]))
}

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}

// logicalVolumes maps the LVs of every VG found, matching each LV's PV by
// UUID among the PVs on all disks. The metadata with the highest seqno
// wins when PVs disagree.
func (d *discovery) logicalVolumes() error {
	type vgroup struct {
		vg  *lvm.VolumeGroup
		pvs map[string]Volume // PV UUID -> region
	}
	groups := map[string]*vgroup{}
	var order []string
	for _, p := range d.pvs {
		key := p.pv.VG.ID
		if key == "" {
			key = p.pv.VG.Name
		}
		g, ok := groups[key]
		if !ok {
			g = &vgroup{vg: p.pv.VG, pvs: map[string]Volume{}}
			groups[key] = g
			order = append(order, key)
		}
		if p.pv.VG.Seqno > g.vg.Seqno {
			g.vg = p.pv.VG
		}
		if _, dup := g.pvs[p.pv.Label.PVID]; !dup {
			g.pvs[p.pv.Label.PVID] = p.at
		}
	}
	names := map[string]int{}
	for _, k := range order {
		names[groups[k].vg.Name]++
	}
	for _, key := range order {
		g := groups[key]
		if names[g.vg.Name] > 1 {
			d.m.Warnings = append(d.m.Warnings, fmt.Sprintf("two volume groups are named %s; fstab names like /dev/%s/... are ambiguous", g.vg.Name, g.vg.Name))
		}
		for _, lv := range g.vg.LVs {
			if !lv.Visible() {
				continue
			}
			loc, err := g.vg.Locate(lv.Name)
			if err != nil {
				u := Unreachable{VG: g.vg.Name, LV: lv.Name, MDMinor: -1, Why: err.Error()}
				if errors.Is(err, lvm.ErrNotLinear) {
					u.Fix = fmt.Sprintf("activate the volume group on a dom0 that has device-mapper (vgchange -ay %s) and pass the LV device (--disk /dev/%s/%s) instead of the disk holding it", g.vg.Name, g.vg.Name, lv.Name)
				} else {
					u.Fix = "repair the LVM metadata (vgcfgrestore) on a dom0 with the LVM tools"
				}
				d.m.Unreachable = append(d.m.Unreachable, u)
				continue
			}
			at, ok := g.pvs[loc.PVID]
			if !ok {
				pv := g.vg.PV(loc.PVID)
				hint := ""
				if pv != nil && pv.Device != "" {
					hint = " (last seen as " + pv.Device + ")"
				}
				d.m.Unreachable = append(d.m.Unreachable, Unreachable{VG: g.vg.Name, LV: lv.Name, MDMinor: -1,
					Why: fmt.Sprintf("it lies on physical volume %s%s, which is not on any disk given", loc.PVID, hint),
					Fix: "pass the disk holding that physical volume too (--disk PATH)"})
				continue
			}
			if loc.Offset < 0 || loc.Size <= 0 || loc.Offset > at.Size || loc.Size > at.Size-loc.Offset {
				d.m.Unreachable = append(d.m.Unreachable, Unreachable{VG: g.vg.Name, LV: lv.Name, MDMinor: -1,
					Why: fmt.Sprintf("its extents (bytes %d+%d) lie outside its physical volume (%d bytes)", loc.Offset, loc.Size, at.Size),
					Fix: "check the disk: it may be truncated"})
				continue
			}
			v := at
			v.Offset, v.Size = at.Offset+loc.Offset, loc.Size
			v.VG, v.LV = g.vg.Name, lv.Name
			v.Probe = fsprobe.Result{}
			dk := d.m.Disks[v.Disk]
			res, err := fsprobe.Probe(io.NewSectionReader(dk.R, v.Offset, v.Size), v.Size)
			if err != nil {
				return fmt.Errorf("probing %s: %w", v.Describe(d.m.Disks), err)
			}
			v.Probe = res
			d.m.Volumes = append(d.m.Volumes, v)
		}
	}
	return nil
}

// Find returns the unreachable entry for an LV, if any.
func (m *Map) unreachableLV(vg, lv string) (Unreachable, bool) {
	for _, u := range m.Unreachable {
		if u.VG == vg && u.LV == lv {
			return u, true
		}
	}
	return Unreachable{}, false
}
