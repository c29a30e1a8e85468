// Package debian is the Debian family: Debian and Ubuntu, with pvops
// kernels and initramfs-tools.
package debian

import (
	"strings"

	"github.com/xenify/xenify/conf/linelist"
	"github.com/xenify/xenify/initramfs"
	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/plan"
	"github.com/xenify/xenify/xerr"
)

// Family implements plan.Family.
type Family struct{}

func (Family) Name() string { return "debian" }

var dpkgTouches = []string{"/var/lib/dpkg", "/var/log/dpkg.log", "/var/log/apt", "/var/cache/apt", "/var/lib/apt", "/var/lib/initramfs-tools", "/boot", "/etc/kernel", "/var/lib/linux-boot-probes"}

func (Family) KernelInstall(in *inspect.Inspection) (plan.Op, string, error) {
	pkg := "linux-image-amd64"
	if in.Arch.Bits == 32 {
		pkg = "linux-image-686-pae"
	}
	if in.OS.Distro == "ubuntu" {
		pkg = "linux-image-generic"
		if in.OS.Major > 0 && in.OS.Major < 12 {
			pkg = "linux-image-server"
		}
	}
	if in.Tools["apt-get"] == "" {
		return plan.Op{}, "", xerr.Refuse("/usr/bin/apt-get", 0, "install a pvops kernel in the guest or use --kernel-package", "the guest has no PV-capable kernel and no apt-get")
	}
	return plan.Op{
		Step: "kernel", Kind: plan.RunInGuest,
		Reason:  "install a kernel with Xen PV support (" + pkg + ") from the guest's repositories",
		Argv:    []string{in.Tools["apt-get"], "-y", "install", pkg},
		Touches: append([]string{"/lib/modules", "/usr/lib/modules"}, dpkgTouches...),
	}, pkg, nil
}

func (Family) PackageInstall(in *inspect.Inspection, guestPath string, info plan.PackageInfo) plan.Op {
	return plan.Op{
		Step: "kernel", Kind: plan.RunInGuest,
		Reason:  "install the domU kernel package " + info.Name + " " + info.Version,
		Argv:    []string{orDefault(in.Tools["dpkg"], "/usr/bin/dpkg"), "-i", guestPath},
		Touches: append([]string{"/lib/modules/" + info.Version, "/usr/lib/modules/" + info.Version}, dpkgTouches...),
	}
}

const modulesFile = "/etc/initramfs-tools/modules"

func (Family) Initrd(in *inspect.Inspection, k inspect.Kernel, c *plan.Context) ([]plan.Op, error) {
	blk, net := "xen-blkfront", "xen-netfront"
	data, ok, err := c.Read(modulesFile)
	if err != nil {
		return nil, err
	}
	if !ok {
		data = "# List of modules that you want to include in your initramfs.\n"
	}
	f, err := linelist.Parse(modulesFile, []byte(data))
	if err != nil {
		return nil, &xerr.Refused{Path: modulesFile, Msg: "cannot parse", Err: err}
	}
	changed := false
	// The root filesystem's driver too: with MODULES=dep (or list) the
	// initramfs was sized for the native machine, or, built in a chroot,
	// for the host xenify runs on.
	want := append([]string{blk, net}, c.RootFSModules(k)...)
	for _, m := range want {
		if !f.Has(m) {
			if _, err := f.Add(m); err != nil {
				return nil, err
			}
			changed = true
		}
	}
	if changed {
		if err := c.Write("initrd", modulesFile, string(f.Bytes()), "load the Xen block and network frontends in the initramfs, whatever MODULES= says", nil); err != nil {
			return nil, err
		}
	}
	if ops, fallback, err := appendLayer(c, k, want); !fallback {
		return ops, err
	}
	rebuild := changed
	if !k.BlkfrontBuiltin {
		has, known := c.InitrdHas(k, want...)
		rebuild = rebuild || !has || !known
	}
	resumed, err := resume(c, rebuild)
	if err != nil {
		return nil, err
	}
	if !rebuild && !resumed {
		return nil, nil
	}
	tool := in.Tools["update-initramfs"]
	if tool == "" {
		return nil, xerr.Refuse("/usr/sbin/update-initramfs", 0, "install initramfs-tools in the guest", "no update-initramfs in the guest")
	}
	initrd := k.Initrd
	if initrd == "" {
		initrd = "/boot/initrd.img-" + k.Version
	}
	var ops []plan.Op
	if k.Initrd != "" && !c.Root.Exists(k.Initrd+".xenify-orig") {
		ops = append(ops, plan.Op{Step: "initrd", Kind: plan.WriteFile, Reason: "keep the previous initramfs", Path: k.Initrd + ".xenify-orig", FromGuest: k.Initrd})
	}
	return append(ops, plan.Op{
		Step: "initrd", Kind: plan.RunInGuest,
		Reason: "rebuild the initramfs of " + k.Version + " with " + blk + " and " + net,
		// update-initramfs keeps a .bak only with backup_initramfs=yes;
		// the plan keeps its own copy (.xenify-orig) before this runs.
		Argv:    []string{tool, "-u", "-k", k.Version},
		Touches: []string{initrd, initrd + ".bak", "/var/lib/initramfs-tools"},
	}), nil
}

