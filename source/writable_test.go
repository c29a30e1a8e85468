package source_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xenify/xenify/internal/testenv"
	"github.com/xenify/xenify/source"
	"github.com/xenify/xenify/xerr"
)

// Opening a directory for writing checks that it is writable without
// writing to it: no probe file, and the root's modification time stays.
func TestOpenForWritingDoesNotWrite(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2006, 8, 14, 12, 0, 0, 0, time.UTC)
	if err := os.Chtimes(dir, old, old); err != nil {
		t.Fatal(err)
	}
	o, err := source.Open(context.Background(), []string{dir}, source.ReadWrite)
	if err != nil {
		t.Fatalf("Open(%s, ReadWrite) = %v", dir, err)
	}
	o.Close()
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !st.ModTime().Equal(old) {
		t.Errorf("after Open(ReadWrite) the guest root's mtime is %v, want %v unchanged", st.ModTime(), old)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("after Open(ReadWrite) the guest root holds %v, want only etc", ents)
	}
}

// A guest root on a read-only mount is refused for writing, and opens
// for reading.
func TestIntegrationOpenReadOnlyMount(t *testing.T) {
	testenv.RequireRoot(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "--bind", "-o", "ro", dir, dir).CombinedOutput(); err != nil {
		t.Fatalf("mount --bind -o ro: %v\n%s", err, out)
	}
	defer exec.Command("umount", dir).Run()
	if o, err := source.Open(context.Background(), []string{dir}, source.ReadWrite); err == nil || !strings.Contains(err.Error(), "read-only") {
		if err == nil {
			o.Close()
		}
		t.Errorf("Open(read-only mount, ReadWrite) = %v, want a read-only refusal", err)
	}
	o, err := source.Open(context.Background(), []string{dir}, source.ReadOnly)
	if err != nil {
		t.Fatalf("Open(read-only mount, ReadOnly) = %v", err)
	}
	o.Close()
}

// A FIFO given as SOURCE is refused as a usage error; its open used to
// wait for a writer forever (this test hung).
func TestOpenRefusesFIFOSource(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "disk.img")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := source.Open(context.Background(), []string{fifo}, source.ReadOnly)
	if err == nil {
		o.Close()
	}
	if code := xerr.Code(err); code != xerr.ExitUsage {
		t.Errorf("Open(FIFO) = %v (exit %d), want a usage error", err, code)
	}
}
