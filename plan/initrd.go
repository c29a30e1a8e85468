package plan

import (
	"fmt"
	"strings"

	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/xerr"
)

// The initrd step makes the booted kernel's initrd load the Xen block
// frontend (and the network frontend, and the root filesystem's driver)
// before it mounts the root filesystem.
//
// How is decided here, in one place. chooseInitrd picks the initrd
// generator the guest has installed, whatever its distribution family:
// initramfs-tools, dracut (Debian and Ubuntu may use it too) or the
// nash mkinitrd of RHEL 3 to 5. Each generator is an initrdTool below;
// its configuration is changed so that its next build (the guest's next
// kernel update) includes the drivers. stepInitrd then appends the
// drivers to the current initrd as a cpio layer (--initrd append, and
// auto where the layer can be proven, initrd_append.go), or has the
// generator rebuild it (--initrd rebuild, and auto's fallback).

// initrdTool is one initrd generator of the guest.
type initrdTool interface {
	// Name is the generator as inspect names it (inspect.Dracut, ...).
	Name() string
	// Builds reports whether the generator can build an initrd for k,
	// and why not.
	Builds(k inspect.Kernel) (bool, string)
	// Persist plans the configuration edits that make every later build
	// of the generator (the guest's next kernel update) include d. It
	// reports whether the initrd must be rebuilt: missing says the
	// current one lacks a driver (or cannot be read).
	Persist(c *Context, k inspect.Kernel, d initrdDrivers, missing bool) (rebuild bool, err error)
	// Rebuild is the guest command that rebuilds image, k's initrd, with
	// d; Touches lists what the generator writes.
	Rebuild(c *Context, k inspect.Kernel, image string, d initrdDrivers) Op
	// Noun is what the generator calls its image ("initramfs", "initrd").
	Noun() string
	// LayerReplace are the files an appended layer replaces in the
	// initrd (initramfs paths) so that it agrees with the configuration
	// Persist planned; nil when none.
	LayerReplace(c *Context, k inspect.Kernel) map[string][]byte
}

// initrdDrivers are the modules the initrd must hold.
type initrdDrivers struct {
	Block, Net string
	// RootFS is the root filesystem's driver, "" when built in or
	// unknown.
	RootFS string
	// HVM are an HVM guest's disk drivers (hvmInitrdDrivers): the
	// platform device and xen-blkfront where the kernel has them, and
	// the emulated controller's; Block is "" then.
	HVM []string
}

// names says which drivers a rebuild adds: the Xen frontends, or an
// HVM guest's disk drivers (and the network frontend when it has one).
func (d initrdDrivers) names() string {
	if len(d.HVM) == 0 && d.Block != "" {
		return d.Block + " and " + d.Net
	}
	var out []string
	for _, m := range append(append([]string(nil), d.HVM...), d.Net, d.RootFS) {
		if m != "" {
			out = append(out, m)
		}
	}
	return strings.Join(out, ", ")
}

// list is the drivers in order, without blanks.
func (d initrdDrivers) list() []string {
	var out []string
	for _, m := range append(append([]string{d.Block}, d.HVM...), d.Net, d.RootFS) {
		if m != "" {
			out = append(out, m)
		}
	}
	return out
}

// initrdTools are the generators xenify knows, by inspect's name.
var initrdTools = map[string]initrdTool{
	inspect.InitramfsTools: initramfsTools{},
	inspect.Dracut:         dracut{},
	inspect.Mkinitrd:       nashMkinitrd{},
}

// chooseInitrd picks how k's initrd gets the drivers: the single place
// that decides between methods. It refuses (exit 3, before anything is
// written) a guest with several generators, which xenify cannot tell
// apart from the one the guest's kernel updates run, and a guest with
// none that can build for k.
func chooseInitrd(c *Context, k inspect.Kernel) (initrdTool, error) {
	found := c.In.InitrdTools
	var paths []string
	for _, name := range found {
		paths = append(paths, toolWhere(c.In, name))
	}
	switch len(found) {
	case 0:
		return nil, xerr.Refuse(orText(k.Initrd, "/boot"), 0, "install the guest's initrd generator (initramfs-tools, dracut or mkinitrd) in the guest, then run xenify again",
			"no initrd generator in the guest to rebuild the initrd of %s: found none of update-initramfs, dracut, mkinitrd", k.Version)
	case 1:
	default:
		return nil, xerr.Refuse(toolPath(c.In, found[0]), 0, "remove the generator the guest does not use (its kernel updates run one of them), then run xenify again",
			"the guest has %d initrd generators installed, %s: xenify cannot tell which one builds the initrd of %s", len(found), strings.Join(paths, " and "), k.Version)
	}
	t, ok := initrdTools[found[0]]
	if !ok {
		return nil, xerr.Refuse(toolPath(c.In, found[0]), 0, "use a guest with initramfs-tools, dracut or mkinitrd", "unknown initrd generator %s", paths[0])
	}
	if toolPath(c.In, found[0]) == "" || (found[0] == inspect.Dracut && c.In.Tools["dracut"] == "") {
		return nil, xerr.Refuse(toolPath(c.In, found[0]), 0, "reinstall dracut in the guest, then run xenify again", "the guest has %s but no dracut to run", paths[0])
	}
	if ok, why := t.Builds(k); !ok {
		return nil, xerr.Refuse(toolPath(c.In, found[0]), 0, "install the initrd generator of the kernel's release in the guest (dracut for 2.6.32 and later, mkinitrd for XenLinux 2.6.9 and 2.6.18)",
			"the guest's only initrd generator, %s, cannot build the initrd of kernel %s: %s", paths[0], k.Version, why)
	}
	return t, nil
}

