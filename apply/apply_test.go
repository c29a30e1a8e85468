package apply

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xenify/xenify/guest"
	"github.com/xenify/xenify/plan"
	"github.com/xenify/xenify/run"
)

func state(t *testing.T, root string) map[string]string {
	t.Helper()
	st := map[string]string{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		info, _ := os.Lstat(p)
		sys := info.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%v %d:%d", info.Mode(), sys.Uid, sys.Gid)
		if info.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			h := sha256.Sum256(b)
			desc += " " + hex.EncodeToString(h[:6])
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			l, _ := os.Readlink(p)
			desc += " -> " + l
		}
		rel, _ := filepath.Rel(root, p)
		st[rel] = desc
		return nil
	})
	return st
}

func tree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"etc", "boot/grub", "var/lib", "lib/modules/1.0"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	os.WriteFile(filepath.Join(dir, "etc/fstab"), []byte("/dev/sda1 / ext3 defaults 1 1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "etc/secret"), []byte("s\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "boot/grub/grub.conf"), []byte("default=0\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "boot/initrd-1.0.img"), []byte("old initrd"), 0o644)
	os.Symlink("../boot/grub/grub.conf", filepath.Join(dir, "etc/grub.conf"))
	return dir
}

// fakeRunner simulates a guest command that changes files under /boot and
// creates a new module tree, by writing directly into the root.
type fakeRunner struct {
	dir  string
	fail bool
}

func (f fakeRunner) Run(ctx context.Context, c run.Cmd) ([]byte, error) {
	os.WriteFile(filepath.Join(f.dir, "boot/initrd-1.0.img"), []byte("new initrd with xenblk"), 0o600)
	os.MkdirAll(filepath.Join(f.dir, "lib/modules/1.0xen/kernel"), 0o755)
	os.WriteFile(filepath.Join(f.dir, "lib/modules/1.0xen/kernel/xenblk.ko"), []byte("ko"), 0o644)
	os.WriteFile(filepath.Join(f.dir, "boot/vmlinuz-1.0xen"), []byte("kernel"), 0o644)
	if f.fail {
		return nil, errors.New("command failed")
	}
	return nil, nil
}

func samplePlan(dir string) *plan.Plan {
	old, _ := os.ReadFile(filepath.Join(dir, "etc/fstab"))
	oldGrub, _ := os.ReadFile(filepath.Join(dir, "boot/grub/grub.conf"))
	return &plan.Plan{Ops: []plan.Op{
		{Step: "fstab", Kind: plan.WriteFile, Path: "/etc/fstab", Content: "/dev/xvda1 / ext3 defaults 1 1\n", OldSHA256: plan.Hash(old)},
		{Step: "boot", Kind: plan.WriteFile, Path: "/etc/grub.conf", Content: "default=1\n", OldSHA256: plan.Hash(oldGrub)},
		{Step: "new", Kind: plan.WriteFile, Path: "/etc/init/hvc0.conf", Content: "exec getty\n", Mode: plan.Mode(0o644)},
		{Step: "cleanup", Kind: plan.RemoveFile, Path: "/etc/secret"},
		{Step: "kernel", Kind: plan.RunInGuest, Argv: []string{"/bin/true"}, Touches: []string{"/boot", "/lib/modules/*xen*"}},
	}}
}

func TestApplyRollbackRestoresExactly(t *testing.T) {
	dir := tree(t)
	// Modification times of what the plan and the command change: rpm -V
	// compares them, so rollback restores them too.
	old := time.Date(2007, 4, 2, 10, 0, 0, 0, time.UTC)
	timed := []string{"etc/fstab", "etc/secret", "boot/grub/grub.conf", "boot/initrd-1.0.img", "boot/grub", "boot", "etc"}
	for _, p := range timed {
		if err := os.Chtimes(filepath.Join(dir, p), old, old); err != nil {
			t.Fatal(err)
		}
	}
	before := state(t, dir)
	root, err := guest.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	if _, err := Apply(context.Background(), root, samplePlan(dir), Options{Runner: fakeRunner{dir: dir}}); err != nil {
		t.Fatalf("Apply() = %v", err)
	}
	if l, _ := os.Readlink(filepath.Join(dir, "etc/grub.conf")); l != "../boot/grub/grub.conf" {
		t.Errorf("symlink /etc/grub.conf replaced: %q", l)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "boot/grub/grub.conf")); string(b) != "default=1\n" {
		t.Errorf("grub.conf = %q, want the link's target written", b)
	}
	if st, _ := os.Stat(filepath.Join(dir, "boot/grub/grub.conf")); st.Mode().Perm() != 0o600 {
		t.Errorf("grub.conf mode = %v, want the original 0600 kept", st.Mode())
	}
	if _, err := Rollback(root, nil, nil); err != nil {
		t.Fatalf("Rollback() = %v", err)
	}
	if diff := cmp.Diff(before, state(t, dir)); diff != "" {
		t.Errorf("after rollback (-before +after):\n%s", diff)
	}
	for _, p := range timed {
		if st, err := os.Lstat(filepath.Join(dir, p)); err != nil || !st.ModTime().Equal(old) {
			t.Errorf("after rollback %s has mtime %v (%v), want %v", p, st.ModTime(), err, old)
		}
	}
}

