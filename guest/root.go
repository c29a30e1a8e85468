package guest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"sync"

	"golang.org/x/sys/unix"
)

// Root is an open guest root directory.
type Root struct {
	dir string // host path of the root, absolute and symlink-free
	fd  int    // O_PATH directory descriptor of dir
	// missingTailOK lets walk resolve paths below missing directories
	// (for RealpathMissing).
	missingTailOK bool
}

// Open opens dir as a guest root. dir itself is a host path and may be
// reached through host symlinks; everything below it is guest territory.
func Open(dir string) (*Root, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("opening guest root: %w", err)
	}
	fd, err := unix.Open(real, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open guest root", Path: real, Err: err}
	}
	return &Root{dir: real, fd: fd}, nil
}

// Close releases the root's descriptor.
func (r *Root) Close() error { return unix.Close(r.fd) }

// Dir returns the host path of the guest root, for commands that chroot
// into it. Never join guest paths onto it: use the Root's methods.
func (r *Root) Dir() string { return r.dir }

var (
	openat2Once sync.Once
	haveOpenat2 bool
)

// useOpenat2 reports whether the kernel has openat2; tests may turn it off
// to exercise the userspace walk.
var useOpenat2 = func() bool {
	openat2Once.Do(func() {
		fd, err := unix.Openat2(unix.AT_FDCWD, "/", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT})
		if err == nil {
			unix.Close(fd)
			haveOpenat2 = true
		}
	})
	return haveOpenat2
}

// openFD opens guest path p with flags, following symlinks inside the root.
func (r *Root) openFD(p string, flags int, mode uint32) (int, error) {
	if useOpenat2() {
		for {
			fd, err := unix.Openat2(r.fd, "/"+p, &unix.OpenHow{
				Flags:   uint64(flags | unix.O_CLOEXEC),
				Mode:    uint64(mode),
				Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
			})
			if err == unix.EAGAIN || err == unix.EINTR {
				continue
			}
			return fd, err
		}
	}
	real, err := r.walk(p, true)
	if err != nil {
		return -1, err
	}
	dir, base := path.Split(real)
	dfd, err := r.openDirNoFollowChain(components(dir)[1:])
	if err != nil {
		return -1, err
	}
	defer unix.Close(dfd)
	if base == "" {
		base = "."
	}
	return unix.Openat(dfd, base, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
}

// OpenFile opens a guest file for reading.
func (r *Root) OpenFile(p string) (*os.File, error) {
	fd, err := r.openFD(p, unix.O_RDONLY, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	return os.NewFile(uintptr(fd), p), nil
}

// MaxReadSize bounds ReadFile, so a hostile guest cannot make xenify load
// a multi-gigabyte "config file" into memory.
const MaxReadSize = 512 << 20

// ReadFile reads a whole guest file (at most MaxReadSize bytes).
func (r *Root) ReadFile(p string) ([]byte, error) {
	f, err := r.OpenFile(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: p, Err: errors.New("not a regular file")}
	}
	if err := refusePseudoFS(int(f.Fd())); err != nil {
		return nil, &fs.PathError{Op: "read", Path: p, Err: err}
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxReadSize+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: p, Err: err}
	}
	if len(data) > MaxReadSize {
		return nil, &fs.PathError{Op: "read", Path: p, Err: fmt.Errorf("larger than %d bytes", MaxReadSize)}
	}
	return data, nil
}

// Stat returns information about the file p names, following symlinks.
func (r *Root) Stat(p string) (fs.FileInfo, error) {
	fd, err := r.openFD(p, unix.O_PATH, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: p, Err: err}
	}
	f := os.NewFile(uintptr(fd), path.Base("/"+p))
	defer f.Close()
	return f.Stat()
}

// Lstat returns information about p itself, not following a final symlink.
func (r *Root) Lstat(p string) (fs.FileInfo, error) {
	real, err := r.walk(p, false)
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: p, Err: err}
	}
	dir, base := path.Split(real)
	if base == "" {
		return r.Stat("/")
	}
	dfd, err := r.openDirNoFollowChain(components(dir)[1:])
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: p, Err: err}
	}
	defer unix.Close(dfd)
	fd, err := unix.Openat(dfd, base, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: p, Err: err}
	}
	f := os.NewFile(uintptr(fd), base)
	defer f.Close()
	// Fstat of an O_PATH|O_NOFOLLOW descriptor describes the link itself.
	return f.Stat()
}

// Exists reports whether p names something (following symlinks).
func (r *Root) Exists(p string) bool {
	_, err := r.Stat(p)
	return err == nil
}

// IsFile reports whether p is a regular file (following symlinks).
func (r *Root) IsFile(p string) bool {
	st, err := r.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// Readlink returns the target of the symlink p.
func (r *Root) Readlink(p string) (string, error) {
	real, err := r.walk(p, false)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: p, Err: err}
	}
	dir, base := path.Split(real)
	dfd, err := r.openDirNoFollowChain(components(dir)[1:])
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: p, Err: err}
	}
	defer unix.Close(dfd)
	t, err := readlinkat(dfd, base)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: p, Err: err}
	}
	return t, nil
}

// ReadDir lists the directory p, sorted by name.
func (r *Root) ReadDir(p string) ([]fs.DirEntry, error) {
	fd, err := r.openFD(p, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: p, Err: err}
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	ents, err := f.ReadDir(-1)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: p, Err: err}
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	return ents, nil
}

// Glob returns the guest paths matching pattern (path.Match syntax).
func (r *Root) Glob(pattern string) ([]string, error) {
	m, err := fs.Glob(r.FS(), pathToFS(pattern))
	if err != nil {
		return nil, err
	}
	for i := range m {
		m[i] = "/" + m[i]
	}
	return m, nil
}

// refusePseudoFS refuses files on procfs and sysfs. While guest commands
// run, the host's /proc is bound into the guest, and a guest symlink such as
// /etc/modprobe.conf -> /proc/self/environ would otherwise read xenify's
// own process.
func refusePseudoFS(fd int) error {
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		return err
	}
	switch sfs.Type {
	case unix.PROC_SUPER_MAGIC, unix.SYSFS_MAGIC, unix.DEBUGFS_MAGIC, unix.SECURITYFS_MAGIC:
		return errors.New("refusing to read a kernel pseudo-file through the guest tree")
	}
	return nil
}
