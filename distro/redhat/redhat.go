// Package redhat is the RHEL family: RHEL, CentOS and Scientific Linux 4
// and 5 with XenLinux kernels; 6 and later, Fedora, Rocky and Alma with
// pvops kernels.
package redhat

import (
	"strings"

	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/plan"
	"github.com/xenify/xenify/xerr"
)

// Family implements plan.Family.
type Family struct{}

func (Family) Name() string { return "redhat" }

// rpmTouches are the paths any rpm transaction may change.
var rpmTouches = []string{"/var/lib/rpm", "/var/log/rpmpkgs", "/var/log/yum.log", "/var/cache/yum", "/var/lib/yum", "/var/log/dnf.log", "/var/lib/dnf", "/var/cache/dnf"}

// kernelTouches are the paths a kernel package install changes.
var kernelTouches = []string{"/boot", "/etc/grub.conf", "/etc/sysconfig/kernel", "/etc/modprobe.conf", "/lib/modules/*xen*", "/etc/ld.so.conf.d"}

// KernelInstall is reached when no installed kernel can boot as a PV
// domU. What the repositories offer depends on the distribution: EL4.5+
// kernel-xenU, EL5 kernel-xen, EL6/7 the pvops kernel itself; EL8 and
// later build their kernels without CONFIG_XEN_PV. Fedora's kernels
// (pvops since Fedora 10) are built with Xen PV support (CONFIG_XEN, and
// CONFIG_XEN_PV since Linux 4.11), so a Fedora guest is decided by the
// kernels it has, not by its release number.
func (Family) KernelInstall(in *inspect.Inspection) (plan.Op, string, error) {
	if in.OS.Distro == "fedora" {
		return fedoraKernel(in)
	}
	pkg := ""
	switch {
	case in.OS.Major == 4 && in.OS.Minor >= 5:
		pkg = "kernel-xenU"
	case in.OS.Major == 5:
		pkg = "kernel-xen"
	case in.OS.Major >= 6:
		pkg = "kernel" // pvops kernels boot as PV domU (RHEL 6 .. 7)
	}
	fix := "supply a domU kernel package with --kernel-package FILE (kernel-xenU for EL4, kernel-xen for EL5)"
	if pkg == "" {
		return plan.Op{}, "", xerr.Refuse(in.OS.Source, 0, fix, "%s has no Xen domU kernel in its repositories (CentOS/RHEL 4 got kernel-xenU with 4.5) and %s", in.OS.Name, installedKernels(in))
	}
	if in.OS.Major >= 8 {
		return plan.Op{}, "", xerr.Refuse(in.OS.Source, 0, "install a kernel built with CONFIG_XEN_PV=y (e.g. kernel-ml) or use --kernel-package", "%s: %s, and the kernels in its repositories are built without Xen PV support (CONFIG_XEN_PV is off since EL 8)", in.OS.Name, installedKernels(in))
	}
	tool := in.Tools["yum"]
	if tool == "" {
		return plan.Op{}, "", xerr.Refuse("/usr/bin/yum", 0, fix, "%s needs %s installed, but the guest has no yum", in.OS.Name, pkg)
	}
	return installOp(tool, pkg, in), pkg, nil
}

// fedoraKernel installs Fedora's own kernel when the guest has none; a
// guest whose installed kernels lack Xen PV support is refused, since
// installing "kernel" again would change nothing.
func fedoraKernel(in *inspect.Inspection) (plan.Op, string, error) {
	fix := "install a Fedora kernel (built with CONFIG_XEN_PV=y) in the guest, or give one with --kernel-package FILE"
	if in.OS.Major > 0 && in.OS.Major < 10 {
		return plan.Op{}, "", xerr.Refuse(in.OS.Source, 0, fix+" (kernel-xen for Fedora 8 and 9)", "%s: %s, and Fedora before 10 had Xen guest support only in kernel-xen", in.OS.Name, installedKernels(in))
	}
	if len(in.Kernels) > 0 {
		return plan.Op{}, "", xerr.Refuse(in.OS.Source, 0, fix, "%s: %s", in.OS.Name, installedKernels(in))
	}
	pkg := "kernel"
	if in.Arch.Bits == 32 {
		pkg = "kernel-PAE" // i686 Xen PV needs PAE
	}
	tool := in.Tools["dnf"]
	if tool == "" {
		tool = in.Tools["yum"]
	}
	if tool == "" {
		return plan.Op{}, "", xerr.Refuse("/usr/bin/dnf", 0, fix, "%s has no kernel installed and no dnf or yum to install one", in.OS.Name)
	}
	op := installOp(tool, pkg, in)
	op.Reason = "the guest has no kernel installed: install Fedora's " + pkg + " (built with Xen PV support) from the guest's repositories"
	return op, pkg, nil
}

func installOp(tool, pkg string, in *inspect.Inspection) plan.Op {
	return plan.Op{
		Step: "kernel", Kind: plan.RunInGuest,
		Reason:  "install a Xen domU kernel (" + pkg + ") from the guest's repositories",
		Argv:    []string{tool, "-y", "install", pkg},
		Touches: append(append([]string{}, kernelTouches...), rpmTouches...),
	}
}

