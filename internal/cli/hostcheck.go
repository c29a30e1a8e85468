package cli

import (
	"flag"
	"fmt"
	"io"
	"os"

	hostcheck "github.com/xenify/xenify/host/check"
	"github.com/xenify/xenify/run"
	"github.com/xenify/xenify/xen/domain"
	"github.com/xenify/xenify/xerr"
)

func init() {
	flagBuilders["host-check"] = func() *flag.FlagSet {
		var o hostCheckFlags
		return o.flags()
	}
	register(&command{
		name: "host-check", usage: "[--json] [--toolstack xl|xm] [--guest-vg VG]... [DOMAIN.cfg]", summary: "check that this dom0 can start the domain (reads only)",
		help: `Host-check runs on the dom0 and checks what the domain config needs
from the host: the toolstack and its daemons (xl and xenstored; or xm,
xend and xend-config.sxp's network-script and vif-script), the
hypervisor's capabilities against the guest's type and kernel, each
vif's bridge (exists, is a bridge, is up; or xend's routed setup), the
blkback and netback drivers, each disk (exists, not mounted, not open
for writing, not attached to another domain), the guest's LVM volume
group names against dom0's, the boot loader or kernel files, and the
hypervisor's free memory. Each problem is printed with its fix. Without
a config it checks the host alone (and the default bridge, xenbr0).
It exits 3 when a check fails. convert runs it at the end when it runs
on a dom0.

Examples:
  xenify host-check /etc/xen/web1.cfg
  xenify host-check --json --guest-vg VolGroup00 /etc/xen/web1.cfg | jq '.checks[] | select(.status=="fail")'
  xenify host-check --toolstack xm`,
		run: runHostCheck,
	})
}

type hostCheckFlags struct {
	json      bool
	toolstack string
	vgs       stringList
}

func (o *hostCheckFlags) flags() *flag.FlagSet {
	fs := flag.NewFlagSet("host-check", flag.ContinueOnError)
	fs.BoolVar(&o.json, "json", false, "print JSON for scripts")
	fs.StringVar(&o.toolstack, "toolstack", "", "xl or xm (default: xl when installed, else xm)")
	fs.Var(&o.vgs, "guest-vg", "an LVM volume group inside the guest's disks, checked against dom0's (repeatable)")
	return fs
}

func runHostCheck(e *env, args []string) error {
	var o hostCheckFlags
	fs := o.flags()
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return xerr.Usagef("host-check takes one domain config (see 'xenify help host-check')")
	}
	if o.toolstack != "" && o.toolstack != "xl" && o.toolstack != "xm" {
		return xerr.Usagef("--toolstack %q: want xl or xm", o.toolstack)
	}
	in := hostcheck.Input{Toolstack: o.toolstack, GuestVGs: o.vgs}
	if fs.NArg() == 1 {
		path := fs.Arg(0)
		data, err := os.ReadFile(path)
		if err != nil {
			return xerr.Usagef("%v", err)
		}
		if in.Domain, err = domain.Parse(path, data); err != nil {
			return xerr.Usagef("%v", err)
		}
	}
	r := hostcheck.Check(e.ctx, hostcheck.Live(run.Exec{Log: e.log}), in)
	if o.json {
		if err := writeJSON(e.stdout, r); err != nil {
			return err
		}
	} else {
		printHostReport(e.stdout, r)
	}
	if !r.OK {
		return &xerr.Refused{Msg: "this host cannot start the domain (see the failed checks and their fixes above)"}
	}
	return nil
}

func printHostReport(w io.Writer, r *hostcheck.Report) {
	for _, c := range r.Checks {
		fmt.Fprintf(w, "%-4s  %-12s %s\n", c.Status, c.Name, c.Detail)
		if c.Fix != "" {
			fmt.Fprintf(w, "      %-12s fix: %s\n", "", c.Fix)
		}
	}
	if r.OK {
		fmt.Fprintf(w, "This host can start the domain (%s).\n", r.Toolstack)
	} else {
		fmt.Fprintln(w, "This host can NOT start the domain as configured.")
	}
}
