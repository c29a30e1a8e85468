package convert

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/xenify/xenify/distro"
	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/plan"
	"github.com/xenify/xenify/source"
	"github.com/xenify/xenify/verify"
	"github.com/xenify/xenify/xen/caps"
	"github.com/xenify/xenify/xen/domain"
	"github.com/xenify/xenify/xen/pvgrub"
	"github.com/xenify/xenify/xen/pygrub"
)

// Verify checks, without a hypervisor, whether the guest will boot on
// the host Plan.Caps describe, with the domain config Domain (nil: the
// one Run would write). It only reads. A guest that will not boot is a
// report with Bootable false, not an error.
func Verify(ctx context.Context, o Options) (*verify.Report, error) {
	s, err := openToRead(ctx, &o, "verify")
	if err != nil {
		return nil, err
	}
	defer s.Close()
	// The plan supplies the device map and the expected domain config;
	// the host ABI is verify's own check, so the plan does not refuse on it.
	opts := o.Plan
	opts.Caps = caps.Host{}
	in, p, err := s.plan(opts)
	if err != nil {
		return nil, err
	}
	d := o.Domain
	if d == nil {
		d = p.Domain
	}
	return s.verify(in, p, d, o.Plan), nil
}

// verify checks the guest against domain config d.
func (s *session) verify(in *inspect.Inspection, p *plan.Plan, d *domain.Config, o plan.Options) *verify.Report {
	mount, typ := "/", ""
	if len(d.Disks) > 0 && p.DevMap != nil {
		for _, m := range p.DevMap.Entries {
			if m.Vdev == d.Disks[0].Vdev {
				mount, typ = m.Mount, m.Type
			}
		}
	}
	if mount != "/boot" {
		mount = "/"
		if r, ok := in.Fstab.Root(); ok {
			typ = r.Type
		}
	}
	shim := o.Shim
	if shim == nil && d.PVShim && filepath.IsAbs(d.PVShimPath) {
		shim, _ = caps.ReadShim(d.PVShimPath)
	}
	vin := verify.Input{Root: s.src.Root, In: in, Domain: d, Caps: o.Caps, Shim: shim, BootMount: mount, BootType: typ, ReadHost: os.ReadFile, KernelCache: s.o.KernelCache}
	if fam, err := distro.For(in); err == nil {
		vin.Family = fam
	}
	if len(d.Disks) > 0 {
		vin.FirstDisk = firstDisk(s.src, d.Disks[0].Target)
		if d.Type == domain.TypeHVM && backs(s.src, d.Disks[0].Target) {
			// The emulated BIOS boots the first disk's MBR: verify reads
			// it when the target is the image or device the source is
			// (never a host disk that merely has the native name).
			if f, err := os.Open(d.Disks[0].Target); err == nil {
				defer f.Close()
				if size, err := f.Seek(0, io.SeekEnd); err == nil && size > 0 {
					vin.Disk, vin.DiskSize = f, size
				}
			}
		}
	}
	if pvgrub.IsImage(d.Kernel) {
		vin.Filesystems = grubFilesystems(s.src, in, p, d)
	}
	return verify.Verify(vin)
}

// grubFilesystems lists the guest's filesystems in the order GRUB built
// for Xen searches them: the domain's disks in order, and on a whole
// disk its filesystems by offset. Each shows only its own files: the
// mount points of other filesystems below it are hidden.
func grubFilesystems(src *source.Opened, in *inspect.Inspection, p *plan.Plan, d *domain.Config) []pvgrub.Filesystem {
	if p.DevMap == nil {
		return nil
	}
	offset := map[string]int64{}
	for _, f := range src.Filesystems {
		offset[f.Mount] = f.Offset
	}
	var mounts []string
	for _, e := range in.Fstab.Entries {
		if e.Local() && strings.HasPrefix(e.Mount, "/") {
			mounts = append(mounts, e.Mount)
		}
	}
	var out []pvgrub.Filesystem
	seen := map[string]bool{}
	for _, disk := range d.Disks {
		var on []plan.Mapped
		for _, m := range p.DevMap.Entries {
			if m.Vdev == disk.Vdev && strings.HasPrefix(m.Mount, "/") && !seen[m.Mount] {
				seen[m.Mount] = true
				on = append(on, m)
			}
		}
		sort.SliceStable(on, func(i, j int) bool { return offset[on[i].Mount] < offset[on[j].Mount] })
		for _, m := range on {
			f := pvgrub.Filesystem{Name: fmt.Sprintf("%s (%s, %s)", disk.Vdev, m.Mount, m.Type), Type: m.Type}
			if ok, why := pvgrub.Readable(m.Type); !ok {
				f.Unreadable = why
			} else if sub, err := fs.Sub(src.Root.FS(), strings.TrimPrefix(m.Mount, "/")); m.Mount != "/" && err == nil {
				f.FS = withoutMounts{sub, below(mounts, m.Mount)}
			} else {
				f.FS = withoutMounts{src.Root.FS(), below(mounts, "/")}
			}
			out = append(out, f)
		}
	}
	return out
}

// below returns the mount points strictly below mount, relative to it.
func below(mounts []string, mount string) []string {
	var out []string
	for _, m := range mounts {
		if rel, ok := strings.CutPrefix(m, strings.TrimSuffix(mount, "/")+"/"); ok && m != mount && rel != "" {
			out = append(out, rel)
		}
	}
	return out
}

// withoutMounts hides the mount points of other filesystems, so a search
// sees one filesystem's own files, as GRUB does.
type withoutMounts struct {
	fs.FS
	hidden []string
}

func (w withoutMounts) Open(name string) (fs.File, error) {
	for _, h := range w.hidden {
		if name == h || strings.HasPrefix(name, h+"/") {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
	}
	return w.FS.Open(name)
}

// firstDisk emulates what pygrub finds on the domain's first disk, when
// that disk is one of the source's images or devices: each filesystem
// pygrub can read is matched, by offset, with the one the source mounted.
func firstDisk(src *source.Opened, target string) []pygrub.Filesystem {
	tst, err := os.Stat(target)
	if err != nil {
		return nil
	}
	var mounted []source.Filesystem
	for _, f := range src.Filesystems {
		if st, err := os.Stat(f.Backing); err == nil && os.SameFile(st, tst) && f.HostDir != "" {
			mounted = append(mounted, f)
		}
	}
	if len(mounted) == 0 {
		return nil
	}
	f, err := os.Open(target)
	if err != nil {
		return nil
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil
	}
	cands, err := pygrub.Candidates(f, size)
	if err != nil {
		return []pygrub.Filesystem{{Unreadable: err.Error()}}
	}
	for i := range cands {
		if cands[i].Unreadable != "" {
			continue
		}
		for _, m := range mounted {
			if m.Offset == cands[i].Offset {
				if sub, err := fs.Sub(src.Root.FS(), strings.TrimPrefix(m.Mount, "/")); err == nil && m.Mount != "/" {
					cands[i].FS = sub
				} else {
					cands[i].FS = src.Root.FS()
				}
			}
		}
	}
	return cands
}

// backs reports whether target is the image or device one of the
// source's filesystems is read from.
func backs(src *source.Opened, target string) bool {
	tst, err := os.Stat(target)
	if err != nil {
		return false
	}
	for _, f := range src.Filesystems {
		if st, err := os.Stat(f.Backing); err == nil && os.SameFile(st, tst) {
			return true
		}
	}
	return false
}
