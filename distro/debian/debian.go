// Package debian is the Debian family: Debian and Ubuntu, with pvops
// kernels. Their initrd generator (initramfs-tools, or dracut) is the
// guest's choice, handled in package plan.
package debian

import (
	"strings"

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

func (Family) InitrdName(in *inspect.Inspection, version string) string {
	return "/boot/initrd.img-" + version
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

// Network: Debian's network configuration names interfaces, not modules;
// its pvops kernels need no quirks.
func (Family) Network(*plan.Context, inspect.Kernel) error { return nil }

// BootDisk: nothing to record besides GRUB's device.map.
func (Family) BootDisk(*plan.Context, string) error { return nil }

// ExpectedKernel: pvops; a package named like a XenLinux kernel (a
// --kernel-package built from the old Xen tree) is taken at its word.
func (Family) ExpectedKernel(in *inspect.Inspection, version string) inspect.Kernel {
	k := inspect.Kernel{Bits: in.Arch.Bits, PV: true, Version: version, PAE: in.Arch.Bits == 32, Flavor: "pvops"}
	switch {
	case strings.HasSuffix(version, "xenU"):
		k.Flavor = "xenlinux-domU"
	case strings.HasSuffix(version, "xen"):
		k.Flavor = "xenlinux"
	}
	return k
}
