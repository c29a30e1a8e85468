package plan

import (
	"strings"

	"github.com/xenify/xenify/initramfs"
	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/xen/domain"
	"github.com/xenify/xenify/xerr"
)

// HVM is a fully virtualized guest: Xen's device model (QEMU in dom0)
// emulates a PC, whose BIOS boots the guest's own boot loader from the
// disk's MBR, as on the native machine. The rules, learnt from
// virt-v2v's conversion to KVM and from Xen's emulated-device unplug
// protocol, live in this file:
//
//   - The disk is handed over whole (--layout disk), as the emulated
//     disk hda: its MBR, the post-MBR gap holding GRUB's core image, and
//     its partitions stay as the native installer left them. Its
//     controller is AHCI or IDE (hvmController). Other
//     layouts have no MBR: they need --boot direct, where dom0 boots the
//     kernel and its initrd, and the PV block frontend to see disks that
//     are not emulated.
//   - A kernel with PV-on-HVM drivers (pvops, CONFIG_XEN_PVHVM=y with
//     xen-blkfront) unplugs the emulated disk early in boot (Xen's
//     platform PCI device); xen-blkfront then shows hda as xvda. Its
//     fstab and root= are written with xvd names, as for PV; UUID= and
//     LABEL= are kept. The emulated controller's driver (ata_piix, ahci,
//     sd_mod) goes into the initrd too, so the guest still boots with
//     xen_emul_unplug=never.
//   - A kernel without them (the native kernels of EL4 and EL5) runs on
//     the emulated devices: the old IDE driver names the disk hda (the
//     kernels of 2.6.18 and before, or any with CONFIG_BLK_DEV_PIIX),
//     libata sda; fstab and root= get that name.
//   - The console is the emulated serial port (serial='pty', which xl
//     console attaches to): console=ttyS0 on the kernel command line,
//     and a getty there.

// hvmCaps are the host capabilities an HVM guest of bits needs.
func hvmCapFor(bits int) string {
	if bits == 32 {
		return "hvm-3.0-x86_32"
	}
	return hvmCap
}

// hvmPossible says whether the options leave room for an HVM guest:
// asked for or left to auto, on a host that offers HVM or whose
// capabilities are unknown. An xm host keeps PV under auto.
func hvmPossible(o Options, bits int) bool {
	if o.GuestType != "" && o.GuestType != "auto" && o.GuestType != TypeHVM {
		return false
	}
	if o.Toolstack == "xm" && o.GuestType != TypeHVM {
		return false
	}
	return !o.Caps.Known() || o.Caps.Has(hvmCapFor(bits))
}

// kconfig reads kernel k's build configuration (nil when unknown).
func kconfig(c *Context, k inspect.Kernel) []byte {
	if k.Config == "" {
		return nil
	}
	return c.kernelFile(k.Config)
}

// hvmPVDrivers reports whether kernel k has PV-on-HVM drivers: it
// unplugs the emulated disks and finds them through xen-blkfront.
func hvmPVDrivers(c *Context, k inspect.Kernel) bool {
	if k.XenLinux() {
		return false
	}
	cfg := kconfig(c, k)
	if cfg == nil {
		// No configuration: a kernel with Xen entry notes is pvops.
		return k.PV || k.PVH
	}
	blk := initramfs.ConfigHas(cfg, "CONFIG_XEN_BLKDEV_FRONTEND")
	return initramfs.ConfigHas(cfg, "CONFIG_XEN_PVHVM") == "y" && (blk == "y" || blk == "m")
}

// emulatedPrefix is the name kernel k gives the emulated IDE disk: hd
// for the old IDE driver (CONFIG_BLK_DEV_PIIX; 2.6.18 and before when
// the configuration does not say), sd for libata's ata_piix.
func emulatedPrefix(c *Context, k inspect.Kernel) string {
	if cfg := kconfig(c, k); cfg != nil {
		switch initramfs.ConfigHas(cfg, "CONFIG_BLK_DEV_PIIX") {
		case "y", "m":
			return "hd"
		}
	}
	if k.Version != "" && inspect.CompareVersions(k.Version, "2.6.19") < 0 {
		return "hd"
	}
	return "sd"
}

