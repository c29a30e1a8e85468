package p2v

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

func TestLocalSumMatchesTools(t *testing.T) {
	data := bytes.Repeat([]byte("xenify remote p2v "), 70001)
	for _, algo := range []string{"md5sum", "sha1sum", "cksum"} {
		// Lengths around the 8-byte steps of the sliced CRC.
		for _, in := range [][]byte{nil, []byte("a"), data[:7], data[:8], data[:9], data[:4097], data} {
			got, err := LocalSum(algo, bytes.NewReader(in))
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(algo)
			cmd.Stdin = bytes.NewReader(in)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s: %v", algo, err)
			}
			f := strings.Fields(string(out))
			want := f[0]
			if algo == "cksum" {
				want = f[0] + " " + f[1]
			}
			if got != want {
				t.Errorf("LocalSum(%s, %d bytes) = %q, want %q (from %s)", algo, len(in), got, want, algo)
			}
		}
	}
}

// TestCksumSlicedMatchesBytewise: the 8-bytes-a-step CRC equals the
// byte-wise definition at every length and split of the writes.
func TestCksumSlicedMatchesBytewise(t *testing.T) {
	data := make([]byte, 300)
	for i := range data {
		data[i] = byte(i*131 + i>>3)
	}
	for n := range len(data) {
		var want uint32
		for _, b := range data[:n] {
			want = want<<8 ^ cksumTable[byte(want>>24)^b]
		}
		c := newCksum()
		c.Write(data[:n/3])
		c.Write(data[n/3 : n])
		if c.crc != want {
			t.Fatalf("%d bytes: sliced CRC %08x, byte-wise %08x", n, c.crc, want)
		}
	}
}
