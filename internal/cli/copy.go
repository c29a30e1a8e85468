package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/xenify/xenify/convert"
	"github.com/xenify/xenify/p2v"
	"github.com/xenify/xenify/xerr"
)

func init() {
	flagBuilders["copy"] = func() *flag.FlagSet {
		fs := flag.NewFlagSet("copy", flag.ContinueOnError)
		registerCopyFlags(fs, &copyFlags{})
		return fs
	}
	register(&command{
		name: "copy", usage: "[--json] [--verify] SRC DST", summary: "copy a disk at the speed of its used data (resumable)",
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

Examples:
  xenify copy /dev/sda /srv/xen/web1.img
  xenify copy --verify /dev/sdb /dev/vg_xen/web1-disk
  xenify convert --copy-to /srv/xen/web1.img --name web1 /dev/sda`,
		run: runCopy,
	})
}

type copyFlags struct {
	json, verify, overwrite bool
}

func registerCopyFlags(fs *flag.FlagSet, f *copyFlags) {
	fs.BoolVar(&f.json, "json", false, "print JSON progress lines and summary for scripts")
	fs.BoolVar(&f.verify, "verify", false, "checksum the copied ranges of source and destination afterwards")
	fs.BoolVar(&f.overwrite, "overwrite", false, "replace an existing destination file that holds no interrupted copy")
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
	sum, err := copyDisk(e, fs.Arg(0), fs.Arg(1), f)
	if err != nil {
		return err
	}
	if f.json {
		return json.NewEncoder(e.stdout).Encode(map[string]any{"summary": sum})
	}
	printCopySummary(e.stdout, sum)
	return nil
}

// copyDisk runs one copy with progress on e's streams.
func copyDisk(e *env, src, dst string, f copyFlags) (*p2v.Summary, error) {
	pr := e.progress(f.json)
	sum, err := convert.Copy(e.ctx, p2v.Options{Source: src, Dest: dst, Verify: f.verify, Overwrite: f.overwrite, Progress: pr.copyProgress, Logger: e.log})
	pr.endLine()
	return sum, err
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
