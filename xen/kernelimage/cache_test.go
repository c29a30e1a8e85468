package kernelimage

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/rand"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// memCache is a Cache in memory that counts its hits.
type memCache struct {
	mu   sync.Mutex
	m    map[string][]byte
	hits int
}

func (c *memCache) Get(k string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	if ok {
		c.hits++
	}
	return v, ok
}

func (c *memCache) Put(k string, v []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string][]byte{}
	}
	c.m[k] = v
}

func inspectNoCache(t *testing.T, img []byte) *Info {
	t.Helper()
	info, err := Inspect(img)
	if err != nil {
		t.Fatalf("Inspect error: %v", err)
	}
	return info
}

func inspectCached(t *testing.T, img []byte, c Cache) *Info {
	t.Helper()
	info, err := InspectWith(img, Options{Cache: c})
	if err != nil {
		t.Fatalf("InspectWith(cache) error: %v", err)
	}
	return info
}

// TestCacheHit: the second look at a kernel parses the cached bytes and
// decodes nothing (an entry edited in the cache shows through), and
// gives the same Info as no cache at all.
func TestCacheHit(t *testing.T) {
	img := bzImage(gzipBytes(buildELF(pvops64())), 0x020f)
	want := inspectNoCache(t, img)
	c := &memCache{}
	if diff := cmp.Diff(want, inspectCached(t, img, c)); diff != "" {
		t.Errorf("InspectWith(empty cache) differs from Inspect (-want +got):\n%s", diff)
	}
	if len(c.m) != 1 {
		t.Fatalf("cache holds %d entries after one kernel, want 1", len(c.m))
	}
	if diff := cmp.Diff(want, inspectCached(t, img, c)); diff != "" {
		t.Errorf("InspectWith(warm cache) differs from Inspect (-want +got):\n%s", diff)
	}
	if c.hits != 1 {
		t.Errorf("cache hits = %d after a second look, want 1", c.hits)
	}
	for k, v := range c.m {
		var e entry
		if err := json.Unmarshal(v, &e); err != nil {
			t.Fatal(err)
		}
		for i := range e.Spans {
			e.Spans[i].Data = bytes.ReplaceAll(e.Spans[i].Data, []byte("linux\x00"), []byte("LINUX\x00"))
		}
		c.m[k], _ = json.Marshal(e)
	}
	if got := inspectCached(t, img, c); got.GuestOS != "LINUX" {
		t.Errorf("InspectWith(edited cache entry).GuestOS = %q, want LINUX: the entry was not used", got.GuestOS)
	}
}

// TestCacheKeyedByKernel: a cache that holds one kernel never answers
// for another, even when the other's entry is a copy of the first's.
func TestCacheKeyedByKernel(t *testing.T) {
	pvhOnly := pvops64()
	pvhOnly.notes = []testNote{{NoteGuestOS, str("linux")}, {NoteXenVersion, str("xen-3.0")}, {NotePhys32Entry, u32(0x1000100)}}
	a := bzImage(gzipBytes(buildELF(pvops64())), 0x020f)
	b := bzImage(gzipBytes(buildELF(pvhOnly)), 0x020f)
	wantB := inspectNoCache(t, b)
	if wantB.PV || !inspectNoCache(t, a).PV {
		t.Fatalf("test kernels: PV a, b = true, %v; want true, false", wantB.PV)
	}
	c := &memCache{}
	inspectCached(t, a, c)
	if diff := cmp.Diff(wantB, inspectCached(t, b, c)); diff != "" {
		t.Errorf("kernel b after kernel a in the cache (-want +got):\n%s", diff)
	}
	// An entry of kernel a filed under kernel b's key is refused.
	var entryA []byte
	keyA, keyB := "", ""
	for k, v := range c.m {
		var e entry
		if err := json.Unmarshal(v, &e); err != nil {
			t.Fatal(err)
		}
		sp := &sparse{n: e.Size, spans: e.Spans}
		var probe Info
		if err := probe.fromImage(sp, e.Partial); err != nil {
			t.Fatal(err)
		}
		if probe.PV {
			keyA, entryA = k, v
		} else {
			keyB = k
		}
	}
	if keyA == "" || keyB == "" || keyA == keyB {
		t.Fatalf("cache keys a, b = %q, %q; want two different keys", keyA, keyB)
	}
	misfiled := &memCache{m: map[string][]byte{keyB: entryA}}
	if diff := cmp.Diff(wantB, inspectCached(t, b, misfiled)); diff != "" {
		t.Errorf("kernel b with kernel a's entry under its key (-want +got):\n%s", diff)
	}
}

