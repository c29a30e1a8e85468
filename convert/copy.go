package convert

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/xenify/xenify/p2v"
	"github.com/xenify/xenify/xerr"
)

// CheckpointDir keeps the resume files of copies onto block devices.
const CheckpointDir = "/var/lib/xenify/copy"

// Copy copies a disk (p2v.Copy) and classifies its errors: a destination
// that must not be written is refused, anything else can be resumed by
// copying again. A block device destination keeps its checkpoint in
// CheckpointDir unless o.Checkpoint names one.
func Copy(ctx context.Context, o p2v.Options) (*p2v.Summary, error) {
	dst := o.Dest
	if st, err := os.Stat(dst); err == nil && st.Mode()&os.ModeDevice != 0 && o.Checkpoint == "" {
		// Beside a device node the checkpoint would live in /dev (tmpfs)
		// and vanish at reboot.
		o.Checkpoint = filepath.Join(CheckpointDir, strings.ReplaceAll(strings.TrimPrefix(dst, "/"), "/", "_")+p2v.CheckpointSuffix)
		if err := os.MkdirAll(CheckpointDir, 0o700); err != nil {
			return nil, err
		}
	}
	sum, err := p2v.Copy(ctx, o)
	if err != nil {
		return nil, classify(o, err)
	}
	return sum, nil
}

// Sync brings an earlier copy of a remote source up to date (p2v.Sync),
// with Copy's error classification and checkpoint location.
func Sync(ctx context.Context, o p2v.Options) (*p2v.Summary, error) {
	if st, err := os.Stat(o.Dest); err == nil && st.Mode()&os.ModeDevice != 0 && o.Checkpoint == "" {
		o.Checkpoint = filepath.Join(CheckpointDir, strings.ReplaceAll(strings.TrimPrefix(o.Dest, "/"), "/", "_")+p2v.CheckpointSuffix)
	}
	sum, err := p2v.Sync(ctx, o)
	if err != nil {
		return sum, classify(o, err)
	}
	return sum, nil
}

// classify turns a copy's error into a refusal (nothing written), a usage
// error, or a failure that copying again resumes.
func classify(o p2v.Options, err error) error {
	src, dst := o.Source, o.Dest
	if o.Remote != nil {
		src = o.Remote.Name()
	}
	switch {
	case errors.Is(err, p2v.ErrDestExists):
		return &xerr.Refused{Msg: fmt.Sprintf("copying %s to %s", src, dst), Err: err, Fix: "give --overwrite to replace it, or another DST"}
	case errors.Is(err, p2v.ErrCheckpointMismatch) && o.Remote != nil:
		return &xerr.Refused{Msg: fmt.Sprintf("copying %s to %s", src, dst), Err: err,
			Fix: "nothing was written; if the checkpoint is this source's and the running source changed since, complete the copy with --sync (it re-sends what differs); else choose another DST"}
	case errors.Is(err, p2v.ErrSameDevice), errors.Is(err, p2v.ErrDestTooSmall), errors.Is(err, p2v.ErrDestInUse), errors.Is(err, p2v.ErrCheckpointMismatch):
		return &xerr.Refused{Msg: fmt.Sprintf("copying %s to %s", src, dst), Err: err, Fix: "nothing was written; choose a DST that is not the source, large enough, and not in use"}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && (pe.Path == src || pe.Path == dst) && errors.Is(err, fs.ErrNotExist) {
		// A SRC or DST that does not exist (or lies in a directory that
		// does not): a usage error, before anything was copied.
		return xerr.Usagef("copying %s to %s: %v", src, dst, err)
	}
	ckpt := o.Checkpoint
	if ckpt == "" {
		ckpt = dst + p2v.CheckpointSuffix
	}
	if _, serr := os.Stat(ckpt); serr != nil {
		return fmt.Errorf("copying %s to %s: %w", src, dst, err)
	}
	return fmt.Errorf("copying %s to %s: %w (run the same command again to resume from the checkpoint %s)", src, dst, err, ckpt)
}
