// Package verify proves, without a hypervisor, whether a converted guest
// will boot as a Xen PV domU on a given host, and says why not. It checks
// what really breaks PV boots: what pygrub will find and choose, whether
// the kernel's Xen ELF notes fit the host, whether the initramfs can reach
// the root disk, and whether fstab, boot entry, console and domain config
// agree. It only reads.
package verify

import (
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/xenify/xenify/conf/cmdline"
	"github.com/xenify/xenify/guest"
	"github.com/xenify/xenify/initramfs"
	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/xen/caps"
	"github.com/xenify/xenify/xen/domain"
	"github.com/xenify/xenify/xen/kernelimage"
	"github.com/xenify/xenify/xen/pvgrub"
	"github.com/xenify/xenify/xen/pygrub"
)

// Status of one check.
type Status string

const (
	Pass Status = "pass"
	Fail Status = "fail"
	Warn Status = "warn"
	Skip Status = "skip"
)

// Check is one verdict with its reason and, on failure, the fix.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Report is the result of Verify.
type Report struct {
	Bootable bool   `json:"bootable"`
	Kernel   string `json:"kernel,omitempty"` // guest path of the kernel that boots
	Initrd   string `json:"initrd,omitempty"`
	Args     string `json:"args,omitempty"`
	// PVShim: the kernel runs as PV inside a PVH container, under the
	// PV shim (the domain config's pvshim).
	PVShim bool `json:"pvshim,omitempty"`
	// Type is the domain's guest type: pv, pvh (PVShim: PV under the
	// shim, in a PVH container).
	Type   string  `json:"type,omitempty"`
	Checks []Check `json:"checks"`
}

func (r *Report) add(name string, st Status, detail, fix string) {
	r.Checks = append(r.Checks, Check{Name: name, Status: st, Detail: detail, Fix: fix})
	if st == Fail {
		r.Bootable = false
	}
}

// Input is what Verify looks at.
type Input struct {
	Root   *guest.Root
	In     *inspect.Inspection
	Domain *domain.Config
	Caps   caps.Host
	// Shim is the PV shim dom0 runs a pvshim guest under (nil: unknown).
	Shim *caps.Shim
	// BootMount is the mount point of the filesystem on the domain's
	// first disk ("/boot" when /boot is its own virtual device, "/"
	// otherwise), and BootType its filesystem type.
	BootMount string
	BootType  string
	// ReadHost reads a host file (kernel and ramdisk of direct boot).
	ReadHost func(string) ([]byte, error)
	// Family names the Xen frontend modules of the booted kernel
	// (plan.Family does); nil: the pvops names.
	Family Frontends
	// FirstDisk, when the domain's first disk is a real image or device,
	// is what pygrub finds on it (pygrub.Candidates, with FS set for each
	// filesystem the source has mounted). verify then emulates pygrub on
	// the disk itself: partition order, unreadable filesystems (XFS v5,
	// LVM, md) and all. Nil: BootMount/BootType are used.
	FirstDisk []pygrub.Filesystem
	// Filesystems are the filesystems on the domain's disks, in the order
	// GRUB built for Xen searches them (pvgrub); FS is nil for those GRUB
	// cannot read.
	Filesystems []pvgrub.Filesystem
	// KernelCache, when set, keeps the decoded headers and notes of
	// compressed kernels by content (kernelimage.Cache), so that the
	// next verify of the same kernel decodes nothing.
	KernelCache kernelimage.Cache
	// Disk is the domain's first disk, raw, of DiskSize bytes, when it
	// is a real image or device (nil otherwise): an HVM guest's BIOS
	// boots its MBR.
	Disk     io.ReaderAt
	DiskSize int64
}

// Frontends names a kernel's Xen frontend modules: xenblk for the
// XenLinux kernels of RHEL 4 and 5, xen-blkfront for pvops.
type Frontends interface {
	BlockFrontend(k inspect.Kernel) string
}

