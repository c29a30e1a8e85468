// Package setup writes a dom0's own network configuration for Xen
// guests: a bridge over an uplink (or, routed, a bridge of its own with
// dom0 forwarding), in the format of the dom0's network manager
// (Debian ifupdown, RHEL-family ifcfg files, systemd-networkd), plus
// xend-config.sxp's network-script and vif-script on Xen 3 hosts.
//
// Bridge plans; Apply journals every file in the host root before it
// writes (the journal of package apply/journal, with the host root as
// its root), then makes the bridge live; Rollback undoes both.
package setup

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/xenify/xenify/conf/interfaces"
	"github.com/xenify/xenify/conf/shellvars"
	"github.com/xenify/xenify/host/check"
	"github.com/xenify/xenify/plan"
	"github.com/xenify/xenify/xerr"
)

// Options say which bridge to set up.
type Options struct {
	// Root is the host root the configuration files are read and written
	// under ("/" on the dom0).
	Root   string
	Bridge string
	// Uplink is the interface the bridge takes over (its address moves to
	// the bridge). Routed: the interface dom0 routes the guests through,
	// left unchanged.
	Uplink string
	// Routed: the bridge gets no port and Address; dom0 forwards between
	// it and the uplink.
	Routed  bool
	Address string // CIDR, routed only
	// Format forces the network manager: "debian", "redhat" or
	// "networkd"; empty detects it.
	Format string
}

// Change is one file Apply writes.
type Change struct {
	Path string `json:"path"`
	Old  string `json:"old"`
	New  string `json:"new"`
	// Existed: Old is the file's content (else it is created).
	Existed bool `json:"existed"`
	Why     string
}

// Plan is what Apply does: files, then live commands.
type Plan struct {
	Format  string   `json:"format"`
	Bridge  string   `json:"bridge"`
	Uplink  string   `json:"uplink"`
	Routed  bool     `json:"routed,omitempty"`
	Address string   `json:"address,omitempty"`
	Changes []Change `json:"changes"`
}

// Diff renders the plan's file changes as unified diffs.
func (p *Plan) Diff() string {
	var b strings.Builder
	for _, c := range p.Changes {
		b.WriteString(plan.UnifiedDiff(c.Path, c.Old, c.New))
	}
	return b.String()
}

// Formats detected, and the files each one needs.
var formats = []struct{ name, marker, needs string }{
	{"networkd", "/etc/systemd/network", "/etc/systemd/network/BRIDGE.netdev, BRIDGE.network, 05-xenify-UPLINK.network"},
	{"debian", "/etc/network/interfaces", "/etc/network/interfaces.d/BRIDGE (and the uplink's stanza in /etc/network/interfaces)"},
	{"redhat", "/etc/sysconfig/network-scripts", "/etc/sysconfig/network-scripts/ifcfg-BRIDGE (and BRIDGE= in ifcfg-UPLINK)"},
}

func (o *Options) p(abs string) string {
	root := o.Root
	if root == "" {
		root = "/"
	}
	return filepath.Join(root, filepath.Clean("/"+abs))
}

func (o *Options) read(abs string) (string, bool) {
	b, err := os.ReadFile(o.p(abs))
	return string(b), err == nil
}

// detect finds the dom0's network manager. networkd counts only when
// it has a .network file: Debian ships the directory empty.
func (o *Options) detect() (string, error) {
	if o.Format != "" {
		for _, f := range formats {
			if f.name == o.Format {
				return o.Format, nil
			}
		}
		return "", xerr.Usagef("--format %q: want debian, redhat or networkd", o.Format)
	}
	if m, _ := filepath.Glob(o.p("/etc/systemd/network/*.network")); len(m) > 0 {
		return "networkd", nil
	}
	if _, ok := o.read("/etc/network/interfaces"); ok {
		return "debian", nil
	}
	if st, err := os.Stat(o.p("/etc/sysconfig/network-scripts")); err == nil && st.IsDir() {
		return "redhat", nil
	}
	var need []string
	for _, f := range formats {
		need = append(need, f.name+": "+f.needs)
	}
	return "", &xerr.Refused{Msg: "this dom0's network manager is none xenify writes (no /etc/network/interfaces, /etc/sysconfig/network-scripts or /etc/systemd/network/*.network; NetworkManager keyfiles and netplan are not written)",
		Fix: "create the bridge by hand, or give --format with one of: " + strings.Join(need, "; ")}
}

