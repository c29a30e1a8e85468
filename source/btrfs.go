package source

import (
	"os"
	"path/filepath"
	"strings"
)

// subvolOption returns the btrfs subvolume an fstab entry mounts, as a
// mount option ("subvol=root", "subvolid=257"); "" for the default
// subvolume.
func subvolOption(opts string) string {
	for _, o := range strings.Split(opts, ",") {
		if k, v, ok := strings.Cut(o, "="); ok && (k == "subvol" || k == "subvolid") && v != "" {
			return o
		}
	}
	return ""
}

// maxSubvolScan bounds the top-level entries looked at for a root
// subvolume.
const maxSubvolScan = 64

// btrfsRootSubvol looks in the top level of a btrfs filesystem mounted
// at dir for the subvolume holding the root filesystem: a directory
// with etc/fstab whose / entry mounts that very subvolume (Fedora's
// "root", Ubuntu's "@", openSUSE's "@/.snapshots/1/snapshot" is not
// looked for). It returns the subvolume's path, or "".
func btrfsRootSubvol(dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	for i, e := range ents {
		if i >= maxSubvolScan {
			break
		}
		if !e.IsDir() {
			continue
		}
		entries, err := readGuestFstab(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		for _, fe := range entries {
			if fe.Mount != "/" {
				continue
			}
			o := subvolOption(fe.Options)
			if o == "subvol="+e.Name() || o == "subvol=/"+e.Name() {
				return e.Name()
			}
		}
	}
	return ""
}