// Verify runs every check.
func Verify(in Input) *Report {
	r := &Report{Bootable: true, PVShim: in.Domain != nil && in.Domain.PVShim, Type: "pv"}
	if in.Domain != nil && in.Domain.Type != "" {
		r.Type = in.Domain.Type
	}
	kernelData, initrdData := bootLoader(r, in)
	// Decoding the kernel and the initrd is most of verify's time: do
	// both at once.
	type inspected struct {
		info *kernelimage.Info
		err  error
	}
	kc := make(chan inspected, 1)
	go func() {
		var k inspected
		if kernelData != nil {
			k.info, k.err = kernelimage.InspectWith(kernelData, kernelimage.Options{Cache: in.KernelCache})
		}
		kc <- k
	}()
	var rd initrd
	if initrdData != nil {
		// The final view: what the kernel has after unpacking every
		// concatenated archive (an appended layer replaces earlier
		// members).
		rd.view, rd.err = initramfs.NewView(initrdData)
		if rd.err == nil {
			rd.ents = rd.view.Entries()
			rd.files = map[string][]byte{}
			for _, p := range resumeConfs {
				if b, ok := rd.view.ReadFile(p); ok {
					rd.files[p] = b
				}
			}
		}
	}
	k := <-kc
	kernelCheck(r, in, kernelData != nil, k.info, k.err)
	var appliance []byte
	if d := in.Domain; d != nil && d.Kernel != "" && d.Ramdisk == "" && kernelData != nil && !pvgrub.IsImage(d.Kernel) {
		appliance = applianceCheck(r, in, kernelData, k.info)
	}
	rd.kconfig = appliance
	initrdCheck(r, in, initrdData != nil, rd)
	consistency(r, in)
	return r
}

// initrd is the initrd's listing and the files verify reads from it.
type initrd struct {
	view  *initramfs.View
	ents  []initramfs.Entry
	files map[string][]byte
	err   error
	// kconfig is the build configuration of a host kernel booted
	// without an initrd (the appliance case), nil otherwise.
	kconfig []byte
}

// resumeConfs are where initramfs-tools records the resume device.
var resumeConfs = []string{"conf/conf.d/resume", "conf/conf.d/zz-resume-auto"}

// bootLoader decides which kernel and initrd will boot, as pygrub would
// (or from the config for direct boot), and loads them.
func bootLoader(r *Report, in Input) (kernel, initrd []byte) {
	d := in.Domain
	if pvgrub.IsImage(d.Kernel) {
		return pvgrubLoader(r, in)
	}
	if d.Kernel != "" {
		r.Kernel, r.Initrd, r.Args = d.Kernel, d.Ramdisk, strings.TrimSpace("root="+d.Root+" "+d.Extra)
		k, err := in.ReadHost(d.Kernel)
		if err != nil {
			r.add("boot loader", Fail, "direct boot: kernel "+d.Kernel+" cannot be read: "+err.Error(), "run xenify convert --boot direct again to copy the kernel out")
			return nil, nil
		}
		if d.Ramdisk != "" {
			if initrd, err = in.ReadHost(d.Ramdisk); err != nil {
				r.add("boot loader", Fail, "direct boot: ramdisk "+d.Ramdisk+" cannot be read: "+err.Error(), "run xenify convert --boot direct again")
				return k, nil
			}
		}
		r.add("boot loader", Pass, "direct boot of "+d.Kernel+" (dom0 holds the kernel)", "")
		return k, initrd
	}
	hvm := r.Type == domain.TypeHVM
	if hvm {
		// A failure here fails the guest; the rest is still checked.
		bootCodeCheck(r, in)
	} else if !strings.Contains(d.Bootloader, "pygrub") {
		r.add("boot loader", Fail, fmt.Sprintf("the domain config has neither kernel= nor bootloader=pygrub (bootloader=%q)", d.Bootloader), "use xenify convert --boot pygrub or --boot direct")
		return nil, nil
	}
	var res *pygrub.Result
	var fsys fs.FS
	if in.FirstDisk != nil {
		res = pygrub.Emulate(in.FirstDisk, pygrub.Options{})
		for _, c := range in.FirstDisk {
			if c.Offset == res.Offset && c.FS != nil {
				fsys = c.FS
			}
		}
	} else {
		var err error
		if fsys, err = subFS(in.Root, in.BootMount); err != nil {
			r.add("boot loader", Fail, err.Error(), "")
			return nil, nil
		}
		if ok, why := pygrub.ReadsType(in.BootType); !ok && !hvm {
			r.add("boot loader", Fail, "pygrub cannot read the first disk's "+in.BootType+" filesystem: "+why, "keep /boot on ext2/3/4, or use --boot direct")
			return nil, nil
		}
		res = pygrub.EmulateFS(fsys, in.BootType, pygrub.Options{})
	}
	who := "pygrub"
	if hvm {
		who = "the guest's GRUB (as pygrub reads its configuration)"
	}
	if !res.Bootable {
		detail := who + " finds nothing to boot: " + res.Failure
		for _, p := range res.Problems {
			detail += "; " + p
		}
		r.add("boot loader", Fail, detail, "check the boot loader configuration on the first disk, or use --boot direct")
		return nil, nil
	}
	r.Kernel, r.Initrd, r.Args = res.Kernel, res.Ramdisk, res.Args
	detail := fmt.Sprintf("%s reads %s and boots entry %d %q: kernel %s", who, res.ConfigPath, res.ChosenIndex, res.Chosen.Title, res.Kernel)
	if res.Ramdisk != "" {
		detail += ", initrd " + res.Ramdisk
	}
	st := Pass
	fix := ""
	for _, p := range res.Problems {
		detail += "; " + p
	}
	if fsys == nil {
		r.add("boot loader", Fail, detail+"; but xenify has not mounted that filesystem to read the kernel", "")
		return nil, nil
	}
	kernel, err := readIn(fsys, res.Kernel)
	if err != nil {
		r.add("boot loader", Fail, detail+"; but the kernel is not on the first disk: "+err.Error(), "put /boot on the first disk (it must be listed first in the domain config)")
		return nil, nil
	}
	if res.Ramdisk != "" {
		if initrd, err = readIn(fsys, res.Ramdisk); err != nil {
			r.add("boot loader", Fail, detail+"; but the initrd is missing: "+err.Error(), "rebuild the initrd (xenify convert) or fix the entry")
			return kernel, nil
		}
	}
	r.add("boot loader", st, detail, fix)
	return kernel, initrd
}

