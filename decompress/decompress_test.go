package decompress

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os/exec"
	"testing"

	"github.com/xenify/xenify/internal/testenv"
)

// sample returns n bytes that compress reasonably but not trivially: runs
// of text, repeats at varying distances and random noise, so that every
// match kind of the LZ-family decoders gets exercised.
func sample(n int, seed int64) []byte {
	r := rand.New(rand.NewSource(seed))
	var b bytes.Buffer
	words := []string{"xen", "blkfront", "vmlinux", "hypercall", "startup_xen", "\x00\x00\x00\x00", "\xe8\x10\x20\x30\x40", "\x48\x89\xe5"}
	for b.Len() < n {
		switch r.Intn(4) {
		case 0:
			b.WriteString(words[r.Intn(len(words))])
		case 1:
			if b.Len() > 0 {
				back := 1 + r.Intn(min(b.Len(), 60000))
				l := 3 + r.Intn(300)
				start := b.Len() - back
				for i := 0; i < l; i++ {
					b.WriteByte(b.Bytes()[start+i])
				}
			}
		case 2:
			for i := r.Intn(40); i > 0; i-- {
				b.WriteByte(byte(r.Intn(256)))
			}
		case 3:
			c := byte(r.Intn(256))
			for i := r.Intn(2000); i > 0; i-- {
				b.WriteByte(c)
			}
		}
	}
	return b.Bytes()[:n]
}

// toolArgs are the commands the kernel build (scripts/Makefile.lib and
// scripts/xz_wrap.sh) uses for each payload format.
var toolArgs = map[Format][]string{
	Gzip:  {"gzip", "-n", "-f", "-9"},
	Bzip2: {"bzip2", "-9"},
	XZ:    {"xz", "--format=xz", "--check=crc32", "--x86", "--lzma2=,dict=32MiB"},
	LZMA:  {"lzma", "-9"},
	LZO:   {"lzop", "-9"},
	LZ4:   {"lz4", "-l", "-9"},
	Zstd:  {"zstd", "-19", "-q"},
}

// compressWith runs a real compressor over data, skipping the test when
// the tool is not installed.
func compressWith(t testing.TB, args []string, data []byte) []byte {
	t.Helper()
	if _, err := exec.LookPath(args[0]); err != nil {
		testenv.Skipf(t, "%s not installed: %v", args[0], err)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin = bytes.NewReader(data)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%q: %v: %s", args, err, errb.String())
	}
	return out.Bytes()
}

func sizeAppend(b []byte, n int) []byte {
	return binary.LittleEndian.AppendUint32(append([]byte(nil), b...), uint32(n))
}

func TestRoundTripKernelStyle(t *testing.T) {
	for _, size := range []int{1, 100 << 10, 1<<20 + 7} {
		data := sample(size, int64(size))
		for _, f := range Formats() {
			t.Run(fmt.Sprintf("%v/%d", f, size), func(t *testing.T) {
				comp := compressWith(t, toolArgs[f], data)
				if got := Detect(comp); got != f {
					t.Fatalf("Detect(%v output) = %v, want %v", f, got, f)
				}
				// Exactly as the kernel build lays out a payload: the
				// stream, then the uncompressed size (except gzip,
				// which has it in its trailer).
				payload := comp
				if f != Gzip {
					payload = sizeAppend(comp, len(data))
				}
				out, gotF, n, err := Stream(payload, DefaultMax)
				if err != nil {
					t.Fatalf("Stream(%v payload) error: %v", f, err)
				}
				if gotF != f {
					t.Errorf("Stream(%v payload) format = %v", f, gotF)
				}
				if !bytes.Equal(out, data) {
					t.Fatalf("Stream(%v payload) = %d bytes, want the %d input bytes", f, len(out), len(data))
				}
				if n != len(comp) {
					t.Errorf("Stream(%v payload) consumed %d bytes, want %d", f, n, len(comp))
				}

				// The streaming reader must agree. (An xz stream reader
				// cannot tell the appended size from stream padding.)
				if f == XZ {
					payload = comp
				}
				zr, err := NewReader(f, bytes.NewReader(payload))
				if err != nil {
					t.Fatalf("NewReader(%v) error: %v", f, err)
				}
				got, err := io.ReadAll(zr)
				if err != nil {
					t.Fatalf("NewReader(%v) read error: %v", f, err)
				}
				if !bytes.Equal(got, data) {
					t.Errorf("NewReader(%v) = %d bytes, want the %d input bytes", f, len(got), len(data))
				}

				// Open takes the payload as All does, size and all.
				or, of, err := Open(sizeAppend(comp, len(data)))
				if err != nil {
					t.Fatalf("Open(%v payload) error: %v", f, err)
				}
				got, err = io.ReadAll(or)
				if err != nil || of != f || !bytes.Equal(got, data) {
					t.Errorf("Open(%v payload) = %v, %d bytes, %v; want %v, the %d input bytes", f, of, len(got), err, f, len(data))
				}
			})
		}
	}
}

