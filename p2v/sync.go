package p2v

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// SyncStats describe a Sync pass.
type SyncStats struct {
	// Checked are the in-use bytes hashed on both sides, in Chunks coarse
	// chunks; Fine are the bytes of differing chunks hashed again in
	// smaller pieces, FineChunks how many.
	Checked    int64 `json:"checked"`
	Chunks     int   `json:"chunks"`
	Fine       int64 `json:"fine"`
	FineChunks int   `json:"fine_chunks"`
	// Resent are the bytes re-read from the source and written.
	Resent int64 `json:"resent"`
	// HashLines is how many remote hash lines were received.
	HashLines int `json:"hash_lines"`
	// StoredSums are coarse pieces whose destination hash was stored by
	// the previous pass (DST.xenify-sums) instead of being computed.
	StoredSums int `json:"stored_sums"`
	// EarlySums are coarse pieces whose source hash was taken while the
	// metadata was read again (hashEarly).
	EarlySums int `json:"early_sums"`
	// Finest is the piece size the differing parts were sent in: the
	// hashing stops at a coarser level than Options.SyncFine where
	// hashing finer would cost more than sending (see refineWorth).
	Finest int64 `json:"finest"`
	// Rate is the link's speed (bytes a second) that decision assumed.
	Rate int64 `json:"rate"`
	// PlanTime is the part of HashTime spent re-reading the metadata.
	PlanTime time.Duration `json:"plan_time"`
	// HashTime and SendTime split the pass.
	HashTime time.Duration `json:"hash_time"`
	SendTime time.Duration `json:"send_time"`
}

