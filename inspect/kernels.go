package inspect

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/xenify/xenify/guest"
	"github.com/xenify/xenify/xen/kernelimage"
)

// Kernel is one installed kernel.
type Kernel struct {
	Version string `json:"version"` // uname -r: 2.6.9-42.ELxenU, 6.1.0-18-amd64
	Image   string `json:"image"`   // /boot/vmlinuz-VERSION
	Initrd  string `json:"initrd,omitempty"`
	// Flavor: "xenlinux-domU" (EL4 -xenU), "xenlinux" (EL5 -xen, dom0 and
	// domU), "pvops" (mainline Xen support), "native" (no Xen support).
	Flavor string `json:"flavor"`
	PV     bool   `json:"pv"`  // can boot as a PV domU
	PVH    bool   `json:"pvh"` // can boot as PVH
	Bits   int    `json:"bits"`
	PAE    bool   `json:"pae"`
	// Evidence says how PV capability was established.
	Evidence string `json:"evidence"`
	// HasModules is true when /lib/modules/VERSION exists.
	HasModules bool `json:"has_modules"`
	// Config is the guest path of /boot/config-VERSION, if present.
	Config string `json:"config,omitempty"`
	// BlkfrontBuiltin: the Xen block frontend is built into the kernel.
	BlkfrontBuiltin bool `json:"blkfront_builtin"`
}

// XenLinux reports whether the kernel is a XenLinux (2.6.18-style) kernel,
// whose devices and console have XenLinux names (sda1, xvc0).
func (k Kernel) XenLinux() bool { return strings.HasPrefix(k.Flavor, "xenlinux") }

// initrdNames are the initrd naming schemes, by family.
var initrdNames = []string{"/boot/initrd-%s.img", "/boot/initramfs-%s.img", "/boot/initrd.img-%s"}

func findKernels(root *guest.Root, arch Arch) ([]Kernel, error) {
	images, err := root.Glob("/boot/vmlinuz-*")
	if err != nil {
		return nil, err
	}
	var ks []Kernel
	for _, img := range images {
		if !root.IsFile(img) {
			continue
		}
		ver := strings.TrimPrefix(path.Base(img), "vmlinuz-")
		k := Kernel{Version: ver, Image: img, Bits: arch.Bits}
		for _, pat := range initrdNames {
			p := strings.Replace(pat, "%s", ver, 1)
			if root.IsFile(p) {
				k.Initrd = p
				break
			}
		}
		k.HasModules = root.Exists("/lib/modules/" + ver)
		classify(root, &k, arch)
		ks = append(ks, k)
	}
	sort.SliceStable(ks, func(i, j int) bool { return CompareVersions(ks[i].Version, ks[j].Version) < 0 })
	return ks, nil
}

