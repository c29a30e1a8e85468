// Package caps reads a Xen host's capabilities and matches guest kernels
// against them.
//
// The capability string is what dom0 shows in
// /sys/hypervisor/properties/capabilities and `xl info`'s xen_caps line,
// e.g. "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64".
// Xen 3 hosts offer "xen-3.0-x86_32p" for 32-bit PAE PV guests; Debian's
// Xen 4.17 is built without 32-bit PV and offers only xen-3.0-x86_64.
package caps

import (
	"errors"
	"os"
	"strings"
)

// SysfsPath is where a dom0 exposes the capabilities.
const SysfsPath = "/sys/hypervisor/properties/capabilities"

// Host is a parsed capability set. The zero value means unknown.
type Host struct {
	List []string `json:"list"`
}

// Parse parses a space-separated capability string.
func Parse(s string) Host {
	return Host{List: strings.Fields(s)}
}

// Read reads the capabilities of the host xenify runs on. It returns
// ok=false when this is not a dom0 (no Xen, or no sysfs entry).
func Read() (Host, bool, error) {
	b, err := os.ReadFile(SysfsPath)
	if errors.Is(err, os.ErrNotExist) {
		return Host{}, false, nil
	}
	if err != nil {
		return Host{}, false, err
	}
	h := Parse(string(b))
	return h, len(h.List) > 0, nil
}

// Known reports whether the capabilities are known.
func (h Host) Known() bool { return len(h.List) > 0 }

// Has reports whether the host offers capability c.
func (h Host) Has(c string) bool {
	for _, x := range h.List {
		if x == c {
			return true
		}
	}
	return false
}

// PVABI names the PV capability a kernel needs: xen-3.0-x86_64 for 64-bit,
// xen-3.0-x86_32p for 32-bit PAE, xen-3.0-x86_32 for 32-bit non-PAE.
func PVABI(bits int, pae bool) string {
	switch {
	case bits == 64:
		return "xen-3.0-x86_64"
	case pae:
		return "xen-3.0-x86_32p"
	default:
		return "xen-3.0-x86_32"
	}
}

// CheckPV says whether a PV kernel of the given ABI can run on the host,
// and if not, what would work instead.
func (h Host) CheckPV(abi string) (ok bool, why string) {
	if !h.Known() {
		return true, "host capabilities unknown (not run on a dom0 and --hypervisor-caps not given): could not check that this host runs " + abi + " PV guests"
	}
	if h.Has(abi) {
		return true, "host offers " + abi
	}
	var alt []string
	switch abi {
	case "xen-3.0-x86_32p", "xen-3.0-x86_32":
		if h.Has("xen-3.0-x86_64") {
			alt = append(alt, "a 64-bit PV kernel if the guest is x86_64")
		}
		if abi == "xen-3.0-x86_32" && h.Has("xen-3.0-x86_32p") {
			alt = append(alt, "a PAE kernel (kernel-xenU on EL4 i686, kernel-PAE-xen/kernel-xen on EL5)")
		}
		if !h.Has("xen-3.0-x86_32p") && !h.Has("xen-3.0-x86_32") {
			alt = append(alt, "this host has no 32-bit PV support: boot the guest as PVH (with pvshim) or HVM instead")
		}
	case "xen-3.0-x86_64":
		alt = append(alt, "a 32-bit PAE PV kernel, if the guest userland is 32-bit")
	}
	why = "host offers " + strings.Join(h.List, " ") + " but not " + abi
	if len(alt) > 0 {
		why += "; use " + strings.Join(alt, "; or ")
	}
	return false, why
}
