// Command xenify-copy-bench runs p2v.Copy from the command line. It exists
// for bench/copy/run.sh until the xenify CLI wires `xenify copy`.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/xenify/xenify/p2v"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "xenify-copy-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("xenify-copy-bench", flag.ContinueOnError)
	fl.SetOutput(stderr)
	verify := fl.Bool("verify", false, "compare source and destination after the copy")
	overwrite := fl.Bool("overwrite", false, "replace an existing destination file")
	planOnly := fl.Bool("plan", false, "print the plan summary and exit")
	progress := fl.Bool("progress", false, "print progress to stderr")
	direct := fl.Bool("direct", false, "read the source with O_DIRECT")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: xenify-copy-bench [-verify] [-overwrite] [-plan] [-progress] [-direct] SRC [DST]")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *planOnly && fl.NArg() == 1 {
		p, err := p2v.PlanFile(fl.Arg(0))
		if err != nil {
			return err
		}
		for _, r := range p.Summarize() {
			fmt.Fprintf(stdout, "%14d  %s\n", r.Len, r.Reason)
		}
		fmt.Fprintf(stdout, "%14d  total of %d bytes in %d ranges\n", p.Bytes(), p.Size, len(p.Ranges))
		for _, w := range p.Warnings {
			fmt.Fprintln(stdout, "warning:", w)
		}
		return nil
	}
	if fl.NArg() != 2 {
		fl.Usage()
		return fmt.Errorf("want SRC and DST")
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	opt := p2v.Options{Source: fl.Arg(0), Dest: fl.Arg(1), Verify: *verify, Overwrite: *overwrite, DirectIO: *direct}
	if *progress {
		opt.Progress = func(p p2v.Progress) {
			fmt.Fprintf(stderr, "\r%6.1f%% %8.1f MB/s ETA %v   ", 100*float64(p.Done)/float64(max(p.Total, 1)), p.Rate/1e6, p.ETA.Round(time.Second))
		}
	}
	sum, err := p2v.Copy(ctx, opt)
	if *progress {
		fmt.Fprintln(stderr)
	}
	if err != nil {
		return err
	}
	sum.Plan = nil
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(sum)
}
