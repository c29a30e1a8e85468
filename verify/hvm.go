package verify

import (
	"fmt"
	"slices"
	"strings"

	"github.com/xenify/xenify/conf/cmdline"
	"github.com/xenify/xenify/disk/bootcode"
	"github.com/xenify/xenify/initramfs"
	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/xen/kernelimage"
)

// An HVM guest boots as a PC does: the emulated BIOS runs the boot code
// in the first disk's MBR, which loads GRUB's core image; GRUB reads its
// configuration and boots the kernel, which finds its root disk through
// xen-blkfront (a kernel with PV-on-HVM drivers unplugs the emulated
// disk) or the emulated controller's driver (one without).

// bootCodeCheck checks the first disk's MBR and the GRUB stage it
// loads, and reports whether they boot.
func bootCodeCheck(r *Report, in Input) bool {
	if in.Disk == nil {
		r.add("boot code", Warn, "the domain's first disk is not an image or device xenify can read here, so its MBR was not checked", "run verify where the disk is reachable")
		return true
	}
	res := bootcode.Inspect(in.Disk, in.DiskSize)
	switch {
	case res.Loader == bootcode.Other:
		r.add("boot code", Warn, res.Detail, "")
	case res.OK:
		r.add("boot code", Pass, res.Detail, "")
	default:
		r.add("boot code", Fail, "the emulated BIOS cannot boot the first disk: "+res.Detail,
			"install GRUB in the disk's MBR (in the native system: grub-install /dev/sda), or convert with --boot direct")
		return false
	}
	return true
}

// hvmKernelCheck: HVM runs any x86 kernel; the Xen notes only tell
// whether it also has PV drivers, which the initrd check asks.
func hvmKernelCheck(r *Report, in Input, info *kernelimage.Info) {
	detail := fmt.Sprintf("%s: a %d-bit kernel, run fully virtualized (HVM needs no Xen entry point)", r.Kernel, info.Class)
	if in.Caps.Known() && !in.Caps.Has("hvm-3.0-x86_64") && !in.Caps.Has("hvm-3.0-x86_32") {
		r.add("kernel", Fail, detail+"; but the host offers "+strings.Join(in.Caps.List, " ")+", no HVM", "run the guest as PV or PVH, or on a host with VT-x or AMD-V")
		return
	}
	r.add("kernel", Pass, detail, "")
}

// kernelConfig is the build configuration of kernel ver: the appliance
// kernel's own, else the guest's /boot/config-VERSION or
// /lib/modules/VERSION/config; nil when unknown.
func kernelConfig(in Input, ver string, own []byte) []byte {
	if own != nil {
		return own
	}
	for _, p := range []string{"/boot/config-" + ver, "/lib/modules/" + ver + "/config"} {
		if b, err := in.Root.ReadFile(p); err == nil && ver != "" {
			return b
		}
	}
	return nil
}

// hvmHasPVDrivers: the kernel unplugs the emulated disk and uses
// xen-blkfront (CONFIG_XEN_PVHVM with the block frontend).
func hvmHasPVDrivers(in Input, ver string, own []byte) bool {
	cfg := kernelConfig(in, ver, own)
	blk := initramfs.ConfigHas(cfg, "CONFIG_XEN_BLKDEV_FRONTEND")
	return initramfs.ConfigHas(cfg, "CONFIG_XEN_PVHVM") == "y" && (blk == "y" || blk == "m")
}

// ideBuiltin: the kernel names the emulated disk hda with the old IDE
// driver, built in (RHEL 4 and 5), and needs nothing from the initrd.
func ideBuiltin(in Input, ver string) bool {
	if initramfs.ConfigHas(kernelConfig(in, ver, nil), "CONFIG_BLK_DEV_PIIX") == "y" {
		return true
	}
	return ver != "" && inspect.CompareVersions(ver, "2.6.19") < 0
}

