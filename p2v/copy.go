package p2v

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Options configure Copy.
type Options struct {
	// Source is the disk to copy: a block device or an image file. It is
	// opened read-only.
	Source string
	// Dest is an image file (created, or extended, and written sparse) or a
	// block device at least as large as the source.
	Dest string
	// Overwrite allows replacing an existing non-empty destination file
	// that has no checkpoint of an interrupted copy.
	Overwrite bool
	// Verify compares every copied range of source and destination after
	// the copy, reading the destination back from disk.
	Verify bool
	// Checkpoint is the resume file; default Dest + CheckpointSuffix.
	Checkpoint string

	// Progress, if set, is called from the copying goroutine at most every
	// ProgressInterval (default 500ms) and once at the end. It must return
	// quickly.
	Progress         func(Progress)
	ProgressInterval time.Duration

	// BufferSize is the largest single read (default 8 MiB); Buffers is how
	// many are in flight between the reader and the writer (default 4).
	BufferSize int
	Buffers    int
	// MaxGap: planned ranges closer than this are read with one request
	// (the gap is read but not written). Default 256 KiB.
	MaxGap int64
	// CheckpointBytes and CheckpointInterval: the destination is fsync'ed
	// and the checkpoint updated after this many plan bytes or this much
	// time, whichever comes first (defaults 1 GiB and 10s).
	CheckpointBytes    int64
	CheckpointInterval time.Duration

	// DirectIO reads the source with O_DIRECT where it supports it (else
	// buffered). Off by default: on the benchmark VM it was 1.6x faster
	// with a cold host cache but 1.2-1.4x slower with a warm one, see
	// bench/copy/README.md. It does keep a live system's page cache intact.
	DirectIO bool

	// Remote, if set, is the source (a disk on another machine); Source
	// is then only its name. See package p2v/remote.
	Remote Remote
	// SyncChunk and SyncFine are Sync's coarsest and finest hash
	// granularity (defaults 16 MiB and 64 KiB; the levels between are
	// 4 times finer each, and Sync stops above SyncFine where hashing
	// finer would cost more than sending: see refineWorth).
	SyncChunk, SyncFine int64

	// Logger receives debug messages; default slog.Default().
	Logger *slog.Logger
}

// Progress is a snapshot of a running copy. Done and Total count plan bytes
// (the bytes that hold data), not the whole disk.
type Progress struct {
	Done  int64 `json:"done"`
	Total int64 `json:"total"`
	// Rate is bytes per second since this run started.
	Rate float64       `json:"rate"`
	ETA  time.Duration `json:"eta"`
}

// Summary describes a finished copy.
type Summary struct {
	Source string `json:"source"`
	Dest   string `json:"dest"`
	// Size is the source (and copied disk) size.
	Size int64 `json:"size"`
	// BytesRead counts source bytes read by this run (including small gaps
	// read to keep requests large, excluding verification).
	BytesRead int64 `json:"bytes_read"`
	// BytesWritten counts destination bytes written by this run.
	BytesWritten int64 `json:"bytes_written"`
	// ZeroBytes are planned bytes that were zero and left as holes.
	ZeroBytes int64 `json:"zero_bytes"`
	// HoleBytes are bytes of the disk never written: Size minus everything
	// written (by this run and, when resumed, by earlier ones).
	HoleBytes int64 `json:"hole_bytes"`
	// ResumedAt is the plan byte count a resumed copy started from (0 for
	// a fresh copy).
	Resumed   bool  `json:"resumed"`
	ResumedAt int64 `json:"resumed_at"`
	// Verified is true when Options.Verify ran and found no difference.
	Verified bool          `json:"verified"`
	Elapsed  time.Duration `json:"elapsed"`
	// MBps is BytesRead per second of Elapsed, in MB (10^6 bytes).
	MBps     float64   `json:"mbps"`
	Plan     *CopyPlan `json:"plan"`
	Warnings []string  `json:"warnings,omitempty"`
	// Sync is set by Sync: what it compared and re-sent.
	Sync *SyncStats `json:"sync,omitempty"`
}