func subFS(root *guest.Root, mount string) (fs.FS, error) {
	if mount == "" || mount == "/" {
		return root.FS(), nil
	}
	return fs.Sub(root.FS(), strings.TrimPrefix(mount, "/"))
}

func readIn(fsys fs.FS, p string) ([]byte, error) {
	return fs.ReadFile(fsys, strings.TrimPrefix(path.Clean("/"+p), "/"))
}

func kernelCheck(r *Report, in Input, have bool, info *kernelimage.Info, err error) {
	if !have {
		r.add("kernel", Skip, "no kernel to check (see boot loader)", "")
		return
	}
	if err != nil {
		r.add("kernel", Fail, r.Kernel+": cannot read the kernel image: "+err.Error(), "install a domU kernel (xenify convert)")
		return
	}
	if r.Type == "pvh" && !r.PVShim {
		pvhKernelCheck(r, in, info)
		return
	}
	if r.Type == domain.TypeHVM {
		hvmKernelCheck(r, in, info)
		return
	}
	if !info.PV {
		r.add("kernel", Fail, r.Kernel+" cannot boot as a Xen PV guest: "+info.NotPV, "install a PV-capable kernel: kernel-xenU (EL4), kernel-xen (EL5), or a pvops kernel with CONFIG_XEN_PV=y")
		return
	}
	host := in.Caps.List
	if r.PVShim {
		// The kernel runs as PV under the shim, inside a PVH container:
		// the shim's ABIs are what count.
		if in.Shim == nil {
			r.add("kernel", Warn, fmt.Sprintf("%s is a %d-bit PV kernel (%s) to run under the PV shim, which xenify could not read, so the ABI was not checked", r.Kernel, info.Class, info.XenVersion), "run verify on the dom0, or give --pvh-shim PATH")
			return
		}
		host = in.Shim.ABIs
	} else if !in.Caps.Known() {
		r.add("kernel", Warn, fmt.Sprintf("%s is a %d-bit PV kernel (%s); the host's capabilities are unknown, so the ABI was not checked", r.Kernel, info.Class, info.XenVersion), "run verify on the dom0, or give --hypervisor-caps")
		return
	}
	ok, why := info.CompatibleWith(host)
	switch {
	case r.PVShim && ok:
		why = fmt.Sprintf("the PV shim (%s) offers %s", in.Shim.Path, info.GuestType(host))
	case r.PVShim:
		why = "under the PV shim (" + in.Shim.Path + "), whose ABIs count: " + why
	}
	if !ok {
		r.add("kernel", Fail, r.Kernel+": "+why, "use a kernel of the host's ABI, or boot the guest as PVH/HVM")
		return
	}
	r.add("kernel", Pass, fmt.Sprintf("%s: %d-bit Xen PV kernel (%s); %s", r.Kernel, info.Class, info.XenVersion, why), "")
}

