// Package cli is xenify's command line: a thin layer that parses flags and
// calls the library packages. Run is the whole tool as a function, so
// tests drive it in-process.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/xenify/xenify/xerr"
)

// env carries the streams of one invocation.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// log is the command log on stderr, shown with --verbose (level).
	log   *slog.Logger
	level *slog.LevelVar
}

type command struct {
	name, usage, summary, help string
	run                        func(e *env, args []string) error
}

var commands []*command

func register(c *command) { commands = append(commands, c) }

const overview = `xenify moves a native Linux installation into a paravirtualized Xen guest.

Usage: xenify COMMAND [options] SOURCE

SOURCE is the guest's root filesystem mounted as a directory, or its
disks: raw disk images or block devices (whole disks, partitions, LVs),
several with --disk. xenify finds partitions, LVM volumes and md mirrors
itself, mounts what the guest's fstab names through loop devices, and
releases everything when done.

Commands:
%s
Run 'xenify help COMMAND' for a command's options and examples, and
'xenify version' for the version of this build.

Exit codes: 0 done, 1 failure, 2 usage error, 3 guest cannot be converted
safely (refused before anything was written; for verify: will not boot),
4 converted but verify says the guest will not boot (rollback undoes it),
130 interrupted (Ctrl-C; the journal stays consistent).
`

// Run runs xenify with args (without the program name) and returns the
// exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, level: new(slog.LevelVar)}
	e.level.Set(slog.LevelWarn)
	e.log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: e.level}))
	if len(args) == 0 {
		printOverview(stderr)
		return xerr.ExitUsage
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" {
		if len(args) > 1 {
			c := find(args[1])
			if c == nil {
				fmt.Fprintf(stderr, "xenify help: unknown command %q\n\n", args[1])
				printOverview(stderr)
				return xerr.ExitUsage
			}
			printHelp(stdout, c)
			return 0
		}
		printOverview(stdout)
		return 0
	}
	if name == "version" || name == "--version" {
		fmt.Fprintln(stdout, "xenify", version(), runtime.Version())
		return 0
	}
	c := find(name)
	if c == nil {
		fmt.Fprintf(stderr, "xenify: unknown command %q\n\n", name)
		printOverview(stderr)
		return xerr.ExitUsage
	}
	err := c.run(e, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		printHelp(stdout, c)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "xenify %s: %v\n", c.name, err)
		if errors.Is(err, context.Canceled) {
			return xerr.ExitInterrupted
		}
		return xerr.Code(err)
	}
	return 0
}

// Version is the version of this build, stamped in by the Makefile
// (-ldflags "-X github.com/xenify/xenify/internal/cli.Version=..."). When
// it is not, version reads what the Go toolchain recorded.
var Version = ""

// version is Version, else the module version of a `go install`, else
// the VCS revision the binary was built from (dirty when it had
// uncommitted changes), else "devel".
func version() string {
	if Version != "" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision" && len(s.Value) >= 12:
			rev = "-" + s.Value[:12]
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "-dirty"
		}
	}
	return "devel" + rev + dirty
}

func find(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func printOverview(w io.Writer) {
	var b strings.Builder
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, overview, b.String())
}

func printHelp(w io.Writer, c *command) {
	fmt.Fprintf(w, "Usage: xenify %s %s\n\n%s\n", c.name, c.usage, strings.TrimSpace(c.help))
	fs := c.flags(nil)
	if fs == nil {
		fs = flag.NewFlagSet(c.name, flag.ContinueOnError)
	}
	commonFlags(fs, new(bool))
	fmt.Fprintln(w, "\nOptions:")
	printFlags(w, fs)
}

// printFlags lists a command's options as the docs write them, with
// double dashes.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  --%s", f.Name)
		if arg != "" {
			fmt.Fprintf(w, " %s", arg)
		}
		fmt.Fprintf(w, "\n    \t%s", strings.ReplaceAll(usage, "\n", "\n    \t"))
		switch {
		case f.DefValue == "" || f.DefValue == "false" || f.DefValue == "0":
		case arg == "string":
			fmt.Fprintf(w, " (default %q)", f.DefValue)
		default:
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// flagRe finds the flag a flag package error names, written "-name".
var flagRe = regexp.MustCompile(`(defined: |argument: |flag |for )-([A-Za-z])`)

// commonFlags are the options every command has.
func commonFlags(fs *flag.FlagSet, verbose *bool) {
	fs.BoolVar(verbose, "verbose", false, "show the command log: every command xenify runs, on stderr")
}

// flags builds the command's flag set (for help) when it has one.
func (c *command) flags(_ *env) *flag.FlagSet {
	if f, ok := flagBuilders[c.name]; ok {
		return f()
	}
	return nil
}

var flagBuilders = map[string]func() *flag.FlagSet{}

// parse parses args with fs and the common flags, turning errors into
// usage errors that point to the command's help.
func (e *env) parse(fs *flag.FlagSet, args []string) error {
	var verbose bool
	commonFlags(fs, &verbose)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(interleave(fs, args)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return xerr.Usagef("%v (see 'xenify help %s')", flagRe.ReplaceAllString(err.Error(), "$1--$2"), fs.Name())
	}
	if verbose {
		e.level.Set(slog.LevelInfo)
	}
	return nil
}

// interleave moves flags after positional arguments to the front, so
// "xenify plan /mnt/guest --json" works as users expect.
func interleave(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if strings.Contains(name, "=") {
				continue
			}
			if f := fs.Lookup(name); f != nil {
				if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
					continue
				}
				if i+1 < len(args) {
					flags = append(flags, args[i+1])
					i++
				}
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
