package cli

import (
	"flag"
	"fmt"

	"github.com/xenify/xenify/convert"
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
	if err := e.parse(fs, args); err != nil {
		return err
	}
	n, err := convert.Rollback(e.ctx, convert.Options{Sources: sourcePaths(fs), Progress: e.progress(false).event, Log: e.log})
	if err != nil {
		return err
	}
	if fs.Lookup("json").Value.String() == "true" {
		return writeJSON(e.stdout, map[string]any{"restored_records": n})
	}
	fmt.Fprintf(e.stdout, "Rolled back %d journaled changes.\n", n)
	return nil
}
