package cli

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/xenify/xenify/convert"
	"github.com/xenify/xenify/host/cache"
	"github.com/xenify/xenify/plan"
	"github.com/xenify/xenify/xen/caps"
	"github.com/xenify/xenify/xen/kernelimage"
	"github.com/xenify/xenify/xerr"
)

// mapFlag collects repeatable --map NATIVE=VIRTUAL.
type mapFlag []plan.Mapping

func (m *mapFlag) String() string { return "" }
func (m *mapFlag) Set(s string) error {
	n, v, ok := strings.Cut(s, "=")
	// LABEL=x=sda1 and UUID=...=xvda1: the virtual name follows the last '='.
	if i := strings.LastIndex(s, "="); ok && i > 0 {
		n, v = s[:i], s[i+1:]
	}
	if !ok || n == "" || v == "" {
		return fmt.Errorf("want NATIVE=VIRTUAL, e.g. /dev/VolGroup00/LogVol00=sda1 or /=xvda1")
	}
	*m = append(*m, plan.Mapping{Native: n, Virtual: v})
	return nil
}

// convertFlags are the options shared by plan and convert.
type convertFlags struct {
	opts    plan.Options
	maps    mapFlag
	caps    string
	json    bool
	disks   stringList
	copyTo  string
	targets stringList
	shim    string
}

type stringList []string

const diskHelp = "another disk image or device of the installation (repeatable)"

// sourcePaths is SOURCE and the --disk flags of a parsed flag set.
func sourcePaths(fs *flag.FlagSet) []string {
	paths := fs.Args()
	if f := fs.Lookup("disk"); f != nil {
		paths = append(paths, *f.Value.(*stringList)...)
	}
	return paths
}

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func (f *convertFlags) register(fs *flag.FlagSet) {
	o := &f.opts
	fs.StringVar(&o.Name, "name", "", "domain name (default: the guest's hostname)")
	fs.Var(&f.maps, "map", "map a native device or mount point to a virtual device, NATIVE=VIRTUAL (repeatable), e.g. /dev/VolGroup00/LogVol00=sda1 or /=xvda1")
	fs.StringVar(&o.Layout, "layout", "", "the level of the block device stack handed to the guest: disk (whole disks; partitions, md and LVM inside the guest), partition (md and LVM inside the guest), raid (md arrays assembled on dom0, LVM inside the guest) or lv (every filesystem its own device, all layering on dom0); default: lv, disk for partitioned images")
	fs.StringVar(&o.Boot, "boot", "auto", "auto (pygrub, or pvgrub where pygrub cannot read the boot filesystem, e.g. XFS or btrfs, or dom0 has no pygrub), pygrub (dom0 reads the guest's GRUB config), pvgrub (GRUB built for Xen runs in the guest and reads its grub.cfg; dom0 needs grub-xen-host) or direct (dom0 boots a copy of the kernel)")
	fs.StringVar(&o.DirectDir, "direct-dir", "", "host directory for kernel and initrd with --boot direct (default "+plan.DirectDirBase+"/NAME)")
	fs.StringVar(&o.KernelPackage, "kernel-package", "", "an .rpm or .deb to install as the domU kernel")
	fs.StringVar(&o.DirectKernel, "kernel", "", "appliance: dom0 boots this kernel (absolute path on dom0, read here) directly, with no initrd, instead of the guest's; implies --boot direct; its block and network frontends must be built in")
	fs.StringVar(&o.GlibcPackages, "glibc-packages", "", "directory with Xen-friendly glibc rpms for 32-bit XenLinux guests")
	fs.IntVar(&o.Memory, "memory", 512, "guest memory in MiB")
	fs.IntVar(&o.VCPUs, "vcpus", 1, "virtual CPUs")
	fs.StringVar(&o.Bridge, "bridge", "xenbr0", "dom0 bridge for the guest's network interface")
	fs.StringVar(&o.MAC, "mac", "keep", "MAC of the vif: keep (the native NIC's), random, or an address")
	fs.StringVar(&o.Toolstack, "toolstack", "xl", "domain config syntax: xl (Xen 4) or xm (Xen 3)")
	fs.StringVar(&o.ConfigOut, "config-out", "", "where to write the domain config (default /etc/xen/NAME.cfg)")
	fs.StringVar(&o.GuestType, "guest-type", "auto", "auto (PVH when the kernel has the PVH entry and the host offers hvm-3.0-x86_64; else PV; PV under Xen's PV shim when the host lacks the kernel's PV ABI, e.g. 32-bit on Debian's Xen 4.17; PVH for a kernel without PV; HVM for a kernel with neither, e.g. RHEL 8/9's), pv, pvh, hvm (fully virtualized: the emulated BIOS boots the guest's own GRUB from the MBR, needs --layout disk or --boot direct; e.g. --guest-type hvm --layout disk), or pvh-shim (always under the shim)")
	fs.StringVar(&f.shim, "pvh-shim", "", "the PV shim's absolute path on dom0 (read here, written to the config as pvshim_path); default on a dom0: the shim installed with Xen")
	fs.StringVar(&f.caps, "hypervisor-caps", "", "host capabilities, e.g. \"xen-3.0-x86_64 xen-3.0-x86_32p\" (default: read "+caps.SysfsPath+")")
	fs.StringVar(&o.SELinuxRelabel, "selinux-relabel", "boot", "boot (/.autorelabel), offline (guest's setfiles now) or none")
	fs.BoolVar(&o.SkipGuestCmds, "skip-guest-commands", false, "apply file changes only and print the guest commands for you to run")
	fs.StringVar(&o.Initrd, "initrd", "auto", "how the initrd gets the Xen frontends: append (a cpio layer built by xenify from the guest's modules; no guest code runs), rebuild (the guest's own update-initramfs, dracut or mkinitrd, chrooted) or auto (append where xenify can prove the layer works, else rebuild)")
	fs.BoolVar(&o.NoIfupLocal, "no-ifup-local", false, "do not add the TX checksum workaround for CentOS 4.4 domU kernels")
	fs.BoolVar(&o.KeepBoot, "keep-boot", false, "keep a separate /boot as its own filesystem, the guest's first virtual disk, instead of copying it into the root filesystem")
	fs.Var(&vncFlag{on: &o.VNC, listen: &o.VNCListen}, "vnc", "give the guest a framebuffer served by VNC on dom0 (vfb; vnc for HVM); --vnc=ADDRESS listens there instead of 127.0.0.1")
	fs.StringVar(&o.VNCPassword, "vnc-password", "", "with --vnc: the VNC password (at most 8 characters; it is written into the domain config)")
	fs.StringVar(&o.GuestVNC, "guest-vnc", "", "set up an Xvnc server inside the guest for this user (vncservers on EL4-6, vncserver@:1 on systemd), when one is installed")
	fs.BoolVar(&f.json, "json", false, "print JSON for scripts")
	fs.Var(&f.disks, "disk", diskHelp)
	fs.Var(&f.targets, "disk-target", "name a disk as the dom0 that runs the guest sees it, FROM=TO (repeatable); FROM is the target xenify would write or a mount point, e.g. /srv/img/web1.img=/dev/vg_xen/web1 or /=/dev/sdb2")
	fs.StringVar(&f.copyTo, "copy-to", "", "copy SOURCE (one disk) to this image or device first, then convert the copy; the source is never written")
}

