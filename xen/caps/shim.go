package caps

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Shim is a PV shim: a build of Xen that runs one PV guest inside a PVH
// container (xl: type = "pvh", pvshim = 1). A host built without 32-bit
// PV support (Debian's Xen 4.17: CONFIG_PV32 off) still runs 32-bit PV
// kernels this way, as long as the shim itself was built with it.
type Shim struct {
	Path string `json:"path"`
	// ABIs are the PV ABIs the shim runs, read from the binary.
	ABIs []string `json:"abis"`
	// Default says Path is where xl looks for the shim by itself, so the
	// domain config needs no pvshim_path.
	Default bool `json:"default,omitempty"`
}

// Runs reports whether the shim runs guests of the PV ABI abi.
func (s *Shim) Runs(abi string) bool {
	if s == nil {
		return false
	}
	for _, a := range s.ABIs {
		if a == abi {
			return true
		}
	}
	return false
}

// PVHShimHost reports whether the host can run a PV shim: a 64-bit
// hypervisor (it runs x86_64 PV guests) with HVM support, which PVH
// containers need.
func (h Host) PVHShimHost() bool {
	if !h.Has("xen-3.0-x86_64") {
		return false
	}
	for _, c := range h.List {
		if strings.HasPrefix(c, "hvm-") {
			return true
		}
	}
	return false
}

// ShimGlobs are where Xen installs its shim: libxl looks for "xen-shim"
// in its firmware directory (Debian: /usr/lib/xen-4.17/boot).
var ShimGlobs = []string{"/usr/lib/xen-*/boot/xen-shim", "/usr/lib/xen/boot/xen-shim", "/usr/libexec/xen/boot/xen-shim"}

// FindShim returns the shim installed on this host (xenify runs on
// dom0, or on a host like it), nil when there is none.
func FindShim() (*Shim, error) {
	var found []string
	for _, g := range ShimGlobs {
		m, _ := filepath.Glob(g)
		found = append(found, m...)
	}
	if len(found) == 0 {
		return nil, nil
	}
	sort.Strings(found)
	s, err := ReadShim(found[len(found)-1])
	if err != nil {
		return nil, err
	}
	s.Default = true
	return s, nil
}

// ReadShim reads the PV ABIs a shim binary runs. Xen builds its
// capability string from the format strings "xen-%d.%d-x86_64 " and
// "xen-%d.%d-x86_32p ", and compiles the second in only with 32-bit PV
// support; the shim's own ELF or gzip form is not parsed further.
func ReadShim(path string) (*Shim, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the PV shim: %w", err)
	}
	s := &Shim{Path: path}
	for _, abi := range []string{"x86_64", "x86_32p"} {
		if bytes.Contains(data, []byte("xen-%d.%d-"+abi+" ")) {
			s.ABIs = append(s.ABIs, "xen-3.0-"+abi)
		}
	}
	if len(s.ABIs) == 0 {
		return nil, fmt.Errorf("%s does not look like a Xen PV shim (no PV capability strings in it)", path)
	}
	return s, nil
}

// PygrubGlobs are where Xen installs pygrub (Debian: xen-utils-VERSION).
var PygrubGlobs = []string{"/usr/lib/xen-*/bin/pygrub", "/usr/lib/xen/bin/pygrub", "/usr/libexec/xen/bin/pygrub", "/usr/bin/pygrub"}

// HasPygrub reports whether this machine, a dom0, has pygrub (plan's
// Options.NoPygrub is its negation, for --boot auto).
func HasPygrub() bool {
	for _, g := range PygrubGlobs {
		if m, _ := filepath.Glob(g); len(m) > 0 {
			return true
		}
	}
	return false
}