// hvmDiskPrefix is the device name prefix the HVM guest's fstab and
// root= use: xvd behind PV drivers, else the emulated disk's name.
func hvmDiskPrefix(c *Context, k inspect.Kernel) string {
	if hvmPVDrivers(c, k) {
		return "xvd"
	}
	return emulatedPrefix(c, k)
}

// hvmEmulatedModules are the drivers of xl's default emulated disk,
// IDE, that the initrd loads (those the kernel has as modules; missing
// ones are skipped): libata's PIIX IDE and the SCSI disk driver. A guest
// with PV-on-HVM drivers gets them too, so it still boots with
// xen_emul_unplug=never on an IDE disk. The old IDE driver of EL4/EL5
// is built in. ahci is never forced in: where xenify chooses AHCI the
// kernel must not bind it (hvmController).
var hvmEmulatedModules = []string{"ata_piix", "sd_mod"}

// The HVM guest's emulated disk controllers (xl's hdtype).
const (
	hdIDE  = "ide"
	hdAHCI = "ahci"
)

// hvmAHCIGuard is the kernel argument that keeps a guest with PV-on-HVM
// drivers off its emulated AHCI disk: Xen's device model before QEMU
// 8.2 unplugs IDE, SCSI and NVMe disks when the guest asks, but not
// AHCI (hw/i386/xen/xen_platform.c, unplug_disks), so the kernel would
// see the disk twice, as sda through ahci and as xvda through
// xen-blkfront. udev loads ahci by its PCI alias, and libkmod applies
// the command line's blacklist to alias loads.
const hvmAHCIGuard = "modprobe.blacklist=ahci"

// hvmController chooses the HVM guest's emulated disk controller and
// says why. The BIOS (SeaBIOS) and GRUB read the kernel and initrd
// through it: IDE moves every word through an I/O port, each a trip to
// the device model in dom0, AHCI a whole command by DMA. So AHCI where
// the firmware reads the boot files (boot from the MBR) and the
// kernel's PV drivers take the disk over once it runs, with ahci a
// module hvmAHCIGuard can keep unbound; IDE everywhere else.
func hvmController(c *Context, k inspect.Kernel) (ctl, why string) {
	o := c.Opts
	switch {
	case o.Toolstack == "xm":
		return hdIDE, "xm's device model emulates IDE only"
	case o.Boot == BootDirect:
		return hdIDE, "dom0 boots the kernel (--boot direct), so no firmware reads the disk, and IDE is what the PV drivers' unplug removes"
	case !hvmPVDrivers(c, k):
		return hdIDE, "the kernel has no PV-on-HVM drivers and runs on the emulated disk; IDE is the controller every kernel of its age drives"
	}
	switch initramfs.ConfigHas(kconfig(c, k), "CONFIG_SATA_AHCI") {
	case "y":
		return hdIDE, "ahci is built into the kernel, so nothing keeps it off the AHCI disk the device model does not unplug (QEMU before 8.2): the guest would see its disk twice"
	case "m":
		if !c.ModuleBuiltin(k, "ahci") {
			return hdAHCI, "the BIOS and GRUB read the kernel and initrd by DMA (IDE: a device model round trip per word); the kernel's PV drivers then use xen-blkfront, and " + hvmAHCIGuard + " keeps ahci off the emulated disk, which Xen's QEMU before 8.2 does not unplug"
		}
	}
	return hdIDE, "the kernel's configuration does not show ahci as a module, which " + hvmAHCIGuard + " needs to keep the emulated AHCI disk from the guest"
}

