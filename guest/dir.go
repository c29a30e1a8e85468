package guest

import (
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// OpenDir opens guest directory p as an O_PATH handle, for mounting onto
// (through /proc/self/fd/N) and for *at calls. Symlinks on the way are
// resolved inside the root; the last component must itself be a
// directory, not a link to one, so the handle names exactly the directory
// the guest has at p. The type is checked on the open descriptor.
func (r *Root) OpenDir(p string) (*os.File, error) {
	fd, err := r.openFD(p, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open directory", Path: p, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "open directory", Path: p, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "open directory", Path: p, Err: fmt.Errorf("not a directory (mode %#o)", st.Mode&unix.S_IFMT)}
	}
	return os.NewFile(uintptr(fd), p), nil
}
