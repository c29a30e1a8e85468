package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/xenify/xenify/conf/fstab"
	"github.com/xenify/xenify/devmap"
	"github.com/xenify/xenify/disk/fsprobe"
	"github.com/xenify/xenify/guest"
	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/run"
	"github.com/xenify/xenify/xerr"
)

// Runner runs losetup and the toolstack queries; tests may replace it.
var Runner run.Runner

func runner() run.Runner {
	if Runner != nil {
		return Runner
	}
	return run.Exec{} // logs to the context's logger (run.WithLog)
}

// Filesystem is one filesystem (or swap area) of the guest's fstab as
// found on the SOURCE disks.
type Filesystem struct {
	Mount string `json:"mount"` // guest mount point, "swap" for swap
	Spec  string `json:"spec"`  // the fstab spec
	Line  int    `json:"line"`  // fstab line
	Type  string `json:"type"`  // blkid type found on disk
	UUID  string `json:"uuid,omitempty"`
	Label string `json:"label,omitempty"`
	// Where says where it was found ("disk.img partition 2",
	// "VolGroup00/LogVol00 on disk.img partition 2").
	Where string `json:"where"`
	// Backing is the host image file or block device holding it, and
	// Offset/Size its byte range there.
	Backing      string `json:"backing"`
	BackingFile  bool   `json:"backing_file"`
	Offset, Size int64
	// Loop is the loop device it is attached through and HostDir where
	// it is mounted on the host (both empty for swap and unmounted ones).
	Loop    string `json:"loop,omitempty"`
	HostDir string `json:"host_dir,omitempty"`

	vol Volume
}

// openDisks opens disk images and block devices: it discovers their
// filesystems (partition tables, LVM, md RAID1) without device-mapper,
// finds the root filesystem, and mounts it and the guest's other local
// filesystems through loop devices at their byte offsets.
func openDisks(ctx context.Context, paths []string, mode Mode) (_ *Opened, err error) {
	rw := mode == ReadWrite
	o := &Opened{}
	ok := false
	defer func() {
		// On error, cancellation or panic, release everything acquired.
		if !ok {
			if cerr := o.Close(); cerr != nil && err != nil {
				err = fmt.Errorf("%w (and releasing: %v)", err, cerr)
			}
		}
	}()
	if os.Geteuid() != 0 {
		return nil, xerr.Usagef("SOURCE %s is a disk image or device: attaching it needs root (loop devices and mounts)", paths[0])
	}
	if rel, err := Cleanup(); err != nil {
		o.Warnings = append(o.Warnings, fmt.Sprintf("releasing what an earlier xenify left: %v", err))
	} else {
		for _, r := range rel {
			o.Warnings = append(o.Warnings, fmt.Sprintf("released %d mounts and %d loop devices left by xenify process %d", len(r.Unmount), len(r.Detach), r.PID))
		}
	}
	hds, err := openHostDisks(paths)
	for _, hd := range hds {
		f := hd.File
		o.onClose(f.Close)
	}
	if err != nil {
		return nil, err
	}
	for _, hd := range hds {
		if err := checkNotInUse(ctx, hd); err != nil {
			return nil, err
		}
	}
	disks := make([]Disk, len(hds))
	for i, hd := range hds {
		disks[i] = Disk{Name: hd.Path, R: hd.File, Size: hd.Size}
		if hd.Block {
			disks[i].Paths = uniq(hd.Path, hd.Real)
			for _, p := range disks[i].Paths {
				if vg, lv, ok := lvFromPath(p); ok {
					disks[i].VG, disks[i].LV = vg, lv
				}
			}
			if disks[i].VG == "" {
				if dm, err := os.ReadFile("/sys/class/block/" + sysName(hd.Rdev) + "/dm/name"); err == nil {
					disks[i].VG, disks[i].LV, _ = lvFromPath("/dev/mapper/" + strings.TrimSpace(string(dm)))
				}
			}
		}
	}
	m, err := Discover(disks)
	if err != nil {
		return nil, err
	}
	o.Warnings = append(o.Warnings, m.Warnings...)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, err := newSession()
	if err != nil {
		return nil, err
	}
	o.onClose(s.finish)
	if rw {
		// After the loop devices are gone, flush the images to disk.
		o.onClose(func() error {
			var errs []error
			for _, hd := range hds {
				if !hd.Block {
					if err := syncFile(hd.Real); err != nil {
						errs = append(errs, err)
					}
				}
			}
			return errors.Join(errs...)
		})
	}
	op := &opener{ctx: ctx, o: o, m: m, hds: hds, s: s, rw: rw}
	if err := op.findRoot(); err != nil {
		return nil, err
	}
	if err := op.mountRest(); err != nil {
		return nil, err
	}
	o.Describe = describeDisks(paths, o)
	o.disks = disks
	o.hds = hds
	o.mdMembers = m.MDMembers
	o.sess, o.rw = s, rw
	o.Disks, err = o.HostDisks(o.DefaultLayout())
	if err != nil {
		return nil, err
	}
	ok = true
	return o, nil
}