// hvmAHCI reports whether the HVM guest gets the AHCI controller with
// PV drivers, and so needs hvmAHCIGuard on its kernel command line.
func hvmAHCI(c *Context) bool {
	if c.guestType != TypeHVM || c.Kernel == nil {
		return false
	}
	ctl, _ := hvmController(c, *c.Kernel)
	return ctl == hdAHCI
}

// hvmInitrdDrivers are the modules an HVM guest's initrd loads besides
// the root filesystem's driver, and which of them it cannot boot
// without.
func hvmInitrdDrivers(c *Context, k inspect.Kernel) (mods, required []string) {
	pv := hvmPVDrivers(c, k)
	if pv {
		if cfg := kconfig(c, k); initramfs.ConfigHas(cfg, "CONFIG_XEN_PLATFORM_PCI") == "m" {
			// 2.6.36 to 3.x: the unplug driver is a module.
			mods = append(mods, "xen-platform-pci")
			required = append(required, "xen-platform-pci")
		}
		blk := c.Family.BlockFrontend(k)
		mods = append(mods, blk)
		if !k.BlkfrontBuiltin {
			required = append(required, blk)
		}
	}
	if emulatedPrefix(c, k) == "sd" {
		for _, m := range hvmEmulatedModules {
			if c.ModuleBuiltin(k, m) {
				continue
			}
			mods = append(mods, m)
			if !pv && m != "ahci" {
				required = append(required, m)
			}
		}
	}
	return mods, required
}

// checkHVM refuses an HVM guest the options cannot boot, naming what
// would work, and fixes its boot path: the guest's own boot loader from
// the MBR unless --boot direct.
func checkHVM(c *Context, k *inspect.Kernel, what string) error {
	o := c.Opts
	var missing, fixes []string
	fix := func(f string) {
		for _, x := range fixes {
			if x == f {
				return
			}
		}
		fixes = append(fixes, f)
	}
	other := "use --guest-type pv"
	if !k.PV {
		other = "install a kernel built with CONFIG_XEN_PV=y and use --guest-type pv"
	}
	if k.XenLinux() {
		missing = append(missing, what+" is a XenLinux kernel, which boots only as PV")
		fix("use --guest-type pv, or boot the release's native kernel")
	}
	if o.Caps.Known() && !o.Caps.Has(hvmCapFor(k.Bits)) {
		missing = append(missing, "the host offers "+strings.Join(o.Caps.List, " ")+" but not "+hvmCapFor(k.Bits))
		fix(other + " (the host runs no HVM guests: it needs VT-x or AMD-V)")
	}
	switch {
	case (o.Boot == BootPygrub || o.Boot == BootPvgrub) && o.bootAsked:
		missing = append(missing, "--boot "+o.Boot+" boots PV and PVH guests, and an HVM guest boots its own boot loader from the MBR")
		fix("leave --boot at auto (the MBR), or give --boot direct (dom0 boots the kernel and initrd)")
	case o.Boot == BootDirect && o.Toolstack == "xm":
		missing = append(missing, "xm (Xen 3) boots an HVM guest from its disk only, not a kernel from dom0 (--boot direct)")
		fix("leave --boot at auto (the MBR) with --layout disk")
	}
	pv := hvmPVDrivers(c, *k)
	if o.Layout != "disk" && o.Boot != BootDirect {
		missing = append(missing, "with --layout "+o.Layout+" the guest gets no disk with an MBR to boot from")
		if pv && o.Toolstack != "xm" {
			fix("convert the whole disk with --layout disk (the native boot loader stays in the MBR), or give --boot direct (dom0 boots the kernel and initrd)")
		} else {
			fix("convert the whole disk with --layout disk (the native boot loader stays in the MBR)")
		}
	}
	if o.Layout != "disk" && !pv {
		missing = append(missing, what+" has no PV-on-HVM drivers (CONFIG_XEN_PVHVM with xen-blkfront), so it sees only whole emulated disks, and --layout "+o.Layout+" hands it filesystems")
		fix("convert the whole disk with --layout disk (the native boot loader stays in the MBR)")
	}
	if len(missing) > 0 {
		return xerr.Refuse("", 0, strings.Join(fixes, "; or "), "--guest-type hvm: %s", strings.Join(missing, "; "))
	}
	if o.Boot != BootDirect {
		c.Opts.Boot = BootMBR
		c.plan.Guest.Boot = BootMBR
		c.plan.Guest.BootReason = "HVM: the emulated BIOS boots the guest's own boot loader from the disk's MBR (" + c.In.Boot.Loader + ")"
	}
	return nil
}

