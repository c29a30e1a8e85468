package source

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/xenify/xenify/plan"
)

// RootFS describes the root filesystem alone for merging a separate
// /boot into it: nil unless xenify mounted the guest's disks itself and
// /boot is a filesystem of its own.
func (o *Opened) RootFS() *plan.RootFS {
	if o.Boot == nil || o.RootOnly == nil || o.sess == nil {
		return nil
	}
	return &plan.RootFS{Free: o.RootFree, Size: o.RootSize}
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
	id, err := o.sess.begin(Item{Kind: "mount", Path: real})
	if err != nil {
		return err
	}
	if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
		o.sess.end(id)
		return fmt.Errorf("showing the root filesystem's /boot at %s: %w", real, err)
	}
	rw := o.rw
	o.onClose(func() error {
		if err := unmount(real, rw); err != nil {
			return err
		}
		return o.sess.end(id)
	})
	o.Boot = nil
	return nil
}