func initrdCheck(r *Report, in Input, have bool, rd initrd) {
	ver := kernelVersion(r.Kernel)
	builtin := func(mod string) bool {
		if rd.kconfig != nil {
			return initramfs.ConfigHas(rd.kconfig, configSym[mod]) == "y"
		}
		if ver == "" {
			return false
		}
		if b, err := in.Root.ReadFile("/lib/modules/" + ver + "/modules.builtin"); err == nil && initramfs.BuiltinFromModulesBuiltin(b, mod) {
			return true
		}
		if b, err := in.Root.ReadFile("/boot/config-" + ver); err == nil {
			return initramfs.ConfigHas(b, configSym[mod]) == "y"
		}
		return false
	}
	blk := "xen-blkfront"
	if in.Family != nil {
		blk = in.Family.BlockFrontend(bootedKernel(in.In, ver))
	}
	if r.Type == domain.TypeHVM {
		if !hvmInitrdCheck(r, in, have, rd, ver, blk, builtin) {
			return
		}
	} else if !have {
		if builtin(blk) {
			r.add("initramfs", Pass, "no initrd; "+blk+" is built into the kernel", "")
		} else {
			r.add("initramfs", Fail, "no initrd and "+blk+" is not built into the kernel: the root disk cannot be found", "rebuild the initrd with xenify convert")
		}
		return
	}
	if rd.err != nil {
		r.add("initramfs", Fail, r.Initrd+": cannot read: "+rd.err.Error(), "rebuild the initrd with xenify convert")
		return
	}
	view, ents := rd.view, rd.ents
	fe, ok := initramfs.HasXenBlockFrontend(ents)
	if r.Type == domain.TypeHVM && !hvmHasPVDrivers(in, ver, rd.kconfig) {
		ok = true // runs on the emulated disk: checked above
		fe.Path = ""
	}
	if !ok && !builtin(blk) {
		r.add("initramfs", Fail, r.Initrd+" has no Xen block frontend ("+blk+") and the kernel does not build it in: the root disk will not appear", "xenify convert rebuilds it with "+blk)
		return
	}
	var missing []string
	if ok && fe.Path != "" && !builtin(blk) {
		if why := moduleUsable(view, ents, fe, ver, builtin); why != "" {
			r.add("initramfs", Fail, r.Initrd+": "+why, "xenify convert adds the frontend again (--initrd append or rebuild)")
			return
		}
	}
	if root, ok := in.In.Fstab.Root(); ok {
		if mods := fsModules(root.Type); len(mods) > 0 {
			ok := false
			for _, mod := range mods {
				ok = ok || initramfs.HasModule(ents, mod) || builtin(mod)
			}
			if !ok {
				missing = append(missing, mods[0]+" (root filesystem "+root.Type+")")
			}
		}
		if isLVM(root.Spec) && !hasLVMTools(ents) {
			missing = append(missing, "the LVM tools (root on "+root.Spec+")")
		}
	}
	if len(missing) > 0 {
		r.add("initramfs", Fail, r.Initrd+" lacks "+strings.Join(missing, ", "), "rebuild the initrd in the guest")
		return
	}
	r.add("initramfs", Pass, r.Initrd+" has the Xen block frontend and the root filesystem's driver", "")
	resumeCheck(r, in, rd.files)
}

