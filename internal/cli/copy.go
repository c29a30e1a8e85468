package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/xenify/xenify/convert"
	"github.com/xenify/xenify/p2v"
	"github.com/xenify/xenify/p2v/remote"
	"github.com/xenify/xenify/xerr"
)

func init() {
	flagBuilders["copy"] = func() *flag.FlagSet {
		fs := flag.NewFlagSet("copy", flag.ContinueOnError)
		registerCopyFlags(fs, &copyFlags{})
		return fs
	}
	register(&command{
		name: "copy", usage: "[options] [--disk ssh://...]... SRC DST", summary: "copy a disk at the speed of its used data (resumable, local or over ssh)",
		help: `Copy moves a machine's disk into an image file (written sparse) or a
block device on the Xen host. It reads only what holds data: the
partition tables and boot sectors, the blocks that ext2/3/4 mark as used
(also inside LVM volumes), the swap header; anything else is read whole
but zero blocks become holes. The source is opened read-only.

An interrupted copy resumes from its checkpoint (DST.xenify-copy, or
/var/lib/xenify/copy/ for a block device DST) when run again with the
same arguments. An existing DST without a checkpoint is refused unless
--overwrite is given. --verify checksums every copied
range of source and destination afterwards.

Progress goes to stderr on a terminal; with --json, one JSON object per
update and a final summary go to stdout.

A source ssh://[user@]host[:port]/dev/DEVICE is a disk of another
machine, read over one multiplexed connection of the system's ssh (your
~/.ssh/config, agent and known_hosts apply; a host key that is unknown or
changed is refused). Nothing is installed or written there: the remote
runs only sh, dd, md5sum or sha1sum (cksum where neither exists) and,
with --compress, gzip. Further
disks of the same machine come with --disk; DST is then a directory that
receives HOST-DEVICE.img for each. A copy interrupted by a dropped
connection resumes when the same command runs again.

Warm migration: copy while the source runs (and, if the cutover is days
away, run --sync passes while it still runs: each catches up with the
changes since the last). At cutover quiesce the source (stop the
services, 'mount -o remount,ro' or boot a live medium; then
'sync; echo 3 > /proc/sys/vm/drop_caches' there, or 'blockdev
--flushbufs /dev/sda' on kernels before 2.6.16, so that no stale cached
blocks are read), and run the same command with --sync: it plans the
source again, hashes every block in use on both sides and re-sends only
those that differ. The sync pass is the downtime; its time is printed.
Run --sync once more as the check: on a quiesced source it re-sends
nothing.

Examples:
  xenify copy /dev/sda /srv/xen/web1.img
  xenify copy --verify /dev/sdb /dev/vg_xen/web1-disk
  xenify copy --compress --bwlimit 20M ssh://root@oldbox/dev/sda /srv/xen/web1.img
  xenify copy --sync ssh://root@oldbox/dev/sda /srv/xen/web1.img   # at cutover
  xenify copy --disk ssh://root@oldbox/dev/sdb ssh://root@oldbox/dev/sda /srv/xen/
  xenify convert --copy-to /srv/xen/web1.img --name web1 /dev/sda
  xenify convert --copy-to /srv/xen/web1.img --name web1 ssh://root@oldbox/dev/sda`,
		run: runCopy,
	})
}

type copyFlags struct {
	json, verify, overwrite, sync bool
	disks                         stringList
	ssh                           sshFlags
	// summaryOut receives the human-readable summary (default stdout).
	summaryOut io.Writer
}

// sshFlags configure reading disks over ssh (copy, convert --copy-to).
type sshFlags struct {
	config   string
	compress bool
	bwlimit  string
}

func registerCopyFlags(fs *flag.FlagSet, f *copyFlags) {
	fs.BoolVar(&f.json, "json", false, "print JSON progress lines and summary for scripts")
	fs.BoolVar(&f.verify, "verify", false, "checksum the copied ranges of source and destination afterwards (over ssh: hashes computed remotely against locally)")
	fs.BoolVar(&f.overwrite, "overwrite", false, "replace an existing destination file that holds no interrupted copy")
	fs.BoolVar(&f.sync, "sync", false, "bring an earlier copy of an ssh:// source up to date: re-plan, hash the used blocks on both sides, re-send what differs")
	fs.Var(&f.disks, "disk", "another disk of the same machine (ssh://...); repeatable; DST is then a directory")
	registerSSHFlags(fs, &f.ssh)
}

func registerSSHFlags(fs *flag.FlagSet, f *sshFlags) {
	fs.StringVar(&f.config, "ssh-config", "", "ssh client configuration file (ssh -F) for ssh:// sources; default ~/.ssh/config")
	fs.BoolVar(&f.compress, "compress", false, "compress ssh:// transfers with gzip -1 on the remote (it must have gzip)")
	fs.StringVar(&f.bwlimit, "bwlimit", "", "cap ssh:// transfers at RATE bytes per second, with K, M or G (powers of 1024), e.g. 20M")
}

func runCopy(e *env, args []string) error {
	fs := flag.NewFlagSet("copy", flag.ContinueOnError)
	var f copyFlags
	registerCopyFlags(fs, &f)
	if err := e.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return xerr.Usagef("copy needs SRC and DST")
	}
	if !remote.IsURL(fs.Arg(0)) {
		if len(f.disks) > 0 || f.sync {
			return xerr.Usagef("--disk and --sync are for ssh:// sources")
		}
		sum, err := copyDisk(e, fs.Arg(0), fs.Arg(1), f, nil)
		if err != nil {
			return err
		}
		return printCopy(e, f, sum, nil)
	}
	_, err := copyRemote(e, append([]string{fs.Arg(0)}, f.disks...), fs.Arg(1), f)
	return err
}

