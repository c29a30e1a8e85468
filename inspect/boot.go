package inspect

import (
	"strings"

	"github.com/xenify/xenify/conf/bls"
	"github.com/xenify/xenify/conf/grublegacy"
	"github.com/xenify/xenify/guest"
	"github.com/xenify/xenify/xerr"
)

// Boot is the guest's boot loader configuration.
type Boot struct {
	Loader     string      `json:"loader"` // grub-legacy, grub2, none
	ConfigPath string      `json:"config_path,omitempty"`
	Entries    []BootEntry `json:"entries"`
	Default    int         `json:"default"`
	DefaultRaw string      `json:"default_raw,omitempty"`
	// BLS is true when GRUB 2 takes its entries from /boot/loader/entries
	// (blscfg), which pygrub does not read.
	BLS        bool     `json:"bls,omitempty"`
	BLSEntries []string `json:"bls_entries"`
	// DefaultsFile is /etc/default/grub when present.
	DefaultsFile string `json:"defaults_file,omitempty"`
}

// BootEntry is one menu entry.
type BootEntry struct {
	Title  string `json:"title"`
	Kernel string `json:"kernel"` // as written in the config
	Initrd string `json:"initrd,omitempty"`
	Args   string `json:"args"`
	Line   int    `json:"line"`
	// Submenu is the submenu title path for nested GRUB 2 entries.
	Submenu string `json:"submenu,omitempty"`
	// XenHypervisor is true for a GRUB legacy dom0 entry (kernel
	// /xen.gz with the Linux kernel as a module).
	XenHypervisor bool `json:"xen_hypervisor,omitempty"`
}

// KernelVersion guesses the kernel release an entry boots from its
// kernel path ("/vmlinuz-2.6.9-42.EL" -> "2.6.9-42.EL").
func (e BootEntry) KernelVersion() string {
	k := e.Kernel
	if i := strings.Index(k, ")"); strings.HasPrefix(k, "(") && i > 0 {
		k = k[i+1:]
	}
	if i := strings.LastIndex(k, "/vmlinuz-"); i >= 0 {
		return k[i+len("/vmlinuz-"):]
	}
	return ""
}

// grubLegacyPaths in the order GRUB legacy installations use them.
var grubLegacyPaths = []string{"/boot/grub/grub.conf", "/boot/grub/menu.lst"}
var grub2Paths = []string{"/boot/grub/grub.cfg", "/boot/grub2/grub.cfg"}

func readBoot(root *guest.Root) (Boot, error) {
	for _, p := range grub2Paths {
		data, err := readOptional(root, p)
		if err != nil {
			return Boot{}, err
		}
		if data == nil {
			continue
		}
		b, err := readGrub2(root, p, data)
		if err != nil {
			return Boot{}, err
		}
		if root.IsFile("/etc/default/grub") {
			b.DefaultsFile = "/etc/default/grub"
		}
		return b, nil
	}
	for _, p := range grubLegacyPaths {
		real, err := root.Realpath(p)
		if err != nil {
			continue
		}
		data, err := readOptional(root, real)
		if err != nil {
			return Boot{}, err
		}
		if data == nil {
			continue
		}
		f, err := grublegacy.Parse(real, data)
		if err != nil {
			return Boot{}, &xerr.Refused{Path: real, Msg: "cannot parse the GRUB configuration", Err: err, Fix: "correct the file, or convert with --boot direct"}
		}
		b := Boot{Loader: "grub-legacy", ConfigPath: real}
		for _, e := range f.Entries() {
			be := BootEntry{Title: e.Title, Kernel: e.Kernel, Initrd: e.Initrd, Args: e.Args, Line: e.Line}
			if strings.Contains(e.Kernel, "xen.gz") && len(e.Modules) > 0 {
				be.XenHypervisor = true
				be.Kernel = e.Modules[0].Path
				be.Args = e.Modules[0].Args
				if len(e.Modules) > 1 {
					be.Initrd = e.Modules[1].Path
				}
			}
			b.Entries = append(b.Entries, be)
		}
		b.DefaultRaw, _ = f.Default()
		n, numeric := f.DefaultIndex()
		if numeric {
			b.Default = n
		}
		return b, nil
	}
	return Boot{Loader: "none"}, nil
}

func readBLS(root *guest.Root, b *Boot) error {
	files, _ := root.Glob("/boot/loader/entries/*.conf")
	for _, p := range files {
		data, err := readOptional(root, p)
		if err != nil {
			return err
		}
		f, err := bls.Parse(p, data)
		if err != nil {
			return &xerr.Refused{Path: p, Msg: "cannot parse the boot entry", Err: err}
		}
		b.BLSEntries = append(b.BLSEntries, p)
		initrd := ""
		if ins := f.Initrds(); len(ins) > 0 {
			initrd = ins[0]
		}
		b.Entries = append(b.Entries, BootEntry{Title: f.Title(), Kernel: f.Linux(), Initrd: initrd, Args: f.Options(), Line: 0})
	}
	return nil
}
