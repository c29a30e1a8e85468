package e2e

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCached(t *testing.T) {
	cache := t.TempDir()
	runs := 0
	build := func(dir string) error {
		runs++
		return os.WriteFile(filepath.Join(dir, "img"), []byte("v"), 0o644)
	}
	k1 := RecipeKey("script v1", "param")
	dir, built, err := Cached(cache, "guest", k1, build)
	if err != nil || !built {
		t.Fatalf("Cached() = %q, %v, %v, want a fresh build", dir, built, err)
	}
	if _, built, err = Cached(cache, "guest", k1, build); err != nil || built || runs != 1 {
		t.Errorf("second Cached() built=%v err=%v runs=%d, want a cache hit", built, err, runs)
	}
	if _, err := os.Stat(filepath.Join(dir, "img")); err != nil {
		t.Errorf("cached image missing: %v", err)
	}

	// A failed build leaves nothing that looks finished.
	k2 := RecipeKey("script v2", "param")
	if _, _, err := Cached(cache, "guest", k2, func(string) error { return errors.New("boom") }); err == nil {
		t.Errorf("Cached(failing build) = nil error")
	}
	if _, err := os.Stat(filepath.Join(cache, "guest-"+k2, ".done")); err == nil {
		t.Errorf("failed build was marked done")
	}
	// A successful build of a new key prunes the old one.
	if _, _, err := Cached(cache, "guest", k2, build); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("old key %s not pruned: %v", dir, err)
	}
}

func TestRecipeKey(t *testing.T) {
	if RecipeKey("ab", "c") == RecipeKey("a", "bc") {
		t.Errorf("RecipeKey(ab, c) == RecipeKey(a, bc), want different keys")
	}
	if got, want := RecipeKey("a"), "836501e69990183d"; got != want { // sha256("1:a;")
		t.Errorf("RecipeKey(a) = %s, want %s", got, want)
	}
}

func TestMountPointsUnder(t *testing.T) {
	mi := []byte("22 1 254:0 / / rw - ext4 /dev/vda rw\n" +
		"90 22 0:5 / /var/cache/x/dom0-1.tmp/root/proc rw - proc proc rw\n" +
		"91 22 0:6 / /var/cache/x/dom0-1.tmpfoo rw - tmpfs t rw\n" +
		"92 22 0:7 / /var/cache/x/dom0-1.tmp/root/my\\040dir rw - tmpfs t rw\n")
	got := mountPointsUnder(mi, "/var/cache/x/dom0-1.tmp")
	want := []string{"/var/cache/x/dom0-1.tmp/root/proc", "/var/cache/x/dom0-1.tmp/root/my dir"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mountPointsUnder() mismatch (-want +got):\n%s", diff)
	}
}