// defaultRouteIface is the interface of the IPv4 default route
// (/proc/net/route), "" when there is none.
func (o *Options) defaultRouteIface() string {
	s, _ := o.read("/proc/net/route")
	for _, line := range strings.Split(s, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 2 && f[1] == "00000000" {
			return f[0]
		}
	}
	return ""
}

// Bridge plans the bridge: it refuses bad names and unknown network
// managers before anything is read further.
func Bridge(o Options) (*Plan, error) {
	if err := check.ValidBridgeName(o.Bridge); err != nil {
		return nil, xerr.Usagef("%v", err)
	}
	if o.Uplink == "" {
		// Never guess the uplink: the interface carrying the default
		// route is changed only when the user names it.
		msg := "--uplink IFACE is required: xenify never picks the interface to move under the bridge"
		if d := o.defaultRouteIface(); d != "" {
			msg += " (the default route is on " + d + "; name it with --uplink " + d + " to use it)"
		}
		return nil, xerr.Usagef("%s", msg)
	}
	if err := check.ValidBridgeName(o.Uplink); err != nil {
		return nil, xerr.Usagef("--uplink: %v", strings.Replace(err.Error(), "bridge name", "interface name", 1))
	}
	if o.Uplink == o.Bridge {
		return nil, xerr.Usagef("--uplink %s is the bridge itself", o.Uplink)
	}
	if _, err := os.Stat(o.p("/sys/class/net/" + o.Uplink)); err != nil {
		return nil, xerr.Usagef("--uplink %s: no such interface on this host (see ip link)", o.Uplink)
	}
	if o.Routed {
		if _, err := netip.ParsePrefix(o.Address); err != nil {
			return nil, xerr.Usagef("--routed needs --address CIDR, the bridge's own address (e.g. 10.0.100.1/24): %v", err)
		}
	} else if o.Address != "" {
		return nil, xerr.Usagef("--address is for --routed bridges; a bridged uplink's address moves to the bridge")
	}
	f, err := o.detect()
	if err != nil {
		return nil, err
	}
	p := &Plan{Format: f, Bridge: o.Bridge, Uplink: o.Uplink, Routed: o.Routed, Address: o.Address}
	switch f {
	case "debian":
		err = o.debian(p)
	case "redhat":
		err = o.redhat(p)
	case "networkd":
		err = o.networkd(p)
	}
	if err != nil {
		return nil, err
	}
	if o.Routed {
		o.change(p, "/etc/sysctl.d/60-xenify-routed.conf", "# xenify: dom0 routes between "+o.Bridge+" and "+o.Uplink+"\nnet.ipv4.ip_forward = 1\n", "dom0 forwards the routed bridge's traffic")
	}
	if x, ok := o.read("/etc/xen/xend-config.sxp"); ok {
		o.change(p, "/etc/xen/xend-config.sxp", xendNetwork(x), "xend must not rebuild dom0's network: the bridge is dom0's own ("+f+" configuration), vifs join it with vif-bridge")
	}
	return p, nil
}

// change adds a file to the plan unless it already has that content.
func (o *Options) change(p *Plan, path, content, why string) {
	old, ok := o.read(path)
	if ok && old == content {
		return
	}
	p.Changes = append(p.Changes, Change{Path: path, Old: old, New: content, Existed: ok, Why: why})
}

var sxpLine = regexp.MustCompile(`(?m)^\(\s*(network-script|vif-script)\s[^\n]*$`)