// appendLayer plans the initramfs layer of --initrd append (and auto):
// conf/modules with the frontends, the modules, and, when RESUME names a
// native device, the initramfs' resume configuration. fallback says the
// initramfs is to be rebuilt instead.
func appendLayer(c *plan.Context, k inspect.Kernel, want []string) ([]plan.Op, bool, error) {
	if c.InitrdMode() == "rebuild" {
		return nil, true, nil
	}
	resumed, err := resume(c, false)
	if err != nil {
		return nil, false, err
	}
	replace := map[string][]byte{}
	if resumed {
		data, _, err := c.Read(resumeFile)
		if err != nil {
			return nil, false, err
		}
		// conf.d files are sourced in name order: the hook's
		// zz-resume-auto, if the initramfs has one, would win.
		replace["conf/conf.d/resume"] = []byte(data)
		if b, err := c.Root.ReadFile(k.Initrd); err == nil {
			if _, err := initramfs.ReadFile(b, "conf/conf.d/zz-resume-auto"); err == nil {
				replace["conf/conf.d/zz-resume-auto"] = []byte(data)
			}
		}
	}
	// The root filesystem's driver is required too: without it the
	// layer cannot be proven to mount root.
	return c.AppendInitrd(k, want, append([]string{"xen-blkfront"}, want[2:]...), replace)
}

func (Family) GlibcReplace(in *inspect.Inspection, guestDir string, files []string) plan.Op {
	return plan.Op{Step: "glibc", Kind: plan.RunInGuest, Reason: "install the given libc packages",
		Argv: append([]string{orDefault(in.Tools["dpkg"], "/usr/bin/dpkg"), "-i"}, files...), Touches: append([]string{"/lib", "/usr/lib"}, dpkgTouches...)}
}

func (Family) Relabel(in *inspect.Inspection) (plan.Op, error) {
	if in.Tools["setfiles"] == "" {
		return plan.Op{}, xerr.Refuse("/sbin/setfiles", 0, "use --selinux-relabel boot", "offline relabel needs the guest's setfiles")
	}
	typ := orDefault(in.SELinux.Type, "default")
	return plan.Op{Step: "selinux", Kind: plan.RunInGuest, Reason: "offline relabel with the guest's policy",
		Argv: []string{in.Tools["setfiles"], "-F", "/etc/selinux/" + typ + "/contexts/files/file_contexts", "/"}}, nil
}

func (Family) NetFrontend(k inspect.Kernel) string   { return "xen-netfront" }
func (Family) BlockFrontend(k inspect.Kernel) string { return "xen-blkfront" }

func orDefault(s, d string) string {
	if strings.TrimSpace(s) == "" {
		return d
	}
	return s
}