func printCopy(e *env, f copyFlags, sum *p2v.Summary, st *remote.Stats) error {
	if f.json {
		return json.NewEncoder(e.stdout).Encode(map[string]any{"summary": sum, "ssh": st})
	}
	w := f.summaryOut
	if w == nil {
		w = e.stdout
	}
	printCopySummary(w, sum)
	if st != nil {
		fmt.Fprintf(w, "ssh: %s received, %d commands\n", human(st.BytesIn), st.Commands)
	}
	return nil
}

// copyDisk runs one copy, from rm when it is not nil, with progress on
// e's streams; --sync runs a sync pass instead.
func copyDisk(e *env, src, dst string, f copyFlags, rm p2v.Remote) (*p2v.Summary, error) {
	pr := e.progress(f.json)
	o := p2v.Options{Source: src, Dest: dst, Verify: f.verify, Overwrite: f.overwrite, Progress: pr.copyProgress, Logger: e.log, Remote: rm}
	if rm != nil {
		// Smaller buffers keep more of them in flight on a slow link.
		o.BufferSize = 4 << 20
	}
	run := convert.Copy
	if f.sync {
		run = convert.Sync
	}
	sum, err := run(e.ctx, o)
	pr.endLine()
	return sum, err
}

// copyRemote copies (or syncs) the disks srcs, ssh:// URLs of one machine,
// over one connection, to dst (a directory when there are several), and
// returns the destinations.
func copyRemote(e *env, srcs []string, dst string, f copyFlags) ([]string, error) {
	var targets []remote.Target
	for _, s := range srcs {
		t, err := remote.ParseURL(s)
		if err != nil {
			return nil, xerr.Usagef("%v", err)
		}
		if len(targets) > 0 && !t.SameHost(targets[0]) {
			return nil, xerr.Usagef("%s and %s: the disks of one copy come from one machine", srcs[0], s)
		}
		targets = append(targets, t)
	}
	dsts := []string{dst}
	if len(targets) > 1 {
		if st, err := os.Stat(dst); err != nil || !st.IsDir() {
			return nil, xerr.Usagef("with several disks DST must be a directory (%s is not)", dst)
		}
		dsts = dsts[:0]
		for _, t := range targets {
			name := t.Host + "-" + strings.ReplaceAll(strings.TrimPrefix(t.Device, "/dev/"), "/", "_") + ".img"
			dsts = append(dsts, filepath.Join(dst, name))
		}
	}
	opt := remote.Options{ConfigFile: f.ssh.config, Compress: f.ssh.compress, Logger: e.log}
	if f.ssh.bwlimit != "" {
		n, err := parseRate(f.ssh.bwlimit)
		if err != nil {
			return nil, xerr.Usagef("--bwlimit %s: %v", f.ssh.bwlimit, err)
		}
		opt.BWLimit = n
	}
	c, err := remote.Dial(e.ctx, targets[0], opt)
	if err != nil {
		if errors.Is(err, remote.ErrHostKey) {
			return nil, &xerr.Refused{Msg: "connecting to " + srcs[0], Err: err,
				Fix: "check the host's key fingerprint out of band, then add it to known_hosts (ssh-keyscan, or one interactive ssh login); nothing was read or written"}
		}
		return nil, err
	}
	defer c.Close()
	for i, t := range targets {
		d, err := c.Open(e.ctx, t)
		if err != nil {
			if errors.Is(err, remote.ErrNotBlockDevice) {
				return nil, &xerr.Refused{Msg: "copying " + srcs[i], Err: err, Fix: "name a whole disk or partition such as /dev/sda; nothing was written"}
			}
			return nil, err
		}
		sum, err := copyDisk(e, srcs[i], dsts[i], f, d)
		if err != nil {
			return nil, err
		}
		st := c.Stats()
		if err := printCopy(e, f, sum, &st); err != nil {
			return nil, err
		}
	}
	return dsts, nil
}

// parseRate reads a byte rate such as 500K, 20M or 1G (powers of 1024).
func parseRate(s string) (int64, error) {
	mult := int64(1)
	switch strings.ToUpper(s[len(s)-1:]) {
	case "K":
		mult = 1 << 10
	case "M":
		mult = 1 << 20
	case "G":
		mult = 1 << 30
	}
	if mult > 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("want a positive number of bytes per second, with K, M or G")
	}
	return n * mult, nil
}

func printCopySummary(w io.Writer, s *p2v.Summary) {
	fmt.Fprintf(w, "Copied %s to %s: %s disk, %s read, %s written, %s left as holes, in %s (%.0f MB/s)",
		s.Source, s.Dest, human(s.Size), human(s.BytesRead), human(s.BytesWritten), human(s.HoleBytes), s.Elapsed.Round(time.Millisecond), s.MBps)
	if s.Resumed {
		fmt.Fprintf(w, ", resumed at %s", human(s.ResumedAt))
	}
	if s.Verified {
		fmt.Fprint(w, ", verified")
	}
	if st := s.Sync; st != nil {
		fmt.Fprintf(w, "\nSync: %s in use checked in %d chunks, %s hashed again finer, %s re-sent in pieces of %s; hashing %s, sending %s: the cutover's downtime was %s",
			human(st.Checked), st.Chunks, human(st.Fine), human(st.Resent), human(st.Finest), st.HashTime.Round(time.Millisecond), st.SendTime.Round(time.Millisecond), s.Elapsed.Round(time.Millisecond))
	}
	fmt.Fprintln(w)
	for _, wm := range s.Warnings {
		fmt.Fprintf(w, "warning: %s\n", wm)
	}
}

func human(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
