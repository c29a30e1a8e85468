package inspect

import (
	"path"
	"sort"
	"strings"

	"github.com/xenify/xenify/conf/modprobe"
	"github.com/xenify/xenify/conf/shellvars"
	"github.com/xenify/xenify/guest"
)

// NIC is one configured network interface.
type NIC struct {
	Name   string `json:"name"`
	MAC    string `json:"mac,omitempty"`
	Source string `json:"source"` // file (and key) the information came from
	Driver string `json:"driver,omitempty"`
}

// Modprobe is the guest's module configuration.
type Modprobe struct {
	Path    string            `json:"path,omitempty"` // /etc/modprobe.conf, /etc/modules.conf, or ""
	Aliases map[string]string `json:"aliases,omitempty"`
}

var modprobeFiles = []string{"/etc/modprobe.conf", "/etc/modules.conf"}

func readModprobe(root *guest.Root) (Modprobe, error) {
	for _, p := range modprobeFiles {
		data, err := readOptional(root, p)
		if err != nil {
			return Modprobe{}, err
		}
		if data == nil {
			continue
		}
		f, err := modprobe.Parse(p, data)
		if err != nil {
			return Modprobe{}, err
		}
		m := Modprobe{Path: p, Aliases: map[string]string{}}
		for _, a := range f.Aliases() {
			m.Aliases[a.Name] = a.Module
		}
		return m, nil
	}
	return Modprobe{}, nil
}

func readNICs(root *guest.Root, m Modprobe) ([]NIC, error) {
	byName := map[string]*NIC{}
	add := func(n NIC) {
		if n.Name == "" || n.Name == "lo" {
			return
		}
		if old, ok := byName[n.Name]; ok {
			if old.MAC == "" && n.MAC != "" {
				old.MAC, old.Source = n.MAC, n.Source
			}
			return
		}
		c := n
		byName[n.Name] = &c
	}
	// RHEL family: ifcfg files.
	ifcfgs, _ := root.Glob("/etc/sysconfig/network-scripts/ifcfg-*")
	for _, p := range ifcfgs {
		data, err := readOptional(root, p)
		if err != nil || data == nil {
			continue
		}
		f, err := shellvars.Parse(p, data)
		if err != nil {
			continue
		}
		dev, _ := f.Get("DEVICE")
		if dev == "" {
			dev = strings.TrimPrefix(path.Base(p), "ifcfg-")
		}
		if strings.Contains(dev, ":") { // alias interfaces share the MAC
			continue
		}
		mac, _ := f.Get("HWADDR")
		src := p
		if mac != "" {
			src += " HWADDR"
		}
		add(NIC{Name: dev, MAC: strings.ToLower(mac), Source: src})
	}
	for _, n := range persistentNet(root) {
		add(n)
	}
	for _, n := range debianInterfaces(root) {
		add(n)
	}
	var out []NIC
	for _, n := range byName {
		out = append(out, *n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	for i := range out {
		out[i].Driver = m.Aliases[out[i].Name]
	}
	return out, nil
}