// classify decides whether a kernel can run as a PV domU, from its name
// (XenLinux flavours) and its build configuration (pvops). verify later
// confirms this from the image's Xen ELF notes.
func classify(root *guest.Root, k *Kernel, arch Arch) {
	// /boot/config-VERSION; Fedora and EL9 also ship it (and since
	// kernel-install, sometimes only) as /lib/modules/VERSION/config.
	cfgPath := "/boot/config-" + k.Version
	cfg, _ := root.ReadFile(cfgPath)
	if cfg == nil {
		if c, err := root.ReadFile("/lib/modules/" + k.Version + "/config"); err == nil {
			cfgPath, cfg = "/lib/modules/"+k.Version+"/config", c
		}
	}
	if cfg != nil {
		k.Config = cfgPath
	}
	conf := parseKconfig(cfg)
	if arch.Bits == 32 {
		k.PAE = conf["CONFIG_X86_PAE"] == "y" || strings.Contains(k.Version, "PAE")
	}
	switch {
	case strings.HasSuffix(k.Version, "xenU"):
		k.Flavor, k.PV, k.Evidence = "xenlinux-domU", true, "XenLinux domU kernel (-xenU)"
		if arch.Bits == 32 && cfg == nil {
			// RHEL 4 kernel-xenU for i686 is PAE-only: it needs
			// xen-3.0-x86_32p, as RHEL 5's hypervisor provides.
			k.PAE = true
		}
	case strings.HasSuffix(k.Version, "xen"):
		k.Flavor, k.PV, k.Evidence = "xenlinux", true, "XenLinux kernel (-xen)"
		if arch.Bits == 32 && cfg == nil {
			k.PAE = true // RHEL 5 kernel-xen i686 is PAE.
		}
	case conf["CONFIG_XEN_PV"] == "y":
		k.Flavor, k.PV, k.Evidence = "pvops", true, cfgPath+": CONFIG_XEN_PV=y"
	case conf["CONFIG_XEN"] == "y" && conf["CONFIG_XEN_PV"] == "" && CompareVersions(k.Version, "4.14") < 0:
		// Before Linux 4.14 CONFIG_XEN=y alone gave PV domU support;
		// later kernels need CONFIG_XEN_PV.
		k.Flavor, k.PV, k.Evidence = "pvops", true, cfgPath+": CONFIG_XEN=y (pre-4.14 pvops)"
	case cfg == nil:
		// No build configuration: the image's Xen ELF notes decide, as
		// Xen's domain builder would.
		k.Flavor = "native"
		info, err := imageInfo(root, k.Image)
		switch {
		case err != nil:
			k.Evidence = "no /boot/config-" + k.Version + ", not a XenLinux kernel name, and the image cannot be read: " + err.Error()
		case info.PV:
			k.Flavor, k.PV, k.Evidence = "pvops", true, k.Image+": Xen ELF notes with a PV entry point (no /boot/config-"+k.Version+")"
			k.PVH = info.PVH
			return
		default:
			k.Evidence = k.Image + ": no Xen PV support in its ELF notes (" + info.NotPV + "); no /boot/config-" + k.Version
		}
	default:
		k.Flavor, k.Evidence = "native", cfgPath+": built without Xen PV support"
	}
	k.PVH = conf["CONFIG_XEN_PVH"] == "y"
	switch conf["CONFIG_XEN_BLKDEV_FRONTEND"] {
	case "y":
		k.BlkfrontBuiltin = true
	}
}

// maxKernelImage bounds the kernel image read for its notes.
const maxKernelImage = 64 << 20

// imageInfo reads a kernel image's Xen notes.
func imageInfo(root *guest.Root, p string) (*kernelimage.Info, error) {
	st, err := root.Stat(p)
	if err != nil {
		return nil, err
	}
	if st.Size() > maxKernelImage {
		return nil, fmt.Errorf("%d bytes, more than a kernel image", st.Size())
	}
	data, err := root.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return kernelimage.Inspect(data)
}

// parseKconfig reads CONFIG_X=y lines.
func parseKconfig(data []byte) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "# CONFIG_") && strings.HasSuffix(line, " is not set") {
			m[strings.TrimSuffix(strings.TrimPrefix(line, "# "), " is not set")] = "n"
			continue
		}
		if !strings.HasPrefix(line, "CONFIG_") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = strings.Trim(v, "\"")
		}
	}
	return m
}

// CompareVersions orders kernel versions the way rpm/dpkg roughly do:
// numeric runs numerically, everything else lexically.
func CompareVersions(a, b string) int {
	for a != "" && b != "" {
		an, arest := leadingRun(a)
		bn, brest := leadingRun(b)
		if isDigits(an) && isDigits(bn) {
			an, bn = strings.TrimLeft(an, "0"), strings.TrimLeft(bn, "0")
			if len(an) != len(bn) {
				if len(an) < len(bn) {
					return -1
				}
				return 1
			}
		}
		if an != bn {
			if an < bn {
				return -1
			}
			return 1
		}
		a, b = arest, brest
	}
	switch {
	case a == b:
		return 0
	case a == "":
		return -1
	}
	return 1
}

func leadingRun(s string) (string, string) {
	digit := s[0] >= '0' && s[0] <= '9'
	i := 1
	for i < len(s) && (s[i] >= '0' && s[i] <= '9') == digit {
		i++
	}
	return s[:i], s[i:]
}

func isDigits(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }
