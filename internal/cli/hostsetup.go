package cli

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/xenify/xenify/host/setup"
	"github.com/xenify/xenify/run"
	"github.com/xenify/xenify/xerr"
)

func init() {
	flagBuilders["host-setup"] = func() *flag.FlagSet {
		var o hostSetupFlags
		return o.flags()
	}
	register(&command{
		name: "host-setup", usage: "bridge NAME --uplink IFACE [--routed --address CIDR] [--apply [--confirm-within SECONDS]] | --rollback | --confirm", summary: "write this dom0's Xen bridge configuration (diff first, journaled)",
		help: `Host-setup bridge writes the dom0's own configuration for a Xen bridge,
in its network manager's format: Debian ifupdown (/etc/network/
interfaces.d/NAME; the uplink's stanza keeps no address), RHEL-family
ifcfg-NAME with BRIDGE=NAME in ifcfg-IFACE, or systemd-networkd
(NAME.netdev, NAME.network, 05-xenify-IFACE.network). The uplink's
addressing moves to the bridge. With --routed the bridge gets no port
but its own --address, and dom0 forwards (/etc/sysctl.d). On Xen 3
hosts, xend-config.sxp gets (network-script /bin/true) and (vif-script
vif-bridge): the bridge is dom0's, xend must not rebuild it.

It prints the diff and changes nothing without --apply. --apply
journals every file (in /var/lib/xenify) before writing it, then
creates the bridge now with ip(8). 'xenify host-setup --rollback'
deletes the bridge it created and restores every file byte for byte;
'--confirm' keeps the change and drops the journal.

Over SSH (SSH_CONNECTION set) --apply is refused unless a rollback
timer is armed: --confirm-within N restores everything unless "yes" is
typed within N seconds, so a change that cuts the session undoes itself.
xenify never picks the uplink itself: the interface carrying the default
route changes only when --uplink names it.

Examples:
  xenify host-setup bridge xenbr0 --uplink eth0
  xenify host-setup bridge xenbr0 --uplink eth0 --apply --confirm-within 60
  xenify host-setup bridge xenbr1 --uplink eth0 --routed --address 10.0.100.1/24 --apply
  xenify host-setup --rollback`,
		run: runHostSetup,
	})
}

type hostSetupFlags struct {
	o                 setup.Options
	apply, noLive     bool
	rollback, confirm bool
	within            int
	json              bool
}

func (f *hostSetupFlags) flags() *flag.FlagSet {
	fs := flag.NewFlagSet("host-setup", flag.ContinueOnError)
	fs.StringVar(&f.o.Uplink, "uplink", "", "the interface the bridge takes over (its address moves to the bridge); with --routed, the one dom0 routes through")
	fs.BoolVar(&f.o.Routed, "routed", false, "a bridge without ports: dom0 routes between it and the uplink")
	fs.StringVar(&f.o.Address, "address", "", "the routed bridge's address, CIDR (e.g. 10.0.100.1/24)")
	fs.StringVar(&f.o.Format, "format", "", "debian, redhat or networkd (default: detected from /etc)")
	fs.StringVar(&f.o.Root, "root", "/", "the host root the configuration files are under")
	fs.BoolVar(&f.apply, "apply", false, "write the files (journaled) and create the bridge now")
	fs.BoolVar(&f.noLive, "files-only", false, "with --apply: write the files only; the bridge appears at the next boot or ifup")
	fs.IntVar(&f.within, "confirm-within", 0, "with --apply: roll everything back unless \"yes\" is typed within this many seconds")
	fs.BoolVar(&f.rollback, "rollback", false, "delete the bridge host-setup created and restore every file it wrote")
	fs.BoolVar(&f.confirm, "confirm", false, "keep what host-setup applied and drop its journal")
	fs.BoolVar(&f.json, "json", false, "print the plan as JSON")
	return fs
}

func runHostSetup(e *env, args []string) error {
	var f hostSetupFlags
	fs := f.flags()
	if err := e.parse(fs, args); err != nil {
		return err
	}
	r := run.Exec{Log: e.log}
	switch {
	case f.rollback:
		if err := setup.Rollback(e.ctx, f.o.Root, r); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "Rolled back: the bridge host-setup created is gone and every file it wrote is restored.")
		return nil
	case f.confirm:
		return setup.Confirm(f.o.Root)
	}
	if fs.NArg() != 2 || fs.Arg(0) != "bridge" {
		return xerr.Usagef("want: host-setup bridge NAME --uplink IFACE (see 'xenify help host-setup')")
	}
	f.o.Bridge = fs.Arg(1)
	p, err := setup.Bridge(f.o)
	if err != nil {
		return err
	}
	if f.json {
		if err := writeJSON(e.stdout, p); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(e.stdout, "Bridge %s over %s, written as %s configuration:\n", p.Bridge, p.Uplink, p.Format)
		fmt.Fprint(e.stdout, p.Diff())
	}
	if !f.apply {
		if !f.json {
			fmt.Fprintln(e.stdout, "Nothing changed: run again with --apply to write it.")
		}
		return nil
	}
	if os.Getenv("SSH_CONNECTION") != "" && f.within <= 0 && !f.noLive {
		return &xerr.Refused{Msg: "refusing to change this host's network over SSH without a rollback timer: a mistake would cut you off",
			Fix: "add --confirm-within 60 (type yes within 60 s to keep it; otherwise it is rolled back), or --files-only"}
	}
	if f.within > 0 {
		// A cut SSH session hangs up: the timer must survive it.
		signal.Ignore(syscall.SIGHUP)
	}
	if err := setup.Apply(e.ctx, f.o.Root, p, setup.ApplyOptions{Runner: r, Live: !f.noLive}); err != nil {
		return fmt.Errorf("%w\n'xenify host-setup --rollback' restores what was written", err)
	}
	if f.within <= 0 {
		fmt.Fprintln(e.stdout, "Applied (journaled): 'xenify host-setup --rollback' undoes it, 'xenify host-setup --confirm' keeps it.")
		return nil
	}
	fmt.Fprintf(e.stdout, "Applied. Type yes within %d seconds to keep it; otherwise it is rolled back: ", f.within)
	ok, err := setup.ConfirmOrRollback(e.ctx, f.o.Root, r, e.stdin, time.Duration(f.within)*time.Second)
	if err != nil {
		return err
	}
	if !ok {
		fmt.Fprintln(e.stdout, "\nNot confirmed: rolled back.")
		return &xerr.Refused{Msg: "not confirmed in time: the bridge setup was rolled back"}
	}
	fmt.Fprintln(e.stdout, "Kept.")
	return nil
}
