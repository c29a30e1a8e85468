package kernelimage

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
)

// Decoding a compressed kernel up to its Xen notes is most of verify's
// time (0.6 s of CPU for Debian 12's xz vmlinux, whose notes sit 23.8 MB
// in). A Cache keeps what that decoding produced, so that the next look
// at the same kernel skips it.
//
// What is cached is decoder output, not a verdict: the byte ranges of
// the decompressed image that the ELF parse read (header, program
// headers, note segments, and section headers when they were needed),
// with the image's length. On a hit the parse runs again, this very code
// on those bytes; a read outside them (a parse that changed since the
// entry was written) is a miss, and the kernel is decoded. Entries are
// keyed by the SHA-256 of the compressed bytes, the decoder's whole
// input, and carry that key inside them too.

// Cache stores small values by key. Get returns false for a missing or
// unreadable entry; Put may drop the value. Implementations must be safe
// for concurrent use.
type Cache interface {
	Get(key string) ([]byte, bool)
	Put(key string, value []byte)
}

// Options tune InspectWith.
type Options struct {
	// Max caps the decompressed size (decompress.DefaultMax when 0).
	Max int64
	// Cache, when set, holds the decoded ranges of compressed kernels.
	Cache Cache
}

// cacheVersion names the entry format; a new format is a new key.
const cacheVersion = "kernelimage-prefix-v1"

// cacheKey is the key of the entry for the compressed stream data.
func cacheKey(data []byte) string {
	h := sha256.Sum256(data)
	return cacheVersion + "-" + hex.EncodeToString(h[:])
}

// errUncached is a read of a range a cache entry does not hold.
var errUncached = errors.New("range not in the cached decoder output")

// imageErr wraps a failed read as a malformed image, except a cache miss.
func imageErr(err error) error {
	if errors.Is(err, errUncached) {
		return err
	}
	return &elfError{err}
}

// image is a decompressed kernel image, or the parts of it at hand.
type image interface {
	size() uint64
	// at returns size bytes at off, or an error naming what was out of
	// range (the same for every image of the same size).
	at(off, size uint64, what string) ([]byte, error)
}

// flat is a whole image (or prefix) in memory.
type flat []byte

func (f flat) size() uint64 { return uint64(len(f)) }
func (f flat) at(off, size uint64, what string) ([]byte, error) {
	return rng(f, off, size, what)
}

type span struct {
	Off  uint64 `json:"off"`
	Data []byte `json:"data"`
}

// recorder is a flat image that remembers what was read of it.
type recorder struct {
	flat
	read []span
}

func (r *recorder) at(off, size uint64, what string) ([]byte, error) {
	b, err := r.flat.at(off, size, what)
	if err == nil && size > 0 {
		r.read = append(r.read, span{off, b})
	}
	return b, err
}

// entry is a cache entry: the image's length, whether it is a prefix,
// and the ranges read of it.
type entry struct {
	Key     string `json:"key"`
	Size    uint64 `json:"size"`
	Partial bool   `json:"partial"`
	Spans   []span `json:"spans"`
}

// maxEntry bounds what is cached of one image (a vmlinux's headers and
// notes are a few KiB).
const maxEntry = 1 << 20

// encode returns the entry for what r read, or nil when it is too big.
func (r *recorder) encode(key string, partial bool) []byte {
	spans := merge(r.read)
	total := 0
	for _, s := range spans {
		total += len(s.Data)
	}
	if total > maxEntry {
		return nil
	}
	b, err := json.Marshal(entry{Key: key, Size: r.size(), Partial: partial, Spans: spans})
	if err != nil {
		return nil
	}
	return b
}

// merge sorts spans and joins those that overlap or touch.
func merge(in []span) []span {
	sort.Slice(in, func(i, j int) bool { return in[i].Off < in[j].Off })
	var out []span
	for _, s := range in {
		if n := len(out); n > 0 {
			last := &out[n-1]
			end := last.Off + uint64(len(last.Data))
			if s.Off <= end {
				if e := s.Off + uint64(len(s.Data)); e > end {
					last.Data = append(append([]byte(nil), last.Data...), s.Data[end-s.Off:]...)
				}
				continue
			}
		}
		out = append(out, span{s.Off, append([]byte(nil), s.Data...)})
	}
	return out
}

// sparse is an image of which only some ranges are known (a cache entry).
type sparse struct {
	n     uint64
	spans []span
}

func (s *sparse) size() uint64 { return s.n }
func (s *sparse) at(off, size uint64, what string) ([]byte, error) {
	if off > s.n || size > s.n-off {
		return rng(nil, off, size, what) // the same error as the whole image gives
	}
	if size == 0 {
		return []byte{}, nil
	}
	for _, sp := range s.spans {
		if off >= sp.Off && off-sp.Off <= uint64(len(sp.Data)) && size <= uint64(len(sp.Data))-(off-sp.Off) {
			b := sp.Data[off-sp.Off:]
			return b[:size:size], nil
		}
	}
	return nil, errUncached
}

// decodeEntry parses a cache entry for key; ok is false for anything
// but a well-formed entry of that key.
func decodeEntry(b []byte, key string) (img *sparse, partial bool, ok bool) {
	if len(b) > 4*maxEntry {
		return nil, false, false
	}
	var e entry
	if err := json.Unmarshal(b, &e); err != nil || e.Key != key {
		return nil, false, false
	}
	for _, sp := range e.Spans {
		if sp.Off > e.Size || uint64(len(sp.Data)) > e.Size-sp.Off {
			return nil, false, false
		}
	}
	return &sparse{n: e.Size, spans: e.Spans}, e.Partial, true
}

// fromCache fills info from the cache entry of the compressed stream
// data. ok is false on a miss: no entry, a malformed one, an image
// larger than max, or a parse that needs bytes the entry lacks. info is
// then unchanged.
func (info *Info) fromCache(c Cache, key string, max int64) (ok bool, err error) {
	b, found := c.Get(key)
	if !found {
		return false, nil
	}
	img, partial, valid := decodeEntry(b, key)
	if !valid || img.n > uint64(max) {
		return false, nil
	}
	saved := *info
	err = info.fromImage(img, partial)
	if errors.Is(err, errUncached) || errors.Is(err, errNeedSections) {
		*info = saved
		return false, nil
	}
	if err != nil {
		// Entries are written only for images that parsed.
		*info = saved
		return false, nil
	}
	return true, nil
}