// installedKernels says what the guest has: no kernel at all, or why
// none of its kernels can boot as a PV domU.
func installedKernels(in *inspect.Inspection) string {
	if len(in.Kernels) == 0 {
		return "the guest has no kernel installed (no /boot/vmlinuz-*)"
	}
	var why []string
	for _, k := range in.Kernels {
		switch {
		case !k.PV:
			why = append(why, k.Version+": "+k.Evidence)
		case !k.HasModules:
			why = append(why, k.Version+": Xen PV capable, but /lib/modules/"+k.Version+" is missing")
		}
	}
	return "no installed kernel can boot as a Xen PV guest (" + strings.Join(why, "; ") + ")"
}

func (Family) PackageInstall(in *inspect.Inspection, guestPath string, info plan.PackageInfo) plan.Op {
	return plan.Op{
		Step: "kernel", Kind: plan.RunInGuest,
		Reason:  "install the domU kernel package " + info.Name + " " + info.Version,
		Argv:    []string{orDefault(in.Tools["rpm"], "/bin/rpm"), "-ivh", "--force", guestPath},
		Touches: append(append([]string{}, kernelTouches...), append(rpmTouches, "/lib/modules/"+info.Version)...),
	}
}

func (Family) Initrd(in *inspect.Inspection, k inspect.Kernel, c *plan.Context) ([]plan.Op, error) {
	blk := Family{}.BlockFrontend(k)
	net := Family{}.NetFrontend(k)
	// The root filesystem's driver is required too: mkinitrd and dracut
	// put it in, so the layer must prove it is there.
	fsMods := c.RootFSModules(k)
	if ops, fallback, err := c.AppendInitrd(k, append([]string{blk, net}, fsMods...), append([]string{blk}, fsMods...), nil); !fallback {
		return ops, err
	}
	if has, known := c.InitrdHas(k, blk); has && known {
		return nil, nil
	}
	initrd := k.Initrd
	if initrd == "" {
		if in.Initrd == "dracut" {
			initrd = "/boot/initramfs-" + k.Version + ".img"
		} else {
			initrd = "/boot/initrd-" + k.Version + ".img"
		}
	}
	touches := []string{initrd, initrd + ".xenify-orig"}
	var argv []string
	switch in.Initrd {
	case "dracut":
		argv = []string{in.Tools["dracut"], "--force", "--add-drivers", blk + " " + net, initrd, k.Version}
	case "mkinitrd":
		argv = []string{in.Tools["mkinitrd"], "-f", "--preload", blk, "--preload", net, initrd, k.Version}
	default:
		return nil, xerr.Refuse("/sbin/mkinitrd", 0, "install mkinitrd or dracut in the guest", "no initrd tool in the guest to rebuild %s", initrd)
	}
	var ops []plan.Op
	if k.Initrd != "" && !c.Root.Exists(k.Initrd+".xenify-orig") {
		ops = append(ops, plan.Op{Step: "initrd", Kind: plan.WriteFile, Reason: "keep the previous initrd", Path: k.Initrd + ".xenify-orig", FromGuest: k.Initrd})
	}
	ops = append(ops, plan.Op{Step: "initrd", Kind: plan.RunInGuest, Reason: "rebuild the initrd so it loads " + blk + " (and " + net + ") before mounting the root filesystem", Argv: argv, Touches: touches})
	return ops, nil
}

func (Family) GlibcReplace(in *inspect.Inspection, guestDir string, files []string) plan.Op {
	return plan.Op{
		Step: "glibc", Kind: plan.RunInGuest,
		Reason:  "replace glibc with the Xen-friendly build (no direct %gs segment references)",
		Argv:    append([]string{orDefault(in.Tools["rpm"], "/bin/rpm"), "-Fvh"}, files...),
		Touches: append([]string{"/lib", "/usr/lib/gconv", "/etc/ld.so.cache", "/sbin/ldconfig", "/usr/bin/ldd", "/usr/sbin/glibc_post_upgrade", "/usr/sbin/glibc_post_upgrade.i686"}, rpmTouches...),
	}
}

func (Family) Relabel(in *inspect.Inspection) (plan.Op, error) {
	if in.Tools["setfiles"] == "" {
		return plan.Op{}, xerr.Refuse("/sbin/setfiles", 0, "use --selinux-relabel boot", "offline relabel needs the guest's setfiles")
	}
	typ := orDefault(in.SELinux.Type, "targeted")
	return plan.Op{
		Step: "selinux", Kind: plan.RunInGuest,
		Reason: "relabel the guest now with its own policy (offline relabel; labels are not journaled)",
		Argv:   []string{in.Tools["setfiles"], "-F", "/etc/selinux/" + typ + "/contexts/files/file_contexts", "/"},
	}, nil
}

func (Family) NetFrontend(k inspect.Kernel) string {
	if k.XenLinux() {
		return "xennet"
	}
	return "xen-netfront"
}

func (Family) BlockFrontend(k inspect.Kernel) string {
	if k.XenLinux() {
		return "xenblk"
	}
	return "xen-blkfront"
}

func orDefault(s, d string) string {
	if strings.TrimSpace(s) == "" {
		return d
	}
	return s
}