// An apply that fails half-way leaves a journal that rolls back exactly.
func TestInterruptedApplyRollsBack(t *testing.T) {
	for stop := 0; stop <= 5; stop++ {
		t.Run(fmt.Sprint(stop), func(t *testing.T) {
			dir := tree(t)
			before := state(t, dir)
			root, _ := guest.Open(dir)
			defer root.Close()
			ctx, cancel := context.WithCancel(context.Background())
			n := 0
			p := samplePlan(dir)
			_, err := Apply(ctx, root, p, Options{Runner: fakeRunner{dir: dir, fail: stop == 5}, Progress: func(e Event) {
				if e.Done {
					n++
					if n == stop {
						cancel()
					}
				}
			}})
			if stop > 0 && stop < len(p.Ops) && err == nil {
				t.Fatalf("Apply() after cancel at %d = nil error", stop)
			}
			if _, err := Rollback(root, nil, nil); err != nil && !errors.Is(err, ErrNoJournal) {
				t.Fatalf("Rollback() = %v", err)
			}
			if diff := cmp.Diff(before, state(t, dir)); diff != "" {
				t.Errorf("after interrupted apply and rollback (-before +after):\n%s", diff)
			}
		})
	}
}

func TestApplyRefusesStalePlan(t *testing.T) {
	dir := tree(t)
	root, _ := guest.Open(dir)
	defer root.Close()
	p := samplePlan(dir)
	os.WriteFile(filepath.Join(dir, "etc/fstab"), []byte("changed by someone\n"), 0o644)
	before := state(t, dir)
	_, err := Apply(context.Background(), root, p, Options{Runner: fakeRunner{dir: dir}})
	var stale *StaleError
	if !errors.As(err, &stale) || stale.Path != "/etc/fstab" {
		t.Fatalf("Apply(stale) = %v, want *StaleError for /etc/fstab", err)
	}
	if diff := cmp.Diff(before, state(t, dir)); diff != "" {
		t.Errorf("stale apply wrote:\n%s", diff)
	}
}

