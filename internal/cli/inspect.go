package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/xenify/xenify/convert"
	"github.com/xenify/xenify/inspect"
)

func init() {
	flagBuilders["inspect"] = func() *flag.FlagSet {
		fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
		fs.Bool("json", false, "print JSON for scripts")
		fs.Var(&stringList{}, "disk", diskHelp)
		return fs
	}
	register(&command{
		name: "inspect", usage: "[--json] SOURCE [--disk PATH]...", summary: "show what is installed (reads only)",
		help: `Inspect reads the guest and reports its distribution, architecture,
host name, package format and manager, kernels (and which can boot as a
Xen PV guest), boot loader, fstab (for disk sources, the device each line
resolved to), network interfaces, consoles and SELinux mode. It never
writes. In --json every list is [] when empty.

Examples:
  xenify inspect /mnt/centos4
  xenify inspect --json /mnt/centos4 | jq '.kernels[] | select(.pv)'
  xenify inspect --json disk.img | jq '.fstab.entries[] | {mount, device}'`,
		run: runInspect,
	})
}

func runInspect(e *env, args []string) error {
	fs := flagBuilders["inspect"]()
	if err := e.parse(fs, args); err != nil {
		return err
	}
	asJSON := fs.Lookup("json").Value.String() == "true"
	in, err := convert.Inspect(e.ctx, convert.Options{Sources: sourcePaths(fs), Progress: e.progress(false).event, Log: e.log})
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(e.stdout, in)
	}
	printInspection(e.stdout, in)
	return nil
}

func printInspection(w io.Writer, in *inspect.Inspection) {
	fmt.Fprintf(w, "Distribution: %s (%s family, from %s)\n", in.OS.Name, in.OS.Family, in.OS.Source)
	fmt.Fprintf(w, "Architecture: %s (%s)\n", in.Arch.Name, in.Arch.Source)
	host := "none"
	if in.Hostname != "" {
		host = in.Hostname + " (" + in.HostnameSource + ")"
	}
	fmt.Fprintf(w, "Hostname:     %s\n", host)
	fmt.Fprintf(w, "Packages:     %s, managed by %s\n", orNone(in.PackageFormat), orNone(in.PackageManager))
	fmt.Fprintf(w, "Init:         %s\n", in.Init)
	fmt.Fprintf(w, "Initrd tool:  %s\n", orNone(in.Initrd))
	fmt.Fprintf(w, "SELinux:      %s\n", orNone(in.SELinux.Mode))
	fmt.Fprintf(w, "Boot loader:  %s %s\n", in.Boot.Loader, in.Boot.ConfigPath)
	for i, b := range in.Boot.Entries {
		mark := " "
		if i == in.Boot.Default {
			mark = "*"
		}
		fmt.Fprintf(w, "  %s %d: %s  (%s)\n", mark, i, b.Title, b.Kernel)
	}
	fmt.Fprintln(w, "Kernels:"+noneIf(len(in.Kernels) == 0))
	for _, k := range in.Kernels {
		pv := "native only"
		if k.PV {
			pv = "Xen PV"
		}
		fmt.Fprintf(w, "  %-28s %-14s %s  [%s]\n", k.Version, k.Flavor, pv, k.Evidence)
	}
	var local []inspect.FstabEntry
	for _, f := range in.Fstab.Entries {
		if f.Local() {
			local = append(local, f)
		}
	}
	fmt.Fprintln(w, "Filesystems (fstab):"+noneIf(len(local) == 0))
	for _, f := range local {
		dev := ""
		if f.Device != "" {
			dev = "  = " + f.Device
		}
		fmt.Fprintf(w, "  %-32s %-12s %s%s\n", f.Spec, f.Mount, f.Type, dev)
	}
	fmt.Fprintln(w, "Network:"+noneIf(len(in.NICs) == 0))
	for _, n := range in.NICs {
		fmt.Fprintf(w, "  %-8s %-17s %s %s\n", n.Name, orNone(n.MAC), n.Driver, n.Source)
	}
	var ttys []string
	for _, g := range in.Gettys {
		ttys = append(ttys, g.TTY)
	}
	fmt.Fprintf(w, "Gettys:       %s\n", orNone(strings.Join(ttys, " ")))
}

// noneIf is the " none" that follows a heading with nothing under it.
func noneIf(empty bool) string {
	if empty {
		return " none"
	}
	return ""
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
