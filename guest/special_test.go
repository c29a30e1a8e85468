package guest

import (
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// readPaths are every way package guest reads a file; each must refuse
// what is not a regular file without opening it.
var readPaths = map[string]func(r *Root, p string) error{
	"ReadFile": func(r *Root, p string) error { _, err := r.ReadFile(p); return err },
	"OpenFile": func(r *Root, p string) error {
		f, err := r.OpenFile(p)
		if err == nil {
			f.Close()
		}
		return err
	},
	"FS().Open": func(r *Root, p string) error {
		f, err := r.FS().Open(pathToFS(p))
		if err == nil {
			f.Close()
		}
		return err
	},
	"fs.ReadFile": func(r *Root, p string) error { _, err := fs.ReadFile(r.FS(), pathToFS(p)); return err },
	"SetMeta":     func(r *Root, p string) error { return r.SetMeta(p, Meta{Mode: 0o644}) },
}

// A FIFO's open blocks until a writer comes: with /etc/fstab a FIFO,
// xenify inspect hung in openat2 forever. No writer is ever opened here,
// so before the fix this test hung (and failed by -timeout).
func TestReadRefusesFIFOAndSocket(t *testing.T) {
	forEachResolver(t, func(t *testing.T) {
		dir, _ := hostileTree(t)
		must(t, unix.Mkfifo(filepath.Join(dir, "etc/fifo"), 0o644))
		must(t, os.Symlink("/etc/fifo", filepath.Join(dir, "etc/link-to-fifo")))
		l, err := net.Listen("unix", filepath.Join(dir, "etc/socket"))
		must(t, err)
		defer l.Close()
		r, err := Open(dir)
		must(t, err)
		defer r.Close()
		refusedOnEveryPath(t, r, "/etc/fifo", "/etc/link-to-fifo", "/etc/socket")
	})
}

// A sparse file larger than MaxReadSize is refused before a byte is
// read, on every read path (a 10 GiB grub.cfg made xenify read 512 MiB
// of zeros, and OpenFile did not check at all).
func TestReadRefusesHugeFile(t *testing.T) {
	dir, _ := hostileTree(t)
	f, err := os.Create(filepath.Join(dir, "boot/grub/grub.cfg"))
	must(t, err)
	must(t, f.Truncate(10<<30))
	f.Close()
	r, err := Open(dir)
	must(t, err)
	defer r.Close()
	for name, read := range readPaths {
		if name == "SetMeta" {
			continue
		}
		err := read(r, "/boot/grub/grub.cfg")
		var pe *fs.PathError
		if !errors.As(err, &pe) || pe.Op != "open" {
			t.Errorf("%s(10 GiB grub.cfg) = %v, want refused at open", name, err)
		}
	}
}

// openat2 returns EAGAIN when the tree changes during a lookup. A tree
// that keeps changing must not keep xenify retrying forever: after a
// bounded number of tries the userspace walk resolves the path.
func TestOpenat2RetriesBounded(t *testing.T) {
	if !useOpenat2() {
		t.Fatal("the kernel has no openat2 (Linux >= 5.6 needed for this test)")
	}
	dir, _ := hostileTree(t)
	r, err := Open(dir)
	must(t, err)
	defer r.Close()
	calls := 0
	old := openat2
	openat2 = func(dirfd int, path string, how *unix.OpenHow) (int, error) {
		calls++
		if calls > 10000 {
			panic("openat2 retried EAGAIN without bound")
		}
		return -1, unix.EAGAIN
	}
	defer func() { openat2 = old }()
	got, err := r.ReadFile("/etc/grub.conf")
	if err != nil || string(got) != "default=0\n" {
		t.Errorf("ReadFile(/etc/grub.conf) with openat2 always EAGAIN = %q, %v; want the file through the walk", got, err)
	}
	if calls > maxOpenat2Retries {
		t.Errorf("openat2 called %d times, want at most %d", calls, maxOpenat2Retries)
	}
}

// Reading a regular file still works on every path.
func TestReadRegular(t *testing.T) {
	dir, _ := hostileTree(t)
	r, err := Open(dir)
	must(t, err)
	defer r.Close()
	f, err := r.FS().Open("etc/grub.conf")
	must(t, err)
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil || string(b) != "default=0\n" {
		t.Errorf("FS().Open(etc/grub.conf) read %q, %v", b, err)
	}
}

// refusedOnEveryPath checks that every read path (readPaths) refuses
// each of paths with ErrNotRegular.
func refusedOnEveryPath(t *testing.T, r *Root, paths ...string) {
	t.Helper()
	for _, p := range paths {
		for name, read := range readPaths {
			if err := read(r, p); !errors.Is(err, ErrNotRegular) {
				t.Errorf("%s(%s) = %v, want ErrNotRegular", name, p, err)
			}
		}
	}
}
