// Package source opens what xenify converts: a directory holding the
// guest's root filesystem, or (see disk.go) disk images and block devices
// whose filesystems are found, mounted and released again on every path.
package source

import (
	"context"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/xenify/xenify/devmap"
	"github.com/xenify/xenify/guest"
	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/xerr"
)

// Opened is a guest ready to be inspected (and, if opened for writing,
// converted). Close releases everything Open acquired, in reverse order.
type Opened struct {
	Root *guest.Root
	// Disks tell the planner how dom0 will provide each filesystem.
	Disks []devmap.HostDisk
	// Describe says what was opened, for messages.
	Describe string

	// The fields below are set for disk images and block devices only.

	// Filesystems are the guest's local fstab filesystems and swap areas
	// found on the disks: root first, then in mount order; swap and
	// filesystems that are not mounted have an empty HostDir.
	Filesystems []Filesystem
	// Boot is the separate /boot filesystem, nil when /boot is a
	// directory of the root filesystem.
	Boot *Filesystem
	// RootOnly is the root filesystem alone, without the filesystems
	// mounted below it: there, /boot is the root filesystem's own /boot
	// directory (hidden under a separate /boot in Root).
	RootOnly *guest.Root
	// RootFree and RootSize are the bytes available to root and the
	// size of the root filesystem (statfs).
	RootFree, RootSize int64
	// Unmatched are local fstab entries that match nothing on the disks
	// (also described in Warnings).
	Unmatched []inspect.FstabEntry
	// Warnings are things the user should know (unmatched fstab entries,
	// partition table oddities, leftovers released).
	Warnings []string

	disks     []Disk
	hds       []*hostDisk
	mdMembers map[string][]Volume
	sess      *session
	rw        bool
	release   []func() error
}

// Close releases mounts, loop devices and descriptors in reverse order of
// acquisition. It is safe to call more than once.
func (o *Opened) Close() error {
	var errs []error
	for i := len(o.release) - 1; i >= 0; i-- {
		if err := o.release[i](); err != nil {
			errs = append(errs, err)
		}
	}
	o.release = nil
	return errors.Join(errs...)
}

func (o *Opened) onClose(f func() error) { o.release = append(o.release, f) }

// Mode says whether the source may be written.
type Mode int

const (
	ReadOnly Mode = iota
	ReadWrite
)

// Open opens the source named by paths (one directory, or one or more
// images/devices).
func Open(ctx context.Context, paths []string, mode Mode) (*Opened, error) {
	if len(paths) == 0 {
		return nil, xerr.Usagef("no SOURCE given")
	}
	st, err := os.Stat(paths[0])
	if err != nil {
		return nil, xerr.Usagef("SOURCE %s: %v", paths[0], err)
	}
	if st.IsDir() {
		if os.Geteuid() == 0 {
			// Release what a killed xenify left, as every command does.
			Cleanup()
		}
		if len(paths) > 1 {
			return nil, xerr.Usagef("a directory SOURCE (%s) cannot be combined with --disk", paths[0])
		}
		return openDir(paths[0], mode)
	}
	return openDisks(ctx, paths, mode)
}

func openDir(dir string, mode Mode) (*Opened, error) {
	root, err := guest.Open(dir)
	if err != nil {
		return nil, err
	}
	if mode == ReadWrite {
		if err := checkWritable(dir); err != nil {
			root.Close()
			return nil, err
		}
	}
	o := &Opened{Root: root, Describe: "directory " + root.Dir()}
	o.onClose(root.Close)
	if err := o.openDirBoot(dir, mode == ReadWrite); err != nil {
		o.Close()
		return nil, err
	}
	return o, nil
}

// checkWritable tells whether convert can write to the guest root,
// without writing to it: a probe file would bypass the journal and
// change the root's modification time. The filesystem's mount flags
// (statfs) and access(2) answer the question, EROFS included.
func checkWritable(dir string) error {
	var sfs unix.Statfs_t
	if err := unix.Statfs(dir, &sfs); err != nil {
		return fmt.Errorf("guest root %s: %w", dir, err)
	}
	if sfs.Flags&unix.ST_RDONLY != 0 {
		return fmt.Errorf("guest root %s is not writable: it is on a read-only mount (mount it read-write to convert)", dir)
	}
	if err := unix.Access(dir, unix.W_OK); err != nil {
		return fmt.Errorf("guest root %s is not writable: %w", dir, err)
	}
	return nil
}

// ResolvedDevices sets each fstab entry's Device to where its spec was
// found on the SOURCE disks, or says that it matched nothing there. A
// directory SOURCE resolves nothing: the host has mounted it already.
func (o *Opened) ResolvedDevices(f *inspect.Fstab) {
	for i := range f.Entries {
		e := &f.Entries[i]
		for _, fs := range o.Filesystems {
			if (fs.Line > 0 && fs.Line == e.Line) || (fs.Mount == "/" && e.Mount == "/") {
				e.Device = fs.Where
			}
		}
		for _, u := range o.Unmatched {
			if u.Line == e.Line {
				e.Device = "no filesystem on the given disks"
			}
		}
	}
}
