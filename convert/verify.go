package convert

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/plan"
	"github.com/xenify/xenify/source"
	"github.com/xenify/xenify/verify"
	"github.com/xenify/xenify/xen/caps"
	"github.com/xenify/xenify/xen/domain"
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
	vin := verify.Input{Root: s.src.Root, In: in, Domain: d, Caps: o.Caps, Shim: shim, BootMount: mount, BootType: typ, ReadHost: os.ReadFile}
	if len(d.Disks) > 0 {
		vin.FirstDisk = firstDisk(s.src, d.Disks[0].Target)
	}
	return verify.Verify(vin)
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