// ErrVerify is wrapped by the error Copy returns when verification finds a
// difference.
var ErrVerify = errors.New("verification failed")

func (o *Options) defaults() {
	if o.BufferSize <= 0 {
		o.BufferSize = 8 << 20
	}
	o.BufferSize = max(o.BufferSize/blockSize*blockSize, blockSize)
	if o.Buffers <= 1 {
		o.Buffers = 4
	}
	if o.MaxGap <= 0 {
		o.MaxGap = 256 << 10
	}
	if o.CheckpointBytes <= 0 {
		o.CheckpointBytes = 1 << 30
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = 10 * time.Second
	}
	if o.ProgressInterval <= 0 {
		o.ProgressInterval = 500 * time.Millisecond
	}
	if o.Checkpoint == "" {
		o.Checkpoint = o.Dest + CheckpointSuffix
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Remote != nil {
		o.Source = o.Remote.Name()
	}
	if o.SyncChunk <= 0 {
		o.SyncChunk = 16 << 20
	}
	if o.SyncFine <= 0 || o.SyncFine > o.SyncChunk {
		o.SyncFine = min(64<<10, o.SyncChunk)
	}
}

// Copy copies opt.Source to opt.Dest following the source's copy plan,
// resuming from a checkpoint when one matches. It never writes to the
// source. On cancellation it syncs the destination, saves the checkpoint
// and returns an error wrapping ctx.Err().
func Copy(ctx context.Context, opt Options) (*Summary, error) {
	opt.defaults()
	start := time.Now()
	log := opt.Logger

	src, rd, srcID, size, err := openSource(opt)
	if err != nil {
		return nil, err
	}
	if src != nil {
		defer src.Close()
	}
	if opt.Remote != nil {
		// The remote's hashing tool is chosen by timing the candidates
		// there (one command): while the plan's round trips wait.
		go opt.Remote.HashAlgo()
	}
	plan, err := Plan(rd, size)
	if err != nil {
		return nil, fmt.Errorf("planning the copy of %s: %w", opt.Source, err)
	}
	sum := &Summary{Source: opt.Source, Dest: opt.Dest, Size: size, Plan: plan}
	sum.Warnings = append(sum.Warnings, plan.Warnings...)
	if srcID.isBlock {
		if at, err := mountedAt(srcID.rdev, true); err == nil && len(at) > 0 {
			sum.Warnings = append(sum.Warnings, fmt.Sprintf(
				"source %s is mounted read-write at %s: the copy may be inconsistent", opt.Source, strings.Join(at, ", ")))
		}
	}
	sid, err := sourceID(opt.Source, rd, size)
	if err != nil {
		return nil, err
	}

	dst, resumeAt, err := openDest(opt, srcID, size, sid, plan)
	if err != nil {
		return nil, err
	}
	defer dst.f.Close()
	sum.Resumed, sum.ResumedAt = resumeAt > 0, resumeAt
	log.Debug("p2v copy", "source", opt.Source, "dest", opt.Dest, "size", size,
		"plan_bytes", plan.Bytes(), "ranges", len(plan.Ranges), "resume_at", resumeAt)

	ck := &Checkpoint{
		Version: checkpointVersion, Source: sid, Dest: opt.Dest, DestSize: size,
		PlanSHA256: plan.Hash(), PlanBytes: plan.Bytes(), DoneBytes: resumeAt,
	}
	// The checkpoint exists before the first byte is written: it is what
	// marks a half-written destination as ours. Hashes stored by an
	// earlier pass no longer hold.
	if err := ck.write(opt.Checkpoint); err != nil {
		return nil, err
	}
	if err := removeSums(opt.Dest); err != nil {
		return nil, err
	}
	if src != nil {
		_ = unix.Fadvise(int(src.Fd()), 0, 0, unix.FADV_SEQUENTIAL)
	}

	e := &executor{opt: opt, srcID: srcID, src: src, remote: opt.Remote, dst: dst, plan: plan, ck: ck, sum: sum, start: time.Now()}
	// A remote copy stores the destination's hashes at a sync's coarsest
	// level, so that a later --sync hashes only the source (see
	// SumsSuffix), taken while the copy runs (sumFollower).
	if opt.Remote != nil && dst.isFile {
		if algo := opt.Remote.HashAlgo(); algo != "" {
			e.follow = followSums(algo, dst.f, split(plan.Ranges, opt.SyncChunk), resumeAt)
			defer e.follow.cancel()
		}
	}
	copyErr := e.run(ctx, resumeAt)
	if copyErr != nil {
		// Keep what is done: sync, then record it.
		if err := e.sync(); err != nil {
			return nil, errors.Join(copyErr, err)
		}
		return nil, copyErr
	}
	if err := dst.f.Sync(); err != nil {
		return nil, fmt.Errorf("syncing %s: %w", opt.Dest, err)
	}
	if err := removeCheckpoint(opt.Checkpoint); err != nil {
		return nil, err
	}
	if e.follow != nil {
		rate := linkRate(sum.BytesRead, time.Since(e.start))
		followed := time.Now()
		sums, err := e.follow.finish(ctx)
		log.Debug("p2v copy: destination hashed", "pieces", len(sums), "while_copying", e.follow.n, "after", time.Since(followed))
		if err == nil {
			s := &Sums{Source: opt.Source, Size: size, Algo: e.follow.algo, Chunk: opt.SyncChunk, Rate: rate, Sum: sums}
			for _, p := range e.follow.pieces {
				s.Pieces = append(s.Pieces, [2]int64{p.Off, p.Len})
			}
			err = writeSums(opt.Dest, dst.f, s)
		}
		if err != nil {
			log.Warn("p2v copy: a --sync will hash the destination", "err", err)
		}
	}
	sum.Elapsed = time.Since(start)
	if s := sum.Elapsed.Seconds(); s > 0 {
		sum.MBps = float64(sum.BytesRead) / 1e6 / s
	}
	if dst.isFile {
		if alloc, err := allocatedBytes(dst.f); err == nil {
			sum.HoleBytes = size - alloc
		}
	} else {
		sum.HoleBytes = size - plan.Bytes() + sum.ZeroBytes
	}
	if opt.Verify {
		verifyFn := func() error { return verify(ctx, src, dst.f, plan, opt.BufferSize) }
		if opt.Remote != nil {
			verifyFn = func() error { return verifyRemote(ctx, opt.Remote, dst.f, plan.Ranges, opt.Dest) }
		}
		if err := verifyFn(); err != nil {
			return sum, err
		}
		sum.Verified = true
		sum.Elapsed = time.Since(start)
	}
	return sum, nil
}

// openSource opens the local source read-only (src is nil for a remote
// one) and returns the reader the plan and copy use, its identity and size.
func openSource(opt Options) (src *os.File, rd io.ReaderAt, id fileID, size int64, err error) {
	if opt.Remote != nil {
		return nil, opt.Remote, fileID{path: opt.Source}, opt.Remote.Size(), nil
	}
	src, err = os.OpenFile(opt.Source, os.O_RDONLY, 0)
	if err != nil {
		return nil, nil, fileID{}, 0, fmt.Errorf("opening source: %w", err)
	}
	id, err = fstatID(src)
	if err == nil {
		id.path = opt.Source
		size, err = deviceSize(src)
		if err != nil {
			err = fmt.Errorf("sizing source %s: %w", opt.Source, err)
		}
	}
	if err != nil {
		src.Close()
		return nil, nil, fileID{}, 0, err
	}
	return src, src, id, size, nil
}

// allocatedBytes is the space a file occupies on disk (st_blocks*512),
// capped at its size.
func allocatedBytes(f *os.File) (int64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return 0, err
	}
	return min(st.Blocks*512, st.Size), nil
}

