package cli

import (
	"encoding/json"
	"flag"
	"fmt"

	"github.com/xenify/xenify/convert"
	"github.com/xenify/xenify/p2v/remote"
	"github.com/xenify/xenify/xerr"
)

func init() {
	flagBuilders["convert"] = func() *flag.FlagSet {
		fs := flag.NewFlagSet("convert", flag.ContinueOnError)
		(&convertFlags{}).register(fs)
		fs.Bool("dry-run", false, "print the plan and change nothing (same as xenify plan)")
		fs.Bool("force", false, "replace an existing domain config that xenify did not write for this guest's disks")
		registerSSHFlags(fs, &sshFlags{})
		return fs
	}
	register(&command{
		name: "convert", usage: "[options] SOURCE", summary: "convert the guest in place (journaled, reversible)",
		help: `Convert applies the plan: it journals every file inside the guest
(/var/lib/xenify) before changing it, writes atomically, and writes the
Xen domain configuration. The initrd gets the Xen frontends as an
appended cpio layer built from the guest's own modules (--initrd append,
the default where it can be proven to work), or is rebuilt by the
guest's own tool (--initrd rebuild); the guest's own tools (kernel
install, initrd rebuild) run chrooted in a sandbox that cannot see the
host's disks or processes. When a kernel must be installed first,
convert inspects again afterwards and plans the boot entry and initrd for
it. A separate /boot is copied into the root filesystem first (when the
disks are given, not a directory; --keep-boot keeps it). Running convert
again changes nothing; 'xenify rollback' undoes it. An existing domain
config that xenify did not write for this guest's disks is not replaced
without --force (rollback does not restore host files).

With --json, convert prints one JSON object per line on stdout: the
events as they happen ({"progress":…} and {"summary":…} of a --copy-to
copy, {"step":…}, {"warning":…}, {"manual":…}), and last the result,
{"result":{"applied":…,"config_path":…,"plan":…,"verify":…}}.

Examples:
  xenify convert --name web1 /mnt/centos4
  xenify convert --name web1 /srv/xen/web1.img                 # a disk image
  xenify convert --name web1 --copy-to /srv/xen/web1.img /dev/sdb  # P2V: copy, then convert the copy
  xenify convert --name web1 --copy-to /srv/xen/web1.img ssh://root@oldbox/dev/sda  # P2V over ssh
  xenify convert --layout lv /dev/VolGroup00/LogVol00 --disk /dev/sda1   # /boot is copied into /
  xenify convert --layout lv --keep-boot /dev/sda                      # /boot stays, as the first disk
  xenify convert --dry-run /mnt/centos4
  xenify convert --initrd append /mnt/debian12     # never run guest code for the initrd
  xenify convert --initrd rebuild /mnt/debian12    # the guest's update-initramfs, chrooted
  xenify convert --boot direct --config-out /etc/xen/web1.cfg /mnt/debian12
  xenify convert --guest-type pvh --hypervisor-caps "xen-3.0-x86_64 hvm-3.0-x86_64" /mnt/debian12
  xenify convert --boot pvgrub /srv/xen/el7.img                  # GRUB for Xen reads XFS /boot in the guest
  xenify convert --guest-type hvm --layout disk /srv/xen/rocky9.img   # HVM: its own GRUB boots from the MBR
  xenify convert --guest-type hvm --boot direct /srv/xen/rocky9.img   # HVM, dom0 boots kernel and initrd
  xenify convert --kernel /srv/xen/vmlinuz-appliance /mnt/web1   # one dom0 kernel, no initrd
  xenify convert --kernel-package kernel-xenU-2.6.9-42.0.3.EL.i686.rpm /mnt/centos44`,
		run: runConvert,
	})
}

func runConvert(e *env, args []string) error {
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	var f convertFlags
	f.register(fs)
	dry := fs.Bool("dry-run", false, "")
	force := fs.Bool("force", false, "")
	var ssh sshFlags
	registerSSHFlags(fs, &ssh)
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if err := f.finish(); err != nil {
		return err
	}
	paths := sourcePaths(fs)
	if len(paths) > 0 && remote.IsURL(paths[0]) {
		// Disks of another machine: copy them over ssh first (one
		// connection), then convert the copies.
		if f.copyTo == "" || *dry {
			return xerr.Usagef("%s: an ssh:// disk is copied first: give --copy-to IMAGE (or a directory, for several disks), without --dry-run", paths[0])
		}
		dsts, err := copyRemote(e, paths, f.copyTo, copyFlags{json: f.json, verify: true, ssh: ssh, summaryOut: e.stderr})
		if err != nil {
			return err
		}
		paths, f.copyTo = dsts, ""
	}
	if *dry {
		if f.copyTo != "" {
			return xerr.Usagef("--copy-to with --dry-run: run 'xenify copy' first, then plan the copy")
		}
		return planAndPrint(e, &f, paths)
	}
	pr := e.progress(f.json)
	o := f.options(e, paths, pr)
	o.Force = *force
	res, err := convert.Run(e.ctx, o)
	pr.endLine()
	if res == nil {
		return err
	}
	if f.json {
		if jerr := json.NewEncoder(e.stdout).Encode(map[string]any{"result": res}); jerr != nil {
			return jerr
		}
		return err
	}
	if res.Applied == 0 {
		fmt.Fprintln(e.stdout, "The guest is already converted: nothing changed.")
	} else {
		fmt.Fprintf(e.stdout, "Converted: %d changes, journaled in the guest (undo with: xenify rollback %s).\n", res.Applied, res.Plan.Source)
	}
	fmt.Fprintf(e.stdout, "Domain config: %s\n\nVerify:\n", res.ConfigPath)
	printReport(e.stdout, res.Verify)
	if res.Host != nil {
		fmt.Fprintln(e.stdout, "\nHost check (this dom0):")
		printHostReport(e.stdout, res.Host)
	}
	switch {
	case res.Verify.Bootable:
		fmt.Fprintf(e.stdout, "Start it with: %s create -c %s\n", res.Plan.Toolstack, res.ConfigPath)
	case len(res.Manual) > 0:
		fmt.Fprintln(e.stdout, "Run the guest commands listed above, then: xenify verify "+res.Plan.Source)
	}
	return err
}
