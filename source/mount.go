package source

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xenify/xenify/disk/fsprobe"
	"github.com/xenify/xenify/guest"
)

// mountOptions returns the kernel filesystem type(s) to try and the
// mount data for a volume. Read-only mounts never replay a journal or
// log (noload, norecovery, nologreplay), so an image stays byte-identical.
func mountOptions(p fsprobe.Result, rw bool) (types []string, data string) {
	switch p.Type {
	case fsprobe.Ext2, fsprobe.Ext3, fsprobe.Ext4:
		types = []string{p.Type, fsprobe.Ext4}
		if p.Type == fsprobe.Ext4 {
			types = types[:1]
		}
		if !rw {
			data = "noload"
		}
	case fsprobe.XFS:
		types = []string{"xfs"}
		if !rw {
			data = "norecovery"
		}
	case fsprobe.Btrfs:
		types = []string{"btrfs"}
		if !rw {
			data = "rescue=nologreplay"
		}
	default:
		types = []string{p.Type}
	}
	return types, data
}

// mountAt mounts dev on target (a host path, or /proc/self/fd/N of a
// directory opened through the guest resolver). record is the host path
// the mount will be known by, written to the session before mounting.
// extra are further mount options (a btrfs "subvol=root").
func mountAt(s *session, dev, target, record string, p fsprobe.Result, rw bool, extra string) (func() error, error) {
	id, err := s.begin(Item{Kind: "mount", Path: record})
	if err != nil {
		return nil, err
	}
	types, data := mountOptions(p, rw)
	if extra != "" {
		if data != "" {
			data += ","
		}
		data += extra
	}
	flags := uintptr(unix.MS_NODEV | unix.MS_NOSUID)
	if !rw {
		flags |= unix.MS_RDONLY
	}
	var errs []error
	for _, t := range types {
		err = unix.Mount(dev, target, t, flags, data)
		if err == nil {
			break
		}
		errs = append(errs, fmt.Errorf("as %s: %w", t, err))
	}
	if err != nil {
		s.end(id)
		return nil, fmt.Errorf("mounting %s on %s: %w", dev, record, errors.Join(errs...))
	}
	return func() error {
		if err := unmount(record, rw); err != nil {
			return err
		}
		return s.end(id)
	}, nil
}

// bindAt makes a non-recursive bind mount of src at target: the
// filesystem of src without anything mounted below it. record is the
// host path the mount will be known by (target, unless target is a
// /proc/self/fd path), written to the session before mounting. A
// read-only bind is remounted so: a bind does not inherit read-only.
func bindAt(s *session, src, target, record string, rw bool) (func() error, error) {
	id, err := s.begin(Item{Kind: "mount", Path: record})
	if err != nil {
		return nil, err
	}
	if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
		s.end(id)
		return nil, fmt.Errorf("bind-mounting %s on %s: %w", src, record, err)
	}
	release := func() error {
		if err := unmount(record, rw); err != nil {
			return err
		}
		return s.end(id)
	}
	if !rw {
		if err := unix.Mount("", target, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, ""); err != nil {
			release()
			return nil, fmt.Errorf("making %s read-only: %w", record, err)
		}
	}
	return release, nil
}

// unmount unmounts path. A read-write filesystem is unmounted normally
// (waiting a little for late users, so it is left clean); a busy one, or
// any read-only one, is detached lazily.
func unmount(path string, rw bool) error {
	if rw {
		var err error
		for range 40 {
			err = unix.Unmount(path, unix.UMOUNT_NOFOLLOW)
			if err != unix.EBUSY {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err == nil || err == unix.EINVAL || err == unix.ENOENT {
			return nil
		}
		slog.Warn("filesystem busy, detaching it lazily", "path", path, "err", err)
	}
	err := unix.Unmount(path, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
	if err == nil || err == unix.EINVAL || err == unix.ENOENT {
		return nil
	}
	return fmt.Errorf("unmounting %s: %w", path, err)
}

// mountPoint opens a guest directory through the root-confined resolver
// and returns the /proc/self/fd path to mount on, the host path the mount
// will have, and a closer for the descriptor. The directory is resolved
// once: the host path is read back from the open descriptor, so it names
// the directory mounted on even if the guest tree changes meanwhile.
func mountPoint(root *guest.Root, mp string) (target, real string, closeFn func(), err error) {
	f, err := root.OpenFile(mp)
	if err != nil {
		return "", "", nil, err
	}
	st, err := f.Stat()
	if err != nil || !st.IsDir() {
		f.Close()
		return "", "", nil, fmt.Errorf("%s is not a directory in the guest", mp)
	}
	target = fmt.Sprintf("/proc/self/fd/%d", f.Fd())
	real, err = os.Readlink(target)
	if err != nil || (real != root.Dir() && !strings.HasPrefix(real, root.Dir()+"/")) {
		f.Close()
		return "", "", nil, fmt.Errorf("%s in the guest: its host path %q is not below the guest root %s (%v)", mp, real, root.Dir(), err)
	}
	return target, real, func() { f.Close() }, nil
}

// mountInfo is one line of /proc/self/mountinfo.
type mountInfo struct {
	MajMin string // "7:3"
	Point  string
	Source string
}

func readMountInfo() ([]mountInfo, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []mountInfo
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 {
			continue
		}
		mi := mountInfo{MajMin: fields[2], Point: unescapeMount(fields[4])}
		for i := 6; i < len(fields)-2; i++ {
			if fields[i] == "-" {
				mi.Source = unescapeMount(fields[i+2])
				break
			}
		}
		out = append(out, mi)
	}
	return out, sc.Err()
}

// unescapeMount undoes the octal escapes of mountinfo (\040 for space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			o := s[i+1 : i+4]
			if o[0] >= '0' && o[0] <= '3' && o[1] >= '0' && o[1] <= '7' && o[2] >= '0' && o[2] <= '7' {
				b.WriteByte((o[0]-'0')<<6 | (o[1]-'0')<<3 | (o[2] - '0'))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountsUnder returns the mount points at or below dir, deepest first.
func mountsUnder(dir string) ([]string, error) {
	mis, err := readMountInfo()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, mi := range mis {
		if mi.Point == dir || strings.HasPrefix(mi.Point, dir+"/") {
			out = append(out, mi.Point)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return strings.Count(out[i], "/") > strings.Count(out[j], "/") })
	return out, nil
}
