package plan

import (
	"github.com/xenify/xenify/devmap"
	"github.com/xenify/xenify/xen/caps"
)

// Options are the user's choices (the CLI flags of plan and convert).
type Options struct {
	Name   string
	Maps   []Mapping // --map NATIVE=VIRTUAL, in order
	Layout string    // lv, partition, raid, disk ("" = lv)
	Boot   string    // auto, pygrub, pvgrub or direct ("" = auto)
	// NoPygrub: dom0 is known to have no pygrub (--boot auto then
	// picks pvgrub).
	NoPygrub      bool
	KernelPackage string // host path of an .rpm/.deb to install as domU kernel
	KernelPkgInfo *PackageInfo
	GlibcPackages string // host dir with Xen-friendly glibc rpms
	Memory        int    // MiB
	VCPUs         int
	Bridge        string
	MAC           string // keep, random, or an address
	Toolstack     string // xl or xm
	ConfigOut     string // host path of the domain config
	DirectDir     string // host dir for kernel/initrd with --boot direct ("" = DirectDirBase/NAME)
	// DirectKernel (--kernel FILE, with --boot direct) is the classic
	// procedure's appliance case: dom0 boots this host kernel, with no
	// initrd, for any number of guests; the guest's own kernel is not
	// used. DirectKernelInfo is what the caller read from the image.
	DirectKernel     string
	DirectKernelInfo *ApplianceKernel
	Caps             caps.Host
	CapsSource       string // where Caps came from, for the plan's notes
	// Shim is the PV shim dom0 has, nil if none known. GuestType is
	// "auto" ("" too: see chooseGuestType), "pv", "pvh", or "pvh-shim"
	// (PV inside a PVH container, under the shim; auto uses the shim
	// when the host lacks the kernel's PV ABI and the shim runs it).
	Shim           *caps.Shim
	GuestType      string
	SELinuxRelabel string // boot, offline, none
	SkipGuestCmds  bool
	// Initrd says how the initrd gets the Xen frontends: "append" a cpio
	// layer built in Go (no guest code runs), "rebuild" it with the
	// guest's own tool, or "auto" ("" too): append where the layer can
	// be proven to work, else rebuild.
	Initrd      string
	NoIfupLocal bool // do not add the TX checksum workaround
	// KeepBoot keeps a separate /boot as its own (first) virtual device
	// instead of copying it into the root filesystem.
	KeepBoot bool
	// RootFS is the root filesystem alone, when the source can reach it
	// (see RootFS); a separate /boot is merged into it.
	RootFS *RootFS
	// VNC gives the guest a virtual framebuffer served by VNC on dom0
	// (vfb for PV/PVH, vnc for HVM), listening on VNCListen (default
	// 127.0.0.1) with VNCPassword (none by default).
	VNC         bool
	VNCListen   string
	VNCPassword string
	// bootAsked: Boot was given (not auto); Build resolves auto.
	bootAsked bool
	// GuestVNC sets up an Xvnc server inside the guest for this user.
	GuestVNC string
	// Disks describe the host side of the guest's filesystems when the
	// source is a set of disks (package source fills it); nil for a
	// directory source, where the native device paths are used.
	Disks []HostDisk
	// Targets rename disk targets in the domain config, for a dom0 that
	// names a disk differently from the host xenify runs on: keyed by
	// the target xenify would write, or by a guest mount point.
	Targets map[string]string

	// mergeBoot is Build's decision to merge /boot (see bootMerge).
	mergeBoot bool
}

// ApplianceKernel is what a host kernel image says about itself
// (kernelimage.Info), for --kernel.
type ApplianceKernel struct {
	Version string `json:"version,omitempty"`
	Bits    int    `json:"bits"`
	PV      bool   `json:"pv"`
	PVH     bool   `json:"pvh"`
	// Why says why the kernel cannot run as PV, when it cannot.
	Why string `json:"why,omitempty"`
}

// Mapping is one --map NATIVE=VIRTUAL pair. Native is a device path, a
// LABEL=/UUID= spec, or a mount point such as "/".
type Mapping struct{ Native, Virtual string }

// HostDisk and RootFS are devmap's, named here for Options.
type (
	HostDisk = devmap.HostDisk
	RootFS   = devmap.RootFS
)

// PackageInfo is the name and version read from a kernel package header.
type PackageInfo struct {
	Format  string `json:"format"` // rpm or deb
	Name    string `json:"name"`
	Version string `json:"version"` // the kernel release (uname -r) it installs
	Arch    string `json:"arch"`
	Summary string `json:"summary,omitempty"`
}

func (o *Options) defaults() {
	if o.Layout == "" {
		o.Layout = "lv"
	}
	if o.Boot == "" {
		o.Boot = "auto"
	}
	if o.Memory == 0 {
		o.Memory = 512
	}
	if o.VCPUs == 0 {
		o.VCPUs = 1
	}
	if o.Bridge == "" {
		o.Bridge = "xenbr0"
	}
	if o.MAC == "" {
		o.MAC = "keep"
	}
	if o.Toolstack == "" {
		o.Toolstack = "xl"
	}
	if o.Initrd == "" {
		o.Initrd = "auto"
	}
	if o.SELinuxRelabel == "" {
		o.SELinuxRelabel = "boot"
	}
}