// hvmVdev is the domain config's name of a whole disk of an HVM guest:
// the emulated IDE disk hda..hdd, which xen-blkfront shows as xvda..xvdd
// once the emulated one is unplugged.
func hvmVdev(v string) string {
	if m := virtualName.FindStringSubmatch(v); m != nil && m[4] == "" && len(m[3]) == 1 {
		return "hd" + m[3]
	}
	return v
}

// hvmDomain fills in the HVM parts of the domain config.
func hvmDomain(c *Context, d *domain.Config) error {
	d.Type = domain.TypeHVM
	if c.Opts.Boot == BootDirect {
		return nil
	}
	if hvmAHCI(c) {
		d.HDType = hdAHCI
	}
	if len(d.Disks) > 4 {
		return xerr.Refuse("", 0, "hand the guest at most four disks", "an HVM guest boots from emulated IDE disks, and IDE has four (hda to hdd); the guest would get %d", len(d.Disks))
	}
	for i := range d.Disks {
		d.Disks[i].Vdev = hvmVdev(d.Disks[i].Vdev)
	}
	return nil
}

// hvmControllerLine is the domain config's comment on the emulated
// disk controller.
func hvmControllerLine(c *Context) string {
	ctl, why := hvmController(c, *c.Kernel)
	if ctl == hdAHCI {
		return "Disk controller: AHCI (hdtype='ahci'): " + why + "."
	}
	return "Disk controller: IDE (xl's default): " + why + "."
}

// hvmDrivers says which disk the HVM guest's kernel will use.
func hvmDrivers(c *Context, k *inspect.Kernel) string {
	if hvmPVDrivers(c, *k) {
		if ctl, _ := hvmController(c, *k); ctl == hdAHCI {
			return "the kernel has PV-on-HVM drivers: it uses xen-blkfront (xvda), and leaves the emulated AHCI disk alone (" + hvmAHCIGuard + ")"
		}
		return "the kernel has PV-on-HVM drivers: it unplugs the emulated disk and uses xen-blkfront (xvda)"
	}
	return "the kernel has no PV-on-HVM drivers: it runs on the emulated IDE disk (" + emulatedPrefix(c, *k) + "a) and NIC"
}

// hvmConsole is the HVM guest's console: the emulated serial port.
const hvmConsole = "ttyS0"

// hvmGrubSerial are the grub.cfg commands that put GRUB's menu on the
// emulated serial port as well as on VGA (what GRUB_TERMINAL="serial
// console" makes grub-mkconfig write): the serial port is what xl
// console shows, and an HVM guest converted without VNC has no other
// screen. They come after grub-mkconfig's header, so they also replace
// its gfxterm, whose video mode setting is slow under emulation.
var hvmGrubSerial = []string{
	"serial --unit=0 --speed=115200",
	"terminal_input serial console",
	"terminal_output serial console",
}

// consoleWhat names the guest's console in the plan's reasons.
func consoleWhat(c *Context) string {
	if c.guestType == TypeHVM {
		return "the serial console " + hvmConsole
	}
	return "the Xen console " + consoleName(c)
}

// bootReader is what reads the guest's boot loader configuration.
func bootReader(c *Context) string {
	if c.Opts.Boot == BootMBR {
		return "the guest's own GRUB"
	}
	return "pygrub"
}
