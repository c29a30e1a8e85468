package p2v

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Refusals. Copy returns errors wrapping these before it writes anything.
var (
	// ErrSameDevice: the destination is the source, or overlaps it (a
	// partition of the source disk, a loop device backed by the source...).
	ErrSameDevice = errors.New("destination is the source")
	// ErrDestTooSmall: a block device destination is smaller than the
	// source, or the destination filesystem lacks the space for the data.
	ErrDestTooSmall = errors.New("destination too small")
	// ErrDestInUse: the destination is mounted, held by another device
	// (LVM, md, loop), or cannot be opened exclusively.
	ErrDestInUse = errors.New("destination in use")
	// ErrDestExists: the destination file exists with data and there is no
	// checkpoint of ours; set Options.Overwrite to replace it.
	ErrDestExists = errors.New("destination exists")
	// ErrCheckpointMismatch: the checkpoint next to the destination was
	// written for another source or plan.
	ErrCheckpointMismatch = errors.New("checkpoint does not match this copy")
)

// fileID identifies an inode or a device.
type fileID struct {
	path      string
	mode      uint32
	dev, ino  uint64
	rdev      uint64
	size      int64
	isBlock   bool
	isRegular bool
}

func statID(path string) (fileID, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fileID{}, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	return fileID{
		path:      path,
		mode:      st.Mode,
		dev:       st.Dev,
		ino:       st.Ino,
		rdev:      st.Rdev,
		size:      st.Size,
		isBlock:   st.Mode&unix.S_IFMT == unix.S_IFBLK,
		isRegular: st.Mode&unix.S_IFMT == unix.S_IFREG,
	}, nil
}

func fstatID(f *os.File) (fileID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fileID{}, fmt.Errorf("stat %s: %w", f.Name(), err)
	}
	return fileID{
		path: f.Name(), mode: st.Mode, dev: st.Dev, ino: st.Ino, rdev: st.Rdev, size: st.Size,
		isBlock:   st.Mode&unix.S_IFMT == unix.S_IFBLK,
		isRegular: st.Mode&unix.S_IFMT == unix.S_IFREG,
	}, nil
}

func devString(rdev uint64) string {
	return fmt.Sprintf("%d:%d", unix.Major(rdev), unix.Minor(rdev))
}

// deviceSize returns the size of an open regular file or block device.
func deviceSize(f *os.File) (int64, error) {
	id, err := fstatID(f)
	if err != nil {
		return 0, err
	}
	if id.isRegular {
		return id.size, nil
	}
	if !id.isBlock {
		return 0, fmt.Errorf("%s is neither a regular file nor a block device", f.Name())
	}
	n, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, fmt.Errorf("seeking to the end of %s: %w", f.Name(), err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	return n, nil
}

// sysfsDir is where /sys/dev/block lives; tests do not change it, but it
// keeps the sysfs paths in one place.
const sysfsDevBlock = "/sys/dev/block"

// wholeDisk returns the device number of the disk that holds the block
// device rdev (rdev itself for a whole disk).
func wholeDisk(rdev uint64) uint64 {
	dir, err := filepath.EvalSymlinks(filepath.Join(sysfsDevBlock, devString(rdev)))
	if err != nil {
		return rdev
	}
	if _, err := os.Stat(filepath.Join(dir, "partition")); err != nil {
		return rdev
	}
	if d, ok := readDevFile(filepath.Join(filepath.Dir(dir), "dev")); ok {
		return d
	}
	return rdev
}

// partitions returns the device numbers of rdev and its partitions.
func partitions(rdev uint64) []uint64 {
	out := []uint64{rdev}
	dir, err := filepath.EvalSymlinks(filepath.Join(sysfsDevBlock, devString(rdev)))
	if err != nil {
		return out
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "partition")); err != nil {
			continue
		}
		if d, ok := readDevFile(filepath.Join(dir, e.Name(), "dev")); ok {
			out = append(out, d)
		}
	}
	return out
}

func readDevFile(path string) (uint64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	a, z, ok := strings.Cut(strings.TrimSpace(string(b)), ":")
	if !ok {
		return 0, false
	}
	ma, err1 := strconv.ParseUint(a, 10, 32)
	mi, err2 := strconv.ParseUint(z, 10, 32)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return unix.Mkdev(uint32(ma), uint32(mi)), true
}

