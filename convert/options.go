package convert

import (
	"io"
	"log/slog"

	"github.com/xenify/xenify/host/check"
	"github.com/xenify/xenify/p2v"
	"github.com/xenify/xenify/plan"
	"github.com/xenify/xenify/verify"
	"github.com/xenify/xenify/xen/domain"
	"github.com/xenify/xenify/xen/kernelimage"
)

// Options say what to convert and how. The zero value of every field
// but Sources is a sensible default.
type Options struct {
	// Sources are the guest: one directory holding its root filesystem,
	// or its disks (raw images or block devices), the one holding the
	// root filesystem first.
	Sources []string
	// Plan are the conversion choices (plan.Options). Plan.Caps empty
	// means the host's capabilities are unknown: no ABI check (read this
	// dom0's with caps.Read). A Plan.KernelPackage is read here when
	// Plan.KernelPkgInfo is nil.
	Plan plan.Options
	// CopyTo (Run only) copies the one source disk to this image file or
	// block device first, verified, and converts the copy; the source is
	// never written.
	CopyTo string
	// Force (Run only) replaces a domain config at the config path that
	// is not this guest's; without it, Run refuses before writing.
	Force bool
	// Domain (Verify only) is the domain config to check the guest
	// against; nil checks against the one convert would write.
	Domain *domain.Config
	// Progress, if set, receives events as they happen (copy progress
	// from the copying goroutine, the rest from the caller's).
	Progress func(Event)
	// Log receives the command log: each command run, at level Info.
	// Nil discards it.
	Log *slog.Logger
	// Host (Run only) is the dom0 the domain config is checked against
	// after verify (host-check). Nil: this machine, when it is a running
	// dom0 (/proc/xen/capabilities says control_d); elsewhere no check.
	Host *check.Host
	// Output receives the output of guest commands as they run (kernel
	// install, initrd rebuild). Nil discards it.
	Output io.Writer
	// KernelCache (Run and Verify) keeps what decoding a compressed
	// kernel found, by the SHA-256 of its bytes, on the host (see
	// kernelimage.Cache and host/cache): the next verify of the same
	// kernel decodes nothing. Nil: no cache.
	KernelCache kernelimage.Cache
}

// Event is one thing that happened. Exactly one field is set; its JSON
// form is one object with one key naming the event, as `xenify convert
// --json` prints it (one per line).
type Event struct {
	// Warning is something the user should know about the source, such
	// as an fstab entry that matches none of the disks.
	Warning string `json:"warning,omitempty"`
	// Copy is the progress of the disk copy (CopyTo, or Copy).
	Copy *p2v.Progress `json:"progress,omitempty"`
	// Copied is the finished copy.
	Copied *p2v.Summary `json:"summary,omitempty"`
	// Step is an op of the plan that starts now.
	Step *Step `json:"step,omitempty"`
	// Manual is a guest command left for the user to run
	// (Plan.SkipGuestCmds), as argv.
	Manual []string `json:"manual,omitempty"`
	// Restore is a journal record Rollback restores now.
	Restore *Restore `json:"restore,omitempty"`
}

// Step is an op of the plan being applied.
type Step struct {
	Pass  int    `json:"pass"`  // 1: the first plan; 2, 3: after a kernel was installed
	Index int    `json:"index"` // 1-based, within the pass
	Total int    `json:"total"`
	Step  string `json:"step"` // the procedure step: fstab, kernel, initrd, ...
	What  string `json:"what"` // the op in a few words
}

// Restore is a journal record being restored.
type Restore struct {
	Seq  int    `json:"seq"`
	Step string `json:"step"`
}

// Result is what Run did.
type Result struct {
	// Applied counts the changes made to the guest (0: it was already
	// converted).
	Applied int `json:"applied"`
	// ConfigPath is where the domain config was written.
	ConfigPath string `json:"config_path"`
	// Plan is the plan of the last pass applied.
	Plan *plan.Plan `json:"plan"`
	// Verify is the verdict on the converted guest.
	Verify *verify.Report `json:"verify"`
	// Manual are the guest commands left for the user (SkipGuestCmds).
	Manual [][]string `json:"manual,omitempty"`
	// Copied is the disk copy made first (CopyTo).
	Copied *p2v.Summary `json:"copied,omitempty"`
	// Host is host-check's verdict on this dom0 for the domain config,
	// when convert ran on a dom0 (Options.Host). A failed host check
	// does not fail convert: the guest is converted; the host needs
	// the fixes listed.
	Host *check.Report `json:"host,omitempty"`
}

func (o *Options) emit(ev Event) {
	if o.Progress != nil {
		o.Progress(ev)
	}
}

func (o *Options) logger() *slog.Logger {
	if o.Log != nil {
		return o.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (o *Options) output() io.Writer {
	if o.Output != nil {
		return o.Output
	}
	return io.Discard
}
