package source

import (
	"fmt"
	"strconv"
	"unicode"

	"github.com/xenify/xenify/plan"
	"github.com/xenify/xenify/xerr"
)

// DefaultLayout is the --layout that suits the source: "disk" when a
// filesystem lies inside an image file at an offset (a partitioned or LVM
// image: a domain config can only hand the guest the whole file), else
// "partition" (block devices dom0 can name, or one image file per
// filesystem). A directory source has no preference ("").
func (o *Opened) DefaultLayout() string {
	if o.hds == nil {
		return ""
	}
	for _, f := range o.Filesystems {
		if f.BackingFile && !o.wholeDisk(f.vol) {
			return "disk"
		}
	}
	return "partition"
}

// wholeDisk reports whether the volume is its disk, byte for byte.
func (o *Opened) wholeDisk(v Volume) bool {
	return v.Part == 0 && v.LV == "" && v.MD == "" && v.Offset == 0 && v.Size == o.disks[v.Disk].Size
}

// HostDisks says how dom0 provides each of the guest's filesystems with
// the given layout ("" = DefaultLayout):
//
//   - disk: every filesystem is on its whole image file or whole device,
//     which the guest gets as one virtual disk with its partitions, LVM
//     and md inside.
//   - partition, lv, raid: each filesystem is its own virtual device. An
//     image file qualifies only when the filesystem fills it; a filesystem
//     inside a partitioned image is refused, since a domain config cannot
//     name "partition 2 of file X". On block devices the target is the
//     partition device (/dev/sdb2), the LV as dom0 names it once the VG is
//     active (/dev/VG/LV), or the md array (/dev/mdN).
//
// A directory source returns nil: the planner uses the native names.
func (o *Opened) HostDisks(layout string) ([]plan.HostDisk, error) {
	if o.hds == nil {
		return nil, nil
	}
	if layout == "" {
		layout = o.DefaultLayout()
	}
	var out []plan.HostDisk
	for _, f := range o.Filesystems {
		v := f.vol
		hd := o.hds[v.Disk]
		d := plan.HostDisk{Mount: f.Mount, Spec: f.Spec, Target: hd.Path, File: !hd.Block}
		if layout != "disk" && !o.wholeDisk(v) {
			if !hd.Block {
				return nil, &xerr.Refused{
					Msg: fmt.Sprintf("--layout %s: %s (%s) is %s, inside the image file %s; a Xen domain config cannot hand one partition or LV of an image file to the guest", layout, f.Mount, f.Spec, f.Where, hd.Path),
					Fix: "use --layout disk (the default for images: the guest gets the whole image as one disk), or attach the image on dom0 with 'losetup -P' and pass its partition devices as SOURCE and --disk",
				}
			}
			switch {
			case v.LV != "":
				d.Target = "/dev/" + v.VG + "/" + v.LV
			case v.MD != "" && v.MDMinor >= 0:
				d.Target = "/dev/md" + strconv.Itoa(v.MDMinor)
			case v.MD != "":
				return nil, &xerr.Refused{Msg: fmt.Sprintf("--layout %s: %s is on md array %s, which has no /dev/mdN number", layout, f.Mount, v.MD), Fix: "use --layout disk, or assemble the array on dom0 and pass /dev/mdN"}
			case v.Part > 0:
				d.Target = partitionDevice(hd.Path, v.Part)
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// partitionDevice names partition n of a whole-disk device the way the
// kernel does: sdb -> sdb2, nvme0n1 -> nvme0n1p2, loop0 -> loop0p2.
func partitionDevice(disk string, n int) string {
	if disk != "" && unicode.IsDigit(rune(disk[len(disk)-1])) {
		return disk + "p" + strconv.Itoa(n)
	}
	return disk + strconv.Itoa(n)
}
