package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/xenify/xenify/run"
)

// loopInfo is an attached loop device and what backs it.
type loopInfo struct {
	Dev      string // /dev/loopN
	Major    uint32
	Minor    uint32
	Backing  string // as the kernel recorded it (possibly truncated)
	BDev     uint64 // st_dev of the backing file
	Ino      uint64
	Offset   int64
	ReadOnly bool
}

// attachedLoops lists every attached loop device with its backing file
// identity, read with LOOP_GET_STATUS64 (what `losetup -j` does).
func attachedLoops() ([]loopInfo, error) {
	entries, err := os.ReadDir("/sys/block")
	if err != nil {
		return nil, err
	}
	var out []loopInfo
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "loop") {
			continue
		}
		backing, err := os.ReadFile(filepath.Join("/sys/block", name, "loop", "backing_file"))
		if err != nil {
			continue // not attached
		}
		li := loopInfo{Dev: "/dev/" + name, Backing: strings.TrimSpace(string(backing))}
		if ro, err := os.ReadFile(filepath.Join("/sys/block", name, "ro")); err == nil {
			li.ReadOnly = strings.TrimSpace(string(ro)) == "1"
		}
		fd, err := unix.Open(li.Dev, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		st, err := unix.IoctlLoopGetStatus64(fd)
		unix.Close(fd)
		if err != nil {
			continue
		}
		li.BDev, li.Ino, li.Offset = st.Device, st.Inode, int64(st.Offset)
		out = append(out, li)
	}
	return out, nil
}

// loopsBacking returns the loop devices whose backing file is the inode
// (dev, ino).
func loopsBacking(dev, ino uint64) ([]loopInfo, error) {
	all, err := attachedLoops()
	if err != nil {
		return nil, err
	}
	var out []loopInfo
	for _, l := range all {
		if l.BDev == dev && l.Ino == ino {
			out = append(out, l)
		}
	}
	return out, nil
}

// fileID returns st_dev and st_ino of a path.
func fileID(path string) (dev, ino uint64, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, 0, err
	}
	sys := st.Sys().(*syscall.Stat_t)
	return uint64(sys.Dev), sys.Ino, nil
}

// attachLoop attaches bytes [off, off+size) of backing as a loop device,
// read-only unless rw, recording the attachment in the session first.
// The returned release detaches it.
func attachLoop(ctx context.Context, r run.Runner, s *session, backing string, off, size int64, rw bool) (string, func() error, error) {
	dev, ino, err := fileID(backing)
	if err != nil {
		return "", nil, err
	}
	id, err := s.begin(Item{Kind: "loop", Backing: backing, Dev: dev, Ino: ino, Offset: off})
	if err != nil {
		return "", nil, err
	}
	argv := []string{run.Losetup, "--find", "--show"}
	if !rw {
		argv = append(argv, "--read-only")
	}
	argv = append(argv, "--offset", strconv.FormatInt(off, 10), "--sizelimit", strconv.FormatInt(size, 10), backing)
	out, err := r.Run(ctx, run.Cmd{Argv: argv})
	loop := strings.TrimSpace(string(out))
	if err != nil || !strings.HasPrefix(loop, "/dev/loop") {
		// losetup may have attached before failing; find it by identity.
		detachMatching(dev, ino, off)
		s.end(id)
		if err == nil {
			err = fmt.Errorf("losetup printed %q, want a loop device", loop)
		}
		return "", nil, fmt.Errorf("attaching %s at offset %d: %w", backing, off, err)
	}
	if err := s.update(id, func(it *Item) { it.Loop = loop }); err != nil {
		detachLoop(loop)
		s.end(id)
		return "", nil, err
	}
	release := func() error {
		if err := detachLoop(loop); err != nil {
			return err
		}
		return s.end(id)
	}
	if rw {
		// losetup silently falls back to read-only for a file it cannot
		// open for writing.
		if ro, _ := os.ReadFile("/sys/block/" + filepath.Base(loop) + "/ro"); strings.TrimSpace(string(ro)) == "1" {
			release()
			return "", nil, fmt.Errorf("%s cannot be opened for writing (losetup attached it read-only)", backing)
		}
	}
	return loop, release, nil
}

// detachLoop detaches a loop device with LOOP_CLR_FD. A device still in
// use (a lazily unmounted filesystem) is detached by the kernel when its
// last user goes away (the ioctl sets autoclear and reports success).
func detachLoop(loop string) error {
	argv := []string{run.Losetup, "--detach", loop}
	_, err := runner().Run(context.Background(), run.Cmd{Argv: argv})
	if err != nil {
		if _, serr := os.Stat("/sys/block/" + filepath.Base(loop) + "/loop/backing_file"); errors.Is(serr, os.ErrNotExist) {
			return nil // already gone
		}
		return fmt.Errorf("detaching %s: %w", loop, err)
	}
	return nil
}

// detachMatching detaches loop devices backed by (dev, ino) at off.
func detachMatching(dev, ino uint64, off int64) error {
	loops, err := loopsBacking(dev, ino)
	if err != nil {
		return err
	}
	var errs []error
	for _, l := range loops {
		if l.Offset == off {
			if err := detachLoop(l.Dev); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
