package decompress

import (
	"crypto/sha256"
	"sync"
)

// One conversion reads the same initramfs several times: plan lists it,
// the appended layer is built from its final view, and after apply the
// plan and verify read it again, now with the layer after it. Its
// compressed part is byte for byte the same each time, and decoding it
// (zstd or xz) is the expensive part of reading it. StreamShared keeps
// the last few decoded streams of the process, keyed by the SHA-256 of
// the compressed stream's exact bytes where its end is found without
// decoding (zstd frame headers, the xz stream footer), and otherwise of
// all the input from the stream on (gzip: a layer appended last, read
// by plan and by verify).

// memoMax bounds what the memo holds, in decoded bytes; memoEntries
// how many streams.
const (
	memoMax     = 256 << 20
	memoEntries = 4
)

type memoEntry struct {
	f      Format
	sum    [sha256.Size]byte
	keyLen int // the bytes sum covers
	n      int
	out    []byte
}

var memo struct {
	sync.Mutex
	ents []memoEntry // most recent last
}

// StreamShared is Stream, except that the output may be shared with
// earlier and later callers: it must not be modified (its capacity is
// its length, so append copies). Streams whose decoded output fits max
// are remembered.
func StreamShared(data []byte, max int64) (out []byte, f Format, n int, err error) {
	f = Detect(data)
	if max <= 0 {
		max = DefaultMax
	}
	end := len(data) // the stream's end is known only once it is decoded
	switch f {
	case None:
		return Stream(data, max)
	case Zstd:
		end, err = zstdFramesEnd(data)
	case XZ:
		end, err = xzStreamEnd(data)
	}
	// A cap below the largest dictionary changes what zstd refuses;
	// only streams decoded under the same limits are shared.
	if err != nil || max < maxDict {
		return Stream(data, max)
	}
	sum := sha256.Sum256(data[:end])
	memo.Lock()
	for _, e := range memo.ents {
		if e.f == f && e.keyLen == end && e.sum == sum && int64(len(e.out)) <= max {
			memo.Unlock()
			return e.out, f, e.n, nil
		}
	}
	memo.Unlock()
	out, f, n, err = Stream(data, max)
	if err != nil || n > end {
		return out, f, n, err
	}
	out = out[:len(out):len(out)]
	if len(out) <= memoMax {
		memo.Lock()
		memo.ents = append(memo.ents, memoEntry{f: f, sum: sum, keyLen: end, n: n, out: out})
		total := 0
		for _, e := range memo.ents {
			total += len(e.out)
		}
		for len(memo.ents) > memoEntries || total > memoMax {
			total -= len(memo.ents[0].out)
			memo.ents = memo.ents[1:]
		}
		memo.Unlock()
	}
	return out, f, n, nil
}

// forgetShared empties the memo (tests).
func forgetShared() {
	memo.Lock()
	memo.ents = nil
	memo.Unlock()
}
