package plan

import (
	"fmt"
	"io/fs"
	"path"

	"github.com/xenify/xenify/guest"
	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/xerr"
)

// mergedWhy is the note a merged /boot's fstab line is commented out with.
const mergedWhy = "/boot merged into /: its files were copied to the root filesystem's /boot, so pygrub finds them on the first disk; this filesystem is obsolete"

// bootMerge decides whether a separate /boot is copied into the root
// filesystem (the classic procedure's default, so pygrub, which reads
// only the first disk, finds kernel and initrd with root). It returns the
// /boot fstab entry to merge and the bytes its files take, or ok=false
// when /boot stays a filesystem of its own.
func bootMerge(root *guest.Root, in *inspect.Inspection, opts Options, warn func(string)) (e inspect.FstabEntry, used int64, ok bool, err error) {
	e, sep := in.Fstab.Find("/boot")
	if !sep || !e.Local() || opts.Boot != "pygrub" {
		return e, 0, false, nil
	}
	if stays, why := bootStaysSeparate(in, opts); stays {
		if why != "" {
			warn(why)
		}
		return e, 0, false, nil
	}
	used, err = treeBytes(root, "/boot")
	if err != nil {
		return e, 0, false, &xerr.Refused{Path: "/boot", Msg: fmt.Sprintf("cannot read the separate /boot to copy it into the root filesystem: %v", err), Fix: "convert with --keep-boot to hand /boot to the guest as its own first disk"}
	}
	// Keep 5% of the root filesystem free for the guest itself.
	reserve := opts.RootFS.Size / 20
	if used+reserve > opts.RootFS.Free {
		return e, 0, false, &xerr.Refused{Path: "/boot", Line: e.Line,
			Msg: fmt.Sprintf("its files (%s) do not fit in the root filesystem, which has %s free and keeps %s (5%%) for the guest", mib(used), mib(opts.RootFS.Free), mib(reserve)),
			Fix: "free space on /, or convert with --keep-boot to hand /boot to the guest as its own first disk"}
	}
	return e, used, true, nil
}

// bootStaysSeparate says whether a separate, local /boot stays a
// filesystem of its own rather than being merged into the root
// filesystem, and the warning to give ("" when the user asked for it).
// It decides from fstab and the options only; bootMerge then also checks
// that the files fit.
func bootStaysSeparate(in *inspect.Inspection, opts Options) (bool, string) {
	if opts.KeepBoot {
		return true, ""
	}
	if opts.Layout == "disk" {
		// The guest gets its disks whole: /boot stays the partition GRUB
		// used, which pygrub finds by walking the partitions in order.
		return true, ""
	}
	if why := mergeUnreadable(in); why != "" {
		return true, why
	}
	if r, ok := in.Fstab.Root(); ok {
		if d := hostFor(opts, r); d != nil && d.Layered {
			return true, fmt.Sprintf("/boot stays a filesystem of its own, handed to the guest as its first virtual disk: with --layout %s the root filesystem is inside LVM or md that the guest assembles itself, where pygrub cannot read it (--layout lv hands the root filesystem over bare, and /boot is merged into it; --keep-boot keeps /boot separate without this warning)", opts.Layout)
		}
	}
	if opts.RootFS == nil {
		return true, "/boot stays a filesystem of its own, handed to the guest as its first virtual disk: xenify copies it into the root filesystem only when it can tell the two apart (give the disks as SOURCE, or mount the separate /boot on the directory as the native system did; --keep-boot keeps /boot separate without this warning)"
	}
	return false, ""
}

// treeBytes is the space the files below p take, in 4 KiB blocks.
func treeBytes(root *guest.Root, p string) (int64, error) {
	var total int64
	var walk func(p string) error
	walk = func(p string) error {
		ents, err := root.ReadDir(p)
		if err != nil {
			return err
		}
		for _, d := range ents {
			c := path.Join(p, d.Name())
			if c == "/boot/lost+found" {
				continue
			}
			st, err := root.Lstat(c)
			if err != nil {
				return err
			}
			switch {
			case st.IsDir():
				total += 4096
				if err := walk(c); err != nil {
					return err
				}
			case st.Mode().IsRegular(), st.Mode()&fs.ModeSymlink != 0:
				total += (st.Size() + 4095) / 4096 * 4096
			default:
				return fmt.Errorf("%s is neither file, directory nor symlink", c)
			}
		}
		return nil
	}
	return total, walk(p)
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
