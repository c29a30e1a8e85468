package cache

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDirRoundTrip(t *testing.T) {
	d := &Dir{Path: filepath.Join(t.TempDir(), "c")}
	if _, ok := d.Get("k1"); ok {
		t.Fatalf("Get(k1) on an empty cache = found")
	}
	d.Put("k1", []byte("one"))
	d.Put("k2", []byte("two"))
	d.Put("k1", []byte("uno"))
	for k, want := range map[string]string{"k1": "uno", "k2": "two"} {
		if got, ok := d.Get(k); !ok || string(got) != want {
			t.Errorf("Get(%s) = %q, %v; want %q, true", k, got, ok, want)
		}
	}
	st, err := os.Stat(d.Path)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("cache directory mode = %v, %v; want 0700", st.Mode().Perm(), err)
	}
	ents, _ := os.ReadDir(d.Path)
	if len(ents) != 2 {
		t.Errorf("cache directory holds %d files, want 2 (no temporary files left)", len(ents))
	}
}

func TestDirRefusesPathKeys(t *testing.T) {
	dir := t.TempDir()
	d := &Dir{Path: filepath.Join(dir, "c")}
	for _, k := range []string{"../escape", "a/b", "", ".hidden", "x\x00y"} {
		d.Put(k, []byte("v"))
		if _, ok := d.Get(k); ok {
			t.Errorf("Get(%q) = found; want keys that are not plain names refused", k)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "escape")); err == nil {
		t.Errorf("Put(../escape) wrote outside the cache directory")
	}
}

func TestDirUnreadableIsMiss(t *testing.T) {
	d := &Dir{Path: t.TempDir()}
	if err := os.Mkdir(filepath.Join(d.Path, "isdir"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Get("isdir"); ok {
		t.Errorf("Get(a directory) = found, want a miss")
	}
	var nilDir *Dir
	nilDir.Put("k", []byte("v"))
	if _, ok := nilDir.Get("k"); ok {
		t.Errorf("nil Dir Get = found")
	}
}

func TestDefault(t *testing.T) {
	t.Setenv(EnvDir, "off")
	if d := Default(); d != nil {
		t.Errorf("Default() with %s=off = %v, want nil", EnvDir, d)
	}
	t.Setenv(EnvDir, "/some/where")
	if d := Default(); d == nil || d.Path != "/some/where" {
		t.Errorf("Default() with %s=/some/where = %v", EnvDir, d)
	}
}
