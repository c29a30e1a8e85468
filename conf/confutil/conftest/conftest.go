// Package conftest holds the golden-file helper shared by the tests of
// the conf parsers.
package conftest

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Update rewrites golden files instead of comparing (go test -update).
var Update = flag.Bool("update", false, "rewrite golden files in testdata")

// Golden compares got with testdata/NAME.golden (rewriting it first with
// -update) and reports a diff on mismatch.
func Golden(t testing.TB, name string, got []byte) {
	t.Helper()
	golden := filepath.Join("testdata", name+".golden")
	if *Update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("edited %s mismatch with %s (-want +got):\n%s", name, golden, diff)
	}
}

// Load reads testdata/NAME, parses it with parse and checks that the
// unedited model renders the input back byte for byte.
func Load[F interface{ Bytes() []byte }](t testing.TB, name string, parse func(string, []byte) (F, error)) F {
	t.Helper()
	in, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	f, err := parse(name, in)
	if err != nil {
		t.Fatalf("Parse(%s) error: %v", name, err)
	}
	if got := f.Bytes(); string(got) != string(in) {
		t.Fatalf("Parse(%s).Bytes() differs from input:\n%s", name, cmp.Diff(string(in), string(got)))
	}
	return f
}

// MustParse parses data as a file named "test", failing the test on an
// error.
func MustParse[F any](t testing.TB, parse func(string, []byte) (F, error), data string) F {
	t.Helper()
	f, err := parse("test", []byte(data))
	if err != nil {
		t.Fatalf("Parse(%q) error: %v", data, err)
	}
	return f
}

// RoundTrip checks that each input, parsed and rendered unedited, comes
// back byte for byte.
func RoundTrip[F interface{ Bytes() []byte }](t testing.TB, parse func(string, []byte) (F, error), inputs ...string) {
	t.Helper()
	for _, in := range inputs {
		if got := string(MustParse(t, parse, in).Bytes()); got != in {
			t.Errorf("Parse(%q).Bytes() = %q, want input", in, got)
		}
	}
}
