// Package apply performs a plan. It is the only code that writes to a
// guest, and it journals every change before making it (package journal),
// so that Rollback restores the guest byte for byte.
package apply

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"github.com/xenify/xenify/apply/journal"
	"github.com/xenify/xenify/guest"
	"github.com/xenify/xenify/plan"
	"github.com/xenify/xenify/run"
)

// Event reports progress.
type Event struct {
	Index, Total int
	Op           plan.Op
	Done         bool // false: starting; true: finished
}

// Options configure Apply.
type Options struct {
	// Runner runs the guest commands. run.Exec runs each in its own
	// sandbox (namespaces, private /proc, /sys and /dev, chroot), and
	// fails it when the sandbox cannot be released cleanly.
	Runner run.Runner
	// Progress, if set, is called before and after each op.
	Progress func(Event)
	// Output receives the output of guest commands as they run.
	Output io.Writer
	// RootFS is the root filesystem alone (without the filesystems
	// mounted below it), and ShowRootBoot shows its own /boot in place of
	// a separate /boot: both are needed for a MergeBoot op.
	RootFS       *guest.Root
	ShowRootBoot func() error
}

// Result says what Apply did.
type Result struct {
	Applied int
	// Manual lists the guest commands left for the user to run
	// (--skip-guest-commands).
	Manual []plan.Op
}

// StaleError reports that the guest changed between plan and apply.
type StaleError struct{ Path, Want, Got string }

func (e *StaleError) Error() string {
	return fmt.Sprintf("%s changed since the plan was made (sha256 %s, plan expected %s); run `xenify plan` again", e.Path, short(e.Got), short(e.Want))
}

func short(h string) string {
	if h == "" {
		return "<absent>"
	}
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// Check verifies the plan's preconditions without writing anything: every
// file the plan edits still has the content the plan was made against.
func Check(root *guest.Root, p *plan.Plan) error {
	for _, op := range p.Ops {
		if op.Kind != plan.WriteFile || op.FromHost != "" || op.FromGuest != "" {
			continue
		}
		got := ""
		data, err := root.ReadFile(op.Path)
		switch {
		case err == nil:
			got = plan.Hash(data)
		case errors.Is(err, fs.ErrNotExist):
		default:
			return fmt.Errorf("checking %s: %w", op.Path, err)
		}
		if got != op.OldSHA256 {
			return &StaleError{Path: op.Path, Want: op.OldSHA256, Got: got}
		}
	}
	return nil
}

// Apply performs every op of p in order. Each op is journaled before it
// runs; on error or cancellation Apply stops after the op in progress and
// the journal describes exactly what was changed.
func Apply(ctx context.Context, root *guest.Root, p *plan.Plan, opts Options) (*Result, error) {
	if err := Check(root, p); err != nil {
		return nil, err
	}
	j, err := journal.Open(root)
	if err != nil {
		return nil, err
	}
	if err := j.CheckDir(); err != nil {
		return nil, err
	}
	if opts.RootFS != nil {
		j.SetView(journal.ViewRootFS, opts.RootFS)
	}
	res := &Result{}
	for i, op := range p.Ops {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("stopped before step %q: %w (the guest is consistent: run convert again to finish, or rollback)", op.Step, err)
		}
		if opts.Progress != nil {
			opts.Progress(Event{Index: i, Total: len(p.Ops), Op: op})
		}
		if err := applyOne(ctx, root, j, op, opts, res); err != nil {
			return res, fmt.Errorf("%s: %w", op.Step, err)
		}
		res.Applied++
		if opts.Progress != nil {
			opts.Progress(Event{Index: i, Total: len(p.Ops), Op: op, Done: true})
		}
	}
	return res, nil
}

func applyOne(ctx context.Context, root *guest.Root, j *journal.Journal, op plan.Op, opts Options, res *Result) error {
	switch op.Kind {
	case plan.WriteFile:
		return writeFile(root, j, op)
	case plan.RemoveFile:
		return removeFile(root, j, op)
	case plan.RunInGuest:
		if op.Manual {
			res.Manual = append(res.Manual, op)
			return nil
		}
		return runInGuest(ctx, root, j, op, opts)
	case plan.CopyOut:
		data, err := root.ReadFile(op.Path)
		if err != nil {
			return err
		}
		return WriteHostFile(op.HostPath, data, 0o644)
	case plan.WriteHostFile:
		return WriteHostFile(op.HostPath, []byte(op.Content), 0o644)
	case plan.MergeBoot:
		return mergeBoot(root, j, op, opts)
	}
	return fmt.Errorf("unknown op kind %q", op.Kind)
}

// testHookAfterRecord, if set, runs between the journal record of a
// file and its write or removal: tests change the tree there.
var testHookAfterRecord func(path string)

