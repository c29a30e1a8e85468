package plan

import (
	"github.com/xenify/xenify/inspect"
)

// Family is what differs between distribution families. Package distro
// has one implementation per family (redhat, debian); the planner asks,
// the family answers with ops. Nothing outside the families tests for a
// distribution by name.
type Family interface {
	Name() string
	// KernelInstall returns the guest command that installs a domU kernel
	// from the guest's own repositories, and a description of the kernel
	// it will install. It returns a *xerr.Refused when the family has no
	// such kernel for this release (the message says what to supply).
	KernelInstall(in *inspect.Inspection) (op Op, what string, err error)
	// PackageInstall returns the command that installs a package file
	// already copied into the guest at guestPath.
	PackageInstall(in *inspect.Inspection, guestPath string, info PackageInfo) Op
	// InitrdName is where the release keeps the initrd of kernel
	// version, for a kernel that has none yet. Which generator builds it
	// is the guest's choice, not the family's (see chooseInitrd).
	InitrdName(in *inspect.Inspection, version string) string
	// GlibcReplace returns the command that freshens the guest's glibc
	// from package files copied into guestDir.
	GlibcReplace(in *inspect.Inspection, guestDir string, files []string) Op
	// Relabel returns the command for an offline SELinux relabel.
	Relabel(in *inspect.Inspection) (Op, error)
	// NetFrontend is the module name of the network frontend for k
	// ("xennet" for XenLinux, "xen-netfront" for pvops).
	NetFrontend(k inspect.Kernel) string
	// BlockFrontend is the module name of the block frontend for k.
	BlockFrontend(k inspect.Kernel) string
	// ExpectedKernel describes the kernel a pending install will bring:
	// version is the package's, "" when the guest's repositories choose.
	ExpectedKernel(in *inspect.Inspection, version string) inspect.Kernel
	// Network adapts the release's network configuration to the Xen vif
	// on kernel k: module aliases, and the quirks of its domU kernels.
	Network(c *Context, k inspect.Kernel) error
	// BootDisk records disk (/dev/xvda, or /dev/sda for XenLinux), the
	// guest's first virtual disk, where the release keeps the boot
	// loader's install device beyond GRUB's device.map.
	BootDisk(c *Context, disk string) error
}
