package source

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/xenify/xenify/guest"
)

// BindSystem mounts /proc, /sys and /dev into the guest for the duration
// of its commands (package managers and initrd builders need them) and
// returns the function that unmounts them. Each mount point is opened
// through the root-confined resolver and mounted via /proc/self/fd, so a
// guest whose /proc is a symlink cannot redirect a mount onto the host.
// A guest without one of the directories simply does not get it.
func BindSystem(ctx context.Context, root *guest.Root) (func() error, error) {
	var mounted []string
	release := func() error {
		var errs []error
		for i := len(mounted) - 1; i >= 0; i-- {
			if err := unix.Unmount(mounted[i], unix.MNT_DETACH); err != nil {
				errs = append(errs, fmt.Errorf("unmounting %s: %w", mounted[i], err))
			}
		}
		mounted = nil
		return errors.Join(errs...)
	}
	for _, m := range []struct {
		path, fstype, src string
		flags             uintptr
	}{
		{"/proc", "proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		{"/sys", "sysfs", "sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY},
		{"/dev", "", "/dev", unix.MS_BIND | unix.MS_REC},
	} {
		st, err := root.Lstat(m.path)
		if err != nil || !st.IsDir() {
			continue
		}
		f, err := root.OpenFile(m.path)
		if err != nil {
			continue
		}
		target := fmt.Sprintf("/proc/self/fd/%d", f.Fd())
		err = unix.Mount(m.src, target, m.fstype, m.flags, "")
		// The mount is now named by its real path; resolve it for unmount.
		real := root.Dir() + m.path
		f.Close()
		if err != nil {
			release()
			return nil, fmt.Errorf("mounting %s in the guest: %w", m.path, err)
		}
		mounted = append(mounted, real)
	}
	return release, nil
}
