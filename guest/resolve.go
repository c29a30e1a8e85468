// Package guest gives root-confined access to a guest's root filesystem.
//
// Every path handed to a Root is a guest path ("/etc/fstab") and is resolved
// exactly as chroot(2) would resolve it: absolute symlinks are re-rooted at
// the guest root and ".." never climbs above it. Nothing a hostile guest puts
// in its tree can make xenify read or write a host file.
//
// Reads use openat2(2) with RESOLVE_IN_ROOT, so the kernel does the
// confinement. Where openat2 is missing (Linux < 5.6) a userspace walk does
// the same, one component at a time with O_NOFOLLOW, re-rooting every link.
// Writes are atomic (temp file, fsync, rename) and land on the symlink's
// final target inside the root, never on the link itself.
package guest

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// maxSymlinks bounds symlink expansion, like the kernel's MAXSYMLINKS (40).
const maxSymlinks = 40

// errTooManyLinks is returned for symlink loops.
var errTooManyLinks = errors.New("too many levels of symbolic links")

// clean turns any guest path into an absolute, lexically clean guest path.
func clean(p string) string {
	return path.Clean("/" + p)
}

// components splits a guest path into its names without interpreting "..":
// that is the walk's job, on the canonical path.
func components(p string) []string {
	return strings.Split(p, "/")
}

// Realpath returns the canonical guest path of p with every symlink
// resolved inside the root. The final component need not exist (as with
// `realpath -m` for the last name only); a dangling final symlink is
// followed to where it points, which is where a write would create the file.
func (r *Root) Realpath(p string) (string, error) {
	resolved, err := r.walk(p, true)
	if err != nil {
		return "", &fs.PathError{Op: "resolve", Path: p, Err: err}
	}
	return resolved, nil
}

// RealpathMissing is Realpath that also accepts missing directories
// before the final name: it resolves as far as the tree exists and
// appends the rest, which is where MkdirAll and WriteFile would create it.
func (r *Root) RealpathMissing(p string) (string, error) {
	rr := *r
	rr.missingTailOK = true
	return rr.Realpath(p)
}

// walk resolves p component by component. Each step opens the next name
// with O_PATH|O_NOFOLLOW relative to the previous directory, so no step can
// be redirected outside the root by a symlink; links are read and their
// targets pushed back onto the work list, absolute ones from the root.
// It returns the canonical path. With followLast false a final symlink is
// not expanded. A missing component is allowed only in final position.
func (r *Root) walk(p string, followLast bool) (string, error) {
	todo := components(p)
	var stack []string // canonical components so far
	links := 0
	for len(todo) > 0 {
		name := todo[0]
		todo = todo[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		dir := "/" + strings.Join(stack, "/")
		dfd, err := r.openDirNoFollowChain(stack)
		if err != nil {
			return "", err
		}
		var st unix.Stat_t
		err = unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err != nil {
			unix.Close(dfd)
			if errors.Is(err, unix.ENOENT) && (len(todo) == 0 || r.missingTailOK) {
				// The rest does not exist yet: it is where a write would
				// create it. ".." in a missing tail is refused, since
				// its meaning would depend on what gets created.
				rest := path.Join(append([]string{dir, name}, todo...)...)
				for _, t := range todo {
					if t == ".." {
						return "", unix.ENOENT
					}
				}
				return rest, nil
			}
			return "", err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFLNK || (len(todo) == 0 && !followLast) {
			unix.Close(dfd)
			if len(todo) > 0 && st.Mode&unix.S_IFMT != unix.S_IFDIR {
				return "", unix.ENOTDIR
			}
			stack = append(stack, name)
			continue
		}
		target, err := readlinkat(dfd, name)
		unix.Close(dfd)
		if err != nil {
			return "", err
		}
		links++
		if links > maxSymlinks {
			return "", errTooManyLinks
		}
		if strings.HasPrefix(target, "/") {
			stack = stack[:0] // absolute links are re-rooted at the guest root
		}
		// ".." in a target is applied to the canonical stack, as the kernel
		// does, never lexically to the target string.
		todo = append(strings.Split(target, "/"), todo...)
	}
	return "/" + strings.Join(stack, "/"), nil
}

// openDirNoFollowChain opens the directory named by canonical components,
// refusing symlinks at every step (the components are already canonical).
func (r *Root) openDirNoFollowChain(stack []string) (int, error) {
	fd, err := unix.Openat(r.fd, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	for _, name := range stack {
		if name == "" {
			continue
		}
		next, err := unix.Openat(fd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(fd)
		if err != nil {
			return -1, err
		}
		fd = next
	}
	return fd, nil
}

func readlinkat(dfd int, name string) (string, error) {
	buf := make([]byte, 4096)
	n, err := unix.Readlinkat(dfd, name, buf)
	if err != nil {
		return "", err
	}
	if n >= len(buf) {
		return "", fmt.Errorf("symlink target too long")
	}
	return string(buf[:n]), nil
}
