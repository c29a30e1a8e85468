package inspect

import (
	"regexp"
	"strings"

	"github.com/xenify/xenify/guest"
)

var udevRule = regexp.MustCompile(`ATTR\{address\}=="([0-9a-fA-F:]{17})".*NAME="([^"]+)"`)

// persistentNet reads udev's persistent-net rules (MAC -> name).
func persistentNet(root *guest.Root) []NIC {
	const p = "/etc/udev/rules.d/70-persistent-net.rules"
	data, _ := root.ReadFile(p)
	var out []NIC
	for i, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if m := udevRule.FindStringSubmatch(line); m != nil {
			out = append(out, NIC{Name: m[2], MAC: strings.ToLower(m[1]), Source: p + ":" + itoa(i+1)})
		}
	}
	return out
}

// debianInterfaces reads /etc/network/interfaces for configured NICs.
func debianInterfaces(root *guest.Root) []NIC {
	const p = "/etc/network/interfaces"
	data, _ := root.ReadFile(p)
	var out []NIC
	for i, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "iface" && f[1] != "lo" {
			out = append(out, NIC{Name: f[1], Source: p + ":" + itoa(i+1)})
		}
	}
	return out
}
