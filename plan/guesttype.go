package plan

import (
	"fmt"
	"strings"

	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/xen/pygrub"
	"github.com/xenify/xenify/xerr"
)

// Guest types (--guest-type) and boot paths (--boot).
const (
	TypePV      = "pv"
	TypePVH     = "pvh"
	TypePVHShim = "pvh-shim"
	TypeHVM     = "hvm"

	BootPygrub = "pygrub"
	BootPvgrub = "pvgrub"
	BootDirect = "direct"
	// BootMBR is an HVM guest's own boot loader, from the disk's MBR
	// (--boot auto for --guest-type hvm).
	BootMBR = "mbr"
)

// hvmCap is the host capability a PVH guest needs: a 64-bit hypervisor
// that runs HVM containers (PVH is an HVM container without emulation).
const hvmCap = "hvm-3.0-x86_64"

// Where Debian's grub-xen-host installs GRUB built for Xen, in dom0. Its
// embedded config searches the guest's disks for /boot/grub/grub.cfg,
// then /grub/grub.cfg (xen/pvgrub reads the same order).
const (
	PvgrubPV64 = "/usr/lib/grub-xen/grub-x86_64-xen.bin"
	PvgrubPV32 = "/usr/lib/grub-xen/grub-i386-xen.bin"
	PvgrubPVH  = "/usr/lib/grub-xen/grub-i386-xen_pvh.bin"
)

// pvhPossible says whether the options leave room for a PVH guest with
// a kernel that has the PVH entry: asked for or left to auto, on xl, on
// a host that runs HVM containers or whose capabilities are unknown.
func pvhPossible(o Options) bool {
	if o.Toolstack == "xm" || (o.GuestType != "" && o.GuestType != "auto" && o.GuestType != TypePVH) {
		return false
	}
	return !o.Caps.Known() || o.Caps.Has(hvmCap)
}

// chooseGuestType decides how kernel k runs, PV, PVH, or PV under the PV
// shim, and records the choice and its reason in the plan. A type the
// kernel or host cannot run is refused, naming what is missing and what
// would work instead.
func chooseGuestType(c *Context, k *inspect.Kernel, what string) error {
	o := c.Opts
	c.guestType = TypePV
	pvh := func(why string) error {
		c.guestType, c.pvhShim = TypePVH, ""
		c.plan.Guest.Type, c.plan.Guest.TypeReason = TypePVH, why
		if !o.Caps.Known() {
			c.Warn("host capabilities unknown (not run on a dom0 and no --hypervisor-caps): could not check that the host offers " + hvmCap + ", which PVH needs")
		}
		return nil
	}
	pv := func(why string) error {
		if err := checkABI(c, k.Bits, k.PAE, what); err != nil {
			return err
		}
		c.plan.Guest.Type, c.plan.Guest.TypeReason = TypePV, why
		if c.pvhShim != "" {
			c.plan.Guest.Type = TypePVHShim
			c.plan.Guest.TypeReason = "the host runs no " + c.pvhShim + " PV guests, and its PV shim does: the kernel runs as PV inside a PVH container"
			if o.GuestType == TypePVHShim {
				c.plan.Guest.TypeReason = "--guest-type pvh-shim: the kernel runs as PV inside a PVH container, under the PV shim"
			}
		}
		return nil
	}
	hvm := func(why string) error {
		c.guestType, c.pvhShim = TypeHVM, ""
		c.plan.Guest.Type, c.plan.Guest.TypeReason = TypeHVM, why
		if !o.Caps.Known() {
			c.Warn("host capabilities unknown (not run on a dom0 and no --hypervisor-caps): could not check that the host offers " + hvmCapFor(k.Bits) + ", which HVM needs")
		}
		return checkHVM(c, k, what)
	}
	switch o.GuestType {
	case TypeHVM:
		return hvm("--guest-type hvm: " + hvmDrivers(c, k))
	case TypePV, TypePVHShim:
		return pv("--guest-type " + o.GuestType)
	case TypePVH:
		var missing []string
		if o.Toolstack == "xm" {
			missing = append(missing, "the xm toolstack (Xen 3) has no PVH guests")
		}
		if !k.PVH {
			m := what + " has no PVH entry point (XEN_ELFNOTE_PHYS32_ENTRY, from CONFIG_XEN_PVH=y)"
			if k.Config != "" {
				m += ": " + k.Config + " does not set CONFIG_XEN_PVH=y"
			} else if k.Evidence != "" {
				m += ": " + k.Evidence
			}
			missing = append(missing, m)
		}
		if o.Caps.Known() && !o.Caps.Has(hvmCap) {
			missing = append(missing, "the host offers "+strings.Join(o.Caps.List, " ")+" but not "+hvmCap)
		}
		if len(missing) > 0 {
			return xerr.Refuse("", 0, instead(c, k, TypePVH), "--guest-type pvh: %s", strings.Join(missing, "; "))
		}
		return pvh("--guest-type pvh")
	}
	// auto: PVH where kernel and host are known to run it, then PV, then
	// PV under the shim (checkABI), then PVH for a kernel without PV.
	switch {
	case o.Toolstack == "xm":
		return pv("the xm toolstack (Xen 3) runs PV guests only")
	case k.PVH && o.Caps.Has(hvmCap):
		return pvh(fmt.Sprintf("auto: %s has the PVH entry (CONFIG_XEN_PVH=y) and the host offers %s; PVH is Xen's recommended mode for Linux (PV is deprecated upstream)", what, hvmCap))
	case k.PV:
		why := "auto: " + what + " runs as PV"
		switch {
		case !o.Caps.Known():
			why += "; the host's capabilities are unknown, so PVH was not chosen (give --hypervisor-caps, or run on the dom0)"
		case k.PVH:
			why += "; the host offers no " + hvmCap + " for PVH"
		}
		return pv(why)
	case k.PVH && pvhPossible(o):
		return pvh("auto: " + what + " has no PV entry (CONFIG_XEN_PV is off) but the PVH entry: it runs as PVH")
	case hvmPossible(o, k.Bits) && !k.XenLinux():
		why := "auto: " + what + " has neither a PV nor a PVH entry (" + k.Evidence + "); it runs as HVM, fully virtualized: " + hvmDrivers(c, k)
		if o.Caps.Known() {
			why += "; the host offers " + hvmCapFor(k.Bits)
		}
		return hvm(why)
	}
	return xerr.Refuse("", 0, instead(c, k, ""), "%s runs neither as PV (%s) nor as PVH", what, k.Evidence)
}

