package cli

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/xenify/xenify/convert"
	"github.com/xenify/xenify/p2v"
)

// progress prints the library's events as they come: for people on
// stderr (guest commands left to the user on stdout, with the result),
// or with ndjson one JSON object per line on stdout.
type progress struct {
	e      *env
	ndjson bool
	tty    bool // stderr is a terminal: copy progress redraws one line
	drawn  bool // a progress line is open
}

func (e *env) progress(ndjson bool) *progress {
	return &progress{e: e, ndjson: ndjson, tty: isTerminal(e.stderr)}
}

func (p *progress) event(ev convert.Event) {
	if p.ndjson {
		json.NewEncoder(p.e.stdout).Encode(ev)
		return
	}
	w := p.e.stderr
	switch {
	case ev.Warning != "":
		fmt.Fprintf(w, "warning: %s\n", ev.Warning)
	case ev.Copy != nil:
		p.copyProgress(*ev.Copy)
	case ev.Copied != nil:
		p.endLine()
		printCopySummary(w, ev.Copied)
	case ev.Step != nil:
		fmt.Fprintf(w, "[%d/%d] %s: %s\n", ev.Step.Index, ev.Step.Total, ev.Step.Step, ev.Step.What)
	case ev.Manual != nil:
		fmt.Fprintf(p.e.stdout, "run in the guest yourself: %s\n", cmdString(ev.Manual))
	case ev.Restore != nil:
		fmt.Fprintf(w, "restoring step %d (%s)\n", ev.Restore.Seq, ev.Restore.Step)
	}
}

// copyProgress redraws the copy's progress line on a terminal.
func (p *progress) copyProgress(c p2v.Progress) {
	if p.ndjson {
		json.NewEncoder(p.e.stdout).Encode(convert.Event{Copy: &c})
		return
	}
	if p.tty {
		fmt.Fprintf(p.e.stderr, "\r%s / %s  %s/s  ETA %s   ", human(c.Done), human(c.Total), human(int64(c.Rate)), c.ETA.Round(time.Second))
		p.drawn = true
	}
}

// endLine ends an open progress line.
func (p *progress) endLine() {
	if p.drawn {
		fmt.Fprintln(p.e.stderr)
		p.drawn = false
	}
}
