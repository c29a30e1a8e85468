package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xenify/xenify/host/cache"
)

// TestVerifyKernelCacheEveryFixture: over every fixture guest, verify
// with a cold and then a warm cache says exactly what it says without.
func TestVerifyKernelCacheEveryFixture(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	for _, name := range fixtureNames(t) {
		args := []string{"verify", "--json", "--hypervisor-caps", hostCaps, filepath.Join(fixtures, name)}
		t.Setenv(cache.EnvDir, "off")
		want, _, wantCode := xenify(t, args...)
		t.Setenv(cache.EnvDir, dir)
		for _, state := range []string{"cold", "warm"} {
			if got, _, code := xenify(t, args...); got != want || code != wantCode {
				t.Errorf("verify %s with a %s cache = exit %d\n%s\nwant exit %d, as without a cache:\n%s", name, state, code, got, wantCode, want)
			}
		}
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) == 0 {
		t.Errorf("cache directory after verifying every fixture: %d entries, %v; want the compressed kernels", len(ents), err)
	}
}

// TestVerifyKernelCache: verify fills the host cache with the decoded
// kernel (never the guest), and a verify that reads it back says the
// same as one without a cache.
func TestVerifyKernelCache(t *testing.T) {
	guest := copyTree(t, filepath.Join(fixtures, "debian12"))
	before := treeState(t, guest)
	args := []string{"verify", "--json", "--hypervisor-caps", hostCaps, guest}
	t.Setenv(cache.EnvDir, "off")
	want, _, wantCode := xenify(t, args...)
	dir := filepath.Join(t.TempDir(), "cache")
	t.Setenv(cache.EnvDir, dir)
	for _, state := range []string{"cold", "warm"} {
		got, errOut, code := xenify(t, args...)
		if got != want || code != wantCode {
			t.Errorf("verify with a %s cache = exit %d\n%s%s\nwant exit %d, as without a cache:\n%s", state, code, got, errOut, wantCode, want)
		}
		ents, err := os.ReadDir(dir)
		if err != nil || len(ents) != 1 {
			t.Fatalf("cache directory after a %s verify: %v, %v; want one entry (the kernel)", state, ents, err)
		}
	}
	if diff := cmp.Diff(before, treeState(t, guest)); diff != "" {
		t.Errorf("verify changed the guest:\n%s", diff)
	}
}