type dest struct {
	f      *os.File
	isFile bool
}

// openDest checks and opens the destination, and decides where the copy
// starts: at the checkpoint's DoneBytes when it matches, else at 0.
func openDest(opt Options, srcID fileID, size int64, sid SourceID, plan *CopyPlan) (*dest, int64, error) {
	dstID, statErr := statID(opt.Dest)
	exists := statErr == nil
	if statErr != nil && !errors.Is(statErr, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("destination: %w", statErr)
	}
	if exists {
		if !dstID.isBlock && !dstID.isRegular {
			return nil, 0, fmt.Errorf("destination %s is neither a regular file nor a block device", opt.Dest)
		}
		if err := checkNotSame(srcID, dstID); err != nil {
			return nil, 0, err
		}
		if err := checkDestFree(dstID); err != nil {
			return nil, 0, err
		}
	}
	var resumeAt int64
	ck, ckErr := ReadCheckpoint(opt.Checkpoint)
	switch {
	case ckErr == nil && exists:
		dsize := dstID.size
		if dstID.isBlock {
			dsize = -1 // checked below, after opening
		}
		if dsize >= 0 {
			if err := ck.matches(sid, plan, dsize); err != nil {
				return nil, 0, fmt.Errorf("%w: %s: %v; remove it to start the copy over", ErrCheckpointMismatch, opt.Checkpoint, err)
			}
		}
		resumeAt = ck.DoneBytes
	case ckErr == nil && !exists:
		// A checkpoint without its destination: nothing to resume.
		ck = nil
	case errors.Is(ckErr, fs.ErrNotExist):
		ck = nil
	default:
		return nil, 0, ckErr
	}

	if exists && dstID.isBlock {
		f, err := os.OpenFile(opt.Dest, os.O_RDWR|unix.O_EXCL, 0)
		if err != nil {
			if errors.Is(err, unix.EBUSY) {
				return nil, 0, fmt.Errorf("%w: %s cannot be opened exclusively (mounted, or used by LVM/md/another program)", ErrDestInUse, opt.Dest)
			}
			return nil, 0, fmt.Errorf("opening destination: %w", err)
		}
		dsize, err := deviceSize(f)
		if err != nil {
			f.Close()
			return nil, 0, err
		}
		if dsize < size {
			f.Close()
			return nil, 0, fmt.Errorf("%w: %s has %d bytes, the source %s has %d", ErrDestTooSmall, opt.Dest, dsize, opt.Source, size)
		}
		if ck != nil {
			if err := ck.matches(sid, plan, size); err != nil {
				f.Close()
				return nil, 0, fmt.Errorf("%w: %s: %v; remove it to start the copy over", ErrCheckpointMismatch, opt.Checkpoint, err)
			}
		}
		if err := recheck(f, srcID); err != nil {
			f.Close()
			return nil, 0, err
		}
		return &dest{f: f}, resumeAt, nil
	}

	if exists && ck == nil && dstID.size > 0 && !opt.Overwrite {
		return nil, 0, fmt.Errorf("%w: %s has %d bytes and no checkpoint of an interrupted copy; allow overwriting it to replace it", ErrDestExists, opt.Dest, dstID.size)
	}
	f, err := os.OpenFile(opt.Dest, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, 0, fmt.Errorf("opening destination: %w", err)
	}
	if err := recheck(f, srcID); err != nil {
		f.Close()
		return nil, 0, err
	}
	if ck == nil {
		// A fresh copy starts from an all-hole file of the source's size.
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, 0, fmt.Errorf("truncating %s: %w", opt.Dest, err)
		}
		if err := f.Truncate(size); err != nil {
			f.Close()
			return nil, 0, fmt.Errorf("sizing %s to %d bytes: %w", opt.Dest, size, err)
		}
	}
	// Enough room for the rest of the data?
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err == nil {
		free := int64(st.Bavail) * int64(st.Bsize)
		if need := plan.Bytes() - resumeAt; need > free {
			f.Close()
			return nil, 0, fmt.Errorf("%w: the filesystem of %s has %d bytes free, the copy needs up to %d",
				ErrDestTooSmall, opt.Dest, free, need)
		}
	}
	return &dest{f: f, isFile: true}, resumeAt, nil
}

