package apply

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xenify/xenify/guest"
	"github.com/xenify/xenify/plan"
	"github.com/xenify/xenify/xerr"
)

// TestMergeBoot copies a separate /boot (the guest root's /boot) into the
// root filesystem's own /boot (a second directory standing for the root
// filesystem alone), then rolls back: the root filesystem's /boot returns
// to exactly what it held, and the separate /boot is never written.
func TestMergeBoot(t *testing.T) {
	guestDir := tree(t)
	os.MkdirAll(filepath.Join(guestDir, "boot/lost+found"), 0o700)
	os.Symlink("grub.conf", filepath.Join(guestDir, "boot/grub/menu.lst"))
	os.WriteFile(filepath.Join(guestDir, "boot/vmlinuz-1.0"), []byte("kernel"), 0o644)
	old := time.Date(2007, 4, 2, 10, 0, 0, 0, time.UTC)
	os.Chtimes(filepath.Join(guestDir, "boot/vmlinuz-1.0"), old, old)
	os.Chmod(filepath.Join(guestDir, "boot"), 0o555)
	defer os.Chmod(filepath.Join(guestDir, "boot"), 0o755)

	rootFSDir := t.TempDir()
	os.MkdirAll(filepath.Join(rootFSDir, "boot/stale"), 0o755)
	os.WriteFile(filepath.Join(rootFSDir, "boot/stale/vmlinuz-0.9"), []byte("hidden under the mount"), 0o600)

	root, err := guest.Open(guestDir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	rootFS, err := guest.Open(rootFSDir)
	if err != nil {
		t.Fatal(err)
	}
	defer rootFS.Close()

	guestBefore, rootFSBefore := state(t, filepath.Join(guestDir, "boot")), state(t, rootFSDir)
	shown := 0
	p := &plan.Plan{Ops: []plan.Op{{Step: "boot-merge", Kind: plan.MergeBoot, Path: "/boot", Reason: "test"}}}
	opts := Options{RootFS: rootFS, ShowRootBoot: func() error { shown++; return nil }}
	if _, err := Apply(context.Background(), root, p, opts); err != nil {
		t.Fatalf("Apply() = %v", err)
	}
	if shown != 1 {
		t.Errorf("ShowRootBoot called %d times, want once after the copy", shown)
	}
	want := state(t, filepath.Join(guestDir, "boot"))
	delete(want, "lost+found")
	if diff := cmp.Diff(want, state(t, filepath.Join(rootFSDir, "boot"))); diff != "" {
		t.Errorf("the root filesystem's /boot is not a copy of the separate /boot (-separate +copy):\n%s", diff)
	}
	if diff := cmp.Diff(guestBefore, state(t, filepath.Join(guestDir, "boot"))); diff != "" {
		t.Errorf("the separate /boot changed:\n%s", diff)
	}
	if st, err := os.Stat(filepath.Join(rootFSDir, "boot/vmlinuz-1.0")); err != nil || !st.ModTime().Equal(old) {
		t.Errorf("copied kernel's mtime = %v (%v), want %v, as rpm -V expects", st.ModTime(), err, old)
	}

	// Without the root filesystem view, rollback refuses rather than
	// restoring the record into the separate /boot.
	var r *xerr.Refused
	if _, err := Rollback(root, nil, nil); !errors.As(err, &r) {
		t.Fatalf("Rollback() without the root filesystem = %v, want a refusal", err)
	}
	if diff := cmp.Diff(guestBefore, state(t, filepath.Join(guestDir, "boot"))); diff != "" {
		t.Errorf("a refused rollback changed the separate /boot:\n%s", diff)
	}
	if _, err := Rollback(root, rootFS, nil); err != nil {
		t.Fatalf("Rollback() = %v", err)
	}
	if diff := cmp.Diff(rootFSBefore, state(t, rootFSDir)); diff != "" {
		t.Errorf("after rollback the root filesystem differs (-before +after):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(guestDir, "var/lib/xenify")); !os.IsNotExist(err) {
		t.Errorf("journal left after rollback: %v", err)
	}
}

// TestMergeBootNeedsRootFS: a source without the root filesystem view
// (a directory) cannot merge, and says what to do.
func TestMergeBootNeedsRootFS(t *testing.T) {
	dir := tree(t)
	root, err := guest.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	before := state(t, dir)
	p := &plan.Plan{Ops: []plan.Op{{Step: "boot-merge", Kind: plan.MergeBoot, Path: "/boot"}}}
	if _, err := Apply(context.Background(), root, p, Options{}); err == nil || !strings.Contains(err.Error(), "--keep-boot") {
		t.Errorf("Apply() = %v, want an error naming --keep-boot", err)
	}
	if diff := cmp.Diff(before, state(t, dir)); diff != "" {
		t.Errorf("a refused merge changed the guest:\n%s", diff)
	}
}

// TestMergeBootRefusesLink: a root filesystem whose /boot is a symlink
// (here to /etc) is refused before anything is journaled or removed.
func TestMergeBootRefusesLink(t *testing.T) {
	guestDir, rootFSDir := tree(t), tree(t)
	os.RemoveAll(filepath.Join(rootFSDir, "boot"))
	os.Symlink("/etc", filepath.Join(rootFSDir, "boot"))
	root, _ := guest.Open(guestDir)
	defer root.Close()
	rootFS, _ := guest.Open(rootFSDir)
	defer rootFS.Close()
	before, beforeFS := state(t, guestDir), state(t, rootFSDir)
	p := &plan.Plan{Ops: []plan.Op{{Step: "boot-merge", Kind: plan.MergeBoot, Path: "/boot"}}}
	if _, err := Apply(context.Background(), root, p, Options{RootFS: rootFS, ShowRootBoot: func() error { return nil }}); err == nil {
		t.Fatal("Apply() merged /boot into a symlink")
	}
	if diff := cmp.Diff(before, state(t, guestDir)); diff != "" {
		t.Errorf("refused merge changed the guest:\n%s", diff)
	}
	if diff := cmp.Diff(beforeFS, state(t, rootFSDir)); diff != "" {
		t.Errorf("refused merge changed the root filesystem:\n%s", diff)
	}
}