// moduleUsable says why module m of the initrd's final view cannot be
// loaded ("" when it can): a module built for another kernel (vermagic),
// a dependency (its modinfo "depends") neither in the initrd nor built
// in, or, for an EL4/EL5 nash init, which loads only the modules it
// names, no insmod of it before the root device is made.
func moduleUsable(view *initramfs.View, ents []initramfs.Entry, m initramfs.Entry, kver string, builtin func(string) bool) string {
	data, ok := view.ReadFile(m.Path)
	if !ok {
		return m.Path + " cannot be read"
	}
	name := path.Base(m.Path)
	if kver != "" {
		vm, err := initramfs.Vermagic(data)
		if err != nil {
			return name + ": " + err.Error()
		}
		if vm != kver {
			return fmt.Sprintf("%s was built for kernel %s (vermagic), not %s: the kernel refuses it", name, vm, kver)
		}
	}
	deps, err := initramfs.Depends(data)
	if err != nil {
		return name + ": " + err.Error()
	}
	for _, d := range deps {
		if !initramfs.HasModule(ents, d) && !builtin(d) {
			return fmt.Sprintf("%s needs %s, which the initrd does not hold", name, d)
		}
	}
	if init, ok := view.ReadFile("init"); ok && strings.HasPrefix(string(init), "#!/bin/nash") {
		stem := strings.TrimSuffix(name, ".ko")
		loaded, root := -1, -1
		for i, l := range strings.Split(string(init), "\n") {
			f := strings.Fields(l)
			switch {
			case len(f) >= 2 && f[0] == "insmod" && path.Base(f[1]) == name && loaded < 0:
				loaded = i
			case len(f) >= 1 && f[0] == "mkrootdev" && root < 0:
				root = i
			}
		}
		if loaded < 0 || (root >= 0 && loaded > root) {
			return "its nash init does not load " + stem + " before making the root device (insmod /lib/" + name + ")"
		}
	}
	return ""
}

// resumeCheck warns when the initramfs resumes from a device that is no
// swap area of the guest: it waits about 30 s for it at every boot
// ("Gave up waiting for suspend/resume device"). resume= on the kernel
// command line wins over the RESUME= initramfs-tools built in.
func resumeCheck(r *Report, in Input, files map[string][]byte) {
	dev, from := "", ""
	if v, ok := cmdline.Parse(r.Args).Get("resume"); ok {
		dev, from = v, "the kernel command line (resume=)"
	} else {
		for _, p := range resumeConfs {
			b, ok := files[p]
			if !ok {
				continue
			}
			for _, l := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(strings.TrimSpace(l), "RESUME="); ok {
					dev, from = strings.Trim(v, `"'`), r.Initrd+" ("+p+")"
				}
			}
			if dev != "" {
				break
			}
		}
	}
	if !strings.HasPrefix(dev, "/dev/") {
		return // none, UUID=, LABEL=: nothing to compare
	}
	var swaps []string
	for _, e := range in.In.Fstab.Entries {
		if e.Type == "swap" {
			if e.Spec == dev {
				return
			}
			swaps = append(swaps, e.Spec)
		}
	}
	r.add("resume", Warn, fmt.Sprintf("%s resumes from %s, which is no swap area in the guest's fstab (%s): the initramfs waits about 30 s for it at every boot", from, dev, orNone(swaps)), "run xenify convert, which sets RESUME= (/etc/initramfs-tools/conf.d/resume) to the guest's swap")
}

func orNone(ss []string) string {
	if len(ss) == 0 {
		return "none"
	}
	return strings.Join(ss, ", ")
}

var configSym = map[string]string{
	"xen-blkfront": "CONFIG_XEN_BLKDEV_FRONTEND",
	"ata_piix":     "CONFIG_ATA_PIIX",
	"ahci":         "CONFIG_SATA_AHCI",
	"sd_mod":       "CONFIG_BLK_DEV_SD",
	"xenblk":       "CONFIG_XEN_BLKDEV_FRONTEND",
	"ext4":         "CONFIG_EXT4_FS",
	"ext3":         "CONFIG_EXT3_FS",
	"xfs":          "CONFIG_XFS_FS",
	"jbd":          "CONFIG_JBD",
}

// fsModules are the drivers that can mount a filesystem type (ext3 is
// served by ext4 on newer kernels).
func fsModules(t string) []string {
	switch t {
	case "ext3":
		return []string{"ext3", "ext4"}
	case "ext4", "xfs", "btrfs":
		return []string{t}
	}
	return nil
}

func isLVM(spec string) bool {
	return strings.HasPrefix(spec, "/dev/mapper/") || (strings.Count(spec, "/") == 3 && strings.HasPrefix(spec, "/dev/") && !strings.HasPrefix(spec, "/dev/disk/"))
}

