package p2v

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/xenify/xenify/disk/disktest"
	"golang.org/x/sys/unix"
)

// losetupFile makes a file of size bytes filled with random data and
// attaches it as a loop device.
func losetupFile(t *testing.T, size int64, seed uint64) (file, dev string) {
	t.Helper()
	file = filepath.Join(t.TempDir(), "backing.img")
	fillRandom(t, file, size, seed)
	return file, disktest.Losetup(t, file, 0, size)
}

func TestIntegrationCopyBlockDevices(t *testing.T) {
	disktest.RequireRoot(t)
	d := resumeDisk(t)
	want := expectedCopy(t, d)

	t.Run("block device source", func(t *testing.T) {
		src := disktest.Losetup(t, d.path, 0, d.size)
		dst := filepath.Join(t.TempDir(), "copy.img")
		sum, err := Copy(context.Background(), Options{Source: src, Dest: dst, Verify: true})
		if err != nil {
			t.Fatalf("Copy(%s) error: %v", src, err)
		}
		if sum.Size != d.size {
			t.Errorf("Copy(%s) Size = %d, want %d", src, sum.Size, d.size)
		}
		checkCopy(t, d, want, dst)
	})

	t.Run("block device destination", func(t *testing.T) {
		// A larger device full of old data: planned ranges are copied
		// exactly (zeros included), the rest keeps its old content.
		backing, dev := losetupFile(t, d.size+8*mib, 99)
		sum, err := Copy(context.Background(), Options{Source: d.path, Dest: dev, Verify: true,
			Checkpoint: filepath.Join(t.TempDir(), "ck")})
		if err != nil {
			t.Fatalf("Copy(→ %s) error: %v", dev, err)
		}
		if !sum.Verified || sum.BytesWritten != sum.Plan.Bytes() {
			t.Errorf("Copy(→ %s) Verified %v, BytesWritten %d, want true and all %d plan bytes", dev, sum.Verified, sum.BytesWritten, sum.Plan.Bytes())
		}
		got, err := os.ReadFile(backing)
		if err != nil {
			t.Fatal(err)
		}
		src, err := os.ReadFile(d.path)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range sum.Plan.Ranges {
			if i := firstDiff(got[r.Off:r.End()], src[r.Off:r.End()]); i >= 0 {
				t.Fatalf("device copy differs from the source at byte %d (%s)", r.Off+int64(i), r.Reason)
			}
		}
	})

	refusals := []struct {
		name  string
		setup func(t *testing.T) string
		want  error
	}{
		{"smaller device", func(t *testing.T) string {
			_, dev := losetupFile(t, d.size-mib, 1)
			return dev
		}, ErrDestTooSmall},
		{"loop device backed by the source", func(t *testing.T) string {
			return disktest.Losetup(t, d.path, 0, d.size)
		}, ErrSameDevice},
		{"file backing a loop device", func(t *testing.T) string {
			file, _ := losetupFile(t, d.size, 2)
			return file
		}, ErrDestInUse},
		{"mounted device", func(t *testing.T) string {
			disktest.RequireTools(t, "mount", "umount")
			_, dev := losetupFile(t, d.size, 3)
			disktest.Run(t, nil, "mke2fs", "-q", "-F", dev)
			mnt := t.TempDir()
			disktest.Run(t, nil, "mount", dev, mnt)
			t.Cleanup(func() { disktest.Run(t, nil, "umount", mnt) })
			return dev
		}, ErrDestInUse},
		{"device opened exclusively", func(t *testing.T) string {
			_, dev := losetupFile(t, d.size, 4)
			f, err := os.OpenFile(dev, os.O_RDONLY|unix.O_EXCL, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			return dev
		}, ErrDestInUse},
	}
	srcSum := sha256File(t, d.path)
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			dst := tc.setup(t)
			before := sha256File(t, dst)
			_, err := Copy(context.Background(), Options{Source: d.path, Dest: dst, Checkpoint: filepath.Join(t.TempDir(), "ck")})
			t.Logf("Copy(→ %s): %v", dst, err)
			if !errors.Is(err, tc.want) {
				t.Errorf("Copy(%s → %s) error = %v, want %v", d.path, dst, err, tc.want)
			}
			if sha256File(t, dst) != before {
				t.Errorf("refused Copy changed the destination %s", dst)
			}
		})
	}
	if sha256File(t, d.path) != srcSum {
		t.Errorf("the source changed")
	}
}
