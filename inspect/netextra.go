package inspect

import (
	"fmt"
	"strings"

	"github.com/xenify/xenify/conf/interfaces"
	"github.com/xenify/xenify/conf/udevnet"
	"github.com/xenify/xenify/guest"
)

// persistentNet reads udev's persistent-net rules (MAC -> name).
func persistentNet(root *guest.Root) []NIC {
	const p = "/etc/udev/rules.d/70-persistent-net.rules"
	data, _ := root.ReadFile(p)
	if data == nil {
		return nil
	}
	f, err := udevnet.Parse(p, data)
	if err != nil {
		return nil
	}
	var out []NIC
	for _, r := range f.Rules() {
		if r.Name != "" && r.MAC != "" {
			out = append(out, NIC{Name: r.Name, MAC: strings.ToLower(r.MAC), Source: fmt.Sprintf("%s:%d", p, r.Line), Driver: r.Driver})
		}
	}
	return out
}

// debianInterfaces reads /etc/network/interfaces for configured NICs.
func debianInterfaces(root *guest.Root) []NIC {
	const p = "/etc/network/interfaces"
	data, _ := root.ReadFile(p)
	if data == nil {
		return nil
	}
	f, err := interfaces.Parse(p, data)
	if err != nil {
		return nil
	}
	var out []NIC
	for _, i := range f.Interfaces() {
		if i.Name == "lo" || strings.ContainsAny(i.Name, ":.") {
			continue
		}
		n := NIC{Name: i.Name, Source: fmt.Sprintf("%s:%d", p, i.Line)}
		for _, o := range i.Options {
			if o.Name == "hwaddress" {
				n.MAC = strings.ToLower(strings.TrimPrefix(o.Value, "ether "))
			}
		}
		out = append(out, n)
	}
	return out
}