func hasLVMTools(ents []initramfs.Entry) bool {
	for _, e := range ents {
		switch path.Base(e.Path) {
		case "lvm", "lvm.static", "lvm2":
			return true
		}
	}
	return false
}

// bootedKernel is the inspected kernel of version ver (a bare one with
// that version when inspect did not list it).
func bootedKernel(in *inspect.Inspection, ver string) inspect.Kernel {
	for _, k := range in.Kernels {
		if k.Version == ver {
			return k
		}
	}
	return inspect.Kernel{Version: ver}
}

func kernelVersion(p string) string {
	if i := strings.LastIndex(p, "vmlinuz-"); i >= 0 {
		return p[i+len("vmlinuz-"):]
	}
	return ""
}

// consistency: fstab, root=, console, NIC alias and SELinux agree with the
// domain config and the kernel.
func consistency(r *Report, in Input) {
	vdevs := map[string]bool{}
	for _, d := range in.Domain.Disks {
		v := strings.TrimPrefix(d.Vdev, "/dev/")
		vdevs[v] = true
		if l, ok := strings.CutPrefix(v, "hd"); ok && in.Domain.Type == domain.TypeHVM {
			// The emulated IDE disk: xvdX to xen-blkfront after a kernel
			// with PV-on-HVM drivers unplugged it; hdX to the old IDE
			// driver, sdX to libata otherwise.
			ver := kernelVersion(r.Kernel)
			pv := hvmHasPVDrivers(in, ver, nil)
			vdevs[v] = !pv || ver == ""
			vdevs["sd"+l], vdevs["xvd"+l] = !pv || ver == "", pv || ver == ""
		}
	}
	provided := func(spec string) (bool, bool) { // (checked, ok)
		if !strings.HasPrefix(spec, "/dev/") {
			return false, true
		}
		name := strings.TrimPrefix(spec, "/dev/")
		if vdevs[name] {
			return true, true
		}
		if isLVM(spec) {
			return false, true // LVM/md inside the guest: cannot check here
		}
		if strings.HasPrefix(name, "md") {
			return false, true
		}
		disk := strings.TrimRight(name, "0123456789")
		return true, vdevs[disk]
	}
	var bad []string
	for _, e := range in.In.Fstab.Entries {
		if !e.Local() {
			continue
		}
		if checked, ok := provided(e.Spec); checked && !ok {
			bad = append(bad, fmt.Sprintf("%s (/etc/fstab:%d, %s)", e.Spec, e.Line, e.Mount))
		}
	}
	if len(bad) > 0 {
		r.add("fstab", Fail, "fstab names devices the domain does not provide: "+strings.Join(bad, "; "), "run xenify convert, or fix the disk lines of the domain config")
	} else {
		r.add("fstab", Pass, "every local fstab device is provided by the domain config (or named by LABEL/UUID/LVM)", "")
	}
	cl := cmdline.Parse(r.Args)
	if root, ok := cl.Get("root"); ok {
		if checked, ok := provided(root); checked && !ok {
			r.add("root=", Fail, "the kernel command line says root="+root+", which the domain does not provide", "run xenify convert to rewrite the boot entry")
		} else if fr, ok := in.In.Fstab.Root(); ok && fr.Spec != root && !strings.HasPrefix(root, "UUID=") && !strings.HasPrefix(root, "LABEL=") {
			r.add("root=", Warn, "root="+root+" differs from the fstab root "+fr.Spec, "")
		} else {
			r.add("root=", Pass, "root="+root, "")
		}
	}
	xenlinux := strings.HasSuffix(kernelVersion(r.Kernel), "xen") || strings.HasSuffix(kernelVersion(r.Kernel), "xenU")
	want := "hvc0"
	what := "the Xen console "
	if in.Domain.Type == domain.TypeHVM {
		want, what, xenlinux = "ttyS0", "the serial console (serial='pty') ", false
	} else if xenlinux {
		want = "xvc0"
		if strings.HasPrefix(kernelVersion(r.Kernel), "2.6.9") {
			want = "console"
		}
	}
	hasGetty := false
	for _, g := range in.In.Gettys {
		hasGetty = hasGetty || g.TTY == want
	}
	if !hasGetty && in.In.Init == "systemd" {
		c, _ := cl.Get("console")
		hasGetty = c == want || strings.HasPrefix(c, want+",")
	}
	if hasGetty {
		r.add("console", Pass, "a getty runs on "+what+want, "")
	} else {
		r.add("console", Warn, "no getty on "+what+want+": the guest boots but shows no login prompt on xl console", "xenify convert adds one")
	}
	if xenlinux && in.In.Modprobe.Path != "" {
		if m := in.In.Modprobe.Aliases["eth0"]; m != "" && m != "xennet" {
			r.add("network", Warn, in.In.Modprobe.Path+": alias eth0 "+m+" (a native driver); the guest's NIC is xennet", "xenify convert sets alias eth0 xennet")
		} else {
			r.add("network", Pass, "eth0 is the Xen network frontend", "")
		}
	}
	if in.In.SELinux.Mode == "enforcing" {
		if in.Root.Exists("/.autorelabel") {
			r.add("selinux", Pass, "SELinux is enforcing and a relabel is pending (/.autorelabel)", "")
		} else {
			r.add("selinux", Warn, "SELinux is enforcing and no relabel is pending: files written outside the guest's policy may be unreadable", "touch /.autorelabel in the guest (xenify convert does)")
		}
	}
}

