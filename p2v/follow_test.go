package p2v

import (
	"bytes"
	"context"
	"math/rand"
	"slices"
	"sync"
	"testing"
)

// lockedFile is a destination written by one goroutine and read by
// another.
type lockedFile struct {
	mu sync.Mutex
	b  []byte
}

func (f *lockedFile) ReadAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return bytes.NewReader(f.b).ReadAt(p, off)
}

func (f *lockedFile) write(p []byte, off int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	copy(f.b[off:], p)
}

// TestSumFollower: hashes taken while a (resumed) copy writes, each piece
// once the frontier has passed it, and finished in parallel, are those
// of hashing the destination afterwards. A piece hashed before it was
// written would hash zeros.
func TestSumFollower(t *testing.T) {
	data := make([]byte, 10<<20)
	rand.New(rand.NewSource(3)).Read(data)
	pieces := split([]Range{{Off: 0, Len: 3 << 20}, {Off: 4 << 20, Len: 6<<20 - 999}}, 1<<20)
	want, err := hashPieces(context.Background(), "md5sum", bytes.NewReader(data), pieces)
	if err != nil {
		t.Fatal(err)
	}
	file := &lockedFile{b: make([]byte, len(data))}
	// An earlier run wrote the first two pieces.
	var done int64
	for _, p := range pieces[:2] {
		file.write(data[p.Off:p.End()], p.Off)
		done += p.Len
	}
	f := followSums("md5sum", file, pieces, done)
	defer f.cancel()
	for _, p := range pieces[2:] {
		// In two writes, the frontier advancing after each.
		mid := p.Off + p.Len/2
		file.write(data[p.Off:mid], p.Off)
		f.advance(done + mid - p.Off)
		file.write(data[mid:p.End()], mid)
		done += p.Len
		f.advance(done)
	}
	got, err := f.finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("hashes taken while writing differ from hashing afterwards:\n%q\n%q", got, want)
	}
	f.cancel() // a second stop is harmless
}
