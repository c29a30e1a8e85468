package p2v

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

func TestLocalSumMatchesTools(t *testing.T) {
	data := bytes.Repeat([]byte("xenify remote p2v "), 70001)
	for _, algo := range []string{"md5sum", "cksum"} {
		for _, in := range [][]byte{nil, []byte("a"), data} {
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
