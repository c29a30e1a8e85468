package guest

import (
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// At is a guest path resolved once: a descriptor of its directory and
// the final name in it. Everything done through an At (reading what is
// there for the journal, then replacing it) acts on that directory,
// whatever happens to the path's other components in between: a tree
// that changes between the journal record and the write cannot make the
// two reach different files.
type At struct {
	dfd  int    // O_PATH descriptor of the directory
	name string // final name in it, never "", "." or ".."
	path string // canonical guest path, for messages and the journal
}

// ResolveAt resolves p to an At. With followLast, a final symlink is
// followed to where it points (where a write lands, as WriteFile does);
// without it the At names the link itself. The directory must exist;
// the final name need not. The guest root itself has no At.
func (r *Root) ResolveAt(p string, followLast bool) (*At, error) {
	real, err := r.walk(p, followLast)
	if err != nil {
		return nil, &fs.PathError{Op: "resolve", Path: p, Err: err}
	}
	dfd, base, err := r.parent(real)
	if err != nil {
		return nil, &fs.PathError{Op: "resolve", Path: p, Err: err}
	}
	return &At{dfd: dfd, name: base, path: real}, nil
}

// Close releases the directory descriptor.
func (a *At) Close() error { return unix.Close(a.dfd) }

// Path is the canonical guest path the At was resolved to.
func (a *At) Path() string { return a.path }

func (a *At) err(op string, err error) error { return &fs.PathError{Op: op, Path: a.path, Err: err} }

// open opens the name itself (a symlink is not followed) as O_PATH.
func (a *At) open() (*os.File, error) {
	fd, err := unix.Openat(a.dfd, a.name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), a.name), nil
}

// Lstat describes what the name is now (a symlink itself, not its target).
func (a *At) Lstat() (fs.FileInfo, error) {
	f, err := a.open()
	if err != nil {
		return nil, a.err("lstat", err)
	}
	defer f.Close()
	// Fstat of an O_PATH|O_NOFOLLOW descriptor describes the link itself.
	return f.Stat()
}

// Meta returns the metadata of the name itself.
func (a *At) Meta() (Meta, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(a.dfd, a.name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return Meta{}, a.err("meta", err)
	}
	m := Meta{Mode: modeFromStat(st.Mode), UID: int(st.Uid), GID: int(st.Gid)}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		m.SELinux = getLabel(a.dfd, a.name)
	}
	return m, nil
}

// Readlink returns the target of the symlink the name is.
func (a *At) Readlink() (string, error) {
	t, err := readlinkat(a.dfd, a.name)
	if err != nil {
		return "", a.err("readlink", err)
	}
	return t, nil
}

// ReadFile reads the regular file the name is, with the checks of
// Root.ReadFile (no FIFO, device, socket, huge or pseudo-file; a symlink
// is not followed).
func (a *At) ReadFile() ([]byte, error) {
	f, err := a.open()
	if err != nil {
		return nil, a.err("open", err)
	}
	defer f.Close()
	rf, err := openChecked(int(f.Fd()), false, a.path)
	if err != nil {
		return nil, err
	}
	defer rf.Close()
	return readCapped(rf, a.path)
}

// DirModTime is the modification time (Unix ns) of the directory, 0
// when unknown.
func (a *At) DirModTime() int64 {
	var st unix.Stat_t
	if unix.Fstat(a.dfd, &st) != nil {
		return 0
	}
	return st.Mtim.Nano()
}

// WriteFile atomically replaces (or creates) the name with data and
// meta: a temporary file in the same directory, fsync, owner, mode and
// SELinux label, rename over the name, fsync of the directory. What was
// there (a symlink too) is replaced, not followed: resolve with
// followLast to write a link's target.
func (a *At) WriteFile(data []byte, meta Meta) error {
	// O_PATH descriptors cannot be fsynced; reopen the directory for that.
	syncfd, err := unix.Openat(a.dfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return a.err("write", err)
	}
	defer unix.Close(syncfd)
	tmp := ".xenify-" + randomSuffix() + "-" + a.name
	if len(tmp) > 255 {
		tmp = tmp[:255]
	}
	fd, err := unix.Openat(syncfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return a.err("write", err)
	}
	f := os.NewFile(uintptr(fd), tmp)
	ok := false
	defer func() {
		if !ok {
			unix.Unlinkat(syncfd, tmp, 0)
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return a.err("write", err)
	}
	if err := setMetaFD(int(f.Fd()), meta); err != nil {
		f.Close()
		return a.err("write", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return a.err("write", err)
	}
	if err := f.Close(); err != nil {
		return a.err("write", err)
	}
	if err := unix.Renameat(syncfd, tmp, syncfd, a.name); err != nil {
		return a.err("write", err)
	}
	ok = true
	return unix.Fsync(syncfd)
}

// Mkdir creates the directory with meta. A directory already there is
// accepted and left as it is (its metadata included); anything else
// there, a symlink to a directory too, is an error.
func (a *At) Mkdir(meta Meta) error {
	if err := unix.Mkdirat(a.dfd, a.name, 0o700); err != nil {
		if err == unix.EEXIST && isDirAt(a.dfd, a.name) {
			return nil
		}
		return a.err("mkdir", err)
	}
	fd, err := unix.Openat(a.dfd, a.name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return a.err("mkdir", err)
	}
	defer unix.Close(fd)
	if err := setMetaFD(fd, meta); err != nil {
		return a.err("mkdir", err)
	}
	return nil
}

// Remove removes the name itself (a symlink, a file or an empty
// directory).
func (a *At) Remove() error {
	err := unix.Unlinkat(a.dfd, a.name, 0)
	if err == unix.EISDIR {
		err = unix.Unlinkat(a.dfd, a.name, unix.AT_REMOVEDIR)
	}
	if err != nil {
		return a.err("remove", err)
	}
	return nil
}

// isDirAt reports whether name in dfd is a directory itself (a symlink is
// not followed).
func isDirAt(dfd int, name string) bool {
	var st unix.Stat_t
	return unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR
}

// with resolves p and runs f on its At.
func (r *Root) with(p string, followLast bool, f func(a *At) error) error {
	a, err := r.ResolveAt(p, followLast)
	if err != nil {
		return err
	}
	defer a.Close()
	return f(a)
}
