package guest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"time"

	"golang.org/x/sys/unix"
)

// Meta is the metadata xenify preserves for every file it touches.
type Meta struct {
	Mode    fs.FileMode `json:"mode"` // permission and type bits (fs.ModeSymlink, fs.ModeDir)
	UID     int         `json:"uid"`
	GID     int         `json:"gid"`
	SELinux string      `json:"selinux,omitempty"` // security.selinux label, if any
}

const selinuxXattr = "security.selinux"

// Meta returns the metadata of p itself (a symlink is not followed).
func (r *Root) Meta(p string) (Meta, error) {
	var m Meta
	err := r.with(p, false, func(a *At) (err error) { m, err = a.Meta(); return err })
	return m, err
}

func modeFromStat(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	if m&unix.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFREG:
	default:
		mode |= fs.ModeIrregular
	}
	return mode
}

func unixPerm(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= unix.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		u |= unix.S_ISGID
	}
	if m&fs.ModeSticky != 0 {
		u |= unix.S_ISVTX
	}
	return u
}

// getLabel reads the SELinux label of dir/name through /proc/self/fd, which
// works for any file type without following a final symlink.
func getLabel(dfd int, name string) string {
	fd, err := unix.Openat(dfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return ""
	}
	defer unix.Close(fd)
	buf := make([]byte, 256)
	n, err := unix.Getxattr(fmt.Sprintf("/proc/self/fd/%d", fd), selinuxXattr, buf)
	if err != nil || n <= 0 {
		return ""
	}
	return string(buf[:n])
}

// parent opens the directory of the canonical path real and returns it
// with the final name.
func (r *Root) parent(real string) (int, string, error) {
	dir, base := path.Split(real)
	if base == "" {
		return -1, "", errors.New("the guest root itself has no parent")
	}
	dfd, err := r.openDirNoFollowChain(components(path.Clean(dir))[1:])
	if err != nil {
		return -1, "", err
	}
	return dfd, base, nil
}

// WriteFile atomically replaces (or creates) the file p with data and meta:
// it writes a temporary file in the same directory, fsyncs it, sets owner,
// mode and SELinux label, renames it over the target and fsyncs the
// directory. If p is a symlink, its final target inside the root is
// written and the link is kept.
func (r *Root) WriteFile(p string, data []byte, meta Meta) error {
	return r.with(p, true, func(a *At) error { return a.WriteFile(data, meta) })
}

func setMetaFD(fd int, meta Meta) error {
	if err := unix.Fchown(fd, meta.UID, meta.GID); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	// chmod after chown: chown clears setuid/setgid bits.
	if err := unix.Fchmod(fd, unixPerm(meta.Mode)); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	if meta.SELinux != "" {
		if err := unix.Fsetxattr(fd, selinuxXattr, []byte(meta.SELinux), 0); err != nil && !errors.Is(err, unix.ENOTSUP) && !errors.Is(err, unix.EOPNOTSUPP) {
			return fmt.Errorf("setting SELinux label: %w", err)
		}
	}
	return nil
}

// Symlink creates (or atomically replaces) the symlink p pointing at target.
func (r *Root) Symlink(target, p string, meta Meta) error {
	real, err := r.walk(p, false)
	if err != nil {
		return &fs.PathError{Op: "symlink", Path: p, Err: err}
	}
	dfd, base, err := r.parent(real)
	if err != nil {
		return &fs.PathError{Op: "symlink", Path: p, Err: err}
	}
	defer unix.Close(dfd)
	tmp := ".xenify-" + randomSuffix() + "-link"
	if err := unix.Symlinkat(target, dfd, tmp); err != nil {
		return &fs.PathError{Op: "symlink", Path: p, Err: err}
	}
	if err := unix.Fchownat(dfd, tmp, meta.UID, meta.GID, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		unix.Unlinkat(dfd, tmp, 0)
		return &fs.PathError{Op: "symlink", Path: p, Err: err}
	}
	if err := unix.Renameat(dfd, tmp, dfd, base); err != nil {
		unix.Unlinkat(dfd, tmp, 0)
		return &fs.PathError{Op: "symlink", Path: p, Err: err}
	}
	return nil
}

// Mkdir creates the directory p (its parent must exist) with meta. A
// directory already there is accepted and left as it is (its metadata
// included); anything else there, a symlink to a directory too, is an
// error.
func (r *Root) Mkdir(p string, meta Meta) error {
	return r.with(p, true, func(a *At) error { return a.Mkdir(meta) })
}

// MkdirAll creates p and any missing parents, each with mode 0755 owned by
// root, and returns the directories it created, outermost first, so the
// journal can remove exactly those on rollback.
func (r *Root) MkdirAll(p string) ([]string, error) {
	real, err := r.RealpathMissing(p)
	if err != nil {
		return nil, &fs.PathError{Op: "mkdir", Path: p, Err: err}
	}
	var created []string
	cur := "/"
	for _, name := range components(real)[1:] {
		if name == "" {
			continue
		}
		cur = path.Join(cur, name)
		st, err := r.Lstat(cur)
		if err == nil {
			if !st.IsDir() {
				return created, &fs.PathError{Op: "mkdir", Path: cur, Err: unix.ENOTDIR}
			}
			continue
		}
		if err := r.Mkdir(cur, Meta{Mode: 0o755 | fs.ModeDir}); err != nil {
			return created, err
		}
		created = append(created, cur)
	}
	return created, nil
}

// Remove removes p itself (a symlink, a file or an empty directory).
func (r *Root) Remove(p string) error {
	return r.with(p, false, func(a *At) error { return a.Remove() })
}

// SetMeta sets owner, mode and SELinux label of p itself.
// Like the reads, it opens only a regular file or a directory (a FIFO's
// open would block).
func (r *Root) SetMeta(p string, meta Meta) error {
	pfd, err := r.openFD(p, unix.O_PATH|unix.O_NOFOLLOW, 0)
	if err != nil {
		return &fs.PathError{Op: "setmeta", Path: p, Err: err}
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return &fs.PathError{Op: "setmeta", Path: p, Err: err}
	}
	if t := st.Mode & unix.S_IFMT; t != unix.S_IFREG && t != unix.S_IFDIR {
		return &fs.PathError{Op: "setmeta", Path: p, Err: fmt.Errorf("%w (%s)", ErrNotRegular, fileType(st.Mode))}
	}
	fd, err := reopen(pfd, unix.O_RDONLY)
	if err != nil {
		return &fs.PathError{Op: "setmeta", Path: p, Err: err}
	}
	defer unix.Close(fd)
	if err := setMetaFD(fd, meta); err != nil {
		return &fs.PathError{Op: "setmeta", Path: p, Err: err}
	}
	return nil
}

// SetModTime sets the modification (and access) time of p itself; a
// symlink is not followed.
func (r *Root) SetModTime(p string, t time.Time) error {
	real, err := r.walk(p, false)
	if err != nil {
		return &fs.PathError{Op: "setmodtime", Path: p, Err: err}
	}
	ts := unix.NsecToTimespec(t.UnixNano())
	dfd, name := r.fd, "."
	if real != "/" {
		if dfd, name, err = r.parent(real); err != nil {
			return &fs.PathError{Op: "setmodtime", Path: p, Err: err}
		}
		defer unix.Close(dfd)
	}
	if err := unix.UtimesNanoAt(dfd, name, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "setmodtime", Path: p, Err: err}
	}
	return nil
}

func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}