// recheck repeats the same-device test on the opened destination, so a
// symlink swapped between stat and open cannot point the copy at the
// source.
func recheck(f *os.File, srcID fileID) error {
	id, err := fstatID(f)
	if err != nil {
		return err
	}
	return checkNotSame(srcID, id)
}

// directAlign is the alignment of O_DIRECT reads (the largest common
// logical block size).
const directAlign = 4096

// blockSize is the granularity of zero detection: all-zero blocks of this
// size are left as holes in a file destination.
const blockSize = 4096

var zeroBlock = make([]byte, blockSize)

// seg is a part of a read extent to write; planDone is the plan byte count
// completed once it is written.
type seg struct {
	off, n   int64
	planDone int64
}

type chunk struct {
	off  int64
	buf  []byte
	segs []seg
	err  error
}

type executor struct {
	opt    Options
	srcID  fileID
	src    *os.File
	remote Remote
	dst    *dest
	plan   *CopyPlan
	ck     *Checkpoint
	sum    *Summary
	start  time.Time
	follow *sumFollower // hashes what is written (nil: no remote, or no file)

	done int64 // plan bytes written (or deliberately skipped), from the start of the plan on
	// ahead maps the plan byte where a chunk written out of order begins
	// to where it ends, until done reaches it.
	ahead        map[int64]int64
	lastCk       int64
	lastCkTime   time.Time
	lastProgress time.Time
	resumeAt     int64
}

