package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// CacheDir is where downloads and built images are kept between runs:
// $XENIFY_E2E_CACHE, or /var/cache/xenify-e2e.
func CacheDir() string {
	if d := os.Getenv("XENIFY_E2E_CACHE"); d != "" {
		return d
	}
	return "/var/cache/xenify-e2e"
}

// RecipeKey hashes everything that defines a build (script contents,
// parameters, input file names) into a short cache key.
func RecipeKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Cached returns the directory cacheDir/name-key, running build to fill it
// if it is not complete yet. build gets an empty scratch directory that is
// renamed into place only when build succeeds, so an interrupted build is
// never mistaken for a finished one. Other keys of the same name are removed
// afterwards. It reports whether build ran.
func Cached(cacheDir, name, key string, build func(dir string) error) (dir string, built bool, err error) {
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", false, fmt.Errorf("creating cache: %w", err)
	}
	dir = filepath.Join(cacheDir, name+"-"+key)
	lock, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", false, fmt.Errorf("locking %s: %w", dir, err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return "", false, fmt.Errorf("locking %s: %w", dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".done")); err == nil {
		return dir, false, nil
	}
	tmp := dir + ".tmp"
	// A build that was killed (e.g. mmdebstrap in root mode) can leave /proc,
	// /sys or /dev mounted in its chroot; never recurse into those.
	if m := mountsUnder(tmp); len(m) > 0 {
		return "", false, fmt.Errorf("stale build %s still has mounts (%s): unmount them first", tmp, strings.Join(m, " "))
	}
	if err := os.RemoveAll(tmp); err != nil {
		return "", false, fmt.Errorf("removing stale %s: %w", tmp, err)
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", false, fmt.Errorf("creating %s: %w", tmp, err)
	}
	if err := build(tmp); err != nil {
		return "", true, fmt.Errorf("building %s: %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, ".done"), []byte(key+"\n"), 0o644); err != nil {
		return "", true, err
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", true, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", true, fmt.Errorf("finishing %s: %w", dir, err)
	}
	prune(cacheDir, name, key)
	return dir, true, nil
}

// prune removes builds of name with another key.
func prune(cacheDir, name, key string) {
	m, _ := filepath.Glob(filepath.Join(cacheDir, name+"-*"))
	for _, p := range m {
		rest := strings.TrimPrefix(filepath.Base(p), name+"-")
		base := strings.TrimSuffix(strings.TrimSuffix(rest, ".lock"), ".tmp")
		if len(base) != len(key) || base == key || strings.Contains(base, "-") {
			continue
		}
		_ = os.RemoveAll(p)
	}
}

// mountsUnder lists the mount points at or below dir.
func mountsUnder(dir string) []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	return mountPointsUnder(b, dir)
}

// mountPointsUnder parses mountinfo (proc(5)) for mount points at or below dir.
func mountPointsUnder(mountinfo []byte, dir string) []string {
	var out []string
	dir = filepath.Clean(dir)
	for _, line := range strings.Split(string(mountinfo), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := strings.ReplaceAll(f[4], `\040`, " ")
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	return out
}
