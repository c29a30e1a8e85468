package source

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/xenify/xenify/guest"
)

// mountPoint names, as the host path of the mount, the directory it
// opened: read back from the descriptor, resolved once, inside the root
// whatever the guest's links say.
func TestMountPointResolvesOnce(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"realboot", "srv"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{"boot": "/realboot", "home": "../../../../..", "opt": "/../srv"}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	root, err := guest.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for mp, want := range map[string]string{"/boot": "/realboot", "/home": "", "/opt": "/srv", "/srv": "/srv"} {
		target, real, closeFn, err := mountPoint(root, mp)
		if err != nil {
			t.Errorf("mountPoint(%s) = %v", mp, err)
			continue
		}
		if real != root.Dir()+want {
			t.Errorf("mountPoint(%s) host path = %q, want %q", mp, real, root.Dir()+want)
		}
		if got, _ := os.Readlink(target); got != real {
			t.Errorf("mountPoint(%s) target %s is %q, want %q", mp, target, got, real)
		}
		closeFn()
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := mountPoint(root, "/file"); err == nil {
		t.Errorf("mountPoint(/file) = nil error, want not a directory")
	}
}
