package cli

import (
	"flag"
	"fmt"

	"github.com/xenify/xenify/source"
)

func init() {
	flagBuilders["cleanup"] = func() *flag.FlagSet {
		fs := flag.NewFlagSet("cleanup", flag.ContinueOnError)
		fs.Bool("json", false, "print JSON for scripts")
		return fs
	}
	register(&command{
		name: "cleanup", usage: "[--json]", summary: "release mounts and loop devices a killed xenify left behind",
		help: `With a disk image or block device as SOURCE, xenify attaches loop
devices and mounts filesystems under ` + source.RunDir + `/mnt, recording each in
a state file (` + source.RunDir + `/state) before using it. Everything is released
when xenify exits, even on Ctrl-C; only a hard kill (SIGKILL, a crash)
leaves something behind. Cleanup releases what processes that no longer
run left, and removes their state files. Every xenify command does this
by itself on start; cleanup is for doing it without running one.

An interrupted convert leaves the guest's journal consistent: after
cleanup, run 'xenify convert' again to finish or 'xenify rollback' to undo.

Example:
  xenify cleanup`,
		run: runCleanup,
	})
}

func runCleanup(e *env, args []string) error {
	fs := flagBuilders["cleanup"]()
	if err := e.parse(fs, args); err != nil {
		return err
	}
	rel, err := source.Cleanup()
	if fs.Lookup("json").Value.String() == "true" {
		if jerr := writeJSON(e.stdout, map[string]any{"released": rel}); jerr != nil {
			return jerr
		}
		return err
	}
	for _, r := range rel {
		fmt.Fprintf(e.stdout, "process %d: unmounted %d, detached %d", r.PID, len(r.Unmount), len(r.Detach))
		for _, d := range r.Detach {
			fmt.Fprintf(e.stdout, " %s", d)
		}
		fmt.Fprintln(e.stdout)
	}
	if len(rel) == 0 && err == nil {
		fmt.Fprintln(e.stdout, "Nothing to clean up.")
	}
	return err
}