// holders lists the devices (dm, md, ...) stacked on the block device.
func holders(rdev uint64) []string {
	ents, _ := os.ReadDir(filepath.Join(sysfsDevBlock, devString(rdev), "holders"))
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// loopBacking returns the backing file of a loop device, if rdev is one.
func loopBacking(rdev uint64) (string, bool) {
	b, err := os.ReadFile(filepath.Join(sysfsDevBlock, devString(rdev), "loop", "backing_file"))
	if err != nil {
		return "", false
	}
	return strings.TrimSuffix(strings.TrimSpace(string(b)), " (deleted)"), true
}

// loopsBackedBy returns the loop devices whose backing file is the inode id.
func loopsBackedBy(id fileID) []string {
	ents, _ := os.ReadDir("/sys/block")
	var out []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "loop") {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/sys/block", e.Name(), "loop", "backing_file"))
		if err != nil {
			continue
		}
		st, err := statID(strings.TrimSpace(string(b)))
		if err == nil && st.dev == id.dev && st.ino == id.ino {
			out = append(out, "/dev/"+e.Name())
		}
	}
	return out
}

// mount is one line of /proc/self/mountinfo.
type mount struct {
	dev        uint64
	mountPoint string
	readOnly   bool
}

func mounts() ([]mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []mount
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 {
			continue
		}
		a, z, ok := strings.Cut(fields[2], ":")
		if !ok {
			continue
		}
		ma, err1 := strconv.ParseUint(a, 10, 32)
		mi, err2 := strconv.ParseUint(z, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		ro := false
		for _, o := range strings.Split(fields[5], ",") {
			if o == "ro" {
				ro = true
			}
		}
		out = append(out, mount{dev: unix.Mkdev(uint32(ma), uint32(mi)), mountPoint: fields[4], readOnly: ro})
	}
	return out, sc.Err()
}

// mountedAt returns the mount points of the block device rdev and of its
// partitions.
func mountedAt(rdev uint64, rwOnly bool) ([]string, error) {
	ms, err := mounts()
	if err != nil {
		return nil, fmt.Errorf("reading /proc/self/mountinfo: %w", err)
	}
	devs := partitions(rdev)
	var out []string
	for _, m := range ms {
		if rwOnly && m.readOnly {
			continue
		}
		for _, d := range devs {
			if m.dev == d {
				out = append(out, fmt.Sprintf("%s (%s)", m.mountPoint, devString(d)))
			}
		}
	}
	return out, nil
}

// checkNotSame refuses a destination that is, contains or is contained in
// the source.
func checkNotSame(src, dst fileID) error {
	same := fmt.Errorf("%w: %s and %s are the same", ErrSameDevice, src.path, dst.path)
	switch {
	case src.isRegular && dst.isRegular:
		if src.dev == dst.dev && src.ino == dst.ino {
			return same
		}
	case src.isBlock && dst.isBlock:
		if src.rdev == dst.rdev {
			return same
		}
		if wholeDisk(src.rdev) == dst.rdev || wholeDisk(dst.rdev) == src.rdev {
			return fmt.Errorf("%w: %s and %s are a disk and one of its partitions", ErrSameDevice, src.path, dst.path)
		}
	case src.isRegular && dst.isBlock:
		if b, ok := loopBacking(dst.rdev); ok {
			if st, err := statID(b); err == nil && st.dev == src.dev && st.ino == src.ino {
				return fmt.Errorf("%w: %s is a loop device backed by %s", ErrSameDevice, dst.path, src.path)
			}
		}
	case src.isBlock && dst.isRegular:
		if b, ok := loopBacking(src.rdev); ok {
			if st, err := statID(b); err == nil && st.dev == dst.dev && st.ino == dst.ino {
				return fmt.Errorf("%w: %s is a loop device backed by %s", ErrSameDevice, src.path, dst.path)
			}
		}
	}
	return nil
}

// checkDestFree refuses a block device destination that is mounted or has
// holders, and a file destination that backs a loop device.
func checkDestFree(dst fileID) error {
	if dst.isBlock {
		at, err := mountedAt(dst.rdev, false)
		if err != nil {
			return err
		}
		if len(at) > 0 {
			return fmt.Errorf("%w: %s is mounted at %s", ErrDestInUse, dst.path, strings.Join(at, ", "))
		}
		for _, d := range partitions(dst.rdev) {
			if h := holders(d); len(h) > 0 {
				return fmt.Errorf("%w: %s (%s) is held by %s", ErrDestInUse, dst.path, devString(d), strings.Join(h, ", "))
			}
		}
		return nil
	}
	if l := loopsBackedBy(dst); len(l) > 0 {
		return fmt.Errorf("%w: %s backs loop device %s", ErrDestInUse, dst.path, strings.Join(l, ", "))
	}
	return nil
}
