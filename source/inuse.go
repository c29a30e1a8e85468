package source

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/xenify/xenify/run"
	"github.com/xenify/xenify/xerr"
)

// hostDisk is one SOURCE path as found on the host.
type hostDisk struct {
	Path  string // as given
	Real  string // absolute, symlinks resolved
	Block bool
	Size  int64
	File  *os.File // opened read-only; discovery reads through it
	Dev   uint64   // st_dev (files)
	Ino   uint64
	Rdev  uint64 // device number (block devices)
}

// sysName returns the kernel name of a block device ("sdb", "sdb2",
// "dm-3") from /sys/dev/block/MAJ:MIN.
func sysName(rdev uint64) string {
	link, err := os.Readlink(fmt.Sprintf("/sys/dev/block/%d:%d", unix.Major(rdev), unix.Minor(rdev)))
	if err != nil {
		return ""
	}
	return filepath.Base(link)
}

// relatedDevices returns the kernel names and MAJ:MIN of a block device
// and of its partitions.
func relatedDevices(rdev uint64) (names []string, majmin []string) {
	name := sysName(rdev)
	if name == "" {
		return nil, []string{fmt.Sprintf("%d:%d", unix.Major(rdev), unix.Minor(rdev))}
	}
	names = append(names, name)
	majmin = append(majmin, fmt.Sprintf("%d:%d", unix.Major(rdev), unix.Minor(rdev)))
	entries, _ := os.ReadDir("/sys/class/block/" + name)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), name) {
			continue
		}
		d, err := os.ReadFile(filepath.Join("/sys/class/block", name, e.Name(), "dev"))
		if err != nil {
			continue
		}
		names = append(names, e.Name())
		majmin = append(majmin, strings.TrimSpace(string(d)))
	}
	return names, majmin
}

// checkNotInUse refuses a source that something else uses: mounted
// (itself, a partition of it, or a loop device backed by it), held by
// device-mapper or md (holders), attached to a running Xen domain, or
// open for writing by another process.
func checkNotInUse(ctx context.Context, d *hostDisk) error {
	refuse := func(fix, format string, args ...any) error {
		return &xerr.Refused{Msg: fmt.Sprintf("SOURCE %s ", d.Path) + fmt.Sprintf(format, args...) + "; xenify wrote nothing", Fix: fix}
	}
	mis, err := readMountInfo()
	if err != nil {
		return fmt.Errorf("reading mount table: %w", err)
	}
	mountedAt := func(majmin []string) string {
		for _, mi := range mis {
			for _, mm := range majmin {
				if mi.MajMin == mm {
					return mi.Point
				}
			}
		}
		return ""
	}
	if d.Block {
		names, majmin := relatedDevices(d.Rdev)
		if p := mountedAt(majmin); p != "" {
			return refuse("unmount it first (the guest must not be running while it is converted)", "is mounted at %s", p)
		}
		for _, n := range names {
			hs, _ := os.ReadDir("/sys/class/block/" + n + "/holders")
			if len(hs) > 0 {
				return refuse("deactivate what holds it (vgchange -an VG, mdadm --stop), or pass the LV or array device itself", "is in use: /dev/%s is held by %s (device-mapper or md)", n, hs[0].Name())
			}
		}
	} else {
		loops, err := loopsBacking(d.Dev, d.Ino)
		if err != nil {
			return fmt.Errorf("listing loop devices: %w", err)
		}
		if len(loops) > 0 {
			l := loops[0]
			st, err := os.Stat(l.Dev)
			where := ""
			if err == nil {
				_, mm := relatedDevices(uint64(st.Sys().(*syscall.Stat_t).Rdev))
				if p := mountedAt(mm); p != "" {
					where = ", mounted at " + p
				}
			}
			return refuse(fmt.Sprintf("unmount it and detach the loop device (losetup -d %s); if a killed xenify left it, run 'xenify cleanup'", l.Dev),
				"is attached as %s (offset %d)%s", l.Dev, l.Offset, where)
		}
	}
	if pid, comm := otherWriter(d); pid > 0 {
		return refuse("stop that process (a running VM or a copy in progress) before converting", "is open for writing by process %d (%s)", pid, comm)
	}
	if dom := domainUsing(ctx, d); dom != "" {
		return refuse("shut the domain down first", "is a disk of the running Xen domain %s", dom)
	}
	return nil
}

// otherWriter scans /proc/*/fd for another process holding the source
// open for writing (O_WRONLY or O_RDWR in /proc/PID/fdinfo). This catches
// any writer (qemu, dd, a running domain's backend), unlike a lock probe,
// which only sees cooperative lockers. Processes in other PID namespaces
// are not visible.
func otherWriter(d *hostDisk) (int, string) {
	self := os.Getpid()
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, ""
	}
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == self {
			continue
		}
		fdDir := "/proc/" + p.Name() + "/fd"
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			var st unix.Stat_t
			if unix.Stat(fdDir+"/"+fd.Name(), &st) != nil {
				continue
			}
			same := false
			if d.Block {
				same = st.Mode&unix.S_IFMT == unix.S_IFBLK && st.Rdev == d.Rdev
			} else {
				same = st.Mode&unix.S_IFMT == unix.S_IFREG && st.Dev == d.Dev && st.Ino == d.Ino
			}
			if !same {
				continue
			}
			info, err := os.ReadFile("/proc/" + p.Name() + "/fdinfo/" + fd.Name())
			if err != nil {
				continue
			}
			if writeFlags(string(info)) {
				comm, _ := os.ReadFile("/proc/" + p.Name() + "/comm")
				return pid, strings.TrimSpace(string(comm))
			}
		}
	}
	return 0, ""
}

// writeFlags reports whether an fdinfo text has O_WRONLY or O_RDWR.
func writeFlags(fdinfo string) bool {
	for _, l := range strings.Split(fdinfo, "\n") {
		if v, ok := strings.CutPrefix(l, "flags:"); ok {
			f, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			return err == nil && f&unix.O_ACCMODE != unix.O_RDONLY
		}
	}
	return false
}

// domainUsing asks the toolstack (xl, else xm) whether a running domain
// has the source as a disk. Without a toolstack, or without a running
// hypervisor, it reports nothing.
func domainUsing(ctx context.Context, d *hostDisk) string {
	for _, ts := range [][]string{{run.Xl, "list", "-l"}, {run.Xm, "list", "--long"}} {
		if _, err := exec.LookPath(ts[0]); err != nil {
			continue
		}
		out, err := runner().Run(ctx, run.Cmd{Argv: ts})
		if err != nil {
			continue
		}
		text := string(out)
		for _, p := range []string{d.Path, d.Real} {
			if i := strings.Index(text, p); i >= 0 && p != "" {
				return domainNameNear(text, i)
			}
		}
		return ""
	}
	return ""
}

// domainNameNear finds the nearest preceding domain name in `xl list -l`
// JSON ("name": "x") or `xm list --long` s-expressions ((name x)).
func domainNameNear(text string, i int) string {
	before := text[:i]
	if j := strings.LastIndex(before, `"name": "`); j >= 0 {
		rest := before[j+len(`"name": "`):]
		if k := strings.IndexByte(rest, '"'); k >= 0 {
			return rest[:k]
		}
	}
	if j := strings.LastIndex(before, "(name "); j >= 0 {
		rest := before[j+len("(name "):]
		if k := strings.IndexByte(rest, ')'); k >= 0 {
			return rest[:k]
		}
	}
	return "(unknown name)"
}
