package convert

import (
	"context"
	"fmt"

	"github.com/xenify/xenify/apply"
	"github.com/xenify/xenify/p2v"
	"github.com/xenify/xenify/run"
	"github.com/xenify/xenify/source"
	"github.com/xenify/xenify/xerr"
)

// maxPasses bounds Run's plan/apply loop: a pass that installs a kernel
// is followed by one that configures it.
const maxPasses = 3

// Run converts the guest in place: it plans, applies the plan (every
// change journaled in the guest first), and plans again until nothing
// is left (a kernel installed in one pass is configured in the next),
// then verifies the result. Running it again changes nothing; Rollback
// undoes it.
//
// When the guest is converted but verify says it will not boot, Run
// returns the result and a *xerr.NotBootable error. With
// Plan.SkipGuestCmds, the commands left for the user are in
// Result.Manual and the guest boots only after they ran.
func Run(ctx context.Context, o Options) (*Result, error) {
	if err := prepare(&o); err != nil {
		return nil, err
	}
	sources := o.Sources
	res := &Result{}
	if o.CopyTo != "" {
		if len(sources) != 1 {
			return nil, xerr.Usagef("--copy-to copies one disk: give one SOURCE and no --disk")
		}
		sum, err := Copy(ctx, p2v.Options{Source: sources[0], Dest: o.CopyTo, Verify: true,
			Progress: func(p p2v.Progress) { o.emit(Event{Copy: &p}) }})
		if err != nil {
			return nil, err
		}
		o.emit(Event{Copied: sum})
		res.Copied = sum
		sources = []string{o.CopyTo}
	}
	s, err := open(ctx, &o, sources, source.ReadWrite)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	for pass := 1; pass <= maxPasses; pass++ {
		_, p, err := s.plan(o.Plan)
		if err != nil {
			return nil, err
		}
		if p.Empty() && pass > 1 {
			break
		}
		if pass == 1 {
			if err := checkConfig(p, o.Force); err != nil {
				return nil, err
			}
			p = withoutUnchangedConfig(p)
		}
		progress := func(ev apply.Event) {
			if ev.Done {
				return
			}
			o.emit(Event{Step: &Step{Pass: pass, Index: ev.Index + 1, Total: ev.Total, Step: ev.Op.Step, What: ev.Op.String()}})
		}
		ar, err := apply.Apply(ctx, s.src.Root, p, apply.Options{Runner: run.Exec{Log: o.logger()},
			Progress: progress, Output: o.output(), RootFS: s.src.RootOnly, ShowRootBoot: s.src.ShowRootBoot})
		if ar != nil && err == nil {
			res.Applied += len(p.GuestOps())
		}
		if ar != nil {
			for _, m := range ar.Manual {
				o.emit(Event{Manual: m.Argv})
				res.Manual = append(res.Manual, m.Argv)
			}
		}
		if err != nil && ar == nil {
			return nil, err // refused before the first op: nothing was changed
		}
		if err != nil {
			return nil, fmt.Errorf("%w\nthe journal in the guest records every change made so far: run 'xenify convert' again to finish or 'xenify rollback' to undo", err)
		}
		if len(p.Later) > 0 && !o.Plan.SkipGuestCmds {
			continue
		}
		in, vp, err := s.plan(o.Plan)
		if err != nil {
			return nil, err
		}
		res.Plan, res.ConfigPath = p, p.ConfigPath
		res.Verify = s.verify(in, vp, p.Domain, o.Plan)
		res.Host = s.hostCheck(ctx, p)
		if !res.Verify.Bootable && len(res.Manual) == 0 {
			return res, &xerr.NotBootable{Msg: "converted, but verify says the guest will not boot (see the failed checks above); 'xenify rollback' undoes the conversion"}
		}
		return res, nil
	}
	return nil, fmt.Errorf("convert did not settle after %d passes; run 'xenify plan' to see what remains", maxPasses)
}
