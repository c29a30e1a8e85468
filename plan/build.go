package plan

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/xenify/xenify/devmap"
	"github.com/xenify/xenify/guest"
	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/xen/domain"
	"github.com/xenify/xenify/xerr"
)

// StatePath and State are the device map convert records in the guest
// (package devmap, which source reads too).
const StatePath = devmap.StatePath

type State = devmap.State

// Build plans the conversion of an inspected guest. It only reads.
func Build(root *guest.Root, in *inspect.Inspection, opts Options, fam Family, source string) (*Plan, error) {
	opts.defaults()
	if err := validate(opts); err != nil {
		return nil, err
	}
	opts.bootAsked = opts.Boot != "auto"
	boot, bootWhy, err := chooseBoot(in, opts)
	if err != nil {
		return nil, err
	}
	opts.Boot = boot
	p := &Plan{Source: source, Toolstack: opts.Toolstack}
	p.Guest = Summary{Distro: in.OS.Name, Version: in.OS.Version, Arch: in.Arch.Name, Boot: boot, BootReason: bootWhy}
	c := &Context{Root: root, In: in, Opts: opts, Family: fam, plan: p, files: map[string]int{}}

	var prev *State
	if data, err := root.ReadFile(StatePath); err == nil {
		prev = &State{}
		if err := json.Unmarshal(data, prev); err != nil {
			return nil, xerr.Refuse(StatePath, 0, "run `xenify rollback` first, or remove the file if no conversion is in progress", "damaged: %v", err)
		}
	}

	var known bool
	if opts.DirectKernel != "" {
		c.Kernel = applianceKernel(opts)
	} else if known, err = stepKernel(c); err != nil {
		return nil, err
	}
	// Until the kernel is installed, plan for the flavour it will be.
	k := c.Kernel
	if k == nil {
		name := ""
		if opts.KernelPkgInfo != nil {
			name = opts.KernelPkgInfo.Version
		}
		ek := fam.ExpectedKernel(in, name)
		k = &ek
	}
	if err := chooseGuestType(c, k, "kernel "+orText(k.Version, "to be installed")); err != nil {
		return nil, err
	}
	opts.Boot = c.Opts.Boot // HVM: the MBR
	prefix := "xvd"
	switch {
	case c.guestType == TypeHVM:
		prefix = hvmDiskPrefix(c, *k)
	case k.XenLinux():
		prefix = "sd"
	}
	var prevMap *DevMap
	if prev != nil {
		prevMap = prev.DevMap
	}
	bootEntry, bootUsed, merge, err := bootMerge(root, in, opts, c.Warn)
	if err != nil {
		return nil, err
	}
	opts.mergeBoot, c.Opts.mergeBoot = merge, merge
	if err := checkBootPath(in, opts, merge); err != nil {
		return nil, err
	}
	if c.DevMap, err = BuildDevMap(in, opts, prefix, prevMap); err != nil {
		return nil, err
	}
	p.DevMap = c.DevMap
	if _, ok := c.DevMap.Virtual("/"); !ok && opts.Layout != "disk" {
		return nil, xerr.Refuse("/etc/fstab", 0, "check the root entry", "the root filesystem is not a local block device")
	}
	if merge {
		// First, so every later step reads and writes the merged /boot.
		c.Add(Op{Step: "boot-merge", Kind: MergeBoot, Path: "/boot",
			Reason: fmt.Sprintf("copy the separate /boot (%s, %s, fstab line %d) into the root filesystem, so pygrub finds kernel and initrd with root on the first disk; --keep-boot keeps it separate", bootEntry.Spec, mib(bootUsed), bootEntry.Line)})
	}
	saved := c.Kernel
	c.Kernel = k
	// File edits first: guest commands (mkinitrd reads fstab and
	// modprobe.conf) must see the converted configuration.
	steps := []func(*Context) error{stepFstab, stepCleanup, stepConsole, stepVNC, stepNetwork, stepGlibc}
	for _, s := range steps {
		if err := s(c); err != nil {
			return nil, err
		}
	}
	c.Kernel = saved
	if opts.DirectKernel != "" {
		p.Guest.Kernel = opts.DirectKernel
	}
	if known {
		p.Guest.Kernel = c.Kernel.Version
		if err := stepInitrd(c, *c.Kernel); err != nil {
			return nil, err
		}
		if err := stepBoot(c); err != nil {
			return nil, err
		}
	}
	c.Kernel = k
	if err := stepSELinux(c); err != nil {
		return nil, err
	}
	if !known {
		c.Kernel = nil
	}
	// Record the device map for the next run (only when something
	// changes, so a second convert stays a no-op).
	if len(p.GuestOps()) > 0 || len(p.Later) > 0 {
		st := State{DevMap: c.DevMap.WithoutLines()}
		if c.Kernel != nil {
			st.Kernel = c.Kernel.Version
		}
		b, _ := json.MarshalIndent(st, "", " ")
		if err := c.Write("state", StatePath, string(b)+"\n", "record the device map, so converting again maps converted devices to themselves", Mode(0o600)); err != nil {
			return nil, err
		}
	}
	if err := stepDomain(c); err != nil {
		return nil, err
	}
	if opts.SkipGuestCmds {
		for i := range p.Ops {
			if p.Ops[i].Kind == RunInGuest {
				p.Ops[i].Manual = true
			}
		}
	}
	return p, nil
}

