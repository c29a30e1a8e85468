package source

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"unicode"

	"github.com/xenify/xenify/devmap"
	"github.com/xenify/xenify/xerr"
)

// DefaultLayout is the --layout that suits the source: "disk" when a
// filesystem lies inside an image file at an offset (a partitioned or LVM
// image: a domain config can only hand the guest the whole file), else
// "lv": every filesystem its own device, all layering in dom0, as the
// classic procedure hands the guest /dev/VolGroup00/LogVol00 as sda1;
// then a separate /boot can be merged into the bare root filesystem.
// A directory source has no preference ("").
func (o *Opened) DefaultLayout() string {
	if o.hds == nil {
		return ""
	}
	for _, f := range o.Filesystems {
		if f.BackingFile && !o.wholeDisk(f.vol) {
			return "disk"
		}
	}
	return "lv"
}

// wholeDisk reports whether the volume is its disk, byte for byte.
func (o *Opened) wholeDisk(v Volume) bool {
	return v.Part == 0 && v.LV == "" && v.MD == "" && v.Offset == 0 && v.Size == o.disks[v.Disk].Size
}

// HostDisks says how dom0 provides each of the guest's filesystems with
// the given layout ("" = DefaultLayout). The layout is the level of the
// block device stack (disk, partition, md RAID, LVM) handed to the guest;
// the levels above it are assembled inside the guest:
//
//   - disk: the whole image file or device, as one virtual disk with its
//     partitions, md and LVM inside.
//   - partition: the partition holding the filesystem; for a filesystem
//     in LVM or md, the partitions holding the PV or the array's members
//     (Layered: the guest activates the VG or assembles the array itself,
//     and the fstab spec stays valid).
//   - raid: as partition, but an md array is assembled on dom0 and handed
//     over as /dev/mdN; LVM on it stays in the guest.
//   - lv: every filesystem is its own device: the LV as dom0 names it
//     once the VG is active (/dev/VG/LV), the md array, or the partition.
//
// Only a filesystem that fills an image file can be handed over without
// the whole file: below "disk", a filesystem inside a partitioned image
// is refused, since a domain config cannot name "partition 2 of file X".
// A directory source returns nil: the planner uses the native names.
func (o *Opened) HostDisks(layout string) ([]devmap.HostDisk, error) {
	if o.hds == nil {
		return nil, nil
	}
	if layout == "" {
		layout = o.DefaultLayout()
	}
	var out []devmap.HostDisk
	for _, f := range o.Filesystems {
		v := f.vol
		hd := o.hds[v.Disk]
		d := devmap.HostDisk{Mount: f.Mount, Spec: f.Spec, Target: hd.Path, File: !hd.Block}
		if layout != "disk" && !o.wholeDisk(v) {
			if !hd.Block {
				return nil, &xerr.Refused{
					Msg: fmt.Sprintf("--layout %s: %s (%s) is %s, inside the image file %s; a Xen domain config cannot hand one partition or LV of an image file to the guest", layout, f.Mount, f.Spec, f.Where, hd.Path),
					Fix: "use --layout disk (the default for images: the guest gets the whole image as one disk), or attach the image on dom0 with 'losetup -P' and pass its partition devices as SOURCE and --disk",
				}
			}
			if err := o.layerTarget(&d, v, layout); err != nil {
				return nil, err
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// layerTarget sets d's target for a per-filesystem layout on block
// devices: the device at the layout's level of v's stack.
func (o *Opened) layerTarget(d *devmap.HostDisk, v Volume, layout string) error {
	md := func() error {
		if v.MDMinor < 0 {
			return &xerr.Refused{Msg: fmt.Sprintf("--layout %s: %s is on md array %s, which has no /dev/mdN number", layout, d.Mount, v.MD), Fix: "use --layout disk or partition, or assemble the array on dom0 and pass /dev/mdN"}
		}
		d.Target = "/dev/md" + strconv.Itoa(v.MDMinor)
		return nil
	}
	part := func(at Volume) string {
		if at.Part == 0 {
			return o.hds[at.Disk].Path
		}
		return partitionDevice(o.hds[at.Disk].Path, at.Part)
	}
	switch {
	case layout == "lv" && v.LV != "":
		d.Target = "/dev/" + v.VG + "/" + v.LV
	case (layout == "lv" || layout == "raid") && v.MD != "":
		d.Layered = v.LV != ""
		return md()
	case v.MD != "":
		// partition: the guest assembles the array from its members.
		members := o.mdMembers[v.MD]
		if len(members) == 0 {
			members = []Volume{v}
		}
		d.Layered = true
		d.Target = part(members[0])
		for _, m := range members[1:] {
			d.Also = append(d.Also, part(m))
		}
	default:
		d.Layered = v.LV != ""
		d.Target = part(v)
	}
	return nil
}

// partitionDevice names partition n of a whole-disk device the way the
// kernel does: sdb -> sdb2, nvme0n1 -> nvme0n1p2, loop0 -> loop0p2.
func partitionDevice(disk string, n int) string {
	if disk != "" && unicode.IsDigit(rune(disk[len(disk)-1])) {
		return disk + "p" + strconv.Itoa(n)
	}
	return disk + strconv.Itoa(n)
}

// hostLVMDirs are where the host shows its own volume groups: an active
// VG has /dev/VG, and LVM keeps a metadata backup of every VG it knows.
var hostLVMDirs = []string{"/dev", "/etc/lvm/backup"}

// LayoutWarnings are what the user should know about handing the guest
// its disks with layout, from what the host has: with lv, dom0 activates
// the guest's volume groups, and LVM cannot activate a VG whose name a
// VG of the host already has (CentOS names both VolGroup00). xenify runs
// on dom0 or a host like it, so a clash here is a clash there.
func (o *Opened) LayoutWarnings(layout string) []string {
	if layout != "lv" {
		return nil
	}
	own := map[string]bool{}
	for _, d := range o.disks {
		if d.VG != "" {
			own[d.VG] = true // the source is this VG's LV: it is the guest's
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, f := range o.Filesystems {
		vg := f.vol.VG
		if vg == "" || seen[vg] || own[vg] {
			continue
		}
		seen[vg] = true
		for _, dir := range hostLVMDirs {
			if _, err := os.Lstat(filepath.Join(dir, vg)); err == nil {
				out = append(out, fmt.Sprintf("this host has a volume group named %s too (%s): with --layout lv, dom0 must activate the guest's %s, which LVM refuses while another VG has its name; rename one of them on dom0 (vgrename by UUID), or use --layout partition, which keeps the guest's LVM inside the guest", vg, filepath.Join(dir, vg), vg))
				break
			}
		}
	}
	return out
}
