package plan

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/xenify/xenify/conf/linelist"
	"github.com/xenify/xenify/xerr"
)

// vncUserRe is a login name safe to write into vncservers and units.
var vncUserRe = regexp.MustCompile(`^[a-z_][a-z0-9_.-]{0,31}$`)

// validateVNC checks --vnc's listen address, its password and
// --guest-vnc's user.
func validateVNC(o Options) error {
	if o.VNCListen != "" {
		if _, err := netip.ParseAddr(o.VNCListen); err != nil {
			return xerr.Usagef("--vnc=%s: want an IP address to listen on, e.g. --vnc=127.0.0.1 (the default) or --vnc=0.0.0.0", o.VNCListen)
		}
	}
	if o.VNCPassword != "" && (len(o.VNCPassword) > 8 || strings.ContainsAny(o.VNCPassword, ",'\"\\\n")) {
		return xerr.Usagef("--vnc-password: at most 8 characters (VNC uses 8), without quotes, commas or backslashes")
	}
	if (o.VNCListen != "" || o.VNCPassword != "") && !o.VNC {
		return xerr.Usagef("--vnc-password and a listen address need --vnc")
	}
	if o.GuestVNC != "" && !vncUserRe.MatchString(o.GuestVNC) {
		return xerr.Usagef("--guest-vnc %q: want a login name of the guest (lowercase letters, digits, '_', '.', '-')", o.GuestVNC)
	}
	return nil
}

// stepVNC makes the guest use the framebuffer of --vnc: it loads the
// Xen framebuffer and keyboard frontends at boot (a module config: the
// console does not need them before the root filesystem is mounted)
// and keeps a getty on tty1, where the framebuffer shows. With
// --guest-vnc it also sets up the guest's own Xvnc server.
func stepVNC(c *Context) error {
	if c.Opts.VNC {
		// HVM: the emulated VGA shows tty1 with the native drivers.
		if c.guestType != TypeHVM {
			if err := vncModules(c); err != nil {
				return err
			}
		}
		if err := vncGetty(c); err != nil {
			return err
		}
	}
	if c.Opts.GuestVNC != "" {
		return guestVNC(c)
	}
	return nil
}

// fbModules are the frontends' module names for the kernel the guest
// will boot: XenLinux kernels (EL4/EL5 kernel-xen) call them xenfb and
// xenkbd.
func fbModules(c *Context) []string {
	mods := []string{"xen-fbfront", "xen-kbdfront"}
	if c.Kernel != nil && c.Kernel.XenLinux() {
		mods = []string{"xenfb", "xenkbd"}
	}
	var out []string
	for _, m := range mods {
		if c.Kernel == nil || !c.ModuleBuiltin(*c.Kernel, m) {
			out = append(out, m)
		}
	}
	return out
}

// vncModules writes the module config the guest's init reads, chosen by
// what the guest has: systemd's modules-load.d, Debian's /etc/modules,
// Red Hat's /etc/sysconfig/modules/*.modules (EL5 and later), else
// /etc/rc.modules (EL4's rc.sysinit runs it).
func vncModules(c *Context) error {
	mods := fbModules(c)
	if len(mods) == 0 {
		return nil
	}
	why := "load the Xen framebuffer and keyboard frontends (" + strings.Join(mods, ", ") + ") for the --vnc console"
	exe := Mode(0o755)
	switch {
	case c.In.Init == "systemd":
		return c.Write("vnc", "/etc/modules-load.d/xenify-vfb.conf", "# Added by xenify for the Xen framebuffer (--vnc).\n"+strings.Join(mods, "\n")+"\n", why, nil)
	case c.Root.Exists("/etc/modules"):
		data, _, err := c.Read("/etc/modules")
		if err != nil {
			return err
		}
		f, err := linelist.Parse("/etc/modules", []byte(data))
		if err != nil {
			return &xerr.Refused{Path: "/etc/modules", Msg: "cannot parse", Err: err}
		}
		for _, m := range mods {
			if !f.Has(m) {
				if _, err := f.Add(m); err != nil {
					return err
				}
			}
		}
		return c.Write("vnc", "/etc/modules", string(f.Bytes()), why, nil)
	case c.Root.Exists("/etc/sysconfig/modules"):
		var b strings.Builder
		b.WriteString("#!/bin/sh\n# Added by xenify for the Xen framebuffer (--vnc); rc.sysinit runs /etc/sysconfig/modules/*.modules.\n")
		for _, m := range mods {
			fmt.Fprintf(&b, "/sbin/modprobe %s >/dev/null 2>&1\n", m)
		}
		return c.Write("vnc", "/etc/sysconfig/modules/xenify-vfb.modules", b.String(), why, exe)
	default:
		data, ok, err := c.Read("/etc/rc.modules")
		if err != nil {
			return err
		}
		if !ok {
			data = "#!/bin/sh\n"
		}
		for _, m := range mods {
			line := "/sbin/modprobe " + m + " # xenify: Xen framebuffer (--vnc)"
			if !strings.Contains(data, "modprobe "+m+" ") && !strings.HasSuffix(strings.TrimSpace(data), "modprobe "+m) {
				if !strings.HasSuffix(data, "\n") {
					data += "\n"
				}
				data += line + "\n"
			}
		}
		return c.Write("vnc", "/etc/rc.modules", data, why, exe)
	}
}