// Sync brings an existing copy of a remote source up to date: it plans
// the source again (the metadata may have changed since the copy), hashes
// every planned range on both sides, coarse chunks first and the
// differing ones again in fine pieces, and re-sends only the pieces that
// differ. Run on a quiesced source, the destination then equals a fresh
// copy on every planned byte. A checkpoint of an interrupted copy of the
// same source is completed and removed; one of another source is refused.
func Sync(ctx context.Context, opt Options) (*Summary, error) {
	opt.defaults()
	start := time.Now()
	rm := opt.Remote
	if rm == nil {
		return nil, errors.New("sync needs a remote source")
	}
	size := rm.Size()
	stored, why := readSums(opt.Dest)
	early := hashEarly(ctx, opt, rm, size, stored)
	defer early.stop()
	plan, err := Plan(rm, size)
	if err != nil {
		return nil, fmt.Errorf("planning %s: %w", opt.Source, err)
	}
	sum := &Summary{Source: opt.Source, Dest: opt.Dest, Size: size, Plan: plan, Warnings: plan.Warnings, Sync: &SyncStats{}}

	dstID, err := statID(opt.Dest)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s does not exist: copy the disk first, then sync", opt.Dest)
	}
	if err != nil {
		return nil, fmt.Errorf("destination: %w", err)
	}
	if !dstID.isBlock && !dstID.isRegular {
		return nil, fmt.Errorf("destination %s is neither a regular file nor a block device", opt.Dest)
	}
	if err := checkDestFree(dstID); err != nil {
		return nil, err
	}
	ck, ckErr := ReadCheckpoint(opt.Checkpoint)
	switch {
	case ckErr == nil:
		if ck.Source.Path != opt.Source || ck.Source.Size != size {
			return nil, fmt.Errorf("%w: %s was written for %s (%d bytes), not %s (%d bytes); remove it to sync anyway",
				ErrCheckpointMismatch, opt.Checkpoint, ck.Source.Path, ck.Source.Size, opt.Source, size)
		}
	case !errors.Is(ckErr, fs.ErrNotExist):
		return nil, ckErr
	}
	flags := os.O_RDWR
	if dstID.isBlock {
		flags |= unix.O_EXCL
	}
	f, err := os.OpenFile(opt.Dest, flags, 0)
	if err != nil {
		if errors.Is(err, unix.EBUSY) {
			return nil, fmt.Errorf("%w: %s cannot be opened exclusively (mounted, or used by LVM/md/another program)", ErrDestInUse, opt.Dest)
		}
		return nil, fmt.Errorf("opening destination: %w", err)
	}
	defer f.Close()
	dsize, err := deviceSize(f)
	if err != nil {
		return nil, err
	}
	if dsize < size {
		return nil, fmt.Errorf("%w: %s has %d bytes, the source %s has %d", ErrDestTooSmall, opt.Dest, dsize, opt.Source, size)
	}

	st := sum.Sync
	st.PlanTime = time.Since(start)
	known, rate := loadSums(opt, f, rm, size, st, stored, why)
	st.Rate = rate
	src := early.wait(opt)
	st.EarlySums = len(src)
	lv0 := &level0{}
	send, err := syncLevels(ctx, rm, f, plan.Ranges, syncSizes(opt.SyncChunk, opt.SyncFine), st, knownSums{dst: known, src: src}, lv0)
	if err != nil {
		return nil, err
	}
	// The destination is about to change: its stored hashes go first.
	if err := removeSums(opt.Dest); err != nil {
		return nil, err
	}
	st.HashTime = time.Since(start)

	sendStart := time.Now()
	exts := join(send, int64(opt.BufferSize))
	// Streams may call get and put concurrently (Remote.ReadExtents).
	pool := make(chan []byte, opt.Buffers)
	for range opt.Buffers {
		pool <- nil
	}
	bufs := make([][]byte, len(exts))
	var mu sync.Mutex
	var werr error
	err = rm.ReadExtents(ctx, exts, func(i int) []byte {
		b := <-pool
		if b == nil {
			b = make([]byte, opt.BufferSize)
		}
		bufs[i] = b
		return b[:exts[i].Len]
	}, func(i int) bool {
		b := bufs[i]
		defer func() { pool <- b }()
		if _, err := f.WriteAt(b[:exts[i].Len], exts[i].Off); err != nil {
			mu.Lock()
			werr = fmt.Errorf("writing %s at byte %d: %w", opt.Dest, exts[i].Off, err)
			mu.Unlock()
			return false
		}
		mu.Lock()
		st.Resent += exts[i].Len
		mu.Unlock()
		return true
	})
	if werr != nil {
		err = werr
	}
	if err != nil {
		return nil, fmt.Errorf("re-sending from %s: %w", opt.Source, err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("syncing %s: %w", opt.Dest, err)
	}
	st.SendTime = time.Since(sendStart)
	sum.BytesRead, sum.BytesWritten = st.Resent, st.Resent
	// The next sync needs to hash only the source: the pieces found
	// equal hash as the source did (those that differed and were re-sent
	// are left out, since a source that kept changing would not match).
	if r := linkRate(st.Resent, st.SendTime); r > 0 {
		rate = r
	}
	if err := writeSums(opt.Dest, f, &Sums{Source: opt.Source, Size: size, Algo: rm.HashAlgo(), Chunk: opt.SyncChunk,
		Rate: rate, Pieces: lv0.pieces, Sum: lv0.sums, Others: lv0.others}); err != nil {
		opt.Logger.Warn("p2v sync: the next sync will hash the destination again", "err", err)
	}
	if ck != nil {
		if err := removeCheckpoint(opt.Checkpoint); err != nil {
			return nil, err
		}
	}
	if opt.Verify {
		if err := verifyRemote(ctx, rm, f, plan.Ranges, opt.Dest); err != nil {
			return sum, err
		}
		sum.Verified = true
	}
	sum.Elapsed = time.Since(start)
	if s := sum.Elapsed.Seconds(); s > 0 {
		sum.MBps = float64(sum.BytesRead) / 1e6 / s
	}
	return sum, nil
}

// syncSizes are the hash granularities of a sync pass, coarse to fine:
// from chunk down to fine, each level syncRefine times finer than the
// one before (the last one is fine).
func syncSizes(chunk, fine int64) []int64 {
	sizes := []int64{chunk}
	for s := chunk / syncRefine; s > fine; s /= syncRefine {
		sizes = append(sizes, s)
	}
	if fine < chunk {
		sizes = append(sizes, fine)
	}
	return sizes
}