// hvmInitrdCheck checks what an HVM guest needs from its initrd to find
// its disk; it reports whether the common checks (the frontend, the
// root filesystem's driver) should follow.
func hvmInitrdCheck(r *Report, in Input, have bool, rd initrd, ver, blk string, builtin func(string) bool) bool {
	pv := hvmHasPVDrivers(in, ver, rd.kconfig)
	if !pv && ideBuiltin(in, ver) {
		if !have {
			r.add("initramfs", Pass, "no initrd; the kernel's built-in IDE driver finds the emulated disk", "")
			return false
		}
		return true
	}
	// The emulated controller's driver: libata's PIIX for xl's default
	// IDE, ahci for hdtype='ahci'; none for a kernel with PV drivers on
	// AHCI, which must leave that disk alone.
	emulated := []string{"ata_piix", "sd_mod"}
	if in.Domain != nil && in.Domain.HDType == "ahci" {
		emulated[0] = "ahci"
		if pv {
			hvmAHCIGuardCheck(r, builtin)
			emulated = nil
		}
	}
	var lacks []string
	for _, m := range emulated {
		if !builtin(m) && (!have || rd.err != nil || !initramfs.HasModule(rd.ents, m)) {
			lacks = append(lacks, m)
		}
	}
	if !have {
		switch {
		case pv && builtin(blk):
			r.add("initramfs", Pass, "no initrd; "+blk+" is built into the kernel", "")
		case !pv && len(lacks) == 0:
			r.add("initramfs", Pass, "no initrd; the emulated disk's drivers are built into the kernel", "")
		default:
			r.add("initramfs", Fail, "no initrd, and the kernel builds in neither "+blk+" nor the emulated disk's drivers: the root disk cannot be found", "rebuild the initrd with xenify convert")
		}
		return false
	}
	if rd.err != nil || len(lacks) == 0 {
		return true
	}
	if pv {
		r.add("initramfs driver", Warn, r.Initrd+" lacks the emulated disk's driver ("+strings.Join(lacks, ", ")+"): the guest boots only through "+blk+", after the emulated disk is unplugged", "xenify convert adds them")
		return true
	}
	r.add("initramfs", Fail, r.Initrd+" lacks the emulated disk's driver ("+strings.Join(lacks, ", ")+"), and the kernel has no PV-on-HVM drivers: the root disk will not appear", "xenify convert adds them (--initrd append or rebuild)")
	return false
}

// hvmAHCIGuardCheck: a kernel with PV-on-HVM drivers on an emulated AHCI
// disk (hdtype='ahci') asks the device model to unplug its disks, but
// Xen's QEMU before 8.2 unplugs IDE, SCSI and NVMe disks only
// (hw/i386/xen/xen_platform.c, unplug_disks). The guest must keep ahci
// unbound (modprobe.blacklist=ahci, which needs ahci as a module), or it
// sees its disk twice: as sdX and as xvdX, the same filesystems under
// two names with two caches.
func hvmAHCIGuardCheck(r *Report, builtin func(string) bool) {
	if builtin("ahci") {
		r.add("disk controller", Fail, "hdtype='ahci' and the kernel builds ahci in: it drives the emulated AHCI disk, which Xen's QEMU before 8.2 does not unplug, beside xen-blkfront's xvda: the guest sees its disk twice", "remove hdtype (xl's default IDE is unplugged)")
		return
	}
	if slices.Contains(cmdline.Parse(r.Args).ListItems("modprobe.blacklist"), "ahci") {
		r.add("disk controller", Pass, "hdtype='ahci': the BIOS reads the boot files by DMA; modprobe.blacklist=ahci keeps the kernel off the emulated disk, and xen-blkfront serves it as xvda", "")
		return
	}
	r.add("disk controller", Fail, "hdtype='ahci' and the boot entry lacks modprobe.blacklist=ahci: the kernel drives the emulated AHCI disk, which Xen's QEMU before 8.2 does not unplug, beside xen-blkfront's xvda: the guest sees its disk twice", "run xenify convert, or remove hdtype (xl's default IDE is unplugged)")
}
