package guest

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// hostileTree builds a guest root whose links all try to escape, and a
// sentinel file outside it that must never be read or written.
func hostileTree(t testing.TB) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "guest")
	outside = filepath.Join(base, "host-secret")
	must(t, os.WriteFile(outside, []byte("HOST"), 0o600))
	for _, d := range []string{"etc", "boot/grub", "var/lib"} {
		must(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	must(t, os.WriteFile(filepath.Join(root, "host-secret"), []byte("GUEST"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "boot/grub/grub.conf"), []byte("default=0\n"), 0o600))
	links := map[string]string{
		"etc/fstab":          "../../../../../host-secret",
		"etc/abs":            outside,
		"etc/grub.conf":      "../boot/grub/grub.conf",
		"boot/grub/menu.lst": "./grub.conf",
		"etc/loop1":          "loop2",
		"etc/loop2":          "loop1",
		"etc/dotdot":         "/../../..",
		"etc/dangling":       "/var/lib/new-file",
		"etc/viadir":         "/boot/grub/../../../host-secret",
	}
	for name, target := range links {
		must(t, os.Symlink(target, filepath.Join(root, name)))
	}
	return root, outside
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func forEachResolver(t *testing.T, f func(t *testing.T)) {
	t.Run("openat2", f)
	t.Run("userspace", func(t *testing.T) {
		old := useOpenat2
		useOpenat2 = func() bool { return false }
		defer func() { useOpenat2 = old }()
		f(t)
	})
}

func TestReadStaysInRoot(t *testing.T) {
	forEachResolver(t, func(t *testing.T) {
		dir, _ := hostileTree(t)
		r, err := Open(dir)
		must(t, err)
		defer r.Close()
		for _, tc := range []struct {
			path, want string
		}{
			{"/etc/fstab", "GUEST"},
			{"/etc/viadir", "GUEST"},
			{"/etc/grub.conf", "default=0\n"},
			{"/boot/grub/menu.lst", "default=0\n"},
			{"../../host-secret", "GUEST"},
			{"/etc/dotdot/host-secret", "GUEST"},
		} {
			got, err := r.ReadFile(tc.path)
			if err != nil || string(got) != tc.want {
				t.Errorf("ReadFile(%q) = %q, %v; want %q", tc.path, got, err, tc.want)
			}
		}
		if _, err := r.ReadFile("/etc/abs"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("ReadFile(/etc/abs -> host path) error = %v, want not-exist inside the guest", err)
		}
		if _, err := r.ReadFile("/etc/loop1"); err == nil {
			t.Errorf("ReadFile(/etc/loop1) succeeded on a symlink loop")
		}
	})
}

func TestRealpath(t *testing.T) {
	dir, outside := hostileTree(t)
	r, err := Open(dir)
	must(t, err)
	defer r.Close()
	// An absolute link to a host path is looked up inside the guest, where
	// that directory does not exist.
	if got, err := r.Realpath("/etc/abs"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Realpath(/etc/abs -> %s) = %q, %v; want not-exist", outside, got, err)
	}
	for in, want := range map[string]string{
		"/etc/grub.conf":    "/boot/grub/grub.conf",
		"/etc/fstab":        "/host-secret",
		"/etc/dangling":     "/var/lib/new-file",
		"/etc/dotdot/etc/.": "/etc",
		"/nonexistent":      "/nonexistent",
	} {
		got, err := r.Realpath(in)
		if err != nil || got != want {
			t.Errorf("Realpath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestWriteStaysInRoot(t *testing.T) {
	forEachResolver(t, func(t *testing.T) {
		dir, outside := hostileTree(t)
		r, err := Open(dir)
		must(t, err)
		defer r.Close()
		meta := Meta{Mode: 0o640, UID: os.Getuid(), GID: os.Getgid()}
		if err := r.WriteFile("/etc/abs", []byte("x"), meta); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("WriteFile(/etc/abs -> host path) = %v, want not-exist inside the guest", err)
		}
		for _, p := range []string{"/etc/fstab", "/etc/dangling", "/etc/viadir"} {
			if _, err := r.MkdirAll("/" + filepath.Dir(mustReal(t, r, p))); err != nil {
				t.Fatal(err)
			}
			if err := r.WriteFile(p, []byte("written via "+p), meta); err != nil {
				t.Errorf("WriteFile(%q) = %v", p, err)
			}
		}
		got, _ := os.ReadFile(outside)
		if string(got) != "HOST" {
			t.Fatalf("host file outside the root changed to %q", got)
		}
		// The link is kept and its target written.
		if tgt, err := os.Readlink(filepath.Join(dir, "etc/fstab")); err != nil || tgt != "../../../../../host-secret" {
			t.Errorf("Readlink(etc/fstab) = %q, %v; want the link kept", tgt, err)
		}
		b, _ := os.ReadFile(filepath.Join(dir, "var/lib/new-file"))
		if string(b) != "written via /etc/dangling" {
			t.Errorf("dangling link target = %q, want written", b)
		}
		st, err := os.Stat(filepath.Join(dir, "host-secret"))
		must(t, err)
		if st.Mode().Perm() != 0o640 {
			t.Errorf("mode = %v, want 0640", st.Mode())
		}
	})
}

func mustReal(t *testing.T, r *Root, p string) string {
	t.Helper()
	real, err := r.Realpath(p)
	must(t, err)
	return real
}

func TestRemoveDoesNotFollow(t *testing.T) {
	dir, _ := hostileTree(t)
	r, err := Open(dir)
	must(t, err)
	defer r.Close()
	must(t, r.Remove("/etc/grub.conf"))
	if _, err := os.Stat(filepath.Join(dir, "boot/grub/grub.conf")); err != nil {
		t.Errorf("Remove of a symlink removed its target: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "etc/grub.conf")); !os.IsNotExist(err) {
		t.Errorf("Lstat(etc/grub.conf) after Remove = %v, want not exist", err)
	}
}

func TestMetaAndGlob(t *testing.T) {
	dir, _ := hostileTree(t)
	r, err := Open(dir)
	must(t, err)
	defer r.Close()
	m, err := r.Meta("/etc/grub.conf")
	must(t, err)
	if m.Mode&fs.ModeSymlink == 0 {
		t.Errorf("Meta(/etc/grub.conf).Mode = %v, want a symlink", m.Mode)
	}
	got, err := r.Glob("/boot/grub/*")
	must(t, err)
	if len(got) != 2 || got[0] != "/boot/grub/grub.conf" {
		t.Errorf("Glob(/boot/grub/*) = %v", got)
	}
}

func FuzzRealpath(f *testing.F) {
	for _, s := range []string{"/etc/fstab", "../..", "/etc/dotdot/../../x", "a/./b/../../c", "/etc/loop1/x"} {
		f.Add(s)
	}
	// The tree belongs to f: its temporary directory is removed when
	// the fuzz target ends.
	dir, _ := hostileTree(f)
	r, err := Open(dir)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { r.Close() })
	f.Fuzz(func(t *testing.T, p string) {
		real, err := r.Realpath(p)
		if err != nil {
			return
		}
		if real == "" || real[0] != '/' {
			t.Fatalf("Realpath(%q) = %q, not an absolute guest path", p, real)
		}
		// The resolved path, opened inside the root, is the same object the
		// kernel's RESOLVE_IN_ROOT finds.
		a, errA := r.Stat(real)
		b, errB := r.Stat(p)
		if (errA == nil) != (errB == nil) || (errA == nil && !os.SameFile(a, b)) {
			t.Fatalf("Stat(Realpath(%q)=%q) disagrees with Stat(%q): %v / %v", p, real, p, errA, errB)
		}
	})
}

// Mkdir accepts a directory that is already there (the journal may have
// made it a moment before), leaves it as it is, and refuses anything else.
func TestMkdirExisting(t *testing.T) {
	forEachResolver(t, func(t *testing.T) {
		dir, _ := hostileTree(t)
		r, err := Open(dir)
		must(t, err)
		defer r.Close()
		must(t, os.Chmod(filepath.Join(dir, "var/lib"), 0o711))
		if err := r.Mkdir("/var/lib", Meta{Mode: fs.ModeDir | 0o755}); err != nil {
			t.Errorf("Mkdir(/var/lib) on an existing directory = %v, want nil", err)
		}
		if st, _ := os.Stat(filepath.Join(dir, "var/lib")); st.Mode().Perm() != 0o711 {
			t.Errorf("Mkdir(/var/lib) changed the existing directory's mode to %v", st.Mode())
		}
		for _, p := range []string{"/host-secret", "/boot/grub/grub.conf"} {
			if err := r.Mkdir(p, Meta{Mode: fs.ModeDir | 0o755}); !errors.Is(err, fs.ErrExist) {
				t.Errorf("Mkdir(%s) on a file = %v, want exists", p, err)
			}
		}
	})
}