const (
	// syncRefine is the factor between two hash levels: each differing
	// piece costs syncRefine hashing commands at the next level.
	syncRefine = 4
	// A run of denseRun or more differing pieces of at most denseMax
	// bytes each is taken as a region that changed as a whole.
	denseRun = 4
	denseMax = 1 << 20
	// assumedRate is the link speed a sync assumes when no earlier pass
	// measured it (bytes a second: gigabit Ethernet).
	assumedRate = 117e6
	// rateMin is the least transfer whose speed a pass stores for the
	// next one.
	rateMin = 8 << 20
)

// linkRate is the speed, in bytes a second, of moving n bytes from the
// source in d, as a pass stores it for the next sync; 0 when the pass
// moved too little (under rateMin) to tell.
func linkRate(n int64, d time.Duration) int64 {
	if n < rateMin || d <= 0 {
		return 0
	}
	return int64(float64(n) / d.Seconds())
}

// refineWorth decides whether hashing differing pieces again at the next
// level is cheaper than sending them whole. Hashing costs each piece two
// processes on the source (dd and the hash tool): on the bench source a
// 64 KiB piece cost 16 ms of CPU that way and 0.3 ms to send over
// loopback ssh, so the finest levels cost more than they save on a fast
// link and pay only on a slow one. perPiece is the wall time a piece
// took at the level just hashed (its commands run in parallel, and
// hashing the smaller pieces costs less, so this errs towards sending);
// next are the pieces the next level would hash; bytes are the
// differing bytes and unchanged the share of the bytes hashed at this
// level that compared equal. The next level is expected to find as large
// a share unchanged (at most all but one of each piece's syncRefine
// parts), and to save sending it at rate bytes a second.
func refineWorth(perPiece time.Duration, next int, bytes int64, unchanged float64, rate int64) bool {
	share := min(unchanged, 1-1.0/syncRefine)
	return perPiece.Seconds()*float64(next) < float64(bytes)*share/float64(rate)
}

// syncLevels hashes ranges at the coarsest size, then the differing parts
// again at each finer size, and returns what differs at the finest it
// reached. The first refinement always runs (whole coarse chunks would
// send several times the change); each later one only where refineWorth
// says it saves more link time, at st.Rate, than it costs. Each
// remote hash costs processes on the source (dd and md5sum), which is
// what a sync pass spends its time on when the source is loaded: a run
// of denseRun or more differing pieces of at most denseMax bytes is a
// region that changed as a whole (a new file), so its inner pieces are
// sent without hashing them finer; the pieces at its ends, and all
// others, are refined. (Coarse chunks are never taken as dense: changes
// in neighbouring 16 MiB chunks are often unrelated.) The price is that
// small changes in four neighbouring MiB send the middle two whole.
// known holds hashes of coarsest pieces taken before, used instead of
// hashing them here; lv0 receives the coarsest pieces that compared
// equal, with their hashes.
func syncLevels(ctx context.Context, rm Remote, dst io.ReaderAt, ranges []Range, sizes []int64, st *SyncStats,
	known knownSums, lv0 *level0) ([]Range, error) {
	if st.Rate <= 0 {
		st.Rate = assumedRate
	}
	var send []Range
	cur := ranges
	for lvl, size := range sizes {
		pieces := split(cur, size)
		var n int64
		for _, p := range pieces {
			n += p.Len
		}
		if lvl == 0 {
			st.Checked, st.Chunks = n, len(pieces)
		} else {
			st.Fine += n
			st.FineChunks += len(pieces)
		}
		var kn knownSums
		if lvl == 0 {
			kn = known
		}
		t0 := time.Now()
		diff, sums, err := differing(ctx, rm, dst, pieces, kn)
		if err != nil {
			return nil, err
		}
		took := time.Since(t0)
		st.Finest = size
		if lvl == 0 && lv0 != nil {
			differs := make(map[int64]bool, len(diff))
			for _, r := range diff {
				differs[r.Off] = true
			}
			for i, p := range pieces {
				if !differs[p.Off] {
					lv0.pieces = append(lv0.pieces, [2]int64{p.Off, p.Len})
					lv0.sums = append(lv0.sums, sums[i])
				} else {
					lv0.others = append(lv0.others, [2]int64{p.Off, p.Len})
				}
			}
		}
		st.HashLines += len(pieces)
		if lvl == len(sizes)-1 {
			send = append(send, diff...)
			break
		}
		var refine []Range
		for i := 0; i < len(diff); {
			j := i + 1
			for j < len(diff) && diff[j].Off == diff[j-1].End() {
				j++
			}
			if size <= denseMax && j-i >= denseRun {
				refine = append(refine, diff[i])
				send = append(send, diff[i+1:j-1]...)
				refine = append(refine, diff[j-1])
			} else {
				refine = append(refine, diff[i:j]...)
			}
			i = j
		}
		if lvl > 0 && len(refine) > 0 {
			var nb, db int64
			for _, r := range refine {
				nb += r.Len
			}
			for _, r := range diff {
				db += r.Len
			}
			if !refineWorth(took/time.Duration(len(pieces)), splitCount(refine, sizes[lvl+1]), nb, 1-float64(db)/float64(n), st.Rate) {
				send = append(send, refine...)
				break
			}
		}
		cur = refine
	}
	slices.SortFunc(send, func(a, b Range) int { return cmp.Compare(a.Off, b.Off) })
	return send, nil
}

