package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/xenify/xenify/convert"
	"github.com/xenify/xenify/plan"
	"github.com/xenify/xenify/run"
)

func init() {
	flagBuilders["plan"] = func() *flag.FlagSet {
		fs := flag.NewFlagSet("plan", flag.ContinueOnError)
		(&convertFlags{}).register(fs)
		return fs
	}
	register(&command{
		name: "plan", usage: "[--json] [options] SOURCE", summary: "show every change convert would make (reads only)",
		help: `Plan inspects the guest and prints every change convert would make: a
unified diff for each file, the argv of each command run in the guest,
and the Xen domain configuration. Nothing is written.

Examples:
  xenify plan /mnt/centos4
  xenify plan --map /dev/VolGroup00/LogVol00=sda1 --map /dev/hda1=sda2 /mnt/centos4
  xenify plan --json --hypervisor-caps "xen-3.0-x86_64" /mnt/debian12 > plan.json
  xenify plan --guest-type pv --boot pvgrub /mnt/debian12   # guest type and boot path, with reasons`,
		run: runPlan,
	})
}

func runPlan(e *env, args []string) error {
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	var f convertFlags
	f.register(fs)
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := f.finish(); err != nil {
		return err
	}
	return planAndPrint(e, &f, sourcePaths(fs))
}

// planAndPrint plans (plan, convert --dry-run) and prints the plan.
func planAndPrint(e *env, f *convertFlags, sources []string) error {
	p, err := convert.Plan(e.ctx, f.options(e, sources, e.progress(false)))
	if err != nil {
		return err
	}
	if f.json {
		return writeJSON(e.stdout, p)
	}
	printPlan(e.stdout, p)
	return nil
}

func printPlan(w io.Writer, p *plan.Plan) {
	fmt.Fprintf(w, "Plan for %s (%s %s)", p.Source, p.Guest.Distro, p.Guest.Arch)
	if p.Guest.Kernel != "" {
		fmt.Fprintf(w, ", domU kernel %s", p.Guest.Kernel)
	}
	fmt.Fprintln(w)
	if p.Guest.Type != "" {
		fmt.Fprintf(w, "guest type: %s (%s)\n", p.Guest.Type, p.Guest.TypeReason)
	}
	if p.Guest.Boot != "" {
		fmt.Fprintf(w, "boot path:  %s (%s)\n", p.Guest.Boot, p.Guest.BootReason)
	}
	for _, wmsg := range p.Warnings {
		fmt.Fprintf(w, "warning: %s\n", wmsg)
	}
	if len(p.GuestOps()) == 0 && len(p.Later) == 0 {
		fmt.Fprintln(w, "\nThe guest is already converted: nothing to change.")
	}
	n := 0
	for _, op := range p.Ops {
		n++
		fmt.Fprintf(w, "\n[%d] %s: %s\n", n, op.Step, op.Reason)
		switch op.Kind {
		case plan.WriteFile:
			if op.FromHost != "" {
				fmt.Fprintf(w, "    copy %s to %s\n", op.FromHost, op.Path)
				continue
			}
			if op.Append != nil {
				fmt.Fprintf(w, "    append %d bytes to %s\n", len(op.Append), op.Path)
				continue
			}
			if op.FromGuest != "" {
				fmt.Fprintf(w, "    copy guest %s to %s\n", op.FromGuest, op.Path)
				continue
			}
			old := ""
			if op.Old != nil {
				old = *op.Old
			}
			mode := ""
			if op.Mode != nil {
				mode = fmt.Sprintf(" (mode %04o)", op.Mode.Perm())
			}
			if op.Old == nil {
				fmt.Fprintf(w, "    create %s%s\n", op.Path, mode)
				if op.Step == "state" {
					continue
				}
			} else {
				fmt.Fprintf(w, "    edit %s%s\n", op.Path, mode)
			}
			io.WriteString(w, indent(plan.UnifiedDiff(op.Path, old, op.Content), "    "))
		case plan.RemoveFile:
			fmt.Fprintf(w, "    remove %s\n", op.Path)
		case plan.RunInGuest:
			how := "run in the guest"
			if op.Manual {
				how = "for you to run in the guest (--skip-guest-commands)"
			}
			fmt.Fprintf(w, "    %s: %s\n", how, cmdString(op.Argv))
		case plan.CopyOut:
			fmt.Fprintf(w, "    copy guest %s to host %s\n", op.Path, op.HostPath)
		case plan.WriteHostFile:
			fmt.Fprintf(w, "    write host file %s:\n", op.HostPath)
			io.WriteString(w, indent(op.Content, "    | "))
		}
	}
	for _, l := range p.Later {
		fmt.Fprintf(w, "\nafter the guest commands above: %s (planned by convert in a further pass)\n", l)
	}
}

func cmdString(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = run.Quote(a)
	}
	return strings.Join(q, " ")
}

func indent(s, pre string) string {
	if s == "" {
		return ""
	}
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l == "" {
			continue
		}
		b.WriteString(pre + l)
	}
	if !strings.HasSuffix(s, "\n") {
		b.WriteString("\n")
	}
	return b.String()
}
