package pygrub

import (
	"fmt"
	"io"
	"strings"

	"github.com/xenify/xenify/disk/fsprobe"
)

// libext2fs (e2fsprogs 1.47, which the ext2fs-lib plugin of Debian 12's
// Xen 4.17 links against) refuses to open a filesystem with an incompat
// feature outside this set; ro_compat features do not matter because
// pygrub opens read-only.
const ext2fsIncompatSupp = 0x2 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x200 |
	0x400 | 0x2000 | 0x4000 | 0x8000 | 0x10000 | 0x20000

const (
	xfsVersionMoreBits = 0x8000
	xfsFeatures2FType  = 0x200
)

// CanRead reports whether pygrub 4.17's libfsimage can read the
// filesystem fsprobe found, and if not, why. The plugins are ext2fs-lib
// (ext2/3/4 through the host's libext2fs), xfs, fat, iso9660, reiserfs,
// ufs and zfs; there is no btrfs reader, and LVM, md 1.1/1.2 and LUKS are
// opaque.
func CanRead(r fsprobe.Result) (bool, string) {
	switch r.Type {
	case fsprobe.Ext2, fsprobe.Ext3, fsprobe.Ext4:
		if r.Ext == nil {
			return true, ""
		}
		if bad := r.Ext.FeatureIncompat &^ ext2fsIncompatSupp; bad != 0 {
			var names []string
			for _, f := range r.Ext.Features {
				if f == "compression" || f == "dirdata" || f == "journal_dev" {
					names = append(names, f)
				}
			}
			return false, fmt.Sprintf("%s incompat features %#x (%s) unsupported by libext2fs", r.Type, bad, strings.Join(names, ","))
		}
		if r.Ext.FeatureIncompat&0x8 != 0 {
			return false, "external ext journal device, not a filesystem"
		}
		return true, ""
	case fsprobe.XFS:
		if r.XFS == nil {
			return false, "xfs without superblock details"
		}
		if r.XFS.Version != 4 {
			return false, fmt.Sprintf("XFS v%d superblock: pygrub's xfs reader mounts only v4 (mkfs.xfs -m crc=0); v5 is the default since xfsprogs 3.2.3/RHEL 7", r.XFS.Version)
		}
		if r.XFS.VersionNum&xfsVersionMoreBits != 0 && r.XFS.Features2&xfsFeatures2FType != 0 {
			return false, "XFS v4 with ftype=1: pygrub's xfs reader misreads its directories and finds no file"
		}
		return true, ""
	case fsprobe.VFAT, fsprobe.ISO9660:
		return true, ""
	case fsprobe.Btrfs:
		return false, "btrfs: pygrub has no btrfs reader"
	case fsprobe.LVM2PV:
		return false, "LVM physical volume: pygrub cannot look inside LVM, /boot must be a plain partition"
	case fsprobe.MDMember:
		if r.MD != nil && (r.MD.Version == "0.90" || r.MD.Version == "0.90.0" || r.MD.Version == "1.0") {
			return false, fmt.Sprintf("md RAID member (metadata %s at the end): pygrub reads the filesystem at the start of the member, probe it without the md layer", r.MD.Version)
		}
		return false, "md RAID member: pygrub cannot assemble md arrays"
	case fsprobe.Swap, fsprobe.SwSuspend:
		return false, "swap space"
	case fsprobe.JBD:
		return false, "external ext journal device"
	case "":
		return false, "no filesystem recognised"
	case "reiserfs", "ufs", "zfs_member":
		return true, ""
	}
	return false, fmt.Sprintf("%s: no libfsimage reader", r.Type)
}

// Candidates lists what pygrub tries on a raw disk image, in order: the
// offsets of PartitionOffsets, each probed with fsprobe and judged with
// CanRead. The caller fills in FS for the readable ones (for example by
// mounting them read-only) before calling Emulate.
func Candidates(r io.ReaderAt, size int64) ([]Filesystem, error) {
	offs, err := PartitionOffsets(r, size)
	if err != nil {
		return nil, fmt.Errorf("pygrub would crash reading the partition table: %w", err)
	}
	var out []Filesystem
	for _, off := range offs {
		f := Filesystem{Offset: off}
		if off < 0 || off >= size {
			f.Unreadable = "offset beyond the end of the disk"
			out = append(out, f)
			continue
		}
		pr, err := fsprobe.Probe(io.NewSectionReader(r, off, size-off), size-off)
		if err != nil {
			return nil, fmt.Errorf("probing offset %d: %w", off, err)
		}
		f.Type = pr.Type
		if ok, why := CanRead(pr); !ok {
			f.Unreadable = why
		}
		out = append(out, f)
	}
	return out, nil
}

// ReadsType reports whether pygrub 4.17 can read a filesystem known only
// by its fstab or blkid type name (no superblock at hand), and if not,
// why. It is the one answer plan and verify share; CanRead, given the
// superblock, also rules out XFS v5 and odd ext features.
func ReadsType(fsType string) (bool, string) {
	if fsType == fsprobe.Btrfs {
		return false, "pygrub (Xen 4.17) has no btrfs reader"
	}
	return true, ""
}
