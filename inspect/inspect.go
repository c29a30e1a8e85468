// Package inspect reads a guest root and describes it as a typed value.
// It only reads, through the root-confined resolver, and never writes.
package inspect

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/xenify/xenify/conf/fstab"
	"github.com/xenify/xenify/guest"
	"github.com/xenify/xenify/xerr"
)

// Inspection is everything xenify knows about a guest.
type Inspection struct {
	OS       OS                `json:"os"`
	Arch     Arch              `json:"arch"`
	Init     string            `json:"init"` // sysvinit, upstart, systemd
	Boot     Boot              `json:"boot"`
	Kernels  []Kernel          `json:"kernels"`
	Initrd   string            `json:"initrd_tool"` // mkinitrd, dracut, update-initramfs (", " between several)
	SELinux  SELinux           `json:"selinux"`
	Fstab    Fstab             `json:"fstab"`
	NICs     []NIC             `json:"nics"`
	Gettys   []Getty           `json:"gettys"`
	Modprobe Modprobe          `json:"modprobe"`
	Tools    map[string]string `json:"tools"` // tool name -> guest path
	Glibc    Glibc             `json:"glibc"`
	// Hostname is the guest's configured host name ("" when it sets
	// none), and HostnameSource the file it came from.
	Hostname       string `json:"hostname"`
	HostnameSource string `json:"hostname_source,omitempty"`
	// PackageFormat ("rpm", "deb") and PackageManager ("yum", "dnf",
	// "apt", "up2date") are named as virt-inspector names them.
	PackageFormat  string `json:"package_format"`
	PackageManager string `json:"package_manager"`
	// Notes are observations worth showing (not errors).
	Notes []string `json:"notes"`

	// InitrdTools lists every initrd generator found (InitramfsTools,
	// Dracut, Mkinitrd): plan rebuilds with the one there is, and
	// refuses a guest with none or several.
	InitrdTools []string `json:"initrd_tools,omitempty"`
}

// Inspect reads the guest. It fails with *xerr.Refused when the guest is
// not one xenify can convert safely (unknown distro, no fstab, unreadable
// boot configuration), naming the file at fault.
func Inspect(root *guest.Root) (*Inspection, error) {
	in := &Inspection{Tools: map[string]string{}}
	var err error
	if in.OS, err = detectOS(root); err != nil {
		return nil, err
	}
	if in.Arch, err = detectArch(root); err != nil {
		return nil, err
	}
	in.Tools = findTools(root)
	in.Init = detectInit(root, in.Tools)
	if in.Fstab, err = readFstab(root); err != nil {
		return nil, err
	}
	if in.Kernels, err = findKernels(root, in.Arch); err != nil {
		return nil, err
	}
	if in.Boot, err = readBoot(root); err != nil {
		return nil, err
	}
	in.InitrdTools = initrdTools(root, in.Tools)
	in.Initrd = strings.Join(in.InitrdTools, ", ")
	in.SELinux = readSELinux(root)
	if in.Modprobe, err = readModprobe(root); err != nil {
		return nil, err
	}
	if in.NICs, err = readNICs(root, in.Modprobe); err != nil {
		return nil, err
	}
	if in.Gettys, err = readGettys(root, in.Init); err != nil {
		return nil, err
	}
	in.Glibc = readGlibc(root, in.Arch)
	in.Hostname, in.HostnameSource = readHostname(root)
	in.PackageFormat, in.PackageManager = packaging(in.OS, in.Tools)
	in.emptyNotNull()
	return in, nil
}

// emptyNotNull makes every list an empty one rather than nil, so JSON
// shows [] (`jq '.kernels[]'` works on a guest without kernels).
func (in *Inspection) emptyNotNull() {
	if in.Kernels == nil {
		in.Kernels = []Kernel{}
	}
	if in.NICs == nil {
		in.NICs = []NIC{}
	}
	if in.Gettys == nil {
		in.Gettys = []Getty{}
	}
	if in.Fstab.Entries == nil {
		in.Fstab.Entries = []FstabEntry{}
	}
	if in.Boot.Entries == nil {
		in.Boot.Entries = []BootEntry{}
	}
	if in.Boot.BLSEntries == nil {
		in.Boot.BLSEntries = []string{}
	}
	if in.Notes == nil {
		in.Notes = []string{}
	}
}