func uniq(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" && !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func syncFile(p string) error {
	f, err := os.OpenFile(p, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("flushing %s: %w", p, err)
	}
	return nil
}

func describeDisks(paths []string, o *Opened) string {
	s := strings.Join(paths, " + ")
	var parts []string
	for _, f := range o.Filesystems {
		if f.HostDir != "" {
			parts = append(parts, f.Mount+" = "+f.Where)
		}
	}
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s
}

// openHostDisks opens every path read-only and checks it is a regular
// file or a block device.
func openHostDisks(paths []string) ([]*hostDisk, error) {
	var out []*hostDisk
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return out, xerr.Usagef("SOURCE %s: %v", p, err)
		}
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return out, xerr.Usagef("SOURCE %s: %v", p, err)
		}
		// O_NONBLOCK: a FIFO given as SOURCE must be refused below, not
		// block the open until a writer comes.
		fd, err := unix.Open(real, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
		if err != nil {
			return out, xerr.Usagef("SOURCE %s: %v", p, &fs.PathError{Op: "open", Path: real, Err: err})
		}
		if err := unix.SetNonblock(fd, false); err != nil {
			unix.Close(fd)
			return out, fmt.Errorf("SOURCE %s: %w", p, err)
		}
		f := os.NewFile(uintptr(fd), real)
		hd := &hostDisk{Path: abs, Real: real, File: f}
		out = append(out, hd)
		fi, err := f.Stat()
		if err != nil {
			return out, fmt.Errorf("SOURCE %s: %w", p, err)
		}
		sys := fi.Sys().(*syscall.Stat_t)
		switch {
		case fi.Mode().IsRegular():
			hd.Size, hd.Dev, hd.Ino = fi.Size(), uint64(sys.Dev), sys.Ino
		case fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0:
			hd.Block, hd.Rdev = true, uint64(sys.Rdev)
			n, err := f.Seek(0, io.SeekEnd)
			if err != nil {
				return out, fmt.Errorf("SOURCE %s: size: %w", p, err)
			}
			hd.Size = n
		default:
			return out, xerr.Usagef("SOURCE %s is neither a directory, a disk image file nor a block device", p)
		}
		for _, prev := range out[:len(out)-1] {
			if (hd.Block && prev.Block && prev.Rdev == hd.Rdev) || (!hd.Block && !prev.Block && prev.Dev == hd.Dev && prev.Ino == hd.Ino) {
				return out, xerr.Usagef("SOURCE %s and %s are the same disk", prev.Path, p)
			}
		}
	}
	return out, nil
}

// opener carries the state of one openDisks.
type opener struct {
	ctx context.Context
	o   *Opened
	m   *Map
	hds []*hostDisk
	s   *session
	rw  bool

	rootVol int
	fstab   []inspect.FstabEntry
}

