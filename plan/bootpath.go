package plan

import (
	"fmt"

	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/xen/pygrub"
	"github.com/xenify/xenify/xerr"
)

// This file is the one place that decides whether pygrub can boot the
// guest from the filesystem holding its kernels, and which boot path to
// name when it cannot. pygrub 4.17's libfsimage has no btrfs reader
// (xen/pygrub.ReadsType, which verify asks too); Fedora 33+ and openSUSE
// put root, and unless /boot is separate the kernels, on btrfs. --boot
// auto then picks pvgrub (chooseBoot); an explicit --boot pygrub is
// refused here, naming pvgrub and direct.

// bootPathAlternative names the boot path for a guest pygrub cannot
// read.
const bootPathAlternative = "--boot pvgrub (GRUB built for Xen reads it inside the guest; the default, --boot auto, picks it), or --boot direct --direct-dir DIR (dom0 keeps the kernel and initrd and boots them directly)"

// pygrubUnreadable says why pygrub cannot read a filesystem of fstab
// type t ("" when it can).
func pygrubUnreadable(t string) string {
	if ok, why := pygrub.ReadsType(t); !ok {
		return why
	}
	return ""
}

// bootFS is the fstab entry of the filesystem the kernels are read from
// after conversion: the separate /boot unless it is merged into /.
func bootFS(in *inspect.Inspection, merged bool) (inspect.FstabEntry, bool) {
	if e, ok := in.Fstab.Find("/boot"); ok && e.Local() && !merged {
		return e, true
	}
	return in.Fstab.Root()
}

// checkBootPath refuses --boot pygrub when pygrub cannot read the
// filesystem holding the kernels, naming the boot path that works.
func checkBootPath(in *inspect.Inspection, opts Options, merged bool) error {
	if opts.Boot != "pygrub" {
		return nil
	}
	e, ok := bootFS(in, merged)
	if !ok {
		return nil
	}
	if why := pygrubUnreadable(e.Type); why != "" {
		return xerr.Refuse("/etc/fstab", e.Line, "convert with "+bootPathAlternative+", or move /boot to an ext4 filesystem of its own",
			"the kernels are on %s (%s, %s): %s", e.Mount, e.Spec, e.Type, why)
	}
	return nil
}

// mergeUnreadable says why /boot must not be merged into the root
// filesystem: pygrub could read it where it is, but not there (btrfs, or
// XFS as mkfs.xfs makes it).
func mergeUnreadable(in *inspect.Inspection) string {
	r, ok := in.Fstab.Root()
	if !ok {
		return ""
	}
	if why := pygrubCannotRead(r.Type); why != "" {
		return fmt.Sprintf("/boot stays a filesystem of its own, handed to the guest as its first virtual disk: the root filesystem is %s, and %s", r.Type, why)
	}
	return ""
}
