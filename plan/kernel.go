package plan

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/xen/caps"
	"github.com/xenify/xenify/xerr"
)

// chooseKernel picks the installed kernel the guest will boot: a PV
// capable one with its modules, XenLinux domU flavour first on XenLinux
// releases, newest first. nil means none is installed.
func chooseKernel(in *inspect.Inspection, o Options) *inspect.Kernel {
	var cands []inspect.Kernel
	for _, k := range in.Kernels {
		runs := k.PV
		switch {
		case o.GuestType == TypeHVM:
			// Any kernel but XenLinux, which boots only as PV.
			runs = !k.XenLinux()
		case o.GuestType == TypePVH:
			runs = k.PVH
		case pvhPossible(o):
			runs = k.PV || k.PVH
		}
		if runs && k.HasModules {
			cands = append(cands, k)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	rank := func(k inspect.Kernel) int {
		switch k.Flavor {
		case "xenlinux-domU":
			return 0
		case "xenlinux":
			return 1
		}
		return 2
	}
	sort.SliceStable(cands, func(i, j int) bool {
		if rank(cands[i]) != rank(cands[j]) {
			return rank(cands[i]) < rank(cands[j])
		}
		return false
	})
	best := cands[0]
	for _, k := range cands[1:] {
		if rank(k) == rank(best) && inspect.CompareVersions(k.Version, best.Version) > 0 {
			best = k
		}
	}
	return &best
}

// stepKernel decides the domU kernel, planning its installation if the
// guest has none. It returns false when the kernel is only known after the
// install runs.
func stepKernel(c *Context) (known bool, err error) {
	if c.Opts.KernelPkgInfo != nil {
		info := *c.Opts.KernelPkgInfo
		for i := range c.In.Kernels {
			if c.In.Kernels[i].Version == info.Version {
				k := c.In.Kernels[i]
				if !k.PV && !(k.PVH && pvhPossible(c.Opts)) && !(!k.XenLinux() && c.Opts.GuestType == TypeHVM) {
					return false, xerr.Refuse(c.Opts.KernelPackage, 0, "supply a Xen domU kernel package (kernel-xenU, kernel-xen, or a pvops kernel built with CONFIG_XEN_PV=y)", "the installed kernel %s from this package cannot boot as a PV guest (%s)", k.Version, k.Evidence)
				}
				c.Kernel = &k
				return true, nil
			}
		}
		gp := "/var/lib/xenify/packages/" + filepath.Base(c.Opts.KernelPackage)
		c.CopyIn("kernel", gp, c.Opts.KernelPackage, "domU kernel package to install (--kernel-package)")
		c.Add(c.Family.PackageInstall(c.In, gp, info))
		c.Later("boot entry and initrd for kernel " + info.Version + " from " + filepath.Base(c.Opts.KernelPackage))
		return false, nil
	}
	k := chooseKernel(c.In, c.Opts)
	if k == nil && c.Opts.GuestType == TypePVH {
		// No PVH kernel: name the kernel that would boot otherwise
		// when refusing, rather than planning an install.
		o := c.Opts
		o.GuestType = "auto"
		k = chooseKernel(c.In, o)
	}
	if k != nil {
		c.Kernel = k
		return true, nil
	}
	op, what, err := c.Family.KernelInstall(c.In)
	var refused *xerr.Refused
	if errors.As(err, &refused) && hvmPossible(c.Opts, c.In.Arch.Bits) {
		// auto: no kernel runs PV or PVH, and the guest's repositories
		// have none; an installed kernel runs fully virtualized, where
		// the options give it a way to boot (checkHVM).
		o := c.Opts
		o.GuestType = TypeHVM
		if k := chooseKernel(c.In, o); k != nil {
			if o.Layout == "disk" || o.Boot == BootDirect {
				c.Kernel = k
				return true, nil
			}
			r := *refused
			r.Fix += "; or run kernel " + k.Version + " fully virtualized: --guest-type hvm with --layout disk (its own boot loader boots from the MBR)"
			if hvmPVDrivers(c, *k) {
				r.Fix += " or --boot direct"
			}
			return false, &r
		}
	}
	if err != nil {
		return false, err
	}
	c.Add(op)
	c.Later("boot entry and initrd for " + what + " once it is installed")
	return false, nil
}

// checkABI refuses a kernel the host cannot run as PV.
func checkABI(c *Context, bits int, pae bool, what string) error {
	abi := caps.PVABI(bits, pae)
	ok, why := c.Opts.Caps.CheckPV(abi)
	c.pvhShim = ""
	shimHost := c.Opts.Caps.PVHShimHost() || (!c.Opts.Caps.Known() && c.Opts.GuestType == "pvh-shim")
	switch {
	case c.Opts.GuestType == "pvh-shim" && (!shimHost || !c.Opts.Shim.Runs(abi) || c.Opts.Toolstack == "xm"):
		return xerr.Refuse("", 0, "give dom0's shim with --pvh-shim PATH (xen-utils installs /usr/lib/xen-VERSION/boot/xen-shim) on a 64-bit Xen with HVM support, with --toolstack xl", "--guest-type pvh-shim: %s cannot run under %s", what, shimWhy(c.Opts, abi))
	case c.Opts.GuestType == "pvh-shim",
		!ok && c.Opts.GuestType != "pv" && shimHost && c.Opts.Shim.Runs(abi) && c.Opts.Toolstack != "xm":
		// A host without 32-bit PV (Debian's Xen 4.17) still runs the
		// kernel as PV, inside a PVH container under the shim.
		c.pvhShim = abi
		return nil
	case !ok:
		fix := "choose a kernel the host can run, or run the guest as PVH/HVM"
		if abi != "xen-3.0-x86_64" && c.Opts.Shim == nil && shimHost {
			fix = "install Xen's PV shim on dom0 (xen-utils: xen-shim) and convert again, or give one with --pvh-shim PATH: the guest then runs as PVH with pvshim; or choose a kernel the host can run"
		}
		return xerr.Refuse("", 0, fix, "%s needs %s: %s", what, abi, why)
	}
	if !c.Opts.Caps.Known() {
		c.Warn(why)
	}
	return nil
}

// shimWhy says why the guest cannot run under the PV shim.
func shimWhy(o Options, abi string) string {
	switch {
	case o.Toolstack == "xm":
		return "xm, which has no PVH"
	case o.Shim == nil:
		return "a PV shim: none is known (not run on a dom0, and no --pvh-shim)"
	case !o.Shim.Runs(abi):
		return "the PV shim " + o.Shim.Path + ", which runs " + strings.Join(o.Shim.ABIs, " ") + " but not " + abi
	}
	return "a PV shim on this host, which offers " + strings.Join(o.Caps.List, " ") + ": PVH needs a 64-bit Xen with HVM support"
}

// listPackages lists the package files in a host directory.
func listPackages(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, xerr.Usagef("--glibc-packages %s: %v", dir, err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".rpm") {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	if len(out) == 0 {
		return nil, xerr.Usagef("--glibc-packages %s: no .rpm files there", dir)
	}
	return out, nil
}
