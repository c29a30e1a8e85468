package p2v

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// memRemote is a Remote over a byte slice whose Sum hashes like md5sum.
type memRemote struct{ data []byte }

func (m *memRemote) ReadAt(p []byte, off int64) (int, error) {
	return bytes.NewReader(m.data).ReadAt(p, off)
}
func (m *memRemote) Name() string     { return "mem" }
func (m *memRemote) Size() int64      { return int64(len(m.data)) }
func (m *memRemote) HashAlgo() string { return "md5sum" }
func (m *memRemote) ReadExtents(_ context.Context, exts []Extent, get func(int) []byte, put func(int) bool) error {
	for i, e := range exts {
		copy(get(i), m.data[e.Off:e.Off+e.Len])
		if !put(i) {
			return fmt.Errorf("stopped")
		}
	}
	return nil
}
func (m *memRemote) Sum(_ context.Context, exts []Extent) ([]string, error) {
	out := make([]string, len(exts))
	for i, e := range exts {
		s, err := LocalSum("md5sum", bytes.NewReader(m.data[e.Off:e.Off+e.Len]))
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// TestSyncLevelsFindsEveryChange: the pieces syncLevels returns cover
// every changed byte, whether the change is a large region (whose inner
// pieces are sent without finer hashing), a single byte at a piece's
// edge, or scattered small writes; and they stay within twice the
// changed bytes plus the finest piece around each change.
func TestSyncLevelsFindsEveryChange(t *testing.T) {
	const size = 64 << 20
	rng := rand.New(rand.NewSource(1))
	src := make([]byte, size)
	rng.Read(src)
	// The plan: everything but a hole, and an unaligned end.
	ranges := []Range{{Off: 0, Len: 20 << 20}, {Off: 24 << 20, Len: 40<<20 - 12345}}
	cases := map[string][][2]int64{
		"nothing":       nil,
		"large region":  {{3<<20 + 777, 9 << 20}},
		"edge bytes":    {{16<<20 - 1, 2}, {1 << 20, 1}, {64<<20 - 12346, 1}},
		"scattered":     {{5 << 20, 4096}, {30<<20 + 100, 70000}, {47 << 20, 1 << 20}, {50<<20 + 65535, 1}},
		"across a hole": {{19 << 20, 6 << 20}},
	}
	for name, changes := range cases {
		t.Run(name, func(t *testing.T) {
			dst := bytes.Clone(src)
			var changed int64
			for _, c := range changes {
				for i := c[0]; i < c[0]+c[1]; i++ {
					dst[i] ^= 0x5a
				}
				changed += c[1]
			}
			st := &SyncStats{Rate: 1} // a slow link: every level pays
			send, err := syncLevels(context.Background(), &memRemote{data: src}, bytes.NewReader(dst), ranges, syncSizes(16<<20, 64<<10), st, knownSums{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			var sent int64
			for i, r := range send {
				if i > 0 && r.Off < send[i-1].End() {
					t.Fatalf("pieces out of order or overlapping: %+v then %+v", send[i-1], r)
				}
				copy(dst[r.Off:r.End()], src[r.Off:r.End()])
				sent += r.Len
			}
			for _, r := range ranges {
				if i := firstDiff(src[r.Off:r.End()], dst[r.Off:r.End()]); i >= 0 {
					t.Fatalf("byte %d still differs after sending %d pieces", r.Off+int64(i), len(send))
				}
			}
			if limit := 2*changed + int64(len(changes))*2*(64<<10); sent > limit {
				t.Errorf("sent %d bytes for %d changed in %d places, want at most %d", sent, changed, len(changes), limit)
			}
			if st.Chunks != 5 { // 0-16, 16-20, 24-32, 32-48, 48-64 MiB
				t.Errorf("Chunks = %d, want 5", st.Chunks)
			}
		})
	}
}

// TestSyncLevelsFastLink: on a link faster than any hashing, the sync
// refines the coarse chunks once (whole chunks would send many times the
// change) and then sends the differing pieces whole.
func TestSyncLevelsFastLink(t *testing.T) {
	const size = 64 << 20
	src := make([]byte, size)
	rand.New(rand.NewSource(2)).Read(src)
	dst := bytes.Clone(src)
	dst[5<<20+100] ^= 1
	dst[40<<20] ^= 1
	st := &SyncStats{Rate: math.MaxInt64}
	send, err := syncLevels(context.Background(), &memRemote{data: src}, bytes.NewReader(dst), []Range{{Off: 0, Len: size}}, syncSizes(16<<20, 64<<10), st, knownSums{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(send); got != fmt.Sprint([]Range{{Off: 4 << 20, Len: 4 << 20}, {Off: 40 << 20, Len: 4 << 20}}) {
		t.Errorf("sent %s, want the two 4 MiB pieces with the changes", got)
	}
	if st.Finest != 4<<20 || st.FineChunks != 8 {
		t.Errorf("Finest = %d, FineChunks = %d; want 4 MiB and 8 (one refinement of two chunks)", st.Finest, st.FineChunks)
	}
}

func TestRefineWorth(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		perPiece  time.Duration
		next      int
		bytes     int64
		unchanged float64
		rate      int64
		want      bool
	}{
		// The bench's sync: 73 MB differing in 4 MiB pieces, 59% of the
		// hashed bytes equal, 13 ms a piece: not worth it over loopback
		// (230 MB/s), worth it over 100 Mbit/s.
		{13 * ms, 70, 73e6, 0.59, 230e6, false},
		{13 * ms, 70, 73e6, 0.59, 12e6, true},
		// Nothing unchanged at this level: nothing to gain finer.
		{ms, 10, 1e9, 0, 1e6, false},
		// The gain is capped at all but one part of each piece.
		// (3 ms here: 3.6 ms of hashing does not pay, 2.8 ms does).
		{900 * time.Microsecond, 4, 4e6, 1, 1e9, false},
		{700 * time.Microsecond, 4, 4e6, 1, 1e9, true},
	} {
		if got := refineWorth(c.perPiece, c.next, c.bytes, c.unchanged, c.rate); got != c.want {
			t.Errorf("refineWorth(%v, %d, %d, %.2f, %d) = %v, want %v", c.perPiece, c.next, c.bytes, c.unchanged, c.rate, got, c.want)
		}
	}
}

func TestSplitCount(t *testing.T) {
	for _, rs := range [][]Range{
		nil,
		{{Off: 0, Len: 1}},
		{{Off: 0, Len: 4 << 20}, {Off: 5<<20 - 1, Len: 2}, {Off: 9 << 20, Len: 0}},
		{{Off: 3<<20 + 7, Len: 13 << 20}},
	} {
		for _, chunk := range []int64{1 << 20, 4 << 20, 64 << 10} {
			if got, want := splitCount(rs, chunk), len(split(rs, chunk)); got != want {
				t.Errorf("splitCount(%v, %d) = %d, want %d", rs, chunk, got, want)
			}
		}
	}
}

func TestSyncSizes(t *testing.T) {
	for _, c := range []struct {
		chunk, fine int64
		want        string
	}{
		{16 << 20, 64 << 10, "[16777216 4194304 1048576 262144 65536]"},
		{4 << 20, 128 << 10, "[4194304 1048576 262144 131072]"},
		{1 << 20, 1 << 20, "[1048576]"},
	} {
		if got := fmt.Sprint(syncSizes(c.chunk, c.fine)); got != c.want {
			t.Errorf("syncSizes(%d, %d) = %s, want %s", c.chunk, c.fine, got, c.want)
		}
	}
}

// TestSyncStoredSums: a remote copy stores the destination's coarse
// hashes; the next sync uses them instead of hashing the destination and
// still brings it up to date; a destination written since (even with
// its mtime set back) is hashed again, and a difference there is found
// and repaired.
func TestSyncStoredSums(t *testing.T) {
	d := smallDisk(t)
	data, err := os.ReadFile(d.path)
	if err != nil {
		t.Fatal(err)
	}
	rm := &memRemote{data: data}
	dst := filepath.Join(t.TempDir(), "copy.img")
	ctx := context.Background()
	if _, err := Copy(ctx, Options{Remote: rm, Dest: dst}); err != nil {
		t.Fatalf("Copy: %v", err)
	}
	if _, err := os.Stat(dst + SumsSuffix); err != nil {
		t.Fatalf("no stored hashes after a remote copy: %v", err)
	}
	plan, err := Plan(rm, rm.Size())
	if err != nil {
		t.Fatal(err)
	}
	flip := func(b []byte, r Range) {
		for i := r.Off + 10; i < min(r.End(), r.Off+3000); i++ {
			b[i] ^= 0xa5
		}
	}
	same := func() {
		t.Helper()
		got, err := os.ReadFile(dst)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range plan.Ranges {
			if i := firstDiff(data[r.Off:r.End()], got[r.Off:r.End()]); i >= 0 {
				t.Fatalf("byte %d (%s) differs after the sync", r.Off+int64(i), r.Reason)
			}
		}
	}

	// The source changes in one used range: the stored hashes serve.
	flip(data, plan.Ranges[len(plan.Ranges)/2])
	sum, err := Sync(ctx, Options{Remote: rm, Dest: dst})
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if sum.Sync.StoredSums != sum.Sync.Chunks || sum.Sync.Resent == 0 {
		t.Errorf("Sync used %d stored hashes of %d pieces and re-sent %d bytes; want all stored, some re-sent", sum.Sync.StoredSums, sum.Sync.Chunks, sum.Sync.Resent)
	}
	same()

	// Someone writes to the destination, then sets its mtime back: the
	// stored hashes no longer hold, and the sync finds the change.
	st, err := os.Stat(dst)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(dst, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := plan.Ranges[1]
	junk := make([]byte, 3000)
	if _, err := f.WriteAt(junk, r.Off+10); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Chtimes(dst, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	sum, err = Sync(ctx, Options{Remote: rm, Dest: dst})
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if sum.Sync.StoredSums != 0 || sum.Sync.Resent == 0 {
		t.Errorf("Sync after a write to the destination used %d stored hashes and re-sent %d bytes; want none stored, some re-sent", sum.Sync.StoredSums, sum.Sync.Resent)
	}
	same()

	// A sync stores hashes for the next one; a new copy removes them
	// until it has its own.
	if _, err := os.Stat(dst + SumsSuffix); err != nil {
		t.Errorf("no stored hashes after a sync: %v", err)
	}
}

// blockingRemote hashes nothing until its context ends, and fails every
// read once a hash has started.
type blockingRemote struct {
	memRemote
	started chan struct{}
	running atomic.Bool
}

func (b *blockingRemote) ReadAt(p []byte, off int64) (int, error) {
	select {
	case <-b.started:
		return 0, errors.New("connection lost")
	case <-time.After(time.Minute):
		return 0, errors.New("the sync never started hashing early")
	}
}

func (b *blockingRemote) Sum(ctx context.Context, _ []Extent) ([]string, error) {
	b.running.Store(true)
	close(b.started)
	<-ctx.Done()
	time.Sleep(10 * time.Millisecond) // a command that takes a moment to die
	b.running.Store(false)
	return nil, ctx.Err()
}

// TestSyncStopsEarlyHashing: a sync that fails while planning (here,
// after it started hashing the source early) returns only once that
// hashing has ended: nothing keeps running on the source.
func TestSyncStopsEarlyHashing(t *testing.T) {
	rm := &blockingRemote{memRemote: memRemote{data: make([]byte, 32<<20)}, started: make(chan struct{})}
	dst := filepath.Join(t.TempDir(), "copy.img")
	if err := os.WriteFile(dst, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := json.Marshal(&Sums{Version: sumsVersion, Source: "mem", Size: 32 << 20, Algo: "md5sum", Chunk: 16 << 20,
		Pieces: [][2]int64{{0, 16 << 20}}, Sum: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst+SumsSuffix, s, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Sync(context.Background(), Options{Remote: rm, Dest: dst})
	if err == nil || !strings.Contains(err.Error(), "connection lost") {
		t.Fatalf("Sync error = %v, want the planning read's", err)
	}
	if rm.running.Load() {
		t.Error("Sync returned while its early hashing still ran")
	}
}
