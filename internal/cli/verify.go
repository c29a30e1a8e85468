package cli

import (
	"flag"
	"fmt"
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
	"github.com/xenify/xenify/xerr"
)

func init() {
	flagBuilders["verify"] = func() *flag.FlagSet {
		fs := flag.NewFlagSet("verify", flag.ContinueOnError)
		(&convertFlags{}).register(fs)
		fs.String("config", "", "the domain config to check against (default: the one convert would write)")
		return fs
	}
	register(&command{
		name: "verify", usage: "[--json] [--config DOMAIN.cfg] [options] SOURCE", summary: "prove the guest will boot on this Xen host (reads only)",
		help: `Verify checks, without a hypervisor, what breaks PV boots: which kernel
pygrub will pick from the first disk, whether that kernel's Xen ELF
notes fit this host's capabilities, whether its initramfs carries the
Xen block frontend and the root filesystem's driver, and whether fstab,
root=, console and NIC agree with the domain config. It exits 3 when the
guest will not boot. convert runs it at the end.

Examples:
  xenify verify /mnt/centos5
  xenify verify --config /etc/xen/web1.cfg --json /mnt/web1`,
		run: runVerify,
	})
}

func runVerify(e *env, args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	var f convertFlags
	f.register(fs)
	cfgPath := fs.String("config", "", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := f.finish(); err != nil {
		return err
	}
	src, err := source.Open(e.ctx, append(fs.Args(), f.disks...), source.ReadOnly)
	if err != nil {
		return err
	}
	defer src.Close()
	// The plan supplies the device map and the expected domain config;
	// the host ABI is verify's own check, so the plan does not refuse on it.
	hostCaps := f.opts.Caps
	f.opts.Caps = caps.Host{}
	in, p, err := makePlan(e, src, &f, "")
	if err != nil {
		return err
	}
	f.opts.Caps = hostCaps
	d := p.Domain
	if *cfgPath != "" {
		data, err := os.ReadFile(*cfgPath)
		if err != nil {
			return xerr.Usagef("--config: %v", err)
		}
		if d, err = domain.Parse(*cfgPath, data); err != nil {
			return xerr.Usagef("--config: %v", err)
		}
	}
	rep := runChecks(src, in, p, d, f.opts)
	if f.json {
		if err := writeJSON(e.stdout, rep); err != nil {
			return err
		}
	} else {
		printReport(e.stdout, rep)
	}
	if !rep.Bootable {
		return &xerr.Refused{Msg: "the guest will not boot (see the failed checks above)"}
	}
	return nil
}

// runChecks verifies the guest against domain config d.
func runChecks(src *source.Opened, in *inspect.Inspection, p *plan.Plan, d *domain.Config, o plan.Options) *verify.Report {
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
	vin := verify.Input{Root: src.Root, In: in, Domain: d, Caps: o.Caps, Shim: shim, BootMount: mount, BootType: typ, ReadHost: os.ReadFile}
	if len(d.Disks) > 0 {
		vin.FirstDisk = firstDisk(src, d.Disks[0].Target)
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

func printReport(w io.Writer, r *verify.Report) {
	for _, c := range r.Checks {
		fmt.Fprintf(w, "%-4s  %-12s %s\n", c.Status, c.Name, c.Detail)
		if c.Fix != "" && (c.Status == verify.Fail || c.Status == verify.Warn) {
			fmt.Fprintf(w, "      %-12s fix: %s\n", "", c.Fix)
		}
	}
	switch {
	case r.Bootable && r.PVShim:
		fmt.Fprintln(w, "The guest will boot as a Xen PV domU inside a PVH container, under the PV shim.")
	case r.Bootable:
		fmt.Fprintln(w, "The guest will boot as a Xen PV domU.")
	default:
		fmt.Fprintln(w, "The guest will NOT boot.")
	}
}