// pvhKernelCheck: a PVH guest's kernel needs the PVH entry
// (XEN_ELFNOTE_PHYS32_ENTRY), and the host must run HVM containers.
func pvhKernelCheck(r *Report, in Input, info *kernelimage.Info) {
	if !info.PVH {
		fix := "install a kernel built with CONFIG_XEN_PVH=y"
		if info.PV {
			fix += ", or convert with --guest-type pv (the kernel runs as PV)"
		}
		r.add("kernel", Fail, r.Kernel+" cannot boot as a Xen PVH guest: it has no XEN_ELFNOTE_PHYS32_ENTRY note", fix)
		return
	}
	const need = "hvm-3.0-x86_64"
	switch {
	case !in.Caps.Known():
		r.add("kernel", Warn, fmt.Sprintf("%s has the PVH entry (%#x); the host's capabilities are unknown, so %s was not checked", r.Kernel, info.PhysEntry, need), "run verify on the dom0, or give --hypervisor-caps")
	case !in.Caps.Has(need):
		fix := "run the guest on a 64-bit Xen with HVM support"
		if ok, _ := info.CompatibleWith(in.Caps.List); ok {
			fix += ", or convert with --guest-type pv"
		}
		r.add("kernel", Fail, fmt.Sprintf("%s: the host offers %s but not %s, which PVH needs", r.Kernel, strings.Join(in.Caps.List, " "), need), fix)
	default:
		r.add("kernel", Pass, fmt.Sprintf("%s: %d-bit kernel with the PVH entry (XEN_ELFNOTE_PHYS32_ENTRY %#x); host offers %s", r.Kernel, info.Class, info.PhysEntry, need), "")
	}
}

