package cli

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/xenify/xenify/convert"
	"github.com/xenify/xenify/verify"
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
guest will not boot. convert runs it at the end. It writes nothing to
the guest; what decoding a compressed kernel found (its ELF headers and
Xen notes) is kept on the host, by the kernel's SHA-256, in
/var/cache/xenify (root) or ~/.cache/xenify, so the next look at the
same kernel is fast ($XENIFY_CACHE_DIR moves it; =off disables it).

Examples:
  xenify verify /mnt/centos5
  xenify verify --config /etc/xen/web1.cfg --json /mnt/web1
  XENIFY_CACHE_DIR=off xenify verify /mnt/web1   # decode the kernel afresh`,
		run: runVerify,
	})
}

func runVerify(e *env, args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	var f convertFlags
	f.register(fs)
	cfgPath := fs.String("config", "", "")
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := f.finish(); err != nil {
		return err
	}
	o := f.options(e, sourcePaths(fs), e.progress(false))
	if *cfgPath != "" {
		data, err := os.ReadFile(*cfgPath)
		if err != nil {
			return xerr.Usagef("--config: %v", err)
		}
		if o.Domain, err = domain.Parse(*cfgPath, data); err != nil {
			return xerr.Usagef("--config: %v", err)
		}
	}
	rep, err := convert.Verify(e.ctx, o)
	if err != nil {
		return err
	}
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
	case r.Bootable && r.Type == "pvh":
		fmt.Fprintln(w, "The guest will boot as a Xen PVH domU.")
	case r.Bootable && r.Type == "hvm":
		fmt.Fprintln(w, "The guest will boot as a Xen HVM domU, from its disk's MBR or the kernel dom0 boots.")
	case r.Bootable:
		fmt.Fprintln(w, "The guest will boot as a Xen PV domU.")
	default:
		fmt.Fprintln(w, "The guest will NOT boot.")
	}
}
