package source

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/xenify/xenify/devmap"
	"github.com/xenify/xenify/guest"
)

// RootFS describes the root filesystem alone for merging a separate
// /boot into it: nil unless xenify mounted the guest's disks itself and
// /boot is a filesystem of its own.
func (o *Opened) RootFS() *devmap.RootFS {
	if o.Boot == nil || o.RootOnly == nil || o.sess == nil {
		return nil
	}
	return &devmap.RootFS{Free: o.RootFree, Size: o.RootSize}
}

// ShowRootBoot bind-mounts the root filesystem's own /boot directory over
// the separate /boot in Root, once its files have been copied there
// (apply's MergeBoot): from then on Root shows the guest as it will boot.
// The mount is released with the others, before the separate /boot.
func (o *Opened) ShowRootBoot() error {
	if o.sess == nil || o.RootOnly == nil || o.Root == nil {
		return errors.New("no root filesystem view to show /boot from")
	}
	src, _, closeSrc, err := mountPoint(o.RootOnly, "/boot")
	if err != nil {
		return fmt.Errorf("the root filesystem's /boot: %w", err)
	}
	defer closeSrc()
	target, real, closeTarget, err := mountPoint(o.Root, "/boot")
	if err != nil {
		return fmt.Errorf("the guest's /boot: %w", err)
	}
	defer closeTarget()
	release, err := bindAt(o.sess, src, target, real, o.rw)
	if err != nil {
		return fmt.Errorf("showing the root filesystem's /boot: %w", err)
	}
	o.onClose(release)
	o.Boot = nil
	return nil
}

// bindRootOnly sets RootOnly to a non-recursive bind of rootDir (the root
// filesystem without the filesystems mounted below it), and RootFree and
// RootSize from it.
func (o *Opened) bindRootOnly(s *session, rootDir string, rw bool) error {
	onlyDir := filepath.Join(s.st.MountDir, "rootonly")
	if err := os.Mkdir(onlyDir, 0o700); err != nil {
		return err
	}
	rel, err := bindAt(s, rootDir, onlyDir, onlyDir, rw)
	if err != nil {
		return err
	}
	o.onClose(rel)
	only, err := guest.Open(onlyDir)
	if err != nil {
		return err
	}
	o.onClose(only.Close)
	o.RootOnly = only
	var sfs unix.Statfs_t
	if err := unix.Statfs(rootDir, &sfs); err != nil {
		return fmt.Errorf("statfs %s: %w", rootDir, err)
	}
	o.RootFree = int64(sfs.Bavail) * sfs.Bsize
	o.RootSize = int64(sfs.Blocks) * sfs.Bsize
	o.sess, o.rw = s, rw
	return nil
}

// openDirBoot handles a directory source whose /boot is a mount point of
// its own, as when the user mounted the native filesystems (the classic
// procedure's first step): it binds the root filesystem alone, so a
// separate /boot can be merged into it, and once the guest's state says
// /boot was merged, shows the root filesystem's /boot in its place.
func (o *Opened) openDirBoot(dir string, rw bool) error {
	if os.Geteuid() != 0 || !separateMount(o.Root, "/boot") {
		return nil
	}
	merged := bootMerged(o.Root)
	s, err := newSession()
	if err == nil {
		o.onClose(s.finish)
		err = o.bindRootOnly(s, dir, rw)
	}
	if err != nil {
		if merged {
			// Without the root filesystem's /boot, xenify would read and
			// write the obsolete separate one.
			return fmt.Errorf("the guest's /boot was merged into its root filesystem, but xenify cannot show it in place of the /boot mounted at %s: %w (unmount that /boot and run xenify again)", o.Root.Dir()+"/boot", err)
		}
		o.Warnings = append(o.Warnings, fmt.Sprintf("cannot bind the root filesystem alone (%v): the separate /boot cannot be merged into it", err))
		return nil
	}
	o.Boot = &Filesystem{Mount: "/boot", HostDir: o.Root.Dir() + "/boot"}
	if merged {
		return o.ShowRootBoot()
	}
	return nil
}

// separateMount reports whether the guest directory p is on another
// filesystem than the guest's root.
func separateMount(root *guest.Root, p string) bool {
	a, err := root.Stat("/")
	if err != nil {
		return false
	}
	b, err := root.Stat(p)
	if err != nil || !b.IsDir() {
		return false
	}
	sa, okA := a.Sys().(*syscall.Stat_t)
	sb, okB := b.Sys().(*syscall.Stat_t)
	return okA && okB && sa.Dev != sb.Dev
}

// bootMerged reports whether the guest's recorded conversion merged /boot
// into the root filesystem, and its fstab no longer mounts /boot.
func bootMerged(root *guest.Root) bool {
	st := recordedState(root)
	if st == nil {
		return false
	}
	merged := false
	for _, d := range st.DevMap.Dropped {
		merged = merged || d.Mount == "/boot"
	}
	if !merged {
		return false
	}
	entries, err := readGuestFstab(root.Dir())
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.Mount == "/boot" {
			return false
		}
	}
	return true
}