// vdevComment says what a virtual disk holds: every filesystem and swap
// area on it (a whole disk holds / as well as /boot; one btrfs holds /
// and /home as subvolumes), each with the native spec it was.
func vdevComment(all []Mapped, vdev string, wholeDisk bool) string {
	var on []Mapped
	for _, m := range all {
		if m.Vdev == vdev {
			on = append(on, m)
		}
	}
	if len(on) == 1 {
		return fmt.Sprintf("%s (%s), was %s", on[0].Mount, on[0].Type, on[0].Native)
	}
	var parts []string
	for _, m := range on {
		if m.Type == "swap" {
			parts = append(parts, "swap (was "+m.Native+")")
		} else {
			parts = append(parts, fmt.Sprintf("%s (%s, was %s)", m.Mount, m.Type, m.Native))
		}
	}
	if wholeDisk {
		return "whole disk: " + strings.Join(parts, ", ")
	}
	return strings.Join(parts, ", ")
}

func orText(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// Validate checks the options alone, before any guest is read, with
// the defaults Build gives them; a bad option is a usage error.
func Validate(o Options) error {
	o.defaults()
	return validate(o)
}

func validate(o Options) error {
	switch o.Layout {
	case "lv", "partition", "raid", "disk":
	default:
		return xerr.Usagef("--layout %q: want lv, partition, raid or disk", o.Layout)
	}
	switch o.Boot {
	case "auto", BootPygrub, BootPvgrub, BootDirect:
	default:
		return xerr.Usagef("--boot %q: want auto, pygrub, pvgrub or direct", o.Boot)
	}
	switch o.Toolstack {
	case "xl", "xm":
	default:
		return xerr.Usagef("--toolstack %q: want xl or xm", o.Toolstack)
	}
	switch o.GuestType {
	case "", "auto", TypePV, TypePVH, TypePVHShim, TypeHVM:
	default:
		return xerr.Usagef("--guest-type %q: want auto, pv, pvh, hvm or pvh-shim", o.GuestType)
	}
	if o.DirectKernel != "" && o.Boot != BootDirect {
		return xerr.Usagef("--kernel %s needs --boot direct: dom0 boots that kernel itself", o.DirectKernel)
	}
	if o.Boot == BootPvgrub && o.Toolstack == "xm" {
		return xerr.Usagef("--boot pvgrub needs --toolstack xl: GRUB 2 built for Xen boots on Xen 4 (use pygrub or direct with xm)")
	}
	switch o.Initrd {
	case "auto", "append", "rebuild":
	default:
		return xerr.Usagef("--initrd %q: want append, rebuild or auto", o.Initrd)
	}
	switch o.SELinuxRelabel {
	case "boot", "offline", "none":
	default:
		return xerr.Usagef("--selinux-relabel %q: want boot, offline or none", o.SELinuxRelabel)
	}
	if o.MAC != "keep" && o.MAC != "random" && !macRe.MatchString(o.MAC) {
		return xerr.Usagef("--mac %q: want keep, random or an address like 00:16:3e:12:34:56", o.MAC)
	}
	if o.Memory < 32 {
		return xerr.Usagef("--memory %d: a guest needs at least 32 MiB", o.Memory)
	}
	if o.VCPUs < 1 {
		return xerr.Usagef("--vcpus %d: at least 1", o.VCPUs)
	}
	if err := validateVNC(o); err != nil {
		return err
	}
	if o.Name != "" && !nameRe.MatchString(o.Name) {
		return xerr.Usagef("--name %q: use letters, digits, '.', '_' and '-'", o.Name)
	}
	return nil
}

var (
	macRe  = regexp.MustCompile(`^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$`)
	nameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
)

func stepBoot(c *Context) error {
	if c.Opts.Boot == "direct" {
		return nil
	}
	noun := "pygrub can read"
	if c.Opts.Boot == BootMBR {
		noun = "the guest's boot loader reads"
	}
	switch c.In.Boot.Loader {
	case "grub-legacy":
		if c.Opts.Boot == BootPvgrub {
			return xerr.Refuse(c.In.Boot.ConfigPath, 0, "use --boot pygrub, which reads GRUB legacy, or --boot direct", "--boot pvgrub: GRUB 2 built for Xen reads /boot/grub/grub.cfg or /grub/grub.cfg, and this guest has GRUB legacy")
		}
		return stepBootLegacy(c)
	case "grub2":
		return stepBootGrub2(c)
	}
	return xerr.Refuse("/boot/grub", 0, "use --boot direct, or install GRUB in the guest", "no boot loader configuration %s (no grub.cfg, grub.conf or menu.lst)", noun)
}

// stepDomain writes the domain configuration on the host.
func stepDomain(c *Context) error {
	o := c.Opts
	d := &domain.Config{Name: guestName(c), Memory: o.Memory, VCPUs: o.VCPUs, VNC: o.VNC, VNCListen: o.VNCListen, VNCPassword: o.VNCPassword}
	if c.guestType == TypePVH {
		d.Type = TypePVH
	}
	console := o.Toolstack + " console " + d.Name
	if c.pvhShim != "" {
		d.Type, d.PVShim = "pvh", true
		if !o.Shim.Default {
			d.PVShimPath = o.Shim.Path
		}
	}
	vnc := map[bool]string{true: "; VNC on " + orText(o.VNCListen, "127.0.0.1") + " (vfb)"}[o.VNC]
	d.Header = []string{
		fmt.Sprintf("Xen domain for %s, converted by xenify.", c.In.OS.Name),
		"Console: " + console + vnc,
	}
	if d.PVShim {
		why := "The host runs no " + c.pvhShim + " PV guests: the"
		if o.GuestType == "pvh-shim" {
			why = "--guest-type pvh-shim: the"
		}
		d.Header = append(d.Header, why+" kernel runs as PV inside a PVH container, under Xen's PV shim ("+o.Shim.Path+").")
	}
	seen := map[string]bool{}
	all := append(append([]Mapped(nil), c.DevMap.Entries...), c.DevMap.Extra...)
	for _, m := range all {
		if m.Vdev == "" || seen[m.Vdev] {
			continue
		}
		seen[m.Vdev] = true
		target, file := m.Target, m.File
		if t, ok := o.Targets[m.Target]; ok {
			target, file = t, !strings.HasPrefix(t, "/dev/")
		} else if t, ok := o.Targets[m.Mount]; ok {
			target, file = t, !strings.HasPrefix(t, "/dev/")
		}
		d.Disks = append(d.Disks, domain.Disk{Target: target, File: file, Vdev: m.Vdev, Comment: vdevComment(all, m.Vdev, o.Layout == "disk")})
	}
	vif := domain.Vif{Bridge: o.Bridge}
	switch o.MAC {
	case "keep":
		for _, n := range c.In.NICs {
			if n.MAC != "" {
				vif.MAC, vif.Comment = n.MAC, "native MAC of "+n.Name+", from "+n.Source
				break
			}
		}
	case "random":
	default:
		vif.MAC = strings.ToLower(o.MAC)
	}
	d.Vifs = []domain.Vif{vif}
	if c.guestType == TypeHVM {
		if err := hvmDomain(c, d); err != nil {
			return err
		}
		d.Header[1] = "Console: " + console + " (the emulated serial port, ttyS0)" + map[bool]string{true: "; VNC on " + orText(o.VNCListen, "127.0.0.1") + " (emulated VGA)"}[o.VNC]
		d.Header = append(d.Header, "HVM: "+hvmDrivers(c, c.Kernel)+".", hvmControllerLine(c))
	}
	if o.DirectKernel != "" {
		d.Kernel = o.DirectKernel
		d.Root = rootSpec(c) + " ro"
		d.Extra = "console=" + consoleName(c)
		d.Header = append(d.Header, "Appliance: dom0 boots "+o.DirectKernel+" with no initrd; its block and network frontends must be built in (xenify verify checks).")
	} else if o.Boot == "direct" && c.Kernel != nil {
		d.Kernel, d.Ramdisk = stepBootDirect(c, d.Name)
		d.Root = rootSpec(c) + " ro"
		if !c.Kernel.XenLinux() {
			d.Extra = "console=" + consoleName(c)
		}
	} else if c.guestType == TypeHVM {
		d.Header = append(d.Header, "The emulated BIOS boots the guest's own boot loader from the MBR of its first disk (boot='c').")
	} else if o.Boot == BootPvgrub {
		bits := c.In.Arch.Bits
		if c.Kernel != nil {
			bits = c.Kernel.Bits
		}
		d.Kernel = pvgrubImage(c.guestType, bits)
		d.Header = append(d.Header, "pvgrub: GRUB built for Xen (Debian: grub-xen-host) runs in the guest and reads its own /boot/grub/grub.cfg; dom0 parses nothing of the guest.")
	} else {
		d.Bootloader = "pygrub"
		if o.Toolstack == "xl" {
			d.BootloaderArgs = []string{"-q"}
		}
	}
	c.plan.Domain = d
	text := d.XL()
	if o.Toolstack == "xm" {
		text = d.XM()
	}
	c.plan.ConfigText = text
	out := o.ConfigOut
	if out == "" {
		out = filepath.Join("/etc/xen", d.Name+".cfg")
		if o.Toolstack == "xm" {
			out = filepath.Join("/etc/xen", d.Name)
		}
	}
	c.plan.ConfigPath = out
	c.plan.Ops = append(c.plan.Ops, Op{Step: "domain", Kind: WriteHostFile, Reason: "the Xen domain configuration (" + o.Toolstack + ")", HostPath: out, Content: text})
	return nil
}

func guestName(c *Context) string {
	if c.Opts.Name != "" {
		return c.Opts.Name
	}
	// inspect read it from where the release keeps it (/etc/hostname,
	// or /etc/sysconfig/network on RHEL before systemd).
	if n := strings.SplitN(c.In.Hostname, ".", 2)[0]; nameRe.MatchString(n) {
		return n
	}
	return "xenify-guest"
}

// inittabGetty adds a getty on the Xen console to /etc/inittab.
func inittabGetty(c *Context, con string) error {
	data, ok, err := c.Read("/etc/inittab")
	if err != nil {
		return err
	}
	if !ok {
		return xerr.Refuse("/etc/inittab", 0, "restore the guest's inittab", "sysvinit guest without /etc/inittab")
	}
	used := map[string]bool{}
	for _, l := range strings.Split(data, "\n") {
		if i := strings.Index(l, ":"); i > 0 && !strings.HasPrefix(strings.TrimSpace(l), "#") {
			used[l[:i]] = true
		}
	}
	id := "co"
	for n := 0; used[id]; n++ {
		id = fmt.Sprintf("x%d", n)
	}
	var getty string
	switch {
	case con == "console" && c.In.Tools["mingetty"] != "":
		getty = c.In.Tools["mingetty"] + " console"
	case c.In.Tools["agetty"] != "":
		getty = c.In.Tools["agetty"] + " " + con + " 9600 vt100-nav"
	case c.In.Tools["getty"] != "":
		getty = c.In.Tools["getty"] + " 38400 " + con
	case c.In.Tools["mingetty"] != "":
		getty = c.In.Tools["mingetty"] + " " + con
	default:
		return xerr.Refuse("/sbin/agetty", 0, "install a getty in the guest", "no getty program in the guest for the Xen console")
	}
	if data != "" && !strings.HasSuffix(data, "\n") {
		data += "\n"
	}
	data += "# Added by xenify: login prompt on the Xen console.\n" + id + ":2345:respawn:" + getty + "\n"
	return c.Write("console", "/etc/inittab", data, "a getty on "+consoleWhat(c), nil)
}