// extents cuts the plan, from plan byte resumeAt on, into read requests of
// at most BufferSize bytes, joining ranges separated by less than MaxGap.
func (e *executor) extents(resumeAt int64, emit func(off, n int64, segs []seg) bool) {
	var (
		cur  []seg
		from int64 = -1
		to   int64
	)
	flush := func() bool {
		if from < 0 {
			return true
		}
		ok := emit(from, to-from, cur)
		cur, from = nil, -1
		return ok
	}
	bufSize := int64(e.opt.BufferSize)
	var pos int64 // plan bytes before the current range
	for _, r := range e.plan.Ranges {
		if pos+r.Len <= resumeAt {
			pos += r.Len
			continue
		}
		off, n := r.Off, r.Len
		if pos < resumeAt {
			off += resumeAt - pos
			n -= resumeAt - pos
			pos = resumeAt
		}
		for n > 0 {
			// Start a new extent unless this piece continues the current one.
			if from >= 0 && (off-to > e.opt.MaxGap || from+bufSize-off < min(n, bufSize/4)) {
				if !flush() {
					return
				}
			}
			if from < 0 {
				from, to = off, off
			}
			take := min(n, from+bufSize-off)
			pos += take
			cur = append(cur, seg{off: off, n: take, planDone: pos})
			to = off + take
			off += take
			n -= take
		}
	}
	flush()
}

