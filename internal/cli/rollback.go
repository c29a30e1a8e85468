package cli

import (
	"flag"
	"fmt"

	"github.com/xenify/xenify/apply"
	"github.com/xenify/xenify/apply/journal"
	"github.com/xenify/xenify/source"
)

func init() {
	flagBuilders["rollback"] = func() *flag.FlagSet {
		fs := flag.NewFlagSet("rollback", flag.ContinueOnError)
		fs.Bool("json", false, "print JSON for scripts")
		fs.Var(&stringList{}, "disk", diskHelp)
		return fs
	}
	register(&command{
		name: "rollback", usage: "SOURCE [--disk PATH]...", summary: "undo convert, byte for byte, from the guest's journal",
		help: `Rollback restores every file convert changed (contents, mode, owner,
SELinux label), removes what it created, and removes the journal. It can
be run after an interrupted convert too. The domain config on the host
is left in place.

Example:
  xenify rollback /mnt/centos4`,
		run: runRollback,
	})
}

func runRollback(e *env, args []string) error {
	fs := flagBuilders["rollback"]()
	if err := parse(fs, args); err != nil {
		return err
	}
	src, err := source.Open(e.ctx, sourcePaths(fs), source.ReadWrite)
	if err != nil {
		return err
	}
	defer src.Close()
	n, err := apply.Rollback(src.Root, src.RootOnly, func(r journal.Record) {
		fmt.Fprintf(e.stderr, "restoring step %d (%s)\n", r.Seq, r.Step)
	})
	if err != nil {
		return err
	}
	if fs.Lookup("json").Value.String() == "true" {
		return writeJSON(e.stdout, map[string]any{"restored_records": n})
	}
	fmt.Fprintf(e.stdout, "Rolled back %d journaled changes.\n", n)
	return nil
}
