// Package devmap holds the types that describe where the guest's
// filesystems live, shared by package source, which finds them on the
// disks, and package plan, which maps them to virtual devices: the
// filesystems as dom0 will provide them (HostDisk), the root
// filesystem's size (RootFS), and the device map (Map) that convert
// records in the guest (State, at StatePath) so that converting again,
// or reopening a converted guest's disks, maps devices the same way.
package devmap

// StatePath is where convert records its device map in the guest, so a
// second convert maps converted devices to themselves. It sits in the
// journal directory and goes away with rollback.
const StatePath = "/var/lib/xenify/state.json"

// State is what StatePath holds.
type State struct {
	DevMap *Map   `json:"devmap"`
	Kernel string `json:"kernel,omitempty"`
}

// Map maps the guest's native block devices to virtual ones.
type Map struct {
	Prefix  string    `json:"prefix"` // "sd" (XenLinux) or "xvd" (pvops)
	Entries []Entry   `json:"entries"`
	Dropped []Dropped `json:"dropped,omitempty"`
	// Extra are further devices the guest gets for an entry: the other
	// members of an md array it assembles itself (--layout partition).
	Extra []Entry `json:"extra,omitempty"`
}

// Entry is one filesystem or swap area handed to the guest.
type Entry struct {
	Line    int    `json:"line"` // fstab line
	Mount   string `json:"mount"`
	Type    string `json:"type"`
	Native  string `json:"native"`  // fstab spec before conversion
	Virtual string `json:"virtual"` // guest device name: sda1, xvda2 ("" = spec kept)
	Spec    string `json:"spec"`    // fstab spec after conversion
	Target  string `json:"target"`  // host side for the domain config
	File    bool   `json:"file"`
	// Vdev is the name the domain config exports: the virtual device for
	// per-filesystem layouts, the whole disk for the disk layout.
	Vdev string `json:"vdev"`
}

// Dropped is an fstab entry the guest will not have.
type Dropped struct {
	Line  int    `json:"line"`
	Spec  string `json:"spec"`
	Mount string `json:"mount"`
	Why   string `json:"why"`
}

// WithoutLines is a copy of d without fstab line numbers, as recorded in
// the guest's state: commenting out an entry (a merged /boot, a CD-ROM)
// inserts a note and moves the lines after it, and the record must not
// change with them, or a second convert would not be a no-op.
func (d *Map) WithoutLines() *Map {
	out := &Map{Prefix: d.Prefix, Entries: append([]Entry(nil), d.Entries...), Dropped: append([]Dropped(nil), d.Dropped...), Extra: d.Extra}
	for i := range out.Entries {
		out.Entries[i].Line = 0
	}
	for i := range out.Dropped {
		out.Dropped[i].Line = 0
	}
	return out
}

// Virtual returns the virtual device of the filesystem mounted at mount.
func (d *Map) Virtual(mount string) (Entry, bool) {
	for _, m := range d.Entries {
		if m.Mount == mount {
			return m, true
		}
	}
	return Entry{}, false
}

// ByNative returns the mapping of a native spec (as written in fstab or
// on a kernel command line).
func (d *Map) ByNative(spec string) (Entry, bool) {
	for _, m := range d.Entries {
		if m.Native == spec || m.Spec == spec || (m.Virtual != "" && "/dev/"+m.Virtual == spec) {
			return m, true
		}
	}
	return Entry{}, false
}

// HostDisk is one filesystem of the guest as dom0 will provide it.
type HostDisk struct {
	Mount  string // guest mount point ("/", "/boot", "swap")
	Spec   string // the fstab spec it satisfies
	Target string // host path: image file or block device
	File   bool   // image file rather than block device
	Vdev   string // virtual device override ("" = computed)
	// Layered: Target holds the filesystem inside LVM or md that the
	// guest assembles itself (--layout partition or raid). The fstab spec
	// stays valid in the guest, and filesystems on one Target share its
	// virtual device.
	Layered bool
	// Also are further devices the guest needs for the filesystem: the
	// other members of an md array it assembles itself.
	Also []string
}

// RootFS describes the root filesystem alone, for merging a separate
// /boot into it. The source fills it when it mounted the guest's
// filesystems itself and can reach the root filesystem's own /boot
// directory (hidden under the /boot mount); nil otherwise.
type RootFS struct {
	Free int64 // bytes available to root
	Size int64 // size of the root filesystem
}