// finish resolves what flags alone cannot: the host's capabilities and
// its PV shim. The library checks the rest (convert.Options).
func (f *convertFlags) finish() error {
	f.opts.Maps = f.maps
	for _, t := range f.targets {
		from, to, ok := strings.Cut(t, "=")
		if !ok || from == "" || to == "" {
			return xerr.Usagef("--disk-target %q: want FROM=TO", t)
		}
		if f.opts.Targets == nil {
			f.opts.Targets = map[string]string{}
		}
		f.opts.Targets[from] = to
	}
	switch {
	case f.caps != "":
		f.opts.Caps = caps.Parse(f.caps)
		f.opts.CapsSource = "--hypervisor-caps"
	default:
		h, ok, err := caps.Read()
		if err != nil {
			return err
		}
		if ok {
			f.opts.Caps = h
			f.opts.CapsSource = caps.SysfsPath
		}
	}
	if k := f.opts.DirectKernel; k != "" {
		if !filepath.IsAbs(k) {
			return xerr.Usagef("--kernel %s: give the kernel's absolute path on dom0", k)
		}
		if f.opts.Boot == "auto" {
			f.opts.Boot = "direct"
		}
		data, err := os.ReadFile(k)
		if err != nil {
			return xerr.Usagef("--kernel: %v", err)
		}
		info, err := kernelimage.Inspect(data)
		if err != nil {
			return xerr.Usagef("--kernel %s: %v", k, err)
		}
		ak := &plan.ApplianceKernel{Bits: info.Class, PV: info.PV, PVH: info.PVH, Why: info.NotPV}
		if fs := strings.Fields(info.KernelVersion); len(fs) > 0 {
			ak.Version = fs[0]
		}
		f.opts.DirectKernelInfo = ak
	}
	if f.opts.CapsSource == caps.SysfsPath && !caps.HasPygrub() {
		// On the dom0 itself: --boot auto must not pick a pygrub that
		// is not there.
		f.opts.NoPygrub = true
	}
	switch f.shim {
	case "":
		// The shim of the dom0 xenify runs on; with --hypervisor-caps
		// the dom0 is another machine, whose shim --pvh-shim names.
		if f.opts.CapsSource == caps.SysfsPath {
			s, err := caps.FindShim()
			if err != nil {
				return err
			}
			f.opts.Shim = s
		}
	default:
		if !filepath.IsAbs(f.shim) {
			// xl reads a relative pvshim_path below its firmware directory.
			return xerr.Usagef("--pvh-shim %s: give the shim's absolute path on dom0, e.g. /usr/lib/xen-4.17/boot/xen-shim", f.shim)
		}
		s, err := caps.ReadShim(f.shim)
		if err != nil {
			return xerr.Usagef("--pvh-shim %s: %v", f.shim, err)
		}
		f.opts.Shim = s
	}
	return nil
}

// options are the library's options for these flags and sources, with
// the library's events printed by pr.
func (f *convertFlags) options(e *env, sources []string, pr *progress) convert.Options {
	return convert.Options{Sources: sources, Plan: f.opts, CopyTo: f.copyTo, Progress: pr.event, Log: e.log, Output: e.stderr, KernelCache: kernelCache()}
}

// vncFlag is --vnc (on, 127.0.0.1) or --vnc=ADDRESS.
type vncFlag struct {
	on     *bool
	listen *string
}

func (v *vncFlag) IsBoolFlag() bool { return true }
func (v *vncFlag) String() string {
	if v.on == nil || !*v.on {
		return "false"
	}
	return "true"
}
func (v *vncFlag) Set(s string) error {
	switch s {
	case "true":
		*v.on = true
	case "false":
		*v.on, *v.listen = false, ""
	default:
		*v.on, *v.listen = true, s
	}
	return nil
}

// kernelCache is the host's cache of decoded kernels (host/cache;
// $XENIFY_CACHE_DIR=off disables it), or nil.
func kernelCache() kernelimage.Cache {
	if d := cache.Default(); d != nil {
		return d
	}
	return nil
}