// split cuts ranges at multiples of chunk (absolute offsets, so the same
// data gives the same chunks in every pass).
func split(ranges []Range, chunk int64) []Range {
	var out []Range
	for _, r := range ranges {
		for off := r.Off; off < r.End(); {
			end := min(r.End(), (off/chunk+1)*chunk)
			out = append(out, Range{Off: off, Len: end - off, Reason: r.Reason})
			off = end
		}
	}
	return out
}

// splitCount is len(split(ranges, chunk)).
func splitCount(ranges []Range, chunk int64) int {
	n := 0
	for _, r := range ranges {
		if r.Len > 0 {
			n += int((r.End()-1)/chunk - r.Off/chunk + 1)
		}
	}
	return n
}

// join merges adjacent ranges into extents of at most max bytes.
func join(ranges []Range, maxLen int64) []Extent {
	var out []Extent
	for _, r := range ranges {
		if n := len(out); n > 0 && out[n-1].Off+out[n-1].Len == r.Off && out[n-1].Len+r.Len <= maxLen {
			out[n-1].Len += r.Len
			continue
		}
		for off := r.Off; off < r.End(); off += maxLen {
			out = append(out, Extent{Off: off, Len: min(maxLen, r.End()-off)})
		}
	}
	return out
}

// level0 are a sync's coarsest pieces that compared equal, with their
// hashes.
type level0 struct {
	pieces [][2]int64
	sums   []string
	others [][2]int64 // the coarsest pieces that differed
}

// knownSums are hashes of pieces, by [offset, length], taken before:
// dst's stored by the previous pass, src's taken while the sync read
// the metadata again.
type knownSums struct{ dst, src map[[2]int64]string }

// differing hashes each range on the remote and, at the same time, in
// dst (unless known has the hash), and returns the ranges whose hashes
// differ, and the remote hashes.
func differing(ctx context.Context, rm Remote, dst io.ReaderAt, ranges []Range, known knownSums) ([]Range, []string, error) {
	if len(ranges) == 0 {
		return nil, nil, nil
	}
	var exts []Extent
	var extAt []int
	local := make([]string, len(ranges))
	remote := make([]string, len(ranges))
	var todo []Range
	var at []int
	for i, r := range ranges {
		k := [2]int64{r.Off, r.Len}
		if s, ok := known.src[k]; ok {
			remote[i] = s
		} else {
			exts = append(exts, Extent{Off: r.Off, Len: r.Len})
			extAt = append(extAt, i)
		}
		if s, ok := known.dst[k]; ok {
			local[i] = s
		} else {
			todo = append(todo, r)
			at = append(at, i)
		}
	}
	algo := rm.HashAlgo()
	localErr := make(chan error, 1)
	go func() {
		sums, err := hashPieces(ctx, algo, dst, todo)
		for j, s := range sums {
			local[at[j]] = s
		}
		localErr <- err
	}()
	var err error
	if len(exts) > 0 {
		var sums []string
		sums, err = rm.Sum(ctx, exts)
		for j, s := range sums {
			remote[extAt[j]] = s
		}
	}
	if lerr := <-localErr; err == nil {
		err = lerr
	}
	if err != nil {
		return nil, nil, err
	}
	var out []Range
	for i, r := range ranges {
		if remote[i] != local[i] {
			out = append(out, r)
		}
	}
	return out, remote, nil
}

