package plan

import (
	"strings"

	"github.com/xenify/xenify/conf/linelist"
	"github.com/xenify/xenify/initramfs"
	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/xerr"
)

// initramfsTools is Debian's initramfs-tools (update-initramfs), on any
// family. Its drivers persist in /etc/initramfs-tools/modules, which
// every build reads whatever MODULES= says.
type initramfsTools struct{}

const initramfsModules = "/etc/initramfs-tools/modules"

func (initramfsTools) Name() string                         { return inspect.InitramfsTools }
func (initramfsTools) Noun() string                         { return "initramfs" }
func (initramfsTools) Builds(inspect.Kernel) (bool, string) { return true, "" }

func (initramfsTools) Persist(c *Context, k inspect.Kernel, d initrdDrivers, missing bool) (bool, error) {
	data, ok, err := c.Read(initramfsModules)
	if err != nil {
		return false, err
	}
	if !ok {
		data = "# List of modules that you want to include in your initramfs.\n"
	}
	f, err := linelist.Parse(initramfsModules, []byte(data))
	if err != nil {
		return false, &xerr.Refused{Path: initramfsModules, Msg: "cannot parse", Err: err}
	}
	changed := false
	for _, m := range d.list() {
		if !f.Has(m) {
			if _, err := f.Add(m); err != nil {
				return false, err
			}
			changed = true
		}
	}
	if changed {
		if err := c.Write("initrd", initramfsModules, string(f.Bytes()), "load the Xen block and network frontends in the initramfs, whatever MODULES= says", nil); err != nil {
			return false, err
		}
	}
	rebuild := changed || missing
	// RESUME is made explicit only for a rebuild in the chroot, where
	// initramfs-tools would otherwise pick the conversion host's swap;
	// an appended layer keeps what the native build chose, unless it
	// names a native device (then the layer carries the mapped one).
	resumed, err := initramfsResume(c, rebuild && c.InitrdMode() == "rebuild")
	if err != nil {
		return false, err
	}
	return rebuild || resumed, nil
}

func (initramfsTools) Rebuild(c *Context, k inspect.Kernel, image string, d initrdDrivers) Op {
	return Op{
		Step: "initrd", Kind: RunInGuest,
		Reason: "rebuild the initramfs of " + k.Version + " with " + d.names(),
		// update-initramfs keeps a .bak only with backup_initramfs=yes;
		// the plan keeps its own copy (.xenify-orig) before this runs.
		Argv:    []string{c.In.Tools["update-initramfs"], "-u", "-k", k.Version},
		Touches: []string{image, image + ".bak", "/var/lib/initramfs-tools"},
	}
}

// dracut, on any family: RHEL 6 and later, and Debian or Ubuntu guests
// that use it in place of initramfs-tools. The drivers are passed on the
// command line and persist in a dracut.conf.d file. The rebuild never
// relies on hostonly detection: run chrooted, dracut would see the
// conversion host's devices, not the guest's, and a hostonly initrd
// built there lacks xen-blkfront (and whatever the guest's root needs).
type dracut struct{}

// DracutConf is the dracut.conf.d file xenify writes.
const DracutConf = "/etc/dracut.conf.d/90-xenify.conf"

func (dracut) Name() string { return inspect.Dracut }
func (dracut) Noun() string { return "initramfs" }

func (dracut) Builds(k inspect.Kernel) (bool, string) {
	if k.XenLinux() || (k.Version != "" && inspect.CompareVersions(k.Version, "2.6.32") < 0) {
		return false, "dracut builds for kernels 2.6.32 and later"
	}
	return true, ""
}

// modules are the drivers dracut must add: built-in ones are left out
// (dracut's --add-drivers wants modules).
func (dracut) modules(c *Context, k inspect.Kernel, d initrdDrivers) []string {
	var out []string
	for _, m := range d.list() {
		if !c.ModuleBuiltin(k, m) {
			out = append(out, m)
		}
	}
	return out
}

