package inspect

import (
	"bytes"
	"strings"

	"github.com/xenify/xenify/conf/shellvars"
	"github.com/xenify/xenify/guest"
)

// toolPaths are the guest tools xenify may call, by name.
var toolPaths = map[string][]string{
	"yum":              {"/usr/bin/yum"},
	"dnf":              {"/usr/bin/dnf"},
	"rpm":              {"/bin/rpm", "/usr/bin/rpm"},
	"dpkg":             {"/usr/bin/dpkg"},
	"apt-get":          {"/usr/bin/apt-get"},
	"mkinitrd":         {"/sbin/mkinitrd", "/usr/sbin/mkinitrd"},
	"dracut":           {"/usr/bin/dracut", "/sbin/dracut", "/usr/sbin/dracut"},
	"update-initramfs": {"/usr/sbin/update-initramfs", "/sbin/update-initramfs"},
	"setfiles":         {"/sbin/setfiles", "/usr/sbin/setfiles"},
	"ethtool":          {"/sbin/ethtool", "/usr/sbin/ethtool"},
	"agetty":           {"/sbin/agetty", "/usr/sbin/agetty"},
	"mingetty":         {"/sbin/mingetty", "/usr/sbin/mingetty"},
	"getty":            {"/sbin/getty", "/usr/sbin/getty"},
	"systemctl":        {"/bin/systemctl", "/usr/bin/systemctl"},
	"initctl":          {"/sbin/initctl"},
	"new-kernel-pkg":   {"/sbin/new-kernel-pkg"},
	"grubby":           {"/sbin/grubby", "/usr/sbin/grubby"},
	"update-grub":      {"/usr/sbin/update-grub"},
}

func findTools(root *guest.Root) map[string]string {
	found := map[string]string{}
	for name, paths := range toolPaths {
		for _, p := range paths {
			if root.IsFile(p) {
				found[name] = p
				break
			}
		}
	}
	return found
}

func detectInit(root *guest.Root, tools map[string]string) string {
	if t, err := root.Readlink("/sbin/init"); err == nil && strings.Contains(t, "systemd") {
		return "systemd"
	}
	if root.Exists("/lib/systemd/systemd") || root.Exists("/usr/lib/systemd/systemd") {
		if _, err := root.Lstat("/etc/inittab"); err != nil || root.Exists("/etc/systemd/system") {
			return "systemd"
		}
	}
	_, inittabErr := root.Lstat("/etc/inittab")
	if (tools["initctl"] != "" || inittabErr != nil) && root.Exists("/etc/init") {
		if ents, _ := root.Glob("/etc/init/*.conf"); len(ents) > 0 {
			return "upstart"
		}
	}
	return "sysvinit"
}

// Initrd generators, as InitrdTools names them.
const (
	InitramfsTools = "update-initramfs" // Debian's initramfs-tools
	Dracut         = "dracut"           // also RHEL 6+'s mkinitrd, a wrapper around it
	Mkinitrd       = "mkinitrd"         // the nash-based mkinitrd of RHEL 3 to 5
)

// initrdTools lists every initrd generator installed in the guest, in a
// fixed order. A mkinitrd or update-initramfs that is a compatibility
// wrapper around dracut (RHEL 6 and 7 ship such a mkinitrd) counts as
// dracut: it builds with dracut.
func initrdTools(root *guest.Root, tools map[string]string) []string {
	var out []string
	wraps := func(name string) bool { return tools[name] != "" && isDracutWrapper(root, tools[name]) }
	mkinitrdWraps, updateWraps := wraps("mkinitrd"), wraps("update-initramfs")
	if tools["dracut"] != "" || mkinitrdWraps || updateWraps {
		out = append(out, Dracut)
	}
	if tools["update-initramfs"] != "" && !updateWraps {
		out = append(out, InitramfsTools)
	}
	if tools["mkinitrd"] != "" && !mkinitrdWraps {
		out = append(out, Mkinitrd)
	}
	return out
}

// isDracutWrapper reports whether a generator script hands over to
// dracut. The nash mkinitrd and initramfs-tools never name dracut; the
// wrappers around it call it on every path.
func isDracutWrapper(root *guest.Root, p string) bool {
	data, err := root.ReadFile(p)
	return err == nil && bytes.Contains(data, []byte("dracut"))
}

// SELinux is the guest's SELinux configuration.
type SELinux struct {
	Mode string `json:"mode"` // enforcing, permissive, disabled, or "" (not installed)
	Type string `json:"type,omitempty"`
}

// Enabled reports whether SELinux labels matter for this guest.
func (s SELinux) Enabled() bool { return s.Mode == "enforcing" || s.Mode == "permissive" }

func readSELinux(root *guest.Root) SELinux {
	data, _ := root.ReadFile("/etc/selinux/config")
	if data == nil {
		return SELinux{}
	}
	f, err := shellvars.Parse("/etc/selinux/config", data)
	if err != nil {
		return SELinux{}
	}
	mode, _ := f.Get("SELINUX")
	typ, _ := f.Get("SELINUXTYPE")
	return SELinux{Mode: strings.ToLower(mode), Type: typ}
}

// Glibc describes whether the guest's glibc suits a 32-bit Xen guest.
type Glibc struct {
	// NoSegNeg is true when a Xen-friendly glibc (built with
	// -mno-tls-direct-seg-refs, installed under /lib/i686/nosegneg) is
	// present. 32-bit guests without it run TLS-heavy code very slowly
	// under Xen (the "4gb seg fixup" messages).
	NoSegNeg bool `json:"nosegneg"`
	Relevant bool `json:"relevant"` // 32-bit guest
}

func readGlibc(root *guest.Root, arch Arch) Glibc {
	if arch.Bits != 32 {
		return Glibc{}
	}
	return Glibc{Relevant: true, NoSegNeg: root.Exists("/lib/i686/nosegneg")}
}

// hostnameFiles are where guests keep their host name, newest scheme
// first: /etc/hostname (Debian, Ubuntu, systemd), HOSTNAME= in
// /etc/sysconfig/network (RHEL family before systemd), /etc/HOSTNAME
// (SUSE).
var hostnameFiles = []struct{ path, key string }{
	{"/etc/hostname", ""},
	{"/etc/sysconfig/network", "HOSTNAME"},
	{"/etc/HOSTNAME", ""},
}

// readHostname returns the guest's host name and the file it came from.
// A value that is no valid host name (longer than 253 bytes, blanks or
// control characters) is ignored.
func readHostname(root *guest.Root) (string, string) {
	for _, hf := range hostnameFiles {
		data, err := root.ReadFile(hf.path)
		if err != nil {
			continue
		}
		name := ""
		if hf.key == "" {
			for _, line := range strings.Split(string(data), "\n") {
				if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
					name = line
					break
				}
			}
		} else if f, err := shellvars.Parse(hf.path, data); err == nil {
			name, _ = f.Get(hf.key)
		}
		if validHostname(name) {
			return name, hf.path
		}
	}
	return "", ""
}

func validHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// packaging names the guest's package format and manager as
// virt-inspector does (package_format, package_management).
func packaging(o OS, tools map[string]string) (format, manager string) {
	switch o.Family {
	case "redhat":
		format = "rpm"
		switch {
		case tools["dnf"] != "":
			manager = "dnf"
		case tools["yum"] != "":
			manager = "yum"
		case o.Distro == "rhel" && o.Major <= 4:
			manager = "up2date" // RHEL 4; CentOS 4 ships yum
		}
	case "debian":
		format = "deb"
		if tools["apt-get"] != "" || tools["dpkg"] != "" {
			manager = "apt"
		}
	}
	return format, manager
}
