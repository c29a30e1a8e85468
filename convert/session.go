package convert

import (
	"context"
	"strings"

	"github.com/xenify/xenify/distro"
	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/plan"
	"github.com/xenify/xenify/run"
	"github.com/xenify/xenify/source"
	"github.com/xenify/xenify/xerr"
)

// session is an opened guest and the options it is planned with.
type session struct {
	src   *source.Opened
	o     *Options
	label string // the sources, for the plan and messages
}

// prepare checks and completes the options before anything is opened,
// so a bad option is a usage error however broken the guest is.
func prepare(o *Options) error {
	if err := plan.Validate(o.Plan); err != nil {
		return err
	}
	if o.Plan.KernelPackage != "" && o.Plan.KernelPkgInfo == nil {
		info, err := readPackage(o.Plan.KernelPackage)
		if err != nil {
			return err
		}
		o.Plan.KernelPkgInfo = info
	}
	return nil
}

// open opens the sources and passes on what the source could not match.
func open(ctx context.Context, o *Options, sources []string, mode source.Mode) (*session, error) {
	src, err := source.Open(run.WithLog(ctx, o.logger()), sources, mode)
	if err != nil {
		return nil, err
	}
	for _, w := range src.Warnings {
		o.emit(Event{Warning: w})
	}
	return &session{src: src, o: o, label: strings.Join(sources, " ")}, nil
}

func (s *session) Close() error { return s.src.Close() }

// plan inspects the guest, finds its family and plans with opts: the
// shared front half of Plan, Run and Verify.
func (s *session) plan(opts plan.Options) (*inspect.Inspection, *plan.Plan, error) {
	in, err := inspect.Inspect(s.src.Root)
	if err != nil {
		return nil, nil, err
	}
	fam, err := distro.For(in)
	if err != nil {
		return nil, nil, err
	}
	if opts.Layout == "" {
		opts.Layout = s.src.DefaultLayout()
	}
	if opts.Disks, err = s.src.HostDisks(opts.Layout); err != nil {
		return nil, nil, err
	}
	opts.RootFS = s.src.RootFS()
	p, err := plan.Build(s.src.Root, in, opts, fam, s.label)
	if err != nil {
		return nil, nil, err
	}
	p.Warnings = append(p.Warnings, s.src.LayoutWarnings(opts.Layout)...)
	return in, p, nil
}

// Inspect reads the guest into a typed value. It only reads.
func Inspect(ctx context.Context, o Options) (*inspect.Inspection, error) {
	s, err := open(ctx, &o, o.Sources, source.ReadOnly)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	in, err := inspect.Inspect(s.src.Root)
	if err != nil {
		return nil, err
	}
	// Which device each fstab line resolved to, for disk sources.
	s.src.ResolvedDevices(&in.Fstab)
	return in, nil
}

// openToRead checks the options and opens the guest read-only, for
// verb (plan, verify), which does not copy.
func openToRead(ctx context.Context, o *Options, verb string) (*session, error) {
	if o.CopyTo != "" {
		return nil, xerr.Usagef("--copy-to belongs to convert; %s the copy after 'xenify copy'", verb)
	}
	if err := prepare(o); err != nil {
		return nil, err
	}
	return open(ctx, o, o.Sources, source.ReadOnly)
}

// Plan returns every change Run would make. It only reads.
func Plan(ctx context.Context, o Options) (*plan.Plan, error) {
	s, err := openToRead(ctx, &o, "plan")
	if err != nil {
		return nil, err
	}
	defer s.Close()
	_, p, err := s.plan(o.Plan)
	return p, err
}
