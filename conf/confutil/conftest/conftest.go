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
