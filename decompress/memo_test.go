package decompress

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"testing"
)

// TestStreamShared: a shared stream decodes to what Stream gives, is
// remembered by its own bytes whatever follows it (the appended layer
// after an initramfs's compressed part), and never answers for other
// bytes.
func TestStreamShared(t *testing.T) {
	for _, f := range []Format{Zstd, XZ, Gzip} {
		t.Run(f.String(), func(t *testing.T) {
			forgetShared()
			a := compressWith(t, toolArgs[f], bytes.Repeat([]byte("archive a "), 5000))
			b := compressWith(t, toolArgs[f], bytes.Repeat([]byte("archive b "), 5000))
			var gz bytes.Buffer
			w := gzip.NewWriter(&gz)
			w.Write([]byte("layer"))
			w.Close()
			layered := append(append(append([]byte(nil), a...), 0, 0, 0, 0), gz.Bytes()...)
			for _, in := range [][]byte{a, layered, b, a} {
				want, wf, wn, werr := Stream(in, DefaultMax)
				got, gf, gn, gerr := StreamShared(in, DefaultMax)
				if fmt.Sprint(werr) != fmt.Sprint(gerr) || wf != gf || wn != gn || !bytes.Equal(want, got) {
					t.Errorf("StreamShared = %d bytes, %v, %d, %v; Stream = %d bytes, %v, %d, %v",
						len(got), gf, gn, gerr, len(want), wf, wn, werr)
				}
				if cap(got) != len(got) {
					t.Errorf("StreamShared output capacity %d, length %d: an append would write into the shared buffer", cap(got), len(got))
				}
			}
			// zstd and xz: a's stream is the same after the layer; gzip:
			// its end is not known before decoding, so a+layer is its own.
			if want := map[Format]int{Gzip: 3, Zstd: 2, XZ: 2}[f]; len(memo.ents) != want {
				t.Errorf("memo holds %d streams after a, a+layer, b, a; want %d", len(memo.ents), want)
			}
			// A cap the remembered output exceeds still fails, as Stream does.
			if _, _, _, err := StreamShared(a, 100); !errors.Is(err, ErrTooLarge) {
				t.Errorf("StreamShared(a, 100 bytes) error = %v, want ErrTooLarge", err)
			}
		})
	}
}