// TestCacheEntryMissingRange: an entry without a range the parse reads
// (a parse that changed since the entry was written) is a miss: the
// kernel is decoded again, and the entry rewritten.
func TestCacheEntryMissingRange(t *testing.T) {
	img := bzImage(gzipBytes(buildELF(pvops64())), 0x020f)
	want := inspectNoCache(t, img)
	c := &memCache{}
	inspectCached(t, img, c)
	for k, v := range c.m {
		var e entry
		if err := json.Unmarshal(v, &e); err != nil {
			t.Fatal(err)
		}
		if len(e.Spans) == 0 {
			t.Fatalf("entry %s holds no spans", k)
		}
		full := v
		e.Spans = e.Spans[:1] // the header and program headers only
		e.Spans[0].Data = e.Spans[0].Data[:64]
		c.m[k], _ = json.Marshal(e)
		if diff := cmp.Diff(want, inspectCached(t, img, c)); diff != "" {
			t.Errorf("InspectWith(entry without the notes) (-want +got):\n%s", diff)
		}
		if !bytes.Equal(c.m[k], full) {
			t.Errorf("entry after a miss was not rewritten to the full one")
		}
		c.m[k] = []byte("{not json")
		if diff := cmp.Diff(want, inspectCached(t, img, c)); diff != "" {
			t.Errorf("InspectWith(corrupt entry) (-want +got):\n%s", diff)
		}
	}
}

// TestNotesFarIntoImage: the Xen notes of a real vmlinux come after
// .text; decoding must go on until the note segment ends, wherever it
// is. Here the only copy of the notes is at the very end of 4 MB of
// incompressible text: stopping short finds no notes, and the kernel
// would be called not PV.
func TestNotesFarIntoImage(t *testing.T) {
	spec := pvops64()
	spec.text = make([]byte, 4<<20)
	rand.New(rand.NewSource(2)).Read(spec.text)
	vmlinux := buildELF(spec)
	want := inspectNoCache(t, vmlinux)
	// Move the note segment to the end of the file, and blank it where
	// it was (the SHT_NOTE section then holds zeros).
	le := binary.LittleEndian
	ph := vmlinux[64+56:] // the PT_NOTE program header
	off, size := le.Uint64(ph[8:]), le.Uint64(ph[32:])
	moved := append(append([]byte(nil), vmlinux...), vmlinux[off:off+size]...)
	clear(moved[off : off+size])
	le.PutUint64(moved[64+56+8:], uint64(len(vmlinux)))
	for name, img := range map[string][]byte{"bzImage": bzImage(gzipBytes(moved), 0x020f), "compressed ELF": gzipBytes(moved)} {
		for _, c := range []Cache{nil, &memCache{}} {
			info, err := InspectWith(img, Options{Cache: c})
			if err != nil {
				t.Fatalf("Inspect(%s, notes at the end) error: %v", name, err)
			}
			if info.NoteSource != "PT_NOTE" || !info.PV || !info.PVH || info.Entry != want.Entry {
				t.Errorf("Inspect(%s, notes at the end) source, PV, PVH, entry = %q, %v, %v, %#x; want PT_NOTE, true, true, %#x",
					name, info.NoteSource, info.PV, info.PVH, info.Entry, want.Entry)
			}
		}
	}
}
