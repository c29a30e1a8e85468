package guest

import (
	"bytes"
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

// maxOpenat2Retries bounds openat2's EAGAIN retries. The kernel returns
// EAGAIN when a rename or mount raced with a RESOLVE_IN_ROOT lookup; a
// tree that keeps changing (a hostile process renaming in a loop) must
// not keep xenify spinning. After that many, the userspace walk resolves
// the path instead: it takes one component at a time and never retries.
const maxOpenat2Retries = 64

// openat2 is unix.Openat2; tests replace it to simulate a racing tree.
var openat2 = unix.Openat2

// openFD opens guest path p with flags, following symlinks inside the root.
func (r *Root) openFD(p string, flags int, mode uint32) (int, error) {
	if useOpenat2() {
		for i := 0; i < maxOpenat2Retries; i++ {
			fd, err := openat2(r.fd, "/"+p, &unix.OpenHow{
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

// MaxReadSize bounds every read of a guest file, so a hostile guest cannot
// make xenify load a multi-gigabyte "config file" (a sparse grub.cfg)
// into memory. A larger file is refused before a byte is read.
const MaxReadSize = 512 << 20

// ErrNotRegular is the error for a guest file that xenify will not read:
// a FIFO (whose open would block), a device node, a socket.
var ErrNotRegular = errors.New("not a regular file")

// openRead opens guest path p for reading without blocking and without
// opening anything but a regular file (or, with dirOK, a directory).
// p is resolved to an O_PATH descriptor, which opens nothing: a FIFO
// does not block and no device driver is called. The type, the
// filesystem and the size are checked on that descriptor, and only then
// is the file opened, through /proc/self/fd: the same inode, whatever
// the tree does in between.
func (r *Root) openRead(p string, dirOK bool) (*os.File, error) {
	pfd, err := r.openFD(p, unix.O_PATH, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(pfd)
	return openChecked(pfd, dirOK, p)
}

// openChecked checks what the O_PATH descriptor pfd holds (checkReadable)
// and only then opens it for reading; p names it in errors.
func openChecked(pfd int, dirOK bool, p string) (*os.File, error) {
	if err := checkReadable(pfd, dirOK); err != nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	fd, err := reopen(pfd, unix.O_RDONLY)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	return os.NewFile(uintptr(fd), p), nil
}

// readCapped reads all of f, at most MaxReadSize bytes.
func readCapped(f *os.File, p string) ([]byte, error) {
	// Sized from fstat: io.ReadAll's doubling zeroes and copies a
	// kernel or an initrd several times over (a sixth of verify's time).
	size := 0
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() <= MaxReadSize {
		size = int(st.Size())
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxReadSize+1)); err != nil {
		return nil, &fs.PathError{Op: "read", Path: p, Err: err}
	}
	data := buf.Bytes()
	if len(data) > MaxReadSize {
		// It grew while being read.
		return nil, &fs.PathError{Op: "read", Path: p, Err: fmt.Errorf("larger than %d bytes", MaxReadSize)}
	}
	return data, nil
}

// reopen opens the inode an O_PATH descriptor holds, with flags, through
// its /proc/self/fd link: no path is resolved again.
func reopen(pfd, flags int) (int, error) {
	return unix.Open(fmt.Sprintf("/proc/self/fd/%d", pfd), flags|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
}

// checkReadable refuses, on an O_PATH descriptor, what openRead must not
// open: anything but a regular file (or a directory, with dirOK), a file
// larger than MaxReadSize, and files of kernel pseudo-filesystems.
func checkReadable(fd int, dirOK bool) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		if st.Size > MaxReadSize {
			return fmt.Errorf("%d bytes, larger than the %d xenify reads from a guest file", st.Size, MaxReadSize)
		}
	case unix.S_IFDIR:
		if !dirOK {
			return unix.EISDIR
		}
	default:
		return fmt.Errorf("%w (%s); xenify reads only regular files in the guest", ErrNotRegular, fileType(st.Mode))
	}
	return refusePseudoFS(fd)
}

// fileType names a file type for messages.
func fileType(m uint32) string {
	switch m & unix.S_IFMT {
	case unix.S_IFIFO:
		return "a FIFO"
	case unix.S_IFCHR:
		return "a character device"
	case unix.S_IFBLK:
		return "a block device"
	case unix.S_IFSOCK:
		return "a socket"
	case unix.S_IFLNK:
		return "a symlink"
	case unix.S_IFDIR:
		return "a directory"
	}
	return "a regular file"
}

// OpenFile opens a guest file, or a directory, for reading. It refuses
// FIFOs, device nodes, sockets, files larger than MaxReadSize and files
// of kernel pseudo-filesystems, without opening them (see openRead).
func (r *Root) OpenFile(p string) (*os.File, error) {
	return r.openRead(p, true)
}

// ReadFile reads a whole guest file (at most MaxReadSize bytes). Like
// OpenFile, it reads only regular files.
func (r *Root) ReadFile(p string) ([]byte, error) {
	f, err := r.openRead(p, false)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readCapped(f, p)
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
	if real, err := r.walk(p, false); err == nil && real == "/" {
		return r.Stat("/")
	}
	var fi fs.FileInfo
	err := r.with(p, false, func(a *At) (err error) { fi, err = a.Lstat(); return err })
	return fi, err
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
	var t string
	err := r.with(p, false, func(a *At) (err error) { t, err = a.Readlink(); return err })
	return t, err
}

// ReadDir lists the directory p, sorted by name.
func (r *Root) ReadDir(p string) ([]fs.DirEntry, error) {
	f, err := r.openRead(p, true)
	if err != nil {
		return nil, err
	}
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

// refusePseudoFS refuses files on procfs and sysfs: a guest symlink such
// as /etc/modprobe.conf -> /proc/self/environ would otherwise read xenify's
// own process. (Guest commands get their own /proc, in a mount namespace
// xenify never sees: package run's sandbox.)
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
