package plan

import (
	"fmt"
	"path"
	"strings"

	"github.com/xenify/xenify/conf/fstab"
	"github.com/xenify/xenify/conf/linelist"
	"github.com/xenify/xenify/conf/shellvars"
	"github.com/xenify/xenify/xerr"
)

// stepFstab rewrites /etc/fstab with the virtual devices and comments out
// what the guest will not have.
func stepFstab(c *Context) error {
	data, _, err := c.Read("/etc/fstab")
	if err != nil {
		return err
	}
	f, err := fstab.Parse("/etc/fstab", []byte(data))
	if err != nil {
		return &xerr.Refused{Path: "/etc/fstab", Msg: "cannot parse", Err: err}
	}
	dropped := map[int]string{}
	for _, d := range c.DevMap.Dropped {
		dropped[d.Line] = d.Why
	}
	for _, e := range f.Entries() {
		if e.CommentedOut() {
			continue
		}
		if why, ok := dropped[e.Line]; ok {
			f.CommentOut(e, why)
			continue
		}
		for _, m := range c.DevMap.Entries {
			if m.Line == e.Line && m.Spec != e.Spec {
				e.Spec = m.Spec
			}
		}
	}
	return c.Write("fstab", "/etc/fstab", string(f.Bytes()), "map native block devices to the guest's virtual devices", nil)
}

// stepCleanup removes caches that name the native devices and rewrites
// the boot loader's device files.
func stepCleanup(c *Context) error {
	c.Remove("cleanup", "/etc/blkid.tab", "stale cache of native block devices; blkid rebuilds it")
	c.Remove("cleanup", "/etc/blkid.tab.old", "stale cache of native block devices")
	c.Remove("cleanup", "/etc/blkid/blkid.tab", "stale cache of native block devices; blkid rebuilds it")
	c.Remove("cleanup", "/etc/lvm/cache/.cache", "stale LVM device cache naming native disks; LVM rebuilds it")
	root, _ := c.DevMap.Virtual("/")
	boot, hasBoot := c.DevMap.Virtual("/boot")
	first := root
	if hasBoot {
		first = boot
	}
	disk := "/dev/" + strings.TrimRight(first.Virtual, "0123456789")
	if first.Virtual == "" {
		return nil
	}
	for _, p := range []string{"/boot/grub/device.map", "/boot/grub2/device.map"} {
		data, ok, err := c.Read(p)
		if err != nil || !ok {
			continue
		}
		content := rewriteDeviceMap(data, disk)
		if err := c.Write("cleanup", p, content, "GRUB's (hd0) is the guest's first virtual disk", nil); err != nil {
			return err
		}
	}
	return c.Family.BootDisk(c, disk)
}

func rewriteDeviceMap(data, disk string) string {
	lines := strings.SplitAfter(data, "\n")
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "(hd0)") {
			nl := ""
			if strings.HasSuffix(l, "\n") {
				nl = "\n"
			}
			lines[i] = "(hd0)     " + disk + nl
		}
	}
	return strings.Join(lines, "")
}

// consoleName is the guest's console device: the emulated serial port
// ttyS0 for HVM; for PV and PVH the Xen console of the kernel: XenLinux
// 2.6.9 (EL4) shows it as /dev/console, XenLinux 2.6.18 (EL5) as xvc0,
// pvops as hvc0.
func consoleName(c *Context) string {
	if c.guestType == TypeHVM {
		return hvmConsole
	}
	if c.Kernel == nil {
		return "hvc0" // the appliance kernel of --kernel: pvops
	}
	k := *c.Kernel
	switch {
	case k.XenLinux() && (strings.HasPrefix(k.Version, "2.6.9") || (k.Version == "" && k.Flavor == "xenlinux-domU")):
		return "console"
	case k.XenLinux():
		return "xvc0"
	}
	return "hvc0"
}

// upstartGetty is the command line of an upstart job's getty on con, with
// a getty the guest has: Ubuntu's getty as Ubuntu's own tty jobs run it,
// else agetty as RHEL 6's serial.conf runs it (RHEL 6 has no getty:
// util-linux-ng ships agetty, mingetty the VT gettys), else mingetty.
// The port is named relative to /dev, as every agetty takes it: RHEL 6's
// serial.conf passes /dev/$DEV, which util-linux 2.38's agetty turns
// into /dev//dev/hvc0 and exits (seen booting the EL6 stand-in).
func upstartGetty(c *Context, con string) (string, error) {
	switch {
	case c.In.Tools["getty"] != "":
		return c.In.Tools["getty"] + " -8 38400 " + con, nil
	case c.In.Tools["agetty"] != "":
		return c.In.Tools["agetty"] + " " + con + " 38400 vt100-nav", nil
	case c.In.Tools["mingetty"] != "":
		return c.In.Tools["mingetty"] + " " + con, nil
	}
	return "", xerr.Refuse("/sbin/agetty", 0, "install a getty in the guest", "no getty program in the guest for the Xen console")
}