// vncGetty keeps a login on tty1, the framebuffer's console: sysvinit
// guests get an inittab line when none is active; systemd starts
// getty@tty1 on demand unless it is masked.
func vncGetty(c *Context) error {
	for _, g := range c.In.Gettys {
		if g.TTY == "tty1" {
			return nil
		}
	}
	switch c.In.Init {
	case "systemd":
		if l, err := c.Root.Readlink("/etc/systemd/system/getty@tty1.service"); err == nil && l == "/dev/null" {
			c.Warn("getty@tty1.service is masked in the guest: the --vnc console shows no login (unmask it: systemctl unmask getty@tty1)")
		}
		return nil
	case "upstart":
		if !c.Root.Exists("/etc/init/tty1.conf") && !c.Root.Exists("/etc/event.d/tty1") {
			c.Warn("the guest has no upstart job for tty1: the --vnc console shows no login")
		}
		return nil
	}
	data, ok, err := c.Read("/etc/inittab")
	if err != nil || !ok {
		return err
	}
	getty := ""
	switch {
	case c.In.Tools["mingetty"] != "":
		getty = c.In.Tools["mingetty"] + " tty1"
	case c.In.Tools["getty"] != "":
		getty = c.In.Tools["getty"] + " 38400 tty1"
	case c.In.Tools["agetty"] != "":
		getty = c.In.Tools["agetty"] + " 38400 tty1 linux"
	default:
		c.Warn("no getty program in the guest for tty1: the --vnc console shows no login")
		return nil
	}
	if !strings.HasSuffix(data, "\n") {
		data += "\n"
	}
	data += "# Added by xenify: a login on tty1, the Xen framebuffer (--vnc).\n1:2345:respawn:" + getty + "\n"
	return c.Write("vnc", "/etc/inittab", data, "a getty on tty1 for the --vnc framebuffer", nil)
}

// guestVNC sets up Xvnc inside the guest for --guest-vnc USER as the
// classic procedure does: /etc/sysconfig/vncservers (EL4/EL5/EL6), or
// the vncserver@:1 systemd unit; it warns when no VNC server is
// installed.
func guestVNC(c *Context) error {
	user := c.Opts.GuestVNC
	passwd, _, err := c.Read("/etc/passwd")
	if err != nil {
		return err
	}
	if !strings.Contains("\n"+passwd, "\n"+user+":") {
		return xerr.Refuse("/etc/passwd", 0, "name a user of the guest with --guest-vnc", "--guest-vnc %s: no such user in the guest", user)
	}
	const unit = "/usr/lib/systemd/system/vncserver@.service"
	switch {
	case c.Root.Exists("/etc/sysconfig/vncservers") && c.In.Init != "systemd":
		data, _, err := c.Read("/etc/sysconfig/vncservers")
		if err != nil {
			return err
		}
		lines := []string{`VNCSERVERS="1:` + user + `"`, `VNCSERVERARGS[1]="-geometry 1024x768 -localhost"`}
		var out []string
		for _, l := range strings.Split(strings.TrimSuffix(data, "\n"), "\n") {
			t := strings.TrimSpace(l)
			if strings.HasPrefix(t, "VNCSERVERS=") || strings.HasPrefix(t, "VNCSERVERARGS[1]=") {
				continue
			}
			out = append(out, l)
		}
		out = append(out, "# Added by xenify (--guest-vnc): display :1 for "+user+", reached through an SSH tunnel (-localhost).")
		out = append(out, lines...)
		if err := c.Write("guest-vnc", "/etc/sysconfig/vncservers", strings.Join(out, "\n")+"\n", "run Xvnc display :1 as "+user, nil); err != nil {
			return err
		}
		if c.Root.IsFile("/sbin/chkconfig") {
			c.Add(Op{Step: "guest-vnc", Kind: RunInGuest, Reason: "start the vncserver service at boot", Argv: []string{"/sbin/chkconfig", "vncserver", "on"}, Touches: []string{"/etc/rc.d"}})
		}
	case c.Root.Exists(unit):
		tmpl, _, err := c.Read(unit)
		if err != nil {
			return err
		}
		if strings.Contains(tmpl, "<USER>") {
			// EL7's template: a copy with the user filled in.
			if err := c.Write("guest-vnc", "/etc/systemd/system/vncserver@:1.service", strings.ReplaceAll(tmpl, "<USER>", user), "Xvnc display :1 as "+user+" (EL7's vncserver@ template)", nil); err != nil {
				return err
			}
		} else {
			// TigerVNC 1.10+: the display's user is in vncserver.users.
			data, _, err := c.Read("/etc/tigervnc/vncserver.users")
			if err != nil {
				return err
			}
			if !strings.Contains("\n"+data, "\n:1="+user+"\n") {
				if data != "" && !strings.HasSuffix(data, "\n") {
					data += "\n"
				}
				data += "# Added by xenify (--guest-vnc)\n:1=" + user + "\n"
			}
			if err := c.Write("guest-vnc", "/etc/tigervnc/vncserver.users", data, "Xvnc display :1 as "+user, nil); err != nil {
				return err
			}
		}
		if sc := c.In.Tools["systemctl"]; sc != "" {
			c.Add(Op{Step: "guest-vnc", Kind: RunInGuest, Reason: "start vncserver@:1 at boot", Argv: []string{sc, "enable", "vncserver@:1.service"}, Touches: []string{"/etc/systemd/system"}})
		}
	default:
		c.Warn("--guest-vnc " + user + ": the guest has no VNC server installed (no /etc/sysconfig/vncservers or " + unit + "): install vnc-server / tigervnc-server in the guest, then convert again")
		return nil
	}
	c.Warn("--guest-vnc: " + user + " must set a VNC password in the guest (su - " + user + " -c vncpasswd) before the server starts")
	return nil
}
