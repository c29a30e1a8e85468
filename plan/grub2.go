package plan

import (
	"path"
	"strconv"
	"strings"

	"github.com/xenify/xenify/conf/cmdline"
	"github.com/xenify/xenify/conf/grub2"
	"github.com/xenify/xenify/conf/shellvars"
	"github.com/xenify/xenify/xerr"
)

// stepBootGrub2 makes pygrub boot the domU kernel from grub.cfg: the
// kernel's top-level entry (edited for the guest) becomes the numeric
// default; BLS-only configurations, which pygrub cannot read, get a plain
// entry first. /etc/default/grub gets the console too, so a later
// update-grub in the guest keeps it.
func stepBootGrub2(c *Context) error {
	p := c.In.Boot.ConfigPath
	data, _, err := c.Read(p)
	if err != nil {
		return err
	}
	f, err := grub2.Parse(p, []byte(data))
	if err != nil {
		return &xerr.Refused{Path: p, Msg: "cannot parse", Err: err, Fix: "correct the file, or convert with --boot direct"}
	}
	k := c.Kernel
	dir := bootDir(c)
	idx := -1
	for _, e := range f.Entries() {
		if path.Base(e.Kernel) == path.Base(k.Image) && e.Path == strconv.Itoa(e.Index) && path.Dir(e.Kernel) == dir {
			idx = e.Index
			break
		}
	}
	if idx < 0 {
		cl := cmdline.Parse("root=" + rootSpec(c) + " ro")
		kernelArgs(c, cl)
		ne := grub2.NewEntry{Title: c.In.OS.Name + " Xen domU " + k.Version, Kernel: path.Join(dir, path.Base(k.Image)), Args: cl.String()}
		ne.Title = strings.NewReplacer("'", "", "\"", "").Replace(ne.Title)
		if k.Initrd != "" {
			ne.Initrd = []string{path.Join(dir, path.Base(k.Initrd))}
		}
		if err := f.InsertEntry(grub2.FormatEntry(ne)); err != nil {
			return err
		}
		idx = 0
	} else if err := f.EditKernelArgs(idx, func(cl *cmdline.Cmdline) { kernelArgs(c, cl) }); err != nil {
		return err
	}
	if n, numeric := f.DefaultIndex(); !numeric || n != idx {
		if err := f.SetDefault(strconv.Itoa(idx)); err != nil {
			return err
		}
	}
	if c.guestType == TypeHVM && !f.HasTerminalOutput("serial") {
		if err := f.InsertCommands(hvmGrubSerial...); err != nil {
			return err
		}
	}
	if err := c.Write("boot", p, string(f.Bytes()), "boot the domU kernel "+k.Version+" by default with a numeric default "+bootReader(c)+" honours, root on the virtual device and "+map[bool]string{false: "the Xen console", true: consoleWhat(c)}[c.guestType == TypeHVM], nil); err != nil {
		return err
	}
	return defaultGrub(c)
}

// defaultGrub adds the console (hvc0, ttyS0 for HVM) to
// GRUB_CMDLINE_LINUX in /etc/default/grub.
func defaultGrub(c *Context) error {
	const p = "/etc/default/grub"
	if c.Kernel.XenLinux() && c.guestType != TypeHVM {
		return nil
	}
	con := consoleName(c)
	data, ok, err := c.Read(p)
	if err != nil || !ok {
		return err
	}
	f, err := shellvars.Parse(p, []byte(data))
	if err != nil {
		return &xerr.Refused{Path: p, Msg: "cannot parse", Err: err}
	}
	var why []string
	cur, _ := f.Get("GRUB_CMDLINE_LINUX")
	cl := cmdline.Parse(cur)
	if v, _ := cl.Get("console"); v != con {
		cl.RemoveIf("console", func(v string) bool { return strings.HasPrefix(v, "ttyS") || strings.HasPrefix(v, "hvc") })
		cl.Set("console", con)
		if err := f.Set("GRUB_CMDLINE_LINUX", cl.String()); err != nil {
			return err
		}
		why = append(why, "console="+con)
	}
	if hvmAHCI(c) && cl.AddListItem("modprobe.blacklist", "ahci") {
		if err := f.Set("GRUB_CMDLINE_LINUX", cl.String()); err != nil {
			return err
		}
		why = append(why, hvmAHCIGuard)
	}
	if c.guestType == TypeHVM {
		term, _ := f.Get("GRUB_TERMINAL")
		if !strings.Contains(" "+term+" ", " serial ") {
			if err := f.Set("GRUB_TERMINAL", "serial console"); err != nil {
				return err
			}
			if err := f.Set("GRUB_SERIAL_COMMAND", hvmGrubSerial[0]); err != nil {
				return err
			}
			why = append(why, "GRUB's menu on the serial console")
		}
	}
	if len(why) == 0 {
		return nil
	}
	return c.Write("boot", p, string(f.Bytes()), "keep "+strings.Join(why, " and ")+" when the guest regenerates grub.cfg", nil)
}