// toolPath is the guest path of a generator ("" when unknown).
func toolPath(in *inspect.Inspection, name string) string {
	if name == inspect.Dracut && in.Tools["dracut"] == "" {
		return in.Tools["mkinitrd"] // dracut's mkinitrd wrapper alone
	}
	return in.Tools[name]
}

// toolWhere names a generator and where it was found.
func toolWhere(in *inspect.Inspection, name string) string {
	p := toolPath(in, name)
	if p == "" {
		return name
	}
	if name == inspect.Dracut && in.Tools["dracut"] == "" {
		return "dracut (its mkinitrd wrapper " + p + ")"
	}
	return fmt.Sprintf("%s (%s)", name, p)
}

// stepInitrd plans the initrd of kernel k: the persistent configuration
// of the guest's generator, and a rebuild when the initrd lacks a
// driver (or the generator's configuration changed what it builds).
func stepInitrd(c *Context, k inspect.Kernel) error {
	tool, err := chooseInitrd(c, k)
	if err != nil {
		return err
	}
	d := initrdDrivers{Block: c.Family.BlockFrontend(k), Net: c.Family.NetFrontend(k)}
	// The root filesystem's driver too: an initrd built for the native
	// machine, or in a chroot for the host xenify runs on, may lack it.
	if root, ok := c.In.Fstab.Root(); ok {
		if m := rootFSModule(root.Type, k.Version); m != "" && !c.ModuleBuiltin(k, m) {
			d.RootFS = m
		}
	}
	// What must be in the initrd for the guest to find its root: the
	// block frontend (unless built in) and the root filesystem's driver.
	var need []string
	switch {
	case c.guestType == TypeHVM:
		d.Block = ""
		d.HVM, need = hvmInitrdDrivers(c, k)
		if !hvmPVDrivers(c, k) {
			d.Net = ""
		}
	case !k.BlkfrontBuiltin:
		need = append(need, d.Block)
	}
	if d.RootFS != "" {
		need = append(need, d.RootFS)
	}
	missing := false
	if len(need) > 0 {
		has, known := c.InitrdHas(k, need...)
		missing = !has || !known
	}
	rebuild, err := tool.Persist(c, k, d, missing)
	if err != nil || !rebuild {
		return err
	}
	// --initrd append (and auto): add the drivers as a cpio layer
	// instead of running the generator; auto falls back to the rebuild
	// below when the layer cannot be proven to work.
	ops, fallback, err := c.AppendInitrd(k, d.list(), need, tool.LayerReplace(c, k))
	if err != nil {
		return err
	}
	if !fallback {
		for _, op := range ops {
			c.Add(op)
		}
		return nil
	}
	if _, ok := tool.(initramfsTools); ok && c.InitrdMode() != "rebuild" {
		// auto fell back to the rebuild: RESUME must be explicit now.
		if _, err := initramfsResume(c, true); err != nil {
			return err
		}
	}
	image := k.Initrd
	if image == "" {
		image = c.Family.InitrdName(c.In, k.Version)
		// A kernel installed without an initrd (a package whose
		// scriptlets build none) boots from the one built here: the
		// boot entry must name it.
		if c.Kernel != nil && c.Kernel.Version == k.Version {
			withInitrd := *c.Kernel
			withInitrd.Initrd = image
			c.Kernel = &withInitrd
		}
	}
	if k.Initrd != "" && !c.Root.Exists(k.Initrd+".xenify-orig") {
		c.Add(Op{Step: "initrd", Kind: WriteFile, Reason: "keep the previous " + tool.Noun(), Path: k.Initrd + ".xenify-orig", FromGuest: k.Initrd})
	}
	c.Add(tool.Rebuild(c, k, image, d))
	return nil
}

// rootFSModule names the module that mounts a root filesystem of type t.
// Since Linux 4.3 ext3 is served by the ext4 driver.
func rootFSModule(t, kver string) string {
	switch t {
	case "ext4", "xfs", "btrfs":
		return t
	case "ext3":
		if inspect.CompareVersions(kver, "4.3") >= 0 {
			return "ext4"
		}
		return "ext3"
	}
	return ""
}