// instead says what would work for kernel k when type failed.
func instead(c *Context, k *inspect.Kernel, failed string) string {
	o := c.Opts
	var alts []string
	if failed != TypePV && k.PV {
		alts = append(alts, "--guest-type pv")
	}
	if failed != TypePVH && k.PVH && pvhPossible(Options{Toolstack: o.Toolstack, Caps: o.Caps}) {
		alts = append(alts, "--guest-type pvh")
	}
	if failed != TypeHVM && !k.XenLinux() && hvmPossible(Options{Toolstack: o.Toolstack, Caps: o.Caps}, k.Bits) {
		alts = append(alts, "--guest-type hvm (with --layout disk or --boot direct)")
	}
	alts = append(alts, "install a kernel built with CONFIG_XEN_PVH=y (PVH) or CONFIG_XEN_PV=y (PV), or give one with --kernel-package")
	return "use " + strings.Join(alts, ", or ")
}

// chooseBoot resolves --boot auto: pvgrub where pygrub cannot read the
// filesystem it would boot from, or dom0 has no pygrub; pygrub
// otherwise. It returns the boot path and why.
func chooseBoot(in *inspect.Inspection, o Options) (boot, why string, err error) {
	if o.Boot != "" && o.Boot != "auto" {
		return o.Boot, "--boot " + o.Boot, nil
	}
	if o.NoPygrub {
		return BootPvgrub, "auto: dom0 has no pygrub; GRUB built for Xen (grub-xen-host) runs inside the guest instead", nil
	}
	for _, e := range bootFilesystems(in, o) {
		if why := pygrubCannotRead(e.Type); why != "" {
			return BootPvgrub, fmt.Sprintf("auto: pygrub cannot read %s (%s, /etc/fstab:%d): %s; GRUB built for Xen (pvgrub) reads it inside the guest", e.Mount, e.Type, e.Line, why), nil
		}
	}
	return BootPygrub, "auto: pygrub reads the guest's boot filesystem", nil
}

// bootFilesystems are the filesystems pygrub would read kernel and
// initrd from: a separate /boot kept as it is, or the root filesystem
// with /boot merged into it (both, when only the files' size, checked
// later, decides).
func bootFilesystems(in *inspect.Inspection, o Options) []inspect.FstabEntry {
	var out []inspect.FstabEntry
	b, sep := in.Fstab.Find("/boot")
	if sep && b.Local() {
		out = append(out, b)
		if stays, _ := bootStaysSeparate(in, o); stays {
			return out
		}
	}
	if r, ok := in.Fstab.Root(); ok {
		out = append(out, r)
	}
	return out
}

// pygrubCannotRead says why pygrub 4.17 cannot read a filesystem type
// known from fstab, or "" when it can: pygrub.ReadsType's answer
// (btrfs), and XFS, which pygrub reads only as v4 without ftype while
// mkfs.xfs has made v5 by default since 2015. An explicit --boot pygrub
// on XFS is left to verify, which reads the superblock.
func pygrubCannotRead(fsType string) string {
	if ok, why := pygrub.ReadsType(fsType); !ok {
		return why
	}
	if fsType == "xfs" {
		return "pygrub 4.17 reads XFS only as v4 without ftype, and mkfs.xfs has made v5 by default since 2015"
	}
	return ""
}

// pvgrubImage is the GRUB image dom0 boots for the guest type and kernel.
func pvgrubImage(guestType string, bits int) string {
	switch {
	case guestType == TypePVH:
		return PvgrubPVH
	case bits == 32:
		return PvgrubPV32
	}
	return PvgrubPV64
}

// applianceKernel describes the host kernel of --kernel as the plan's
// kernel: a pvops kernel with what the caller read from its notes (PV
// when nothing was read; verify reads the image itself).
func applianceKernel(o Options) *inspect.Kernel {
	k := &inspect.Kernel{Version: "", Image: o.DirectKernel, Flavor: "pvops", PV: true, Bits: 64,
		Evidence: o.DirectKernel + ": Xen ELF notes"}
	if i := o.DirectKernelInfo; i != nil {
		k.Version, k.Bits, k.PV, k.PVH = i.Version, i.Bits, i.PV, i.PVH
		if !i.PV {
			k.Evidence = o.DirectKernel + ": " + i.Why
		}
	}
	return k
}