// TestLZOLevels covers LZO1X-1 and LZO1X-999 and multi-block files, with
// and without lzop's optional CRC32 checksums.
func TestLZOLevels(t *testing.T) {
	inputs := map[string][]byte{
		"mixed":  sample(1<<20+12345, 7),
		"repeat": bytes.Repeat([]byte("xen-blkfront "), 70000),
		"zeros":  make([]byte, 300000),
	}
	for _, args := range [][]string{{"lzop", "-1"}, {"lzop", "-9"}, {"lzop", "-3", "--crc32"}, {"lzop", "-7", "--no-checksum"}} {
		for name, data := range inputs {
			t.Run(fmt.Sprint(args[1:], name), func(t *testing.T) {
				comp := compressWith(t, args, data)
				out, _, n, err := Stream(comp, DefaultMax)
				if err != nil {
					t.Fatalf("Stream(%q output) error: %v", args, err)
				}
				if !bytes.Equal(out, data) || n != len(comp) {
					t.Errorf("Stream(%q output) = %d bytes, consumed %d; want %d, %d", args, len(out), n, len(data), len(comp))
				}
			})
		}
	}
}

// TestIncompressible checks stored (uncompressed) blocks of lzop and lz4.
func TestIncompressible(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	data := make([]byte, 600<<10)
	r.Read(data)
	for _, f := range []Format{LZO, LZ4, Zstd, XZ} {
		comp := compressWith(t, toolArgs[f], data)
		out, _, err := All(sizeAppend(comp, len(data)), DefaultMax)
		if err != nil || !bytes.Equal(out, data) {
			t.Errorf("All(%v of random data) = %d bytes, %v; want %d bytes", f, len(out), err, len(data))
		}
	}
}

func TestConcatenatedStreamsConsumed(t *testing.T) {
	a, b := sample(5000, 1), sample(7000, 2)
	for _, f := range Formats() {
		ca := compressWith(t, toolArgs[f], a)
		cb := compressWith(t, toolArgs[Gzip], b)
		both := append(append([]byte(nil), ca...), cb...)
		out, _, n, err := Stream(both, DefaultMax)
		if err != nil {
			t.Fatalf("Stream(%v+gzip) error: %v", f, err)
		}
		if !bytes.Equal(out, a) || n != len(ca) {
			t.Errorf("Stream(%v+gzip) = %d bytes, consumed %d; want %d, %d", f, len(out), n, len(a), len(ca))
		}
	}
}

