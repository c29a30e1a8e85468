package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestInspectGolden compares `xenify inspect --json` of every fixture with
// its golden file (-update rewrites them).
func TestInspectGolden(t *testing.T) {
	for _, name := range fixtureNames(t) {
		t.Run(name, func(t *testing.T) {
			out, errOut, code := xenify(t, "inspect", "--json", filepath.Join(fixtures, name))
			got := fmt.Sprintf("exit %d\n%s%s", code, out, errOut)
			golden := filepath.Join("testdata/golden", name+".inspect")
			if *update {
				os.WriteFile(golden, []byte(got), 0o644)
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("no golden file (run with -update): %v", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("xenify inspect %s differs from %s (-want +got):\n%s", name, golden, diff)
			}
		})
	}
}