// A file written below the journal's own directory (a kernel package
// copied into /var/lib/xenify/packages), in a guest with and without
// /var: the journal creates its directories first, and the write's own
// directory creation must accept them.
func TestWriteBelowJournalDir(t *testing.T) {
	for _, noVar := range []bool{false, true} {
		t.Run(fmt.Sprintf("noVar=%v", noVar), func(t *testing.T) {
			dir := tree(t)
			if noVar {
				if err := os.RemoveAll(filepath.Join(dir, "var")); err != nil {
					t.Fatal(err)
				}
			}
			pkg := filepath.Join(t.TempDir(), "kernel-xenU.rpm")
			if err := os.WriteFile(pkg, []byte("rpm"), 0o644); err != nil {
				t.Fatal(err)
			}
			before := state(t, dir)
			root, err := guest.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			p := &plan.Plan{Ops: []plan.Op{{Step: "kernel", Kind: plan.WriteFile, Path: "/var/lib/xenify/packages/kernel-xenU.rpm", FromHost: pkg}}}
			if _, err := Apply(context.Background(), root, p, Options{}); err != nil {
				t.Fatalf("Apply(write below %s) = %v", "/var/lib/xenify", err)
			}
			if b, err := os.ReadFile(filepath.Join(dir, "var/lib/xenify/packages/kernel-xenU.rpm")); string(b) != "rpm" {
				t.Errorf("package in the guest = %q, %v; want it copied", b, err)
			}
			if _, err := Rollback(root, nil, nil); err != nil {
				t.Fatalf("Rollback() = %v", err)
			}
			if diff := cmp.Diff(before, state(t, dir)); diff != "" {
				t.Errorf("after rollback (-before +after):\n%s", diff)
			}
		})
	}
}

// The journal record and the write act on one resolved file. Here the
// directory holding it is swapped for a decoy between the two: the write
// still lands in the directory the record read, the decoy is untouched,
// and rollback restores the file that was written. Resolving the path
// again for the write replaced the decoy's file instead, and rollback
// then left the real one changed.
func TestRecordAndWriteActOnOneFile(t *testing.T) {
	for _, kind := range []plan.Kind{plan.WriteFile, plan.RemoveFile} {
		t.Run(string(kind), func(t *testing.T) {
			dir := tree(t)
			root, err := guest.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			old, _ := os.ReadFile(filepath.Join(dir, "boot/grub/grub.conf"))
			testHookAfterRecord = func(string) {
				must(t, os.Rename(filepath.Join(dir, "boot/grub"), filepath.Join(dir, "boot/grub.moved")))
				must(t, os.Mkdir(filepath.Join(dir, "boot/grub"), 0o755))
				must(t, os.WriteFile(filepath.Join(dir, "boot/grub/grub.conf"), []byte("decoy\n"), 0o600))
			}
			defer func() { testHookAfterRecord = nil }()
			op := plan.Op{Step: "boot", Kind: kind, Path: "/boot/grub/grub.conf"}
			if kind == plan.WriteFile {
				op.Content, op.OldSHA256 = "default=1\n", plan.Hash(old)
			}
			if _, err := Apply(context.Background(), root, &plan.Plan{Ops: []plan.Op{op}}, Options{}); err != nil {
				t.Fatalf("Apply() = %v", err)
			}
			testHookAfterRecord = nil
			if b, _ := os.ReadFile(filepath.Join(dir, "boot/grub/grub.conf")); string(b) != "decoy\n" {
				t.Errorf("the decoy swapped in after the record became %q, want it untouched", b)
			}
			moved := filepath.Join(dir, "boot/grub.moved/grub.conf")
			b, err := os.ReadFile(moved)
			switch kind {
			case plan.WriteFile:
				if string(b) != "default=1\n" {
					t.Errorf("the recorded file = %q, %v; want it written", b, err)
				}
			case plan.RemoveFile:
				if !os.IsNotExist(err) {
					t.Errorf("the recorded file = %q, %v; want it removed", b, err)
				}
			}
			// Put the recorded directory back where the journal knows it.
			must(t, os.RemoveAll(filepath.Join(dir, "boot/grub")))
			must(t, os.Rename(filepath.Join(dir, "boot/grub.moved"), filepath.Join(dir, "boot/grub")))
			if _, err := Rollback(root, nil, nil); err != nil {
				t.Fatalf("Rollback() = %v", err)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "boot/grub/grub.conf")); !bytes.Equal(b, old) {
				t.Errorf("after rollback grub.conf = %q, want %q", b, old)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
