package cli

import (
	"flag"
	"fmt"
	"strings"

	"github.com/xenify/xenify/apply"
	"github.com/xenify/xenify/run"
	"github.com/xenify/xenify/source"
	"github.com/xenify/xenify/xerr"
)

func init() {
	flagBuilders["convert"] = func() *flag.FlagSet {
		fs := flag.NewFlagSet("convert", flag.ContinueOnError)
		(&convertFlags{}).register(fs)
		fs.Bool("dry-run", false, "print the plan and change nothing (same as xenify plan)")
		return fs
	}
	register(&command{
		name: "convert", usage: "[options] SOURCE", summary: "convert the guest in place (journaled, reversible)",
		help: `Convert applies the plan: it journals every file inside the guest
(/var/lib/xenify) before changing it, writes atomically, runs the
guest's own tools chrooted (kernel install, initrd rebuild), and writes
the Xen domain configuration. When a kernel must be installed first,
convert inspects again afterwards and plans the boot entry and initrd for
it. A separate /boot is copied into the root filesystem first (when the
disks are given, not a directory; --keep-boot keeps it). Running convert
again changes nothing; 'xenify rollback' undoes it.

Examples:
  xenify convert --name web1 /mnt/centos4
  xenify convert --name web1 /srv/xen/web1.img                 # a disk image
  xenify convert --name web1 --copy-to /srv/xen/web1.img /dev/sdb  # P2V: copy, then convert the copy
  xenify convert --layout lv /dev/VolGroup00/LogVol00 --disk /dev/sda1   # /boot is copied into /
  xenify convert --layout lv --keep-boot /dev/sda                      # /boot stays, as the first disk
  xenify convert --dry-run /mnt/centos4
  xenify convert --boot direct --config-out /etc/xen/web1.cfg /mnt/debian12
  xenify convert --kernel-package kernel-xenU-2.6.9-42.0.3.EL.i686.rpm /mnt/centos44`,
		run: runConvert,
	})
}

// maxPasses bounds convert's plan/apply loop: a pass that installs a
// kernel is followed by one that configures it.
const maxPasses = 3

func runConvert(e *env, args []string) error {
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	var f convertFlags
	f.register(fs)
	dry := fs.Bool("dry-run", false, "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := f.finish(); err != nil {
		return err
	}
	mode := source.ReadWrite
	if *dry {
		mode = source.ReadOnly
	}
	paths := append(fs.Args(), f.disks...)
	if f.copyTo != "" {
		if len(paths) != 1 {
			return xerr.Usagef("--copy-to copies one disk: give one SOURCE and no --disk")
		}
		if *dry {
			return xerr.Usagef("--copy-to with --dry-run: run 'xenify copy' first, then plan the copy")
		}
		sum, err := copyDisk(e, paths[0], f.copyTo, copyFlags{json: f.json, verify: true})
		if err != nil {
			return err
		}
		if !f.json {
			printCopySummary(e.stderr, sum)
		}
		paths = []string{f.copyTo}
	}
	src, err := source.Open(e.ctx, paths, mode)
	if err != nil {
		return err
	}
	defer src.Close()
	label := strings.Join(paths, " ")
	total := 0
	for pass := 1; pass <= maxPasses; pass++ {
		_, p, err := makePlan(e, src, &f, label)
		if err != nil {
			return err
		}
		if *dry {
			if f.json {
				return writeJSON(e.stdout, p)
			}
			printPlan(e.stdout, p)
			return nil
		}
		if p.Empty() && pass > 1 {
			break
		}
		progress := func(ev apply.Event) {
			if f.json || ev.Done {
				return
			}
			fmt.Fprintf(e.stderr, "[%d/%d] %s: %s\n", ev.Index+1, ev.Total, ev.Op.Step, describe(ev.Op))
		}
		res, err := apply.Apply(e.ctx, src.Root, p, apply.Options{Runner: run.Exec{Log: e.log}, BindSystem: source.BindSystem, Progress: progress, Output: e.stderr,
			RootFS: src.RootOnly, ShowRootBoot: src.ShowRootBoot})
		if res != nil && err == nil {
			total += len(p.GuestOps())
		}
		if res != nil {
			for _, m := range res.Manual {
				fmt.Fprintf(e.stdout, "run in the guest yourself: %s\n", cmdString(m.Argv))
			}
		}
		if err != nil {
			return fmt.Errorf("%w\nthe journal in the guest records every change made so far: run 'xenify convert' again to finish or 'xenify rollback' to undo", err)
		}
		if len(p.Later) == 0 || f.opts.SkipGuestCmds {
			manual := res != nil && len(res.Manual) > 0
			in, vp, err := makePlan(e, src, &f, label)
			if err != nil {
				return err
			}
			rep := runChecks(src, in, vp, p.Domain, f.opts)
			if f.json {
				return writeJSON(e.stdout, map[string]any{"applied": total, "config_path": p.ConfigPath, "plan": p, "verify": rep})
			}
			if total == 0 {
				fmt.Fprintln(e.stdout, "The guest is already converted: nothing changed.")
			} else {
				fmt.Fprintf(e.stdout, "Converted: %d changes, journaled in the guest (undo with: xenify rollback %s).\n", total, label)
			}
			fmt.Fprintf(e.stdout, "Domain config: %s\n\nVerify:\n", p.ConfigPath)
			printReport(e.stdout, rep)
			switch {
			case rep.Bootable:
				fmt.Fprintf(e.stdout, "Start it with: %s create -c %s\n", p.Toolstack, p.ConfigPath)
			case manual:
				fmt.Fprintln(e.stdout, "Run the guest commands listed above, then: xenify verify "+label)
			default:
				return &xerr.NotBootable{Msg: "converted, but verify says the guest will not boot (see the failed checks above); 'xenify rollback' undoes the conversion"}
			}
			return nil
		}
	}
	return fmt.Errorf("convert did not settle after %d passes; run 'xenify plan' to see what remains", maxPasses)
}

func describe(op interface{ String() string }) string { return op.String() }
