// Package pvgrub emulates the first thing GRUB 2 built for Xen (pvgrub2,
// Debian's grub-xen-host) does in a guest: the small configuration
// embedded in its image searches the guest's disks for a file, takes the
// first disk that has it as GRUB's root, and chainloads or reads it.
// verify uses it to say which grub.cfg the guest will boot from, before
// anything runs.
//
// The embedded configurations are those of Debian 12's grub-xen-host
// 2.06-13+deb12u2, read from the memdisk of each image (testdata/);
// Embedded parses them, so the search order here is GRUB's own.
package pvgrub

import (
	_ "embed"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

//go:embed testdata/grub-x86_64-xen.cfg
var cfgPV64 string

//go:embed testdata/grub-i386-xen.cfg
var cfgPV32 string

//go:embed testdata/grub-i386-xen_pvh.cfg
var cfgPVH string

// Step is one `if search -s -f PATH ; then ...` block of an embedded
// configuration: Chainload for multiboot of a further loader, else
// configfile.
type Step struct {
	Path      string
	Chainload bool
}

// Embedded returns the search order of the grub-xen-host image named by
// its file name (grub-x86_64-xen.bin, grub-i386-xen.bin,
// grub-i386-xen_pvh.bin), or false for another image.
func Embedded(image string) ([]Step, bool) {
	var cfg string
	switch path.Base(image) {
	case "grub-x86_64-xen.bin":
		cfg = cfgPV64
	case "grub-i386-xen.bin":
		cfg = cfgPV32
	case "grub-i386-xen_pvh.bin":
		cfg = cfgPVH
	default:
		return nil, false
	}
	return ParseEmbedded(cfg), true
}

// IsImage reports whether a domain config's kernel= names a GRUB image
// built for Xen rather than a Linux kernel.
func IsImage(kernel string) bool {
	_, ok := Embedded(kernel)
	return ok || strings.Contains(kernel, "/grub-xen/")
}

// ParseEmbedded reads the search steps of an embedded configuration:
// each `if search -s -f PATH` with the command its block runs.
func ParseEmbedded(cfg string) []Step {
	var steps []Step
	var cur *Step
	for _, line := range strings.Split(cfg, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 5 && f[0] == "if" && f[1] == "search" && f[2] == "-s" && f[3] == "-f":
			steps = append(steps, Step{Path: f[4]})
			cur = &steps[len(steps)-1]
		case cur != nil && len(f) > 0 && f[0] == "multiboot":
			cur.Chainload = true
		case len(f) > 0 && f[0] == "fi":
			cur = nil
		}
	}
	return steps
}

// Filesystem is one filesystem of the guest's disks, in the order GRUB
// iterates them (the domain's disks in order, each disk's partitions in
// order).
type Filesystem struct {
	Name string // how reports name it: "xvda1 (/, ext4)"
	FS   fs.FS  // nil when GRUB cannot read it (Unreadable says why)
	Type string
	// Unreadable says why GRUB cannot read the filesystem.
	Unreadable string
}

// Result is what the embedded configuration does.
type Result struct {
	Found     bool
	Step      Step
	Index     int // into the filesystems searched
	Name      string
	Unreached []string // filesystems GRUB could not search, and why
}

// Search runs the steps over the filesystems as `search -s -f` does:
// each path on every filesystem in turn, the first hit wins.
func Search(steps []Step, fss []Filesystem) Result {
	var res Result
	for _, f := range fss {
		if f.FS == nil {
			res.Unreached = append(res.Unreached, f.Name+": "+f.Unreadable)
		}
	}
	for _, s := range steps {
		for i, f := range fss {
			if f.FS == nil {
				continue
			}
			if st, err := fs.Stat(f.FS, strings.TrimPrefix(s.Path, "/")); err == nil && st.Mode().IsRegular() {
				res.Found, res.Step, res.Index, res.Name = true, s, i, f.Name
				return res
			}
		}
	}
	return res
}

// Describe says, for a report, what was searched for.
func Describe(steps []Step) string {
	var p []string
	for _, s := range steps {
		p = append(p, s.Path)
	}
	return strings.Join(p, ", ")
}

// Readable says whether GRUB 2.06 reads a filesystem type, and why not.
// GRUB reads every filesystem a Linux /boot is commonly made on,
// including XFS v5 with mkfs.xfs's defaults (bigtime, inobtcount) and
// btrfs, which pygrub 4.17 cannot.
func Readable(fsType string) (bool, string) {
	switch fsType {
	case "ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "iso9660", "jfs", "reiserfs", "f2fs", "nilfs2", "zfs", "udf", "hfsplus", "":
		return true, ""
	case "swap", "LVM2_member", "linux_raid_member", "crypto_LUKS":
		return false, fmt.Sprintf("%s is no filesystem GRUB reads files from", fsType)
	}
	return false, "GRUB 2.06 has no driver for " + fsType
}