// readOptional reads a guest file that may be missing: (nil, nil) if so.
func readOptional(root *guest.Root, p string) ([]byte, error) {
	data, err := root.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, xerr.Refuse(p, 0, "check the file in the guest; xenify reads only regular files inside the guest root", "cannot read: %v", unwrapPath(err))
	}
	return data, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Fstab is the guest's /etc/fstab.
type Fstab struct {
	Path    string       `json:"path"`
	Entries []FstabEntry `json:"entries"`
}

// FstabEntry is one active fstab line.
type FstabEntry struct {
	Line    int    `json:"line"`
	Spec    string `json:"spec"`
	Mount   string `json:"mount"`
	Type    string `json:"type"`
	Options string `json:"options"`
	// Device is what the spec resolved to on the SOURCE disks ("disk.img
	// partition 2", "vg0/root on disk.img partition 2"); set by the
	// caller that opened the disks, empty for a directory SOURCE.
	Device string `json:"device,omitempty"`
}

// Local reports whether the entry is a local block-device filesystem or
// swap (not proc, tmpfs, nfs, bind mounts...).
func (e FstabEntry) Local() bool {
	switch e.Type {
	case "proc", "sysfs", "devpts", "tmpfs", "usbfs", "usbdevfs", "devtmpfs", "nfs", "nfs4", "cifs", "smbfs", "none", "binfmt_misc", "rpc_pipefs", "debugfs", "securityfs", "hugetlbfs", "cgroup", "fuse":
		return false
	}
	for _, o := range splitComma(e.Options) {
		if o == "bind" {
			return false
		}
	}
	s := e.Spec
	return len(s) > 0 && (s[0] == '/' || hasPrefix(s, "LABEL=") || hasPrefix(s, "UUID=") || hasPrefix(s, "PARTUUID=") || hasPrefix(s, "PARTLABEL="))
}

// Root returns the entry mounted at /.
func (f Fstab) Root() (FstabEntry, bool) {
	for _, e := range f.Entries {
		if e.Mount == "/" {
			return e, true
		}
	}
	return FstabEntry{}, false
}

// Find returns the entry mounted at mount.
func (f Fstab) Find(mount string) (FstabEntry, bool) {
	for _, e := range f.Entries {
		if e.Mount == mount {
			return e, true
		}
	}
	return FstabEntry{}, false
}

const fstabPath = "/etc/fstab"

func readFstab(root *guest.Root) (Fstab, error) {
	data, err := readOptional(root, fstabPath)
	if err != nil {
		return Fstab{}, err
	}
	if data == nil {
		return Fstab{}, xerr.Refuse(fstabPath, 0, "xenify needs the guest's fstab to map its disks; point SOURCE at the guest's root filesystem", "missing: this does not look like an installed root filesystem")
	}
	f, err := fstab.Parse(fstabPath, data)
	if err != nil {
		return Fstab{}, &xerr.Refused{Path: fstabPath, Msg: "cannot parse", Err: err, Fix: "correct the line in the guest's fstab, then run xenify again"}
	}
	out := Fstab{Path: fstabPath}
	for _, e := range f.Entries() {
		if e.CommentedOut() {
			continue
		}
		out.Entries = append(out.Entries, FstabEntry{Line: e.Line, Spec: e.Spec, Mount: e.MountPoint, Type: e.Type, Options: e.Options})
	}
	if _, ok := out.Root(); !ok {
		return out, xerr.Refuse(fstabPath, 0, "add the root filesystem's line to the guest's fstab", "no entry for the root filesystem /")
	}
	return out, nil
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

var _ = fmt.Sprintf