func (e *executor) run(ctx context.Context, resumeAt int64) error {
	e.done, e.lastCk, e.resumeAt = resumeAt, resumeAt, resumeAt
	e.lastCkTime, e.lastProgress = time.Now(), time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Buffers are page-aligned (mmap) so O_DIRECT reads can use them, and
	// have room to round an extent out to directAlign on both ends.
	bufLen := e.opt.BufferSize + 2*directAlign
	free := make(chan []byte, e.opt.Buffers)
	var bufs [][]byte
	defer func() {
		for _, b := range bufs {
			_ = unix.Munmap(b)
		}
	}()
	for range e.opt.Buffers {
		b, err := unix.Mmap(-1, 0, bufLen, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
		if err != nil {
			return fmt.Errorf("allocating a %d-byte buffer: %w", bufLen, err)
		}
		bufs = append(bufs, b)
		free <- b
	}
	rd := e.src
	if e.opt.DirectIO && e.remote == nil {
		if f, err := os.OpenFile(e.opt.Source, os.O_RDONLY|unix.O_DIRECT, 0); err == nil {
			defer f.Close()
			if err := recheck(f, e.srcID); err == nil {
				rd = f
			}
		} else {
			e.opt.Logger.Debug("p2v: O_DIRECT not available, using buffered reads", "source", e.opt.Source, "err", err)
		}
	}
	direct := rd != e.src
	full := make(chan chunk, e.opt.Buffers)
	go func() {
		defer close(full)
		if e.remote != nil {
			e.readRemote(ctx, resumeAt, free, full)
			return
		}
		e.extents(resumeAt, func(off, n int64, segs []seg) bool {
			var buf []byte
			select {
			case buf = <-free:
			case <-ctx.Done():
				return false
			}
			from, to := off, off+n
			if direct {
				from = from / directAlign * directAlign
				to = (to + directAlign - 1) / directAlign * directAlign
			}
			buf = buf[:to-from]
			c := chunk{off: from, buf: buf, segs: segs}
			got, err := rd.ReadAt(buf, from)
			if from+int64(got) >= off+n {
				// A short read past the end of the source is fine when
				// the extent itself was read.
				c.buf = buf[:got]
				err = nil
			}
			if err != nil {
				c.err = fmt.Errorf("reading %s at byte %d (%d bytes): %w", e.opt.Source, off, n, err)
			}
			select {
			case full <- c:
			case <-ctx.Done():
				return false
			}
			return c.err == nil
		})
	}()

	var err error
	for c := range full {
		if err == nil {
			err = c.err
		}
		if err == nil {
			err = ctx.Err()
		}
		if err == nil {
			e.sum.BytesRead += int64(len(c.buf))
			err = e.write(c)
		}
		if c.buf != nil {
			free <- c.buf[:cap(c.buf)]
		}
		if err != nil {
			cancel() // stop the reader; keep draining so it can exit
		}
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return err
	}
	e.progress(true)
	return nil
}

// readRemote streams the extents from a Remote source into the buffers,
// in as few requests as it allows.
func (e *executor) readRemote(ctx context.Context, resumeAt int64, free chan []byte, full chan<- chunk) {
	var exts []Extent
	var segs [][]seg
	e.extents(resumeAt, func(off, n int64, s []seg) bool {
		exts = append(exts, Extent{Off: off, Len: n})
		segs = append(segs, s)
		return true
	})
	// Several streams may fill buffers at once (see Remote.ReadExtents).
	bufs := make([][]byte, len(exts))
	err := e.remote.ReadExtents(ctx, exts, func(i int) []byte {
		select {
		case b := <-free:
			bufs[i] = b[:exts[i].Len]
			return bufs[i]
		case <-ctx.Done():
			return nil
		}
	}, func(i int) bool {
		select {
		case full <- chunk{off: exts[i].Off, buf: bufs[i], segs: segs[i]}:
			bufs[i] = nil
			return true
		case <-ctx.Done():
			return false
		}
	})
	var cur []byte // a buffer not handed on (a stream stopped between get and put)
	for i := range bufs {
		if bufs[i] != nil {
			if cur == nil {
				cur = bufs[i]
			} else {
				free <- bufs[i][:cap(bufs[i])]
			}
		}
	}
	if err != nil {
		select {
		case full <- chunk{buf: cur, err: fmt.Errorf("reading %s: %w", e.opt.Source, err)}:
		case <-ctx.Done():
		}
	}
}

// write writes a chunk's segments, leaving zero blocks as holes in a file
// destination, and updates progress and the checkpoint.
func (e *executor) write(c chunk) error {
	if len(c.segs) == 0 {
		return nil
	}
	start := c.segs[0].planDone - c.segs[0].n
	inOrder := start == e.done
	for _, s := range c.segs {
		data := c.buf[s.off-c.off : s.off-c.off+s.n]
		if err := e.writeSeg(s.off, data); err != nil {
			return err
		}
		if inOrder {
			e.done = s.planDone
		}
	}
	if !inOrder {
		// A remote source's streams deliver chunks out of plan order:
		// the checkpoint only counts the bytes before the first gap.
		if e.ahead == nil {
			e.ahead = map[int64]int64{}
		}
		e.ahead[start] = c.segs[len(c.segs)-1].planDone
	}
	for end, ok := e.ahead[e.done]; ok; end, ok = e.ahead[e.done] {
		delete(e.ahead, e.done)
		e.done = end
	}
	if e.follow != nil {
		e.follow.advance(e.done)
	}
	e.progress(false)
	if e.done-e.lastCk >= e.opt.CheckpointBytes || time.Since(e.lastCkTime) >= e.opt.CheckpointInterval {
		return e.sync()
	}
	return nil
}

func (e *executor) writeSeg(off int64, data []byte) error {
	if !e.dst.isFile {
		if _, err := e.dst.f.WriteAt(data, off); err != nil {
			return fmt.Errorf("writing %s at byte %d: %w", e.opt.Dest, off, err)
		}
		for i := 0; i < len(data); i += blockSize {
			if b := data[i:min(i+blockSize, len(data))]; bytes.Equal(b, zeroBlock[:len(b)]) {
				e.sum.ZeroBytes += int64(len(b))
			}
		}
		e.sum.BytesWritten += int64(len(data))
		return nil
	}
	// Walk blocks aligned to absolute offsets so holes line up with the
	// destination filesystem's blocks; write each run of non-zero blocks
	// with one call.
	runStart := -1
	flush := func(end int) error {
		if runStart < 0 {
			return nil
		}
		if _, err := e.dst.f.WriteAt(data[runStart:end], off+int64(runStart)); err != nil {
			return fmt.Errorf("writing %s at byte %d: %w", e.opt.Dest, off+int64(runStart), err)
		}
		e.sum.BytesWritten += int64(end - runStart)
		runStart = -1
		return nil
	}
	i := 0
	for i < len(data) {
		next := i + blockSize - int((off+int64(i))%blockSize)
		next = min(next, len(data))
		if bytes.Equal(data[i:next], zeroBlock[:next-i]) {
			if err := flush(i); err != nil {
				return err
			}
			e.sum.ZeroBytes += int64(next - i)
		} else if runStart < 0 {
			runStart = i
		}
		i = next
	}
	return flush(len(data))
}

// sync makes the written data durable, then records it in the checkpoint.
func (e *executor) sync() error {
	if err := unix.Fdatasync(int(e.dst.f.Fd())); err != nil {
		return fmt.Errorf("syncing %s: %w", e.opt.Dest, err)
	}
	e.ck.DoneBytes = e.done
	if err := e.ck.write(e.opt.Checkpoint); err != nil {
		return err
	}
	e.lastCk, e.lastCkTime = e.done, time.Now()
	return nil
}

func (e *executor) progress(final bool) {
	if e.opt.Progress == nil || (!final && time.Since(e.lastProgress) < e.opt.ProgressInterval) {
		return
	}
	e.lastProgress = time.Now()
	total := e.plan.Bytes()
	p := Progress{Done: e.done, Total: total}
	if s := time.Since(e.start).Seconds(); s > 0 {
		p.Rate = float64(e.done-e.resumeAt) / s
	}
	if p.Rate > 0 {
		p.ETA = time.Duration(float64(total-e.done) / p.Rate * float64(time.Second))
	}
	e.opt.Progress(p)
}

// verify compares every planned range of src and dst, reading dst back
// from the device (its page cache is dropped first).
func verify(ctx context.Context, src, dst *os.File, plan *CopyPlan, bufSize int) error {
	_ = unix.Fadvise(int(dst.Fd()), 0, 0, unix.FADV_DONTNEED)
	a := make([]byte, bufSize)
	b := make([]byte, bufSize)
	for _, r := range plan.Ranges {
		for off := r.Off; off < r.End(); off += int64(bufSize) {
			if err := ctx.Err(); err != nil {
				return err
			}
			n := min(int64(bufSize), r.End()-off)
			if _, err := src.ReadAt(a[:n], off); err != nil {
				return fmt.Errorf("verifying: reading %s at byte %d: %w", src.Name(), off, err)
			}
			if _, err := dst.ReadAt(b[:n], off); err != nil {
				return fmt.Errorf("verifying: reading %s at byte %d: %w", dst.Name(), off, err)
			}
			if !bytes.Equal(a[:n], b[:n]) {
				i := 0
				for a[i] == b[i] {
					i++
				}
				return fmt.Errorf("%w: %s and %s differ at byte %d (%s)", ErrVerify, src.Name(), dst.Name(), off+int64(i), r.Reason)
			}
		}
	}
	return nil
}