// stepConsole puts a getty on the Xen console and lets root log in there.
func stepConsole(c *Context) error {
	con := consoleName(c)
	for _, g := range c.In.Gettys {
		if g.TTY == con {
			goto securetty
		}
	}
	switch c.In.Init {
	case "sysvinit":
		if err := inittabGetty(c, con); err != nil {
			return err
		}
	case "upstart":
		getty, err := upstartGetty(c, con)
		if err != nil {
			return err
		}
		job := fmt.Sprintf(`# %s - getty on the Xen console
#
# Added by xenify: this service maintains a getty on %s from the point
# the system is started until it is shut down again.

start on stopped rc RUNLEVEL=[2345]
stop on runlevel [!2345]

respawn
exec %s
`, con, con, getty)
		if err := c.Write("console", "/etc/init/"+con+".conf", job, "upstart job for a getty on "+consoleWhat(c), Mode(0o644)); err != nil {
			return err
		}
	case "systemd":
		// systemd-getty-generator starts serial-getty@hvc0 for the
		// console= on the kernel command line, which the boot step adds.
	}
securetty:
	data, ok, err := c.Read("/etc/securetty")
	if err != nil || !ok {
		return err
	}
	f, err := linelist.Parse("/etc/securetty", []byte(data))
	if err != nil {
		return &xerr.Refused{Path: "/etc/securetty", Msg: "cannot parse", Err: err}
	}
	if !f.Has(con) {
		if _, err := f.Add(con); err != nil {
			return err
		}
		return c.Write("console", "/etc/securetty", string(f.Bytes()), "let root log in on "+consoleWhat(c), nil)
	}
	return nil
}

// stepNetwork adapts the network configuration to the Xen vif: what the
// family needs (module aliases, quirks of its domU kernels), then the MAC.
func stepNetwork(c *Context) error {
	if c.guestType == TypeHVM && !hvmPVDrivers(c, *c.Kernel) {
		// The emulated NIC: the native driver, as on the native machine.
	} else if err := c.Family.Network(c, *c.Kernel); err != nil {
		return err
	}
	if c.Opts.MAC != "keep" {
		if err := dropHWADDR(c); err != nil {
			return err
		}
	}
	return nil
}

// dropHWADDR removes the native MAC from interface configs when the vif
// gets a new one, so the interface still comes up.
func dropHWADDR(c *Context) error {
	for _, n := range c.In.NICs {
		if !strings.HasSuffix(n.Source, " HWADDR") {
			continue
		}
		p := strings.TrimSuffix(n.Source, " HWADDR")
		data, _, err := c.Read(p)
		if err != nil {
			return err
		}
		f, err := shellvars.Parse(p, []byte(data))
		if err != nil {
			return err
		}
		f.CommentOut("HWADDR", "the Xen vif has a new MAC address")
		if err := c.Write("network", p, string(f.Bytes()), "the vif gets a new MAC (--mac "+c.Opts.MAC+")", nil); err != nil {
			return err
		}
	}
	return nil
}

// stepGlibc: 32-bit XenLinux guests want a glibc built for Xen.
func stepGlibc(c *Context) error {
	g := c.In.Glibc
	if !g.Relevant || g.NoSegNeg || !c.Kernel.XenLinux() {
		return nil
	}
	if c.Opts.GlibcPackages == "" {
		c.Warn("32-bit guest without a Xen-friendly glibc (no /lib/i686/nosegneg): programs using thread-local storage run many times slower under Xen (\"4gb seg fixup\" in the kernel log); remedy: --glibc-packages DIR with the glibc, glibc-common (and nscd) packages built for Xen (i686 'nosegneg'), which xenify installs with rpm -Fvh")
		return nil
	}
	files, err := listPackages(c.Opts.GlibcPackages)
	if err != nil {
		return err
	}
	dir := "/var/lib/xenify/glibc"
	var guestFiles []string
	for _, f := range files {
		gp := dir + "/" + path.Base(f)
		guestFiles = append(guestFiles, gp)
		c.CopyIn("glibc", gp, f, "package to install in the guest")
	}
	c.Add(c.Family.GlibcReplace(c.In, dir, guestFiles))
	return nil
}

// stepSELinux: relabel files xenify wrote (or the whole guest).
func stepSELinux(c *Context) error {
	if !c.In.SELinux.Enabled() || c.Opts.SELinuxRelabel == "none" {
		return nil
	}
	if c.Opts.SELinuxRelabel == "offline" {
		op, err := c.Family.Relabel(c.In)
		if err != nil {
			return err
		}
		c.Add(op)
		return nil
	}
	if ok := c.Root.Exists("/.autorelabel"); ok {
		return nil
	}
	return c.Write("selinux", "/.autorelabel", "", "SELinux is "+c.In.SELinux.Mode+": relabel the files xenify changed at first boot", Mode(0o644))
}
