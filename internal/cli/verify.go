package cli

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/plan"
	"github.com/xenify/xenify/source"
	"github.com/xenify/xenify/verify"
	"github.com/xenify/xenify/xen/caps"
	"github.com/xenify/xenify/xen/domain"
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
	return verify.Verify(verify.Input{Root: src.Root, In: in, Domain: d, Caps: o.Caps, BootMount: mount, BootType: typ, ReadHost: os.ReadFile})
}

func printReport(w io.Writer, r *verify.Report) {
	for _, c := range r.Checks {
		fmt.Fprintf(w, "%-4s  %-12s %s\n", c.Status, c.Name, c.Detail)
		if c.Fix != "" && (c.Status == verify.Fail || c.Status == verify.Warn) {
			fmt.Fprintf(w, "      %-12s fix: %s\n", "", c.Fix)
		}
	}
	if r.Bootable {
		fmt.Fprintln(w, "The guest will boot as a Xen PV domU.")
	} else {
		fmt.Fprintln(w, "The guest will NOT boot.")
	}
}
