package p2v

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// CheckpointSuffix is appended to the destination path to name the
// checkpoint file of an unfinished copy.
const CheckpointSuffix = ".xenify-copy"

const checkpointVersion = 1

// headBytes is how much of the source's start is hashed into its identity.
const headBytes = 1 << 20

// SourceID identifies a copy's source.
type SourceID struct {
	// Path is the absolute path the source was opened as.
	Path string `json:"path"`
	Size int64  `json:"size"`
	// HeadSHA256 is the SHA-256 of the first MiB (or less) of the source.
	HeadSHA256 string `json:"head_sha256"`
}

// Checkpoint is the resume state kept in DST.xenify-copy while a copy runs.
// DoneBytes counts plan bytes, in plan order, that are on stable storage in
// the destination: the destination is fsync'ed before each update.
type Checkpoint struct {
	Version    int       `json:"version"`
	Source     SourceID  `json:"source"`
	Dest       string    `json:"dest"`
	DestSize   int64     `json:"dest_size"`
	PlanSHA256 string    `json:"plan_sha256"`
	PlanBytes  int64     `json:"plan_bytes"`
	DoneBytes  int64     `json:"done_bytes"`
	Updated    time.Time `json:"updated"`
}

func sourceID(path string, r io.ReaderAt, size int64) (SourceID, error) {
	abs := path
	if !strings.Contains(path, "://") { // not a remote source's URL
		var err error
		if abs, err = filepath.Abs(path); err != nil {
			return SourceID{}, err
		}
	}
	buf := make([]byte, min(size, headBytes))
	if _, err := r.ReadAt(buf, 0); err != nil && !(errors.Is(err, io.EOF) && len(buf) == 0) {
		return SourceID{}, fmt.Errorf("reading the first %d bytes of %s: %w", len(buf), path, err)
	}
	sum := sha256.Sum256(buf)
	return SourceID{Path: abs, Size: size, HeadSHA256: hex.EncodeToString(sum[:])}, nil
}

// ReadCheckpoint reads a checkpoint file (DST.xenify-copy unless
// Options.Checkpoint says otherwise). The error wraps fs.ErrNotExist when
// there is none.
func ReadCheckpoint(path string) (*Checkpoint, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Checkpoint
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%w: %s is not a valid checkpoint: %v", ErrCheckpointMismatch, path, err)
	}
	if c.Version != checkpointVersion {
		return nil, fmt.Errorf("%w: %s has version %d, want %d", ErrCheckpointMismatch, path, c.Version, checkpointVersion)
	}
	return &c, nil
}

// matches explains why c cannot resume a copy of src with plan p to a
// destination of dstSize bytes, or returns nil.
func (c *Checkpoint) matches(src SourceID, p *CopyPlan, dstSize int64) error {
	switch {
	case c.Source.Path != src.Path:
		return fmt.Errorf("it was written for source %s, not %s", c.Source.Path, src.Path)
	case c.Source.Size != src.Size:
		return fmt.Errorf("the source was %d bytes, now %d", c.Source.Size, src.Size)
	case c.Source.HeadSHA256 != src.HeadSHA256:
		return fmt.Errorf("the first MiB of the source changed (sha256 %s, now %s)", c.Source.HeadSHA256, src.HeadSHA256)
	case c.PlanSHA256 != p.Hash():
		return fmt.Errorf("the copy plan changed (sha256 %s, now %s): the source's layout or used blocks differ", c.PlanSHA256, p.Hash())
	case c.DoneBytes < 0 || c.DoneBytes > p.Bytes():
		return fmt.Errorf("it claims %d bytes done of a %d-byte plan", c.DoneBytes, p.Bytes())
	case c.DestSize != dstSize:
		return fmt.Errorf("the destination was %d bytes, now %d", c.DestSize, dstSize)
	}
	return nil
}

// write stores the checkpoint atomically: temp file, fsync, rename, fsync
// of the directory.
func (c *Checkpoint) write(path string) error {
	c.Updated = time.Now().UTC()
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("writing checkpoint: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("writing checkpoint %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("syncing checkpoint %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing checkpoint %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing checkpoint: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

func removeCheckpoint(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing checkpoint: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("opening %s for fsync: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}