// pvgrubLoader emulates GRUB built for Xen: its embedded configuration
// searches the domain's disks, and the grub.cfg it finds picks the
// kernel. The entry is read as pygrub reads GRUB 2 (numeric default,
// literal menuentry blocks), which is what xenify writes.
func pvgrubLoader(r *Report, in Input) (kernel, initrd []byte) {
	d := in.Domain
	steps, ok := pvgrub.Embedded(d.Kernel)
	if !ok {
		r.add("boot loader", Warn, "pvgrub: "+d.Kernel+" is no grub-xen-host image xenify knows, so its search order is unknown", "use /usr/lib/grub-xen/grub-x86_64-xen.bin (PV) or grub-i386-xen_pvh.bin (PVH)")
		return nil, nil
	}
	res := pvgrub.Search(steps, in.Filesystems)
	detail := "pvgrub (" + d.Kernel + ") searches for " + pvgrub.Describe(steps)
	if len(res.Unreached) > 0 {
		detail += "; GRUB cannot read " + strings.Join(res.Unreached, ", ")
	}
	if !res.Found {
		r.add("boot loader", Fail, detail+": none is on the guest's disks", "put GRUB 2's configuration at /boot/grub/grub.cfg (on the root filesystem) or /grub/grub.cfg (on a separate /boot); update-grub writes it")
		return nil, nil
	}
	fsys := in.Filesystems[res.Index].FS
	if res.Step.Chainload {
		r.add("boot loader", Pass, detail+": it chainloads "+res.Step.Path+" from "+res.Name+", which xenify does not follow", "")
		return nil, nil
	}
	data, err := readIn(fsys, res.Step.Path)
	if err != nil {
		r.add("boot loader", Fail, detail+": "+res.Step.Path+" on "+res.Name+" cannot be read: "+err.Error(), "")
		return nil, nil
	}
	cfg, err := pygrub.Parse(pygrub.Grub2, data)
	if err != nil || len(cfg.Entries) == 0 {
		why := "it has no menu entries"
		if err != nil {
			why = err.Error()
		}
		r.add("boot loader", Fail, detail+": GRUB reads "+res.Step.Path+" on "+res.Name+", but "+why, "run update-grub in the guest")
		return nil, nil
	}
	idx := cfg.Default
	if idx < 0 || idx >= len(cfg.Entries) {
		idx = 0
	}
	e := cfg.Entries[idx]
	r.Kernel, r.Initrd, r.Args = e.Kernel, e.Initrd, e.Args
	detail += fmt.Sprintf(": GRUB reads %s on %s and boots entry %d %q: kernel %s", res.Step.Path, res.Name, idx, e.Title, e.Kernel)
	if kernel, err = readIn(fsys, e.Kernel); err != nil {
		r.add("boot loader", Fail, detail+"; but the kernel is not on that filesystem: "+err.Error(), "")
		return nil, nil
	}
	if e.Initrd != "" {
		if initrd, err = readIn(fsys, e.Initrd); err != nil {
			r.add("boot loader", Fail, detail+"; but the initrd is missing: "+err.Error(), "rebuild the initrd (xenify convert) or fix the entry")
			return kernel, nil
		}
	}
	r.add("boot loader", Pass, detail, "")
	return kernel, initrd
}

// applianceCheck: a host kernel booted without an initrd (--boot direct
// --kernel FILE) must have the Xen block and network frontends built
// in. Its configuration comes from the image (CONFIG_IKCONFIG), or from
// a file beside it: config-VERSION or FILE.config. It returns that
// configuration (nil when none was found).
func applianceCheck(r *Report, in Input, kernel []byte, info *kernelimage.Info) []byte {
	cfg, err := kernelimage.IKConfig(kernel)
	from := r.Kernel + " (embedded, CONFIG_IKCONFIG)"
	if err != nil {
		var tried []string
		var names []string
		if info != nil && info.KernelVersion != "" {
			names = append(names, path.Join(path.Dir(r.Kernel), "config-"+strings.Fields(info.KernelVersion)[0]))
		}
		names = append(names, r.Kernel+".config", path.Join(path.Dir(r.Kernel), "config"))
		for _, n := range names {
			tried = append(tried, n)
			if b, rerr := in.ReadHost(n); rerr == nil {
				cfg, from, err = b, n, nil
				break
			}
		}
		if err != nil {
			r.add("frontends", Fail, fmt.Sprintf("%s boots without an initrd, and its configuration is neither embedded (%v) nor beside it (%s): the Xen frontends cannot be shown to be built in", r.Kernel, err, strings.Join(tried, ", ")), "put the kernel's .config beside it as "+tried[0]+", or build it with CONFIG_IKCONFIG=y")
			return nil
		}
	}
	var missing []string
	for _, sym := range []string{"CONFIG_XEN_BLKDEV_FRONTEND", "CONFIG_XEN_NETDEV_FRONTEND"} {
		if v := initramfs.ConfigHas(cfg, sym); v != "y" {
			missing = append(missing, sym+"="+orNone(nonEmpty(v)))
		}
	}
	if len(missing) > 0 {
		r.add("frontends", Fail, fmt.Sprintf("%s boots without an initrd, but its configuration (%s) has %s: the guest finds no disk or network", r.Kernel, from, strings.Join(missing, ", ")), "build the frontends in (=y), or boot with the guest's own kernel and initrd (--boot direct without --kernel)")
		return cfg
	}
	r.add("frontends", Pass, fmt.Sprintf("%s has the Xen block and network frontends built in (%s)", r.Kernel, from), "")
	return cfg
}

func nonEmpty(v string) []string {
	if v == "" {
		return nil
	}
	return []string{v}
}