// loadSums returns the destination's stored coarse hashes s (readSums
// gave s and why not) when they are still valid, after making the remote
// hash with their tool, and the link speed the last pass from this
// source measured (0 if none).
func loadSums(opt Options, f *os.File, rm Remote, size int64, st *SyncStats, s *Sums, why string) (map[[2]int64]string, int64) {
	var known map[[2]int64]string
	var rate int64
	if s != nil {
		useHash(rm, s.Algo)
		known, why = s.validFor(f, opt.Source, size, opt.SyncChunk, rm.HashAlgo())
		if s.Source == opt.Source {
			rate = s.Rate
		}
	}
	st.StoredSums = len(known)
	if known == nil {
		opt.Logger.Debug("p2v sync: hashing the destination", "why", why)
	}
	return known, rate
}

// useHash makes algo the remote's hashing tool if the remote can, and
// reports whether algo is now the tool.
func useHash(rm Remote, algo string) bool {
	if u, ok := rm.(interface{ UseHash(string) bool }); ok {
		u.UseHash(algo)
	}
	return rm.HashAlgo() == algo
}

// early is a hashing of the source's coarse pieces started before the
// plan is read again.
type early struct {
	cancel context.CancelFunc
	done   chan struct{}
	exts   []Extent
	sums   []string
	err    error
}

// hashEarly starts hashing, on the source, the coarse pieces of the pass
// that stored s: most are pieces of the new plan too (only where blocks
// were allocated or freed across a chunk does a piece change), and
// reading the plan again is a dozen round trips that leave the source's
// CPUs idle. On a quiesced source a hash taken now is the one the sync
// would take a second later. Without stored hashes for this source,
// size, chunk size and the remote's tool, it does nothing.
func hashEarly(ctx context.Context, opt Options, rm Remote, size int64, s *Sums) *early {
	ctx, cancel := context.WithCancel(ctx)
	e := &early{cancel: cancel, done: make(chan struct{})}
	if s == nil || s.Source != opt.Source || s.Size != size || s.Chunk != opt.SyncChunk || len(s.Pieces) == 0 || !useHash(rm, s.Algo) {
		close(e.done)
		return e
	}
	for _, p := range slices.Concat(s.Pieces, s.Others) {
		e.exts = append(e.exts, Extent{Off: p[0], Len: p[1]})
	}
	slices.SortFunc(e.exts, func(a, b Extent) int { return cmp.Compare(a.Off, b.Off) })
	go func() {
		defer close(e.done)
		e.sums, e.err = rm.Sum(ctx, e.exts)
	}()
	return e
}

// stop cancels the hashing and waits until its commands have ended, so
// that nothing runs on the source after Sync returns.
func (e *early) stop() {
	e.cancel()
	<-e.done
}

// wait returns the early hashes by piece (none if hashing failed: the
// sync then hashes those pieces itself).
func (e *early) wait(opt Options) map[[2]int64]string {
	<-e.done
	if e.err != nil || len(e.sums) != len(e.exts) {
		if e.err != nil {
			opt.Logger.Debug("p2v sync: hashing the source early failed", "err", e.err)
		}
		return nil
	}
	m := make(map[[2]int64]string, len(e.exts))
	for i, x := range e.exts {
		m[[2]int64{x.Off, x.Len}] = e.sums[i]
	}
	return m
}

// verifyRemote compares remote and local hashes of every range, in
// pieces of at most 64 MiB, after dropping dst's cached pages.
func verifyRemote(ctx context.Context, rm Remote, dst *os.File, ranges []Range, name string) error {
	_ = unix.Fadvise(int(dst.Fd()), 0, 0, unix.FADV_DONTNEED)
	diff, _, err := differing(ctx, rm, dst, split(ranges, 64<<20), knownSums{})
	if err != nil {
		return fmt.Errorf("verifying: %w", err)
	}
	if len(diff) > 0 {
		var n int64
		for _, d := range diff {
			n += d.Len
		}
		return fmt.Errorf("%w: %s differs from %s in %d ranges (%d bytes), the first at byte %d (%s)",
			ErrVerify, name, rm.Name(), len(diff), n, diff[0].Off, diff[0].Reason)
	}
	return nil
}
