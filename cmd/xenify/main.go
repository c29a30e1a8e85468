// Command xenify moves a native Linux installation into a paravirtualized
// Xen guest. See `xenify help`.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/xenify/xenify/internal/cli"
)

func main() {
	os.Exit(runWithSignals(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, cli.Run))
}

// runWithSignals runs work with a context that the first SIGINT or
// SIGTERM cancels: work stops after the step in progress, releases
// mounts and leaves the journal consistent (cli.Run then exits 130).
// The first signal also restores the default action, so a second one
// kills xenify even when the step in progress does not return (a
// syscall the context cannot interrupt).
func runWithSignals(args []string, stdin io.Reader, stdout, stderr io.Writer, work func(context.Context, []string, io.Reader, io.Writer, io.Writer) int) int {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	go func() {
		s, ok := <-sigs
		if !ok {
			return
		}
		signal.Reset(os.Interrupt, syscall.SIGTERM)
		fmt.Fprintf(stderr, "xenify: %v: stopping after the current step (a second signal kills xenify at once)\n", s)
		cancel(fmt.Errorf("received %v", s))
	}()
	return work(ctx, args, stdin, stdout, stderr)
}
