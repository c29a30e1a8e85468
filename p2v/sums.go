package p2v

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// SumsSuffix names the file, next to a copy's destination, that keeps
// the destination's hashes at a sync's coarsest level (DST.xenify-sums).
// A sync then hashes only the source: the destination has not changed
// since those hashes were taken, which the file proves by the
// destination's inode, size, mtime and ctime (writing the file changes
// its mtime and ctime; ctime cannot be set back). Anything else (another
// source, another chunk size or hashing tool, a changed or replaced
// destination, a block device destination, whose times writes do not
// change) and the sync hashes the destination as before.
const SumsSuffix = ".xenify-sums"

const sumsVersion = 1

// Sums are the hashes of a destination's coarse sync pieces.
type Sums struct {
	Version int    `json:"version"`
	Source  string `json:"source"`
	Size    int64  `json:"size"`
	Algo    string `json:"algo"`
	Chunk   int64  `json:"chunk"`
	// Rate is the speed in bytes a second at which the pass that wrote
	// the file moved data from the source (0: not measured). The next
	// sync weighs hashing finer against sending with it.
	Rate int64 `json:"rate,omitempty"`
	// Dest identifies the destination file's state when hashed.
	Dest destStamp `json:"dest"`
	// Pieces are [offset, length] pairs and Sum their hashes.
	Pieces [][2]int64 `json:"pieces"`
	Sum    []string   `json:"sum"`
	// Others are the pass's other coarse pieces, whose destination hash
	// is not known (they were re-sent): the next sync hashes them on the
	// source early too (hashEarly).
	Others [][2]int64 `json:"others,omitempty"`
}

type destStamp struct {
	Dev   uint64 `json:"dev"`
	Ino   uint64 `json:"ino"`
	Size  int64  `json:"size"`
	Mtime int64  `json:"mtime_ns"`
	Ctime int64  `json:"ctime_ns"`
}

func stampOf(f *os.File) (destStamp, bool) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return destStamp{}, false
	}
	return destStamp{Dev: st.Dev, Ino: st.Ino, Size: st.Size,
		Mtime: st.Mtim.Sec*1e9 + st.Mtim.Nsec, Ctime: st.Ctim.Sec*1e9 + st.Ctim.Nsec}, true
}

func sumsPath(dest string) string { return dest + SumsSuffix }

// removeSums forgets the destination's hashes (before it is written).
func removeSums(dest string) error {
	if err := os.Remove(sumsPath(dest)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing %s: %w", sumsPath(dest), err)
	}
	return nil
}

// writeSums stores hashes of dst's pieces, with dst's current stamp. A
// destination that is not a regular file gets none.
func writeSums(dest string, f *os.File, s *Sums) error {
	st, ok := stampOf(f)
	if !ok {
		return nil
	}
	s.Version, s.Dest = sumsVersion, st
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	tmp := sumsPath(dest) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, sumsPath(dest)); err != nil {
		return fmt.Errorf("writing %s: %w", sumsPath(dest), err)
	}
	return nil
}

// readSums reads the stored hashes of dest's pieces; nil and why not
// when there are none or they cannot be read.
func readSums(dest string) (*Sums, string) {
	b, err := os.ReadFile(sumsPath(dest))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "no stored hashes"
	}
	if err != nil {
		return nil, err.Error()
	}
	var s Sums
	if err := json.Unmarshal(b, &s); err != nil || s.Version != sumsVersion || len(s.Pieces) != len(s.Sum) {
		return nil, "unreadable " + sumsPath(dest)
	}
	return &s, ""
}

// validFor returns the hashes keyed by piece when they still hold for
// the destination f, this source, size, chunk and tool; else nil and
// why not.
func (s *Sums) validFor(f *os.File, source string, size, chunk int64, algo string) (map[[2]int64]string, string) {
	st, ok := stampOf(f)
	switch {
	case !ok:
		return nil, "the destination is not a regular file"
	case s.Source != source || s.Size != size:
		return nil, "stored for another source"
	case s.Chunk != chunk || s.Algo != algo:
		return nil, "stored for another chunk size or hashing tool"
	case s.Dest != st:
		return nil, "the destination changed since"
	}
	m := make(map[[2]int64]string, len(s.Pieces))
	for i, p := range s.Pieces {
		m[p] = s.Sum[i]
	}
	return m, ""
}

// hashPieces hashes dst's pieces locally, in parallel (a hash runs on
// one core).
func hashPieces(ctx context.Context, algo string, dst io.ReaderAt, pieces []Range) ([]string, error) {
	out := make([]string, len(pieces))
	next := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range max(1, min(runtime.GOMAXPROCS(0), 4)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				s, err := LocalSum(algo, io.NewSectionReader(dst, pieces[i].Off, pieces[i].Len))
				if err != nil {
					select {
					case errs <- fmt.Errorf("hashing the destination at byte %d: %w", pieces[i].Off, err):
					default:
					}
					continue
				}
				out[i] = s
			}
		}()
	}
	var err error
feed:
	for i := range pieces {
		select {
		case next <- i:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return out, err
}