// writeFile journals and writes one file. The file is resolved once, to
// a directory descriptor and a name, and both the record and the write
// act on that pair: a tree that changes in between cannot make the
// journal hold a different file from the one replaced.
func writeFile(root *guest.Root, j *journal.Journal, op plan.Op) error {
	real, err := root.RealpathMissing(op.Path)
	if err != nil {
		return err
	}
	// Journal each missing parent directory, so rollback removes it.
	var missing []string
	for d := path.Dir(real); d != "/"; d = path.Dir(d) {
		if _, err := root.Lstat(d); errors.Is(err, fs.ErrNotExist) {
			missing = append([]string{d}, missing...)
		}
	}
	for _, d := range missing {
		if err := mkdirJournaled(root, j, op.Step, "directory for "+real, d); err != nil {
			return err
		}
	}
	content := []byte(op.Content)
	var fromMeta *guest.Meta
	switch {
	case op.FromHost != "":
		b, err := os.ReadFile(op.FromHost)
		if err != nil {
			return err
		}
		content = b
	case op.Append != nil:
		b, err := root.ReadFile(real)
		if err != nil {
			return err
		}
		if plan.Hash(b) != op.OldSHA256 {
			return &StaleError{Path: op.Path, Want: op.OldSHA256, Got: plan.Hash(b)}
		}
		content = append(b, op.Append...)
	case op.FromGuest != "":
		b, err := root.ReadFile(op.FromGuest)
		if err != nil {
			return err
		}
		content = b
		if m, err := root.Meta(op.FromGuest); err == nil {
			fromMeta = &m
		}
	}
	at, err := root.ResolveAt(real, true)
	if err != nil {
		return err
	}
	defer at.Close()
	meta := guest.Meta{Mode: 0o644}
	existing, err := at.Meta()
	switch {
	case err == nil:
		meta = existing
	case fromMeta != nil && op.Mode == nil:
		meta = *fromMeta
	}
	if op.Mode != nil {
		meta.Mode = *op.Mode
	}
	if err := j.RecordAt(op.Step, op.Reason, at); err != nil {
		return err
	}
	if testHookAfterRecord != nil {
		testHookAfterRecord(at.Path())
	}
	return at.WriteFile(content, meta)
}

// mkdirJournaled journals and creates one directory, through one At.
func mkdirJournaled(root *guest.Root, j *journal.Journal, step, reason, d string) error {
	at, err := root.ResolveAt(d, false)
	if err != nil {
		return err
	}
	defer at.Close()
	if err := j.RecordAt(step, reason, at); err != nil {
		return err
	}
	return at.Mkdir(guest.Meta{Mode: fs.ModeDir | 0o755})
}

// removeFile journals and removes p itself, through one At.
func removeFile(root *guest.Root, j *journal.Journal, op plan.Op) error {
	at, err := root.ResolveAt(op.Path, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer at.Close()
	if _, err := at.Lstat(); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := j.RecordAt(op.Step, op.Reason, at); err != nil {
		return err
	}
	if testHookAfterRecord != nil {
		testHookAfterRecord(at.Path())
	}
	return at.Remove()
}

func runInGuest(ctx context.Context, root *guest.Root, j *journal.Journal, op plan.Op, opts Options) error {
	if opts.Runner == nil {
		return errors.New("no command runner")
	}
	if err := j.RecordTrees(op.Step, op.Reason, op.Touches); err != nil {
		return err
	}
	_, err := opts.Runner.Run(ctx, run.Cmd{Argv: op.Argv, Chroot: root.Dir(), Stream: opts.Output})
	return err
}

// Rollback restores the guest from its journal. rootFS is the root
// filesystem alone, where the source provides it (see Options.RootFS).
func Rollback(root, rootFS *guest.Root, progress func(journal.Record)) (records int, err error) {
	if !journal.Exists(root) {
		return 0, ErrNoJournal
	}
	j, err := journal.Open(root)
	if err != nil {
		return 0, err
	}
	if rootFS != nil {
		j.SetView(journal.ViewRootFS, rootFS)
	}
	n := len(j.Records)
	return n, j.Rollback(progress)
}

// ErrNoJournal means the guest was never converted (or already rolled back).
var ErrNoJournal = errors.New("no xenify journal in this guest (" + journal.Dir + "): nothing to roll back")

// WriteHostFile writes a host file atomically (temp file, fsync, rename).
// An identical existing file is left alone.
func WriteHostFile(p string, data []byte, mode fs.FileMode) error {
	if old, err := os.ReadFile(p); err == nil && string(old) == string(data) {
		return nil
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".xenify-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), p)
}