func (t dracut) Persist(c *Context, k inspect.Kernel, d initrdDrivers, missing bool) (bool, error) {
	mods := t.modules(c, k, d)
	if len(mods) == 0 {
		return missing, nil // all built in: nothing to add, now or later
	}
	content := "# Written by xenify: the guest runs on Xen. Every initramfs dracut builds\n" +
		"# loads the Xen block and network frontends and the root filesystem's\n" +
		"# driver, whatever hostonly mode detects on the machine that builds it.\n" +
		`add_drivers+=" ` + strings.Join(mods, " ") + " \"\n"
	if err := c.Write("initrd", DracutConf, content, "keep the Xen frontends in every initramfs the guest's dracut builds (add_drivers+=), so the next kernel update has them too", Mode(0o644)); err != nil {
		return false, err
	}
	return missing, nil
}

func (t dracut) Rebuild(c *Context, k inspect.Kernel, image string, d initrdDrivers) Op {
	mods := t.modules(c, k, d)
	argv := []string{c.In.Tools["dracut"], "--force", "--no-hostonly"}
	if len(mods) > 0 {
		argv = append(argv, "--add-drivers", strings.Join(mods, " "))
	}
	return Op{
		Step: "initrd", Kind: RunInGuest,
		Reason: "rebuild the initramfs of " + k.Version + " with " + strings.Join(d.list(), ", ") + " (--no-hostonly: chrooted, hostonly would detect the conversion host's devices)",
		Argv:   append(argv, image, k.Version),
		// dracut writes its image and nothing else in the guest
		// (its temporary directory lives under /var/tmp and goes).
		Touches: []string{image},
	}
}

// nashMkinitrd is the mkinitrd of RHEL 3 to 5 (a bash script that builds
// a nash initrd). It finds the root filesystem's driver from fstab
// itself; the frontends are preloaded.
type nashMkinitrd struct{}

func (nashMkinitrd) Name() string { return inspect.Mkinitrd }
func (nashMkinitrd) Noun() string { return "initrd" }

func (nashMkinitrd) Builds(k inspect.Kernel) (bool, string) {
	if k.Version != "" && inspect.CompareVersions(k.Version, "2.6.32") >= 0 {
		return false, "the nash mkinitrd builds for the kernels of RHEL 5 and earlier"
	}
	return true, ""
}

func (nashMkinitrd) Persist(c *Context, k inspect.Kernel, d initrdDrivers, missing bool) (bool, error) {
	return missing, nil
}

func (nashMkinitrd) Rebuild(c *Context, k inspect.Kernel, image string, d initrdDrivers) Op {
	argv := []string{c.In.Tools["mkinitrd"], "-f"}
	for _, m := range append(append([]string{d.Block}, d.HVM...), d.Net) {
		if m != "" {
			argv = append(argv, "--preload", m)
		}
	}
	loads := d.Block + " (and " + d.Net + ")"
	if d.Block == "" {
		loads = d.names()
	}
	return Op{
		Step: "initrd", Kind: RunInGuest,
		Reason:  "rebuild the initrd so it loads " + loads + " before mounting the root filesystem",
		Argv:    append(argv, image, k.Version),
		Touches: []string{image, image + ".xenify-orig"},
	}
}

// LayerReplace: when the plan changes RESUME (initrd_resume.go), the
// layer carries the new conf.d/resume, and replaces the resume hook's
// zz-resume-auto too if the initramfs has one: conf.d files are sourced
// in name order, so it would win.
func (initramfsTools) LayerReplace(c *Context, k inspect.Kernel) map[string][]byte {
	planned, ok, err := c.Read(resumeFile)
	if err != nil || !ok {
		return nil
	}
	if onDisk, err := c.Root.ReadFile(resumeFile); err == nil && string(onDisk) == planned {
		return nil
	}
	replace := map[string][]byte{"conf/conf.d/resume": []byte(planned)}
	if b, err := c.Root.ReadFile(k.Initrd); err == nil {
		if _, err := initramfs.ReadFile(b, "conf/conf.d/zz-resume-auto"); err == nil {
			replace["conf/conf.d/zz-resume-auto"] = []byte(planned)
		}
	}
	return replace
}

func (dracut) LayerReplace(*Context, inspect.Kernel) map[string][]byte       { return nil }
func (nashMkinitrd) LayerReplace(*Context, inspect.Kernel) map[string][]byte { return nil }
