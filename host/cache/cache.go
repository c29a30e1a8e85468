// Package cache is xenify's cache on the conversion host: small values
// by key, one file each, in a directory that only its owner can read.
// It holds what is slow to compute and a pure function of the guest's
// bytes (the decoded headers and Xen notes of a kernel, keyed by the
// SHA-256 of its compressed payload), never anything of the guest's
// state, and never inside the guest: inspect, plan and verify do not
// write to the source.
//
// Every failure is a miss: an unreadable, oversized or missing entry is
// not there, and a write that fails is dropped. Entries are written to a
// temporary file and renamed, so a reader never sees half of one.
package cache

import (
	"os"
	"path/filepath"
	"strings"
)

// EnvDir names the environment variable that overrides the directory;
// "off" disables the cache.
const EnvDir = "XENIFY_CACHE_DIR"

// maxValue bounds what Get reads of an entry.
const maxValue = 4 << 20

// Dir is a cache in a directory.
type Dir struct{ Path string }

// Default returns the cache the CLI uses: $XENIFY_CACHE_DIR,
// /var/cache/xenify for root, $XDG_CACHE_HOME/xenify (or
// ~/.cache/xenify) for others; nil when $XENIFY_CACHE_DIR is "off" or
// no directory can be found.
func Default() *Dir {
	switch d := os.Getenv(EnvDir); {
	case d == "off":
		return nil
	case d != "":
		return &Dir{Path: d}
	}
	if os.Geteuid() == 0 {
		return &Dir{Path: "/var/cache/xenify"}
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return nil
	}
	return &Dir{Path: filepath.Join(d, "xenify")}
}

// validKey: keys become file names.
func validKey(k string) bool {
	if k == "" || len(k) > 200 || strings.HasPrefix(k, ".") {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Get returns the value stored under key.
func (d *Dir) Get(key string) ([]byte, bool) {
	if d == nil || !validKey(key) {
		return nil, false
	}
	f, err := os.Open(filepath.Join(d.Path, key))
	if err != nil {
		return nil, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() > maxValue {
		return nil, false
	}
	b := make([]byte, st.Size())
	if n, err := f.ReadAt(b, 0); err != nil || n != len(b) {
		return nil, false
	}
	return b, true
}

// Put stores value under key, replacing what was there.
func (d *Dir) Put(key string, value []byte) {
	if d == nil || !validKey(key) || len(value) > maxValue {
		return
	}
	if err := os.MkdirAll(d.Path, 0o700); err != nil {
		return
	}
	f, err := os.CreateTemp(d.Path, ".tmp-"+key+"-*")
	if err != nil {
		return
	}
	_, err = f.Write(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(d.Path, key))
	}
	if err != nil {
		os.Remove(f.Name())
	}
}
