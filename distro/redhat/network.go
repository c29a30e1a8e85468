package redhat

import (
	"strings"

	"github.com/xenify/xenify/conf/modprobe"
	"github.com/xenify/xenify/conf/shellvars"
	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/plan"
	"github.com/xenify/xenify/xerr"
)

// Network points the guest's ethN aliases at the Xen network frontend in
// modprobe.conf (XenLinux kernels of RHEL 4 and 5), comments out the
// native disk controller aliases the nash mkinitrd would fail on, and
// adds the TX checksum workaround the EL4.4 domU kernel needs.
func (f Family) Network(c *plan.Context, k inspect.Kernel) error {
	if k.XenLinux() && c.In.Modprobe.Path != "" {
		if err := f.modprobeAliases(c, k); err != nil {
			return err
		}
	}
	if needsTxOff(c.In, k) && !c.Opts.NoIfupLocal {
		return ifupLocalTxOff(c)
	}
	return nil
}

func (f Family) modprobeAliases(c *plan.Context, k inspect.Kernel) error {
	p := c.In.Modprobe.Path
	data, _, err := c.Read(p)
	if err != nil {
		return err
	}
	m, err := modprobe.Parse(p, []byte(data))
	if err != nil {
		return &xerr.Refused{Path: p, Msg: "cannot parse", Err: err}
	}
	front := f.NetFrontend(k)
	names := []string{}
	for _, n := range c.In.NICs {
		if strings.HasPrefix(n.Name, "eth") {
			names = append(names, n.Name)
		}
	}
	if len(names) == 0 {
		names = []string{"eth0"}
	}
	for _, name := range names {
		if mod, ok := m.Alias(name); ok {
			if mod == front {
				continue
			}
			if _, err := m.SetAlias(name, front); err != nil {
				return err
			}
		} else if err := m.AddAlias(name, front); err != nil {
			return err
		}
	}
	// The domU kernel has no native disk controller modules; EL4/5
	// mkinitrd aborts on a scsi_hostadapter alias it cannot satisfy.
	// It puts the block frontend in every initrd it builds from an
	// alias scsi_hostadapter, as anaconda writes it in a domU: the
	// guest's next kernel update keeps the frontend (whether this
	// convert appends it to the initrd or rebuilds the initrd).
	blk := Family{}.BlockFrontend(k)
	m.CommentOut(func(e modprobe.Entry) bool {
		return e.Command == "alias" && len(e.Args) >= 2 && strings.HasPrefix(e.Args[0], "scsi_hostadapter") && e.Args[1] != blk
	}, "a Xen domU has no native disk controller (mkinitrd would fail to find the module)")
	hasBlk := false
	for _, a := range m.AliasFamily("scsi_hostadapter") {
		hasBlk = hasBlk || a.Module == blk
	}
	if !hasBlk {
		if err := m.AddAlias("scsi_hostadapter", blk); err != nil {
			return err
		}
	}
	return c.Write("network", p, string(m.Bytes()), "the guest's NICs are Xen virtual interfaces (alias "+strings.Join(names, ", ")+" "+front+"); the disk controller is "+blk+" (alias scsi_hostadapter), so mkinitrd keeps it at kernel updates", nil)
}

// needsTxOff: CentOS/RHEL 4.4's experimental domU kernels.
func needsTxOff(in *inspect.Inspection, k inspect.Kernel) bool {
	return in.OS.Major == 4 && in.OS.Minor <= 4 && k.XenLinux()
}

// ifupLocalTxOff has initscripts' /sbin/ifup-local hook turn TX checksum
// offload off on every interface it brings up.
func ifupLocalTxOff(c *plan.Context) error {
	const p = "/sbin/ifup-local"
	const line = "/sbin/ethtool -K ${1} tx off"
	data, ok, err := c.Read(p)
	if err != nil {
		return err
	}
	if !ok {
		data = "#!/bin/sh\n"
	}
	if strings.Contains(data, line) {
		return nil
	}
	if data != "" && !strings.HasSuffix(data, "\n") {
		data += "\n"
	}
	data += "# Added by xenify: the CentOS 4.4 domU kernel corrupts packets with\n# TX checksum offload on its Xen network frontend; turn it off.\n" + line + "\n"
	return c.Write("network", p, data, "turn TX checksumming off on Xen vifs (checksum bug of the EL4.4 domU kernel); --no-ifup-local disables this", plan.Mode(0o755))
}

// BootDisk: anaconda records GRUB's install device in /etc/sysconfig/grub
// (boot=), which grub-install and kernel updates read.
func (Family) BootDisk(c *plan.Context, disk string) error {
	const p = "/etc/sysconfig/grub"
	data, ok, err := c.Read(p)
	if err != nil || !ok {
		return nil
	}
	f, err := shellvars.Parse(p, []byte(data))
	if err != nil {
		return nil
	}
	if _, has := f.Get("boot"); !has {
		return nil
	}
	if err := f.Set("boot", disk); err != nil {
		return nil
	}
	return c.Write("cleanup", p, string(f.Bytes()), "the boot disk is now "+disk, nil)
}

// ExpectedKernel: RHEL 4 installs kernel-xenU, RHEL 5 kernel-xen
// (XenLinux, PAE on i686); later releases pvops kernels.
func (Family) ExpectedKernel(in *inspect.Inspection, version string) inspect.Kernel {
	k := inspect.Kernel{Bits: in.Arch.Bits, PV: true, Version: version, PAE: in.Arch.Bits == 32}
	switch {
	case strings.HasSuffix(version, "xenU") || (version == "" && in.OS.Major == 4):
		k.Flavor = "xenlinux-domU"
	case strings.HasSuffix(version, "xen") || (version == "" && in.OS.Major == 5):
		k.Flavor = "xenlinux"
	default:
		k.Flavor = "pvops"
	}
	return k
}
