package extfs

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// seedImage returns a tiny real ext image when mke2fs is installed.
func seedImage(f *testing.F, size int, args ...string) []byte {
	if _, err := exec.LookPath("mke2fs"); err != nil {
		return nil
	}
	img := filepath.Join(f.TempDir(), "seed.img")
	if err := os.WriteFile(img, make([]byte, size), 0o644); err != nil {
		f.Fatal(err)
	}
	argv := append([]string{"-q", "-F", "-E", "nodiscard"}, args...)
	if out, err := exec.Command("mke2fs", append(argv, img)...).CombinedOutput(); err != nil {
		f.Fatalf("mke2fs: %v\n%s", err, out)
	}
	b, err := os.ReadFile(img)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

func FuzzParseSuperblock(f *testing.F) {
	f.Add(make([]byte, 1024))
	for _, args := range [][]string{{"-t", "ext2"}, {"-t", "ext4", "-O", "64bit,meta_bg,^resize_inode"}} {
		if img := seedImage(f, 256<<10, args...); img != nil {
			f.Add(img[1024:2048])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sb, err := ParseSuperblock(b)
		if err != nil {
			return
		}
		if sb.BlockSize() < 1024 || sb.ClusterSize() < sb.BlockSize() {
			t.Errorf("ParseSuperblock accepted block size %d cluster size %d", sb.BlockSize(), sb.ClusterSize())
		}
		_, _ = ParseGroupDesc(b, sb.GroupDescSize())
	})
}

const fuzzHead = 16 << 10

func FuzzUsedRanges(f *testing.F) {
	for _, args := range [][]string{
		{"-t", "ext2", "-b", "1024"},
		{"-t", "ext4", "-b", "1024"},
		{"-t", "ext4", "-b", "1024", "-O", "meta_bg,^resize_inode"},
	} {
		if img := seedImage(f, 128<<10, append([]string{"-N", "32"}, args...)...); img != nil {
			if _, err := UsedRanges(bytes.NewReader(img), int64(len(img))); err != nil {
				f.Fatalf("UsedRanges(seed mke2fs %v) error: %v", args, err)
			}
			f.Add(img[:fuzzHead])
		}
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		// The input is the head of a 128 KiB device, the rest is zero: small
		// inputs keep the fuzzer fast and cover superblock, descriptors and
		// bitmaps of the seed images.
		b := make([]byte, max(len(head), 128<<10))
		copy(b, head)
		rs, err := UsedRanges(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		prev := int64(-1)
		for _, r := range rs {
			if r.Off <= prev || r.Len <= 0 || r.End() > int64(len(b)) {
				t.Fatalf("UsedRanges returned bad range %+v after end %d (device %d bytes)", r, prev, len(b))
			}
			prev = r.End()
		}
	})
}