// xendNetwork sets (network-script /bin/true) and (vif-script
// vif-bridge) in xend-config.sxp, replacing active lines and appending
// missing ones.
func xendNetwork(s string) string {
	want := map[string]string{"network-script": "(network-script /bin/true)", "vif-script": "(vif-script vif-bridge)"}
	seen := map[string]bool{}
	s = sxpLine.ReplaceAllStringFunc(s, func(l string) string {
		k := sxpLine.FindStringSubmatch(l)[1]
		seen[k] = true
		return want[k]
	})
	for _, k := range []string{"network-script", "vif-script"} {
		if !seen[k] {
			if s != "" && !strings.HasSuffix(s, "\n") {
				s += "\n"
			}
			s += want[k] + "\n"
		}
	}
	return s
}

func (o *Options) debian(p *Plan) error {
	const main = "/etc/network/interfaces"
	src, _ := o.read(main)
	f, err := interfaces.Parse(main, []byte(src))
	if err != nil {
		return &xerr.Refused{Path: main, Msg: err.Error(), Fix: "fix the file, then run host-setup again"}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# xenify host-setup: the Xen bridge %s\nauto %s\n", o.Bridge, o.Bridge)
	method, opts := "manual", []string{}
	if o.Routed {
		method = "static"
		opts = append(opts, "address "+o.Address, "bridge_ports none")
	} else {
		for _, i := range f.Interfaces() {
			if i.Name != o.Uplink || i.Family != "inet" {
				continue
			}
			method = i.Method
			for _, op := range i.Options {
				opts = append(opts, op.Name+" "+op.Value)
			}
		}
		opts = append(opts, "bridge_ports "+o.Uplink)
	}
	opts = append(opts, "bridge_stp off", "bridge_fd 0", "bridge_maxwait 0")
	fmt.Fprintf(&b, "iface %s inet %s\n", o.Bridge, method)
	for _, l := range opts {
		fmt.Fprintf(&b, "    %s\n", l)
	}
	o.change(p, "/etc/network/interfaces.d/"+o.Bridge, b.String(), "the bridge's stanza")
	out := []byte(src)
	if !o.Routed {
		// The uplink keeps its stanza but no address: it is a port now.
		for _, i := range f.Interfaces() {
			if i.Name != o.Uplink || i.Family != "inet" {
				continue
			}
			for _, op := range i.Options {
				if _, err := f.CommentOutOption(o.Uplink, op.Name, "moved to "+o.Bridge+" (xenify host-setup)"); err != nil {
					return err
				}
			}
			re := regexp.MustCompile(`(?m)^(\s*iface\s+` + regexp.QuoteMeta(o.Uplink) + `\s+inet\s+)\S+`)
			out = re.ReplaceAll(f.Bytes(), []byte("${1}manual"))
		}
	}
	hasSource := false
	for _, s := range f.Sources() {
		if strings.Contains(strings.Join(s.Paths, " "), "interfaces.d") {
			hasSource = true
		}
	}
	if !hasSource {
		if len(out) > 0 && !bytes.HasSuffix(out, []byte("\n")) {
			out = append(out, '\n')
		}
		out = append(out, "source /etc/network/interfaces.d/*\n"...)
	}
	if string(out) != src {
		o.change(p, main, string(out), "the uplink becomes a bridge port; interfaces.d is read")
	}
	return nil
}

func (o *Options) redhat(p *Plan) error {
	dir := "/etc/sysconfig/network-scripts/"
	up := dir + "ifcfg-" + o.Uplink
	src, ok := o.read(up)
	var b strings.Builder
	fmt.Fprintf(&b, "# xenify host-setup: the Xen bridge %s\nDEVICE=%s\nTYPE=Bridge\nONBOOT=yes\nSTP=off\nDELAY=0\nNM_CONTROLLED=no\n", o.Bridge, o.Bridge)
	if o.Routed {
		pfx := netip.MustParsePrefix(o.Address)
		fmt.Fprintf(&b, "BOOTPROTO=none\nIPADDR=%s\nPREFIX=%d\n", pfx.Addr(), pfx.Bits())
		o.change(p, dir+"ifcfg-"+o.Bridge, b.String(), "the routed bridge")
		return nil
	}
	if !ok {
		return &xerr.Refused{Path: up, Msg: "the uplink has no ifcfg file", Fix: "create " + up + " (DEVICE=" + o.Uplink + ", ONBOOT=yes), or use --routed"}
	}
	f, err := shellvars.Parse(up, []byte(src))
	if err != nil {
		return &xerr.Refused{Path: up, Msg: err.Error(), Fix: "fix the file, then run host-setup again"}
	}
	proto, _ := f.Get("BOOTPROTO")
	if proto == "" {
		proto = "none"
	}
	fmt.Fprintf(&b, "BOOTPROTO=%s\n", proto)
	for _, k := range []string{"IPADDR", "NETMASK", "PREFIX", "GATEWAY", "DNS1", "DNS2"} {
		if v, ok := f.Get(k); ok {
			fmt.Fprintf(&b, "%s=%s\n", k, v)
			f.CommentOut(k, "moved to ifcfg-"+o.Bridge+" (xenify host-setup)")
		}
	}
	o.change(p, dir+"ifcfg-"+o.Bridge, b.String(), "the bridge, with the uplink's addresses")
	if err := f.Set("BRIDGE", o.Bridge); err != nil {
		return err
	}
	if err := f.Set("BOOTPROTO", "none"); err != nil {
		return err
	}
	o.change(p, up, string(f.Bytes()), "the uplink becomes a port of "+o.Bridge)
	return nil
}

func (o *Options) networkd(p *Plan) error {
	dir := "/etc/systemd/network/"
	o.change(p, dir+o.Bridge+".netdev", fmt.Sprintf("# xenify host-setup: the Xen bridge %s\n[NetDev]\nName=%s\nKind=bridge\n", o.Bridge, o.Bridge), "the bridge device")
	var net []string
	if o.Routed {
		net = append(net, "Address="+o.Address, "IPForward=ipv4")
	} else {
		// The uplink's [Network] addressing moves to the bridge.
		m, _ := filepath.Glob(o.p(dir + "*.network"))
		for _, path := range m {
			b, _ := os.ReadFile(path)
			if !matchesName(string(b), o.Uplink) || strings.Contains(filepath.Base(path), "xenify") {
				continue
			}
			for _, l := range strings.Split(string(b), "\n") {
				k, _, _ := strings.Cut(strings.TrimSpace(l), "=")
				switch k {
				case "DHCP", "Address", "Gateway", "DNS", "Domains":
					net = append(net, strings.TrimSpace(l))
				}
			}
			break
		}
		o.change(p, dir+"05-xenify-"+o.Uplink+".network", fmt.Sprintf("# xenify host-setup: %s is a port of %s (this file sorts before the uplink's own)\n[Match]\nName=%s\n\n[Network]\nBridge=%s\n", o.Uplink, o.Bridge, o.Uplink, o.Bridge), "the uplink becomes a port of the bridge")
	}
	if len(net) == 0 {
		net = append(net, "LinkLocalAddressing=no")
	}
	o.change(p, dir+o.Bridge+".network", fmt.Sprintf("# xenify host-setup: the Xen bridge %s\n[Match]\nName=%s\n\n[Network]\n%s\n", o.Bridge, o.Bridge, strings.Join(net, "\n")), "the bridge's addressing")
	return nil
}

// matchesName reports whether a .network file's [Match] Name= lists name.
func matchesName(s, name string) bool {
	for _, l := range strings.Split(s, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Name="); ok {
			for _, n := range strings.Fields(v) {
				if m, _ := filepath.Match(n, name); m {
					return true
				}
			}
		}
	}
	return false
}