func (op *opener) canon(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

// stack collects release functions of a tentative acquisition.
type stack []func() error

func (s *stack) push(f func() error) { *s = append(*s, f) }
func (s *stack) unwind() error {
	var errs []error
	for i := len(*s) - 1; i >= 0; i-- {
		if err := (*s)[i](); err != nil {
			errs = append(errs, err)
		}
	}
	*s = nil
	return errors.Join(errs...)
}

// attach attaches volume v through a loop device and mounts it at
// target (recorded as record), pushing the releases on st.
func (op *opener) attach(st *stack, v Volume, target, record string, rw bool) (string, error) {
	hd := op.hds[v.Disk]
	loop, rel, err := attachLoop(op.ctx, runner(), op.s, hd.Real, v.Offset, v.Size, rw)
	if err != nil {
		return "", err
	}
	st.push(rel)
	rel, err = mountAt(op.s, loop, target, record, v.Probe, rw, v.Subvol)
	if err != nil {
		return "", fmt.Errorf("%s: %w", v.Describe(op.m.Disks), err)
	}
	st.push(rel)
	return loop, nil
}

// rootCandidates orders the mountable volumes by how likely each is the
// root filesystem: last mounted at /, then LVs, then the rest; last
// mounted at /boot goes last.
func (op *opener) rootCandidates() []int {
	var c []int
	for i, v := range op.m.Volumes {
		if v.Mountable() && v.Probe.Type != fsprobe.VFAT {
			c = append(c, i)
		}
	}
	rank := func(v Volume) int {
		last := ""
		if v.Probe.Ext != nil {
			last = v.Probe.Ext.LastMounted
		}
		switch {
		case last == "/" || v.Probe.Label == "/":
			return 0
		case last == "/boot" || v.Probe.Label == "/boot" || v.Probe.Label == "boot":
			return 3
		case v.LV != "":
			return 1
		}
		return 2
	}
	sort.SliceStable(c, func(i, j int) bool { return rank(op.m.Volumes[c[i]]) < rank(op.m.Volumes[c[j]]) })
	return c
}

// findRoot mounts candidates read-only (no journal replay) until one
// holds /etc/fstab whose root entry names it, and leaves the root mounted
// at MountDir/root in the requested mode.
func (op *opener) findRoot() error {
	rootDir := filepath.Join(op.s.st.MountDir, "root")
	if err := os.Mkdir(rootDir, 0o700); err != nil {
		return err
	}
	var tried []string
	var fallback = -1
	var fallbackWhy string
	var fallbackConf []MDConfArray
	for _, i := range op.rootCandidates() {
		if err := op.ctx.Err(); err != nil {
			return err
		}
		v := op.m.Volumes[i]
		var st stack
		loop, err := op.attach(&st, v, rootDir, rootDir, false)
		if err != nil {
			st.unwind()
			op.o.Warnings = append(op.o.Warnings, fmt.Sprintf("cannot mount %s (%s) to look for the root filesystem: %v", v.Describe(op.m.Disks), v.Probe.Type, err))
			continue
		}
		entries, ferr := readGuestFstab(rootDir)
		if ferr != nil && v.Probe.Type == fsprobe.Btrfs && v.Subvol == "" {
			// Fedora 33+, openSUSE: root is a subvolume of the
			// btrfs filesystem, not its top level.
			if sub := btrfsRootSubvol(rootDir); sub != "" {
				if err := st.unwind(); err != nil {
					return err
				}
				v.Subvol = "subvol=" + sub
				op.m.Volumes[i] = v
				if loop, err = op.attach(&st, v, rootDir, rootDir, false); err != nil {
					st.unwind()
					return err
				}
				entries, ferr = readGuestFstab(rootDir)
			}
		}
		op.m.MDConf = readGuestMDConf(rootDir)
		if ferr == nil && !op.rw && op.namesRoot(entries, i) {
			// Read-only: the probe mount is the final one.
			op.rootVol, op.fstab = i, entries
			op.o.release = append(op.o.release, st...)
			return op.mountRoot(rootDir, loop)
		}
		if err := st.unwind(); err != nil {
			return err
		}
		if ferr != nil {
			var r *xerr.Refused
			if errors.As(ferr, &r) {
				return ferr
			}
			tried = append(tried, v.Describe(op.m.Disks))
			continue
		}
		// The fstab must name this filesystem as /, or at least name
		// nothing else on these disks (a copy of another system's tree).
		rootSpec := ""
		for _, e := range entries {
			if e.Mount == "/" {
				rootSpec = e.Spec
			}
		}
		idx, _, rerr := op.m.Resolve(rootSpec, op.canon)
		if rerr == nil && idx == i {
			op.rootVol, op.fstab = i, entries
			return op.mountRoot(rootDir, "")
		}
		if idx < 0 && fallback < 0 {
			fallbackConf = op.m.MDConf
			fallback, fallbackWhy = i, fmt.Sprintf("the guest's fstab names %s as /, which matches no filesystem on the given disks; using %s, which holds /etc/fstab", rootSpec, v.Describe(op.m.Disks))
			op.fstab = entries
		}
		tried = append(tried, v.Describe(op.m.Disks))
	}
	if fallback >= 0 {
		op.rootVol, op.m.MDConf = fallback, fallbackConf
		op.o.Warnings = append(op.o.Warnings, fallbackWhy)
		return op.mountRoot(rootDir, "")
	}
	if len(op.m.Unreachable) > 0 {
		u := op.m.Unreachable[0]
		name := u.VG + "/" + u.LV
		if u.MD != "" {
			name = "md array " + u.MD
		}
		return &xerr.Refused{Msg: fmt.Sprintf("no root filesystem found on %s; %s cannot be reached without device-mapper: %s", strings.Join(diskNames(op.m), ", "), name, u.Why), Fix: u.Fix}
	}
	what := "no filesystem xenify can mount"
	if len(tried) > 0 {
		what = "none of " + strings.Join(tried, ", ") + " holds /etc/fstab"
	}
	if enc := op.m.encrypted(); len(enc) > 0 {
		return &xerr.Refused{Msg: fmt.Sprintf("no root filesystem found on %s: %s; the root filesystem is encrypted: %s", strings.Join(diskNames(op.m), ", "), what, strings.Join(enc, ", ")),
			Fix: luksFix}
	}
	return &xerr.Refused{Msg: fmt.Sprintf("no root filesystem found on %s: %s", strings.Join(diskNames(op.m), ", "), what),
		Fix: "give every disk of the installation (--disk PATH), or mount the root filesystem yourself and pass its directory"}
}

func diskNames(m *Map) []string {
	var out []string
	for _, d := range m.Disks {
		out = append(out, d.Name)
	}
	return out
}

// readGuestFstab reads the local entries of dir's /etc/fstab through the
// guest resolver. A missing fstab is an error that is not Refused; a
// malformed one is Refused.
func readGuestFstab(dir string) ([]inspect.FstabEntry, error) {
	root, err := guest.Open(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	if !root.IsFile("/etc/fstab") {
		return nil, errors.New("no /etc/fstab")
	}
	data, err := root.ReadFile("/etc/fstab")
	if err != nil {
		return nil, err
	}
	f, err := fstab.Parse("/etc/fstab", data)
	if err != nil {
		return nil, &xerr.Refused{Path: "/etc/fstab", Msg: "cannot parse", Err: err, Fix: "correct the line in the guest's fstab, then run xenify again"}
	}
	native := convertedSpecs(root)
	var out []inspect.FstabEntry
	for _, e := range f.Entries() {
		fe := inspect.FstabEntry{Line: e.Line, Spec: e.Spec, Mount: e.MountPoint, Type: e.Type, Options: e.Options}
		if n, ok := native[fe.Mount+"\x00"+fe.Spec]; ok {
			// Converted before: the virtual name (sda2, xvda1) means
			// nothing on these disks; the native one it replaced does.
			fe.Spec = n
		}
		if fe.Local() {
			out = append(out, fe)
		}
	}
	return out, nil
}

// readGuestMDConf reads the ARRAY lines of dir's mdadm.conf through
// the guest resolver; none when it cannot be read.
func readGuestMDConf(dir string) []MDConfArray {
	root, err := guest.Open(dir)
	if err != nil {
		return nil
	}
	defer root.Close()
	return readMDConf(root)
}

// recordedState is the device map an earlier convert recorded in the
// guest (devmap.StatePath), nil when there is none or it cannot be read.
func recordedState(root *guest.Root) *devmap.State {
	data, err := root.ReadFile(devmap.StatePath)
	if err != nil {
		return nil
	}
	var st devmap.State
	if json.Unmarshal(data, &st) != nil || st.DevMap == nil {
		return nil
	}
	return &st
}

// convertedSpecs maps (mount, converted spec) to the native spec it
// replaced, from the device map an earlier convert recorded in the guest,
// so a converted guest can be opened again (rollback, a second convert).
func convertedSpecs(root *guest.Root) map[string]string {
	st := recordedState(root)
	if st == nil {
		return nil
	}
	m := map[string]string{}
	for _, e := range st.DevMap.Entries {
		if e.Spec != e.Native {
			m[e.Mount+"\x00"+e.Spec] = e.Native
		}
	}
	return m
}

func (op *opener) fsFor(e inspect.FstabEntry, v Volume) Filesystem {
	hd := op.hds[v.Disk]
	mount := e.Mount
	if e.Type == "swap" || v.Probe.Type == fsprobe.Swap {
		mount = "swap"
	}
	return Filesystem{Mount: mount, Spec: e.Spec, Line: e.Line, Type: v.Probe.Type, UUID: v.Probe.UUID, Label: v.Probe.Label,
		Where: v.Describe(op.m.Disks), Backing: hd.Path, BackingFile: !hd.Block, Offset: v.Offset, Size: v.Size, vol: v}
}

// namesRoot reports whether the fstab's / entry names volume i.
func (op *opener) namesRoot(entries []inspect.FstabEntry, i int) bool {
	for _, e := range entries {
		if e.Mount == "/" {
			idx, _, err := op.m.Resolve(e.Spec, op.canon)
			return err == nil && idx == i
		}
	}
	return false
}

// mountRoot mounts the root volume at rootDir in the final mode (unless
// loop says it is mounted already) and opens the guest resolver on it,
// plus RootOnly (a bind of the root filesystem without submounts).
func (op *opener) mountRoot(rootDir, loop string) error {
	v := op.m.Volumes[op.rootVol]
	if loop == "" {
		var st stack
		var err error
		loop, err = op.attach(&st, v, rootDir, rootDir, op.rw)
		op.o.release = append(op.o.release, st...)
		if err != nil {
			return err
		}
	}
	root, err := guest.Open(rootDir)
	if err != nil {
		return err
	}
	op.o.onClose(root.Close)
	op.o.Root = root
	e := inspect.FstabEntry{Mount: "/", Spec: "", Type: v.Probe.Type}
	for _, fe := range op.fstab {
		if fe.Mount == "/" {
			e = fe
		}
	}
	fs := op.fsFor(e, v)
	fs.Loop, fs.HostDir = loop, rootDir
	op.o.Filesystems = append(op.o.Filesystems, fs)

	return op.o.bindRootOnly(op.s, rootDir, op.rw)
}

// mountRest resolves the other fstab entries and mounts the local
// filesystems under the root, parents first.
func (op *opener) mountRest() error {
	type todo struct {
		e inspect.FstabEntry
		v Volume
	}
	var mounts []todo
	used := map[string]string{fmt.Sprint(op.rootVol, op.m.Volumes[op.rootVol].Subvol): "/"}
	crypt := readCrypttab(op.o.Root)
	for _, e := range op.fstab {
		if e.Mount == "/" {
			continue
		}
		if why, ok := op.encryptedEntry(e.Spec, crypt); ok && e.Type != "swap" {
			return &xerr.Refused{Path: "/etc/fstab", Line: e.Line, Msg: fmt.Sprintf("%s (%s): %s", e.Mount, e.Spec, why), Fix: luksFix}
		}
		idx, u, err := op.m.Resolve(e.Spec, op.canon)
		if err != nil {
			return &xerr.Refused{Path: "/etc/fstab", Line: e.Line, Msg: err.Error(), Fix: "pass only the disks of this installation"}
		}
		if u != nil {
			name := u.VG + "/" + u.LV
			if u.MD != "" {
				name = "md array " + u.MD
			}
			return &xerr.Refused{Path: "/etc/fstab", Line: e.Line,
				Msg: fmt.Sprintf("%s (%s) is on %s, which xenify cannot reach: %s", e.Mount, e.Spec, name, u.Why), Fix: u.Fix}
		}
		if idx < 0 {
			if !hasOption(e.Options, "noauto") {
				inside := ""
				if enc := op.m.encrypted(); len(enc) > 0 {
					inside = " (it may be inside the encrypted " + strings.Join(enc, ", ") + ", which xenify cannot open)"
				}
				op.o.Warnings = append(op.o.Warnings, fmt.Sprintf("/etc/fstab:%d: %s (%s) matches no filesystem on the given disks%s: it is not mounted, and the planner uses the spec as it is", e.Line, e.Spec, e.Mount, inside))
				op.o.Unmatched = append(op.o.Unmatched, e)
			}
			continue
		}
		v := op.m.Volumes[idx]
		if v.Probe.Type == fsprobe.Btrfs {
			// Each subvolume fstab names is mounted on its own.
			v.Subvol = subvolOption(e.Options)
		}
		key := fmt.Sprint(idx, v.Subvol)
		if prev, dup := used[key]; dup {
			op.o.Warnings = append(op.o.Warnings, fmt.Sprintf("/etc/fstab:%d: %s (%s) is the same filesystem as %s; not mounted twice", e.Line, e.Spec, e.Mount, prev))
			continue
		}
		used[key] = e.Mount
		if e.Type == "swap" || !v.Mountable() || hasOption(e.Options, "noauto") {
			if e.Type != "swap" && !v.Mountable() {
				op.o.Warnings = append(op.o.Warnings, fmt.Sprintf("/etc/fstab:%d: %s (%s) holds %q, which xenify does not mount", e.Line, e.Spec, e.Mount, v.Probe.Type))
			}
			op.o.Filesystems = append(op.o.Filesystems, op.fsFor(e, v))
			continue
		}
		mounts = append(mounts, todo{e, v})
	}
	sort.SliceStable(mounts, func(i, j int) bool {
		return strings.Count(filepath.Clean(mounts[i].e.Mount), "/") < strings.Count(filepath.Clean(mounts[j].e.Mount), "/")
	})
	for _, t := range mounts {
		if err := op.ctx.Err(); err != nil {
			return err
		}
		target, real, closeFn, err := mountPoint(op.o.Root, t.e.Mount)
		if err != nil {
			op.o.Warnings = append(op.o.Warnings, fmt.Sprintf("/etc/fstab:%d: mount point %s: %v; %s is not mounted", t.e.Line, t.e.Mount, err, t.e.Spec))
			op.o.Filesystems = append(op.o.Filesystems, op.fsFor(t.e, t.v))
			continue
		}
		var st stack
		loop, err := op.attach(&st, t.v, target, real, op.rw)
		closeFn()
		op.o.release = append(op.o.release, st...)
		if err != nil {
			return err
		}
		fs := op.fsFor(t.e, t.v)
		fs.Loop, fs.HostDir = loop, real
		op.o.Filesystems = append(op.o.Filesystems, fs)
		if t.e.Mount == "/boot" {
			b := fs
			op.o.Boot = &b
		}
	}
	return nil
}

func hasOption(opts, o string) bool {
	for _, x := range strings.Split(opts, ",") {
		if x == o {
			return true
		}
	}
	return false
}

// GuestVGs are the LVM volume groups found inside the source's disks
// (not dom0's own LVs handed in as disks), sorted.
func (o *Opened) GuestVGs() []string {
	var out []string
	for _, f := range o.Filesystems {
		if vg := f.vol.VG; vg != "" && !slices.Contains(out, vg) {
			out = append(out, vg)
		}
	}
	slices.Sort(out)
	return out
}
