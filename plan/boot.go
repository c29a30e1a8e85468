package plan

import (
	"fmt"
	"path"
	"strings"

	"github.com/xenify/xenify/conf/cmdline"
	"github.com/xenify/xenify/conf/grublegacy"
	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/xerr"
)

// kernelArgs edits a kernel command line for the guest: root= and
// resume= follow the device map, and pvops kernels get console=hvc0.
func kernelArgs(c *Context, cl *cmdline.Cmdline) {
	for _, key := range []string{"root", "resume"} {
		if v, ok := cl.Get(key); ok {
			if m, ok := c.DevMap.ByNative(v); ok && m.Spec != v {
				cl.Set(key, m.Spec)
			} else if key == "resume" && !ok {
				// A resume device the guest will not have makes the
				// initramfs wait for it.
				cl.Remove("resume")
			}
		}
	}
	for _, a := range c.kernelArgs {
		k, v, _ := strings.Cut(a, "=")
		if cur, ok := cl.Get(k); !ok || cur != v {
			cl.Set(k, v)
		}
	}
	if c.guestType == TypeHVM {
		// The emulated serial port; Xen's console (hvc0, xvc0) is a PV
		// device the HVM guest does not have.
		cl.RemoveIf("console", func(v string) bool { return !strings.HasPrefix(v, "tty") })
		if v, _ := cl.Get("console"); !strings.HasPrefix(v, hvmConsole) {
			cl.Set("console", hvmConsole)
		}
		if hvmAHCI(c) {
			cl.AddListItem("modprobe.blacklist", "ahci")
		}
	} else if !c.Kernel.XenLinux() {
		// Drop consoles that do not exist under Xen, keep the rest.
		cl.RemoveIf("console", func(v string) bool { return strings.HasPrefix(v, "ttyS") })
		if v, _ := cl.Get("console"); v != "hvc0" {
			cl.Set("console", "hvc0")
		}
	}
}

// rootSpec is root= for the guest.
func rootSpec(c *Context) string {
	if m, ok := c.DevMap.Virtual("/"); ok {
		return m.Spec
	}
	r, _ := c.In.Fstab.Root()
	return r.Spec
}

// stepBootLegacy makes a GRUB legacy entry for the domU kernel the
// default, as pygrub will read it.
func stepBootLegacy(c *Context) error {
	p := c.In.Boot.ConfigPath
	data, _, err := c.Read(p)
	if err != nil {
		return err
	}
	f, err := grublegacy.Parse(p, []byte(data))
	if err != nil {
		return &xerr.Refused{Path: p, Msg: "cannot parse", Err: err}
	}
	k := c.Kernel
	dir := bootDir(c)
	idx := -1
	for i, e := range f.Entries() {
		be := inspect.BootEntry{Kernel: e.Kernel}
		if be.KernelVersion() == k.Version && !strings.Contains(e.Kernel, "xen.gz") && path.Dir(stripDevice(e.Kernel)) == dir {
			idx = i
			break
		}
	}
	if idx < 0 {
		root := "(hd0,0)"
		if es := f.Entries(); len(es) > 0 && es[0].Root != "" {
			root = es[0].Root
		}
		initrd := ""
		if k.Initrd != "" {
			initrd = path.Join(dir, path.Base(k.Initrd))
		}
		e := grublegacy.Entry{
			Title:  fmt.Sprintf("%s Xen domU (%s)", c.In.OS.Name, k.Version),
			Root:   root,
			Kernel: path.Join(dir, path.Base(k.Image)),
			Args:   "ro root=" + rootSpec(c),
			Initrd: initrd,
		}
		if err := f.InsertEntry(0, e); err != nil {
			return err
		}
		idx = 0
	}
	if err := f.EditKernelArgs(idx, func(cl *cmdline.Cmdline) { kernelArgs(c, cl) }); err != nil {
		return err
	}
	if n, numeric := f.DefaultIndex(); !numeric || n != idx {
		f.SetDefault(idx)
	}
	return c.Write("boot", p, string(f.Bytes()), "boot the domU kernel "+k.Version+" by default, with root on the virtual device ("+bootReader(c)+" reads this file)", nil)
}

// bootDir is where boot entries name kernel and initrd. pygrub ignores
// GRUB's root, search and set root, and reads the paths from the
// filesystem on the first disk: relative to a separate /boot, else (also
// once /boot is merged into the root filesystem) below /boot.
func bootDir(c *Context) string {
	if _, sep := c.DevMap.Virtual("/boot"); sep {
		return "/"
	}
	return "/boot"
}

// stripDevice drops a GRUB device prefix such as "(hd0,0)" from a path.
func stripDevice(p string) string {
	if i := strings.Index(p, ")"); strings.HasPrefix(p, "(") && i > 0 {
		return p[i+1:]
	}
	return p
}

// DirectDirBase holds a directory per domain for --boot direct, named
// after the domain, when Options.DirectDir is not given.
const DirectDirBase = "/var/lib/xen/kernels"

// stepBootDirect copies kernel and initrd out for dom0 to boot directly,
// to the directory of domain name.
func stepBootDirect(c *Context, name string) (kernel, ramdisk string) {
	k := c.Kernel
	dir := c.Opts.DirectDir
	if dir == "" {
		dir = path.Join(DirectDirBase, name)
	}
	kernel = path.Join(dir, path.Base(k.Image))
	c.Add(Op{Step: "boot", Kind: CopyOut, Reason: "dom0 boots the guest's kernel directly (--boot direct)", Path: k.Image, HostPath: kernel})
	if k.Initrd != "" {
		ramdisk = path.Join(dir, path.Base(k.Initrd))
		c.Add(Op{Step: "boot", Kind: CopyOut, Reason: "the guest's initrd, for dom0 to hand to the kernel", Path: k.Initrd, HostPath: ramdisk})
	}
	return kernel, ramdisk
}