func TestTruncatedAndCorrupt(t *testing.T) {
	data := sample(200<<10, 3)
	for _, f := range Formats() {
		t.Run(f.String(), func(t *testing.T) {
			comp := compressWith(t, toolArgs[f], data)
			for _, cut := range []int{len(magicLZ4), len(comp) / 3, len(comp) / 2, len(comp) - 9} {
				out, _, err := All(comp[:cut], DefaultMax)
				if err == nil && bytes.Equal(out, data) {
					t.Errorf("All(%v truncated to %d of %d bytes) succeeded with full output", f, cut, len(comp))
				}
				if err == nil && f != LZ4 {
					t.Errorf("All(%v truncated to %d of %d bytes) = %d bytes, nil error; want an error", f, cut, len(comp), len(out))
				}
			}
			bad := append([]byte(nil), comp...)
			for i := len(bad) / 4; i < len(bad)*3/4; i += 97 {
				bad[i] ^= 0x55
			}
			if out, _, err := All(bad, DefaultMax); err == nil && bytes.Equal(out, data) {
				t.Errorf("All(corrupted %v) decoded the original data", f)
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	data := bytes.Repeat([]byte("xen"), 400<<10)
	for _, f := range Formats() {
		comp := compressWith(t, toolArgs[f], data)
		_, _, err := All(comp, 1<<20)
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("All(%v of %d bytes, max 1 MiB) error = %v, want ErrTooLarge", f, len(data), err)
		}
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		in   []byte
		want Format
	}{
		{[]byte{0x1f, 0x8b, 8, 0}, Gzip},
		{[]byte("BZh91AY&SY"), Bzip2},
		{[]byte{0xfd, '7', 'z', 'X', 'Z', 0}, XZ},
		{[]byte{0x5d, 0, 0, 0x80, 0}, LZMA},
		{magicLZO, LZO},
		{magicLZ4, LZ4},
		{magicZstd, Zstd},
		{[]byte("070701"), None},
		{[]byte{0x7f, 'E', 'L', 'F'}, None},
		{nil, None},
		{[]byte{0x1f}, None},
	}
	for _, tt := range tests {
		if got := Detect(tt.in); got != tt.want {
			t.Errorf("Detect(% x) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if _, _, err := All([]byte("070701 not compressed"), DefaultMax); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("All(cpio) error = %v, want ErrUnknownFormat", err)
	}
}

func TestFind(t *testing.T) {
	data := sample(50<<10, 9)
	for _, f := range Formats() {
		comp := compressWith(t, toolArgs[f], data)
		// A fake setup sector with stray magic-like bytes that must not
		// be mistaken for a stream.
		prefix := []byte("\x1f\x8b\x07 BZh0 \x5d\x00\x00\x00\x00\x00\x00 \xfd7zXZ\x00\x01\x02 \x28\xb5\x2f\xfd\x08 HdrS")
		prefix = append(prefix, make([]byte, 1000)...)
		img := append(append([]byte(nil), prefix...), comp...)
		off, got := Find(img, 0)
		if off != len(prefix) || got != f {
			t.Errorf("Find(prefix+%v) = %d, %v; want %d, %v", f, off, got, len(prefix), f)
		}
		if off, got := Find(img, len(prefix)+len(comp)); off != -1 || got != None {
			t.Errorf("Find(past the end) = %d, %v; want -1, none", off, got)
		}
	}
}

// TestLZO1XHandmade decodes a hand-assembled LZO1X block that uses a
// leading literal run, an M2 match, an M1-after-literal match and the end
// marker, so the decoder is tested without lzop too.
func TestLZO1XHandmade(t *testing.T) {
	// 17+4 = 21: first byte > 17 means "4 literals follow".
	in := []byte{21, 'a', 'b', 'c', 'd',
		// M2: t>=64, length (t>>5)-1+2, distance 1+((t>>2)&7)+(next<<3).
		// Length 3 (t>>5 = 2), distance 4: t = 2<<5 | 3<<2 = 0x4c, next 0.
		0x4c, 0x00,
		// End marker.
		0x11, 0x00, 0x00}
	out := make([]byte, 7)
	if err := lzo1xDecompress(in, out); err != nil {
		t.Fatalf("lzo1xDecompress(handmade) error: %v", err)
	}
	if string(out) != "abcdabc" {
		t.Errorf("lzo1xDecompress(handmade) = %q, want %q", out, "abcdabc")
	}
	// Lookbehind before the start of output must fail cleanly.
	bad := []byte{21, 'a', 'b', 'c', 'd', 0xfc, 0xff, 0x11, 0x00, 0x00}
	if err := lzo1xDecompress(bad, make([]byte, 20)); err == nil {
		t.Errorf("lzo1xDecompress(distance beyond output) = nil, want an error")
	}
}

func FuzzAll(f *testing.F) {
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(append(append([]byte(nil), magicLZ4...), 5, 0, 0, 0, 0x40, 'a', 'b', 'c', 'd'))
	f.Add(append(append([]byte(nil), magicZstd...), 0x20, 0, 1, 0, 0))
	f.Add([]byte{0x5d, 0, 0, 0x80, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0})
	f.Add([]byte("BZh91AY&SY"))
	f.Add([]byte{0xfd, '7', 'z', 'X', 'Z', 0, 0, 1, 0x69, 0x22, 0xde, 0x36, 0, 0, 0, 0, 0x1c, 0xdf, 0x44, 0x21, 0x90, 0x42, 0x99, 0x0d, 1, 0, 0, 0, 0, 1, 'Y', 'Z'})
	hdr := append([]byte(nil), magicLZO...)
	hdr = append(hdr, 0x10, 0x40, 0x20, 0xa0, 0x09, 0x40, 1, 5, 3, 0, 0, 1, 0, 0, 0x81, 0xa4, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	f.Add(hdr)
	f.Fuzz(func(t *testing.T, data []byte) {
		out, _, n, err := Stream(data, 1<<20)
		if err == nil && (n < 0 || n > len(data) || len(out) > 1<<20) {
			t.Fatalf("Stream() = %d bytes, consumed %d of %d", len(out), n, len(data))
		}
		Find(data, 0)
	})
}

func FuzzLZO1X(f *testing.F) {
	f.Add([]byte{21, 'a', 'b', 'c', 'd', 0x4c, 0x00, 0x11, 0x00, 0x00}, uint16(7))
	f.Add([]byte{0, 0, 7, 'x', 0x11, 0, 0}, uint16(300))
	f.Fuzz(func(t *testing.T, in []byte, n uint16) {
		_ = lzo1xDecompress(in, make([]byte, n))
	})
}
