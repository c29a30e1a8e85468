package extfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xenify/xenify/internal/testenv"
)

func needTools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Skipf(t, "%s not installed (Debian package e2fsprogs): %v", tool, err)
		}
	}
}

// populate writes a small tree of files with random content.
func populate(t testing.TB, dir string, seed uint64, files int, maxSize int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range files {
		sub := filepath.Join(dir, fmt.Sprintf("d%d", i%4))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, rng.IntN(maxSize))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%d", i)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fillRandom writes pseudo-random bytes over the whole file, so free space
// is not zero and not a hole.
func fillRandom(t testing.TB, path string, size int64, seed uint64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rng := rand.New(rand.NewPCG(seed, 2))
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(buf)) {
		for i := 0; i < len(buf); i += 8 {
			binary.LittleEndian.PutUint64(buf[i:], rng.Uint64())
		}
		n := min(int64(len(buf)), size-off)
		if _, err := f.WriteAt(buf[:n], off); err != nil {
			t.Fatal(err)
		}
	}
}

func mkfs(t testing.TB, img string, size int64, args ...string) {
	t.Helper()
	fillRandom(t, img, size, 7)
	src := t.TempDir()
	populate(t, src, 3, 40, 300<<10)
	argv := append([]string{"-q", "-F", "-E", "nodiscard", "-d", src}, args...)
	argv = append(argv, img)
	if out, err := exec.Command("mke2fs", argv...).CombinedOutput(); err != nil {
		t.Fatalf("mke2fs %s: %v\n%s", strings.Join(argv, " "), err, out)
	}
}

var (
	blockCountRE = regexp.MustCompile(`(?m)^Block count:\s+(\d+)`)
	blockSizeRE  = regexp.MustCompile(`(?m)^Block size:\s+(\d+)`)
	clusterRE    = regexp.MustCompile(`(?m)^Cluster size:\s+(\d+)`)
	freeRE       = regexp.MustCompile(`(?m)^\s+Free blocks: (.*)$`)
)

// dumpe2fsUsed returns the used byte ranges according to dumpe2fs: every
// block of the filesystem minus the per-group "Free blocks:" lists.
func dumpe2fsUsed(t testing.TB, img string) []Range {
	t.Helper()
	out, err := exec.Command("dumpe2fs", img).Output()
	if err != nil {
		t.Fatalf("dumpe2fs %s: %v", img, err)
	}
	atoi := func(s string) int64 {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("dumpe2fs output: %v", err)
		}
		return n
	}
	m := blockCountRE.FindSubmatch(out)
	bsm := blockSizeRE.FindSubmatch(out)
	if m == nil || bsm == nil {
		t.Fatalf("dumpe2fs %s: no block count/size in output", img)
	}
	count, bs := atoi(string(m[1])), atoi(string(bsm[1]))
	// With bigalloc, dumpe2fs names each free cluster by its first block.
	ratio := int64(1)
	if cm := clusterRE.FindSubmatch(out); cm != nil {
		ratio = atoi(string(cm[1])) / bs
	}
	var free [][2]int64
	for _, fm := range freeRE.FindAllSubmatch(out, -1) {
		for _, part := range strings.Split(string(fm[1]), ", ") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			a, b, ok := strings.Cut(part, "-")
			if !ok {
				b = a
			}
			free = append(free, [2]int64{atoi(a), atoi(b) + ratio - 1})
		}
	}
	var used []Range
	next := int64(0)
	for _, f := range free {
		if f[0] > next {
			used = append(used, Range{next * bs, (f[0] - next) * bs})
		}
		next = f[1] + 1
	}
	if next < count {
		used = append(used, Range{next * bs, (count - next) * bs})
	}
	return used
}

func TestUsedRangesMatchesDumpe2fs(t *testing.T) {
	needTools(t, "mke2fs", "dumpe2fs", "e2fsck")
	tests := []struct {
		name string
		size int64
		args []string
	}{
		{"ext2-1k", 48 << 20, []string{"-t", "ext2", "-b", "1024"}},
		{"ext3-4k", 96 << 20, []string{"-t", "ext3", "-b", "4096"}},
		{"ext4-default", 160 << 20, []string{"-t", "ext4"}},
		{"ext4-4k-flexbg", 300 << 20, []string{"-t", "ext4", "-b", "4096", "-G", "4"}},
		{"ext4-no-flexbg-uninit_bg", 200 << 20, []string{"-t", "ext4", "-b", "4096", "-O", "^flex_bg,^metadata_csum,uninit_bg"}},
		{"ext4-no-csum-no-uninit", 200 << 20, []string{"-t", "ext4", "-b", "4096", "-O", "^metadata_csum,^uninit_bg"}},
		{"ext4-32bit", 200 << 20, []string{"-t", "ext4", "-b", "4096", "-O", "^64bit"}},
		{"ext4-meta_bg", 300 << 20, []string{"-t", "ext4", "-b", "1024", "-O", "meta_bg,^resize_inode"}},
		{"ext4-sparse_super2", 300 << 20, []string{"-t", "ext4", "-b", "1024", "-O", "sparse_super2"}},
		{"ext2-no-sparse_super", 64 << 20, []string{"-t", "ext2", "-b", "1024", "-O", "^sparse_super,^resize_inode"}},
		{"ext4-bigalloc", 256 << 20, []string{"-t", "ext4", "-b", "4096", "-O", "bigalloc", "-C", "65536"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "fs.img")
			mkfs(t, img, tc.size, tc.args...)
			f, err := os.Open(img)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := UsedRanges(f, tc.size)
			if err != nil {
				t.Fatalf("UsedRanges(%s) error: %v", tc.name, err)
			}
			want := dumpe2fsUsed(t, img)
			// Our first range always covers the boot block and the
			// primary superblock; dumpe2fs agrees since they are used.
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("UsedRanges(%s) mismatch against dumpe2fs (-want +got):\n%s", tc.name, diff)
			}
			// Sanity: the free space must be a sizeable part of the image,
			// or the comparison proves little.
			var used int64
			for _, r := range got {
				used += r.Len
			}
			if used > tc.size*3/4 {
				t.Errorf("UsedRanges(%s) marks %d of %d bytes used, want a mostly free test filesystem", tc.name, used, tc.size)
			}
		})
	}
}

// patch opens a fresh ext4 image, applies fn to its bytes and returns them.
func freshImage(t *testing.T, args ...string) []byte {
	t.Helper()
	needTools(t, "mke2fs")
	img := filepath.Join(t.TempDir(), "fs.img")
	mkfs(t, img, 64<<20, args...)
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUsedRangesRefusesInconsistent(t *testing.T) {
	base := freshImage(t, "-t", "ext4", "-b", "4096", "-O", "^metadata_csum,^uninit_bg")
	sb, err := ParseSuperblock(base[1024:2048])
	if err != nil {
		t.Fatalf("ParseSuperblock(fresh image) error: %v", err)
	}
	bs := sb.BlockSize()
	gdt := bs // group descriptor table at block 1 with 4 KiB blocks
	gd0, err := ParseGroupDesc(base[gdt:], sb.GroupDescSize())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(b []byte)
		want   string
	}{
		{"needs_recovery", func(b []byte) {
			binary.LittleEndian.PutUint32(b[1024+0x60:], sb.FeatureIncompat|IncompatRecover)
		}, "needs recovery"},
		{"state-not-clean", func(b []byte) {
			binary.LittleEndian.PutUint16(b[1024+0x3A:], 0)
		}, "not cleanly unmounted"},
		{"state-errors", func(b []byte) {
			binary.LittleEndian.PutUint16(b[1024+0x3A:], 3)
		}, "errors"},
		{"group-free-count", func(b []byte) {
			binary.LittleEndian.PutUint16(b[gdt+0xC:], uint16(gd0.FreeBlocksCount-1))
		}, "free blocks"},
		{"bitmap-outside-fs", func(b []byte) {
			binary.LittleEndian.PutUint32(b[gdt+0x0:], uint32(sb.BlocksCount+10))
		}, "outside the filesystem"},
		{"metadata-marked-free", func(b []byte) {
			// Clear the bit of group 0's inode table start in its bitmap
			// and bump the free count so only the metadata check fires.
			bm := int64(gd0.BlockBitmap) * bs
			bit := gd0.InodeTable
			b[bm+int64(bit/8)] &^= 1 << (bit % 8)
			binary.LittleEndian.PutUint16(b[gdt+0xC:], uint16(gd0.FreeBlocksCount+1))
		}, "metadata block"},
		{"superblock-free-count", func(b []byte) {
			binary.LittleEndian.PutUint32(b[1024+0xC:], uint32(sb.FreeBlocksCount+5))
		}, "superblock says"},
		{"larger-than-device", func(b []byte) {
			binary.LittleEndian.PutUint32(b[1024+0x4:], uint32(sb.BlocksCount*2))
		}, "device"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := bytes.Clone(base)
			tc.mutate(b)
			_, err := UsedRanges(bytes.NewReader(b), int64(len(b)))
			if !errors.Is(err, ErrInconsistent) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("UsedRanges(%s) error = %v, want ErrInconsistent mentioning %q", tc.name, err, tc.want)
			}
		})
	}
	// The unmodified image passes.
	if _, err := UsedRanges(bytes.NewReader(base), int64(len(base))); err != nil {
		t.Errorf("UsedRanges(unmodified) error = %v, want nil", err)
	}
}

func TestParseSuperblockNotExt(t *testing.T) {
	for _, b := range [][]byte{nil, make([]byte, 1024), bytes.Repeat([]byte{0xff}, 1024)} {
		if _, err := ParseSuperblock(b); !errors.Is(err, ErrNotExt) {
			t.Errorf("ParseSuperblock(%d bytes) error = %v, want ErrNotExt", len(b), err)
		}
	}
	if _, err := UsedRanges(bytes.NewReader(make([]byte, 1500)), 1500); !errors.Is(err, ErrNotExt) {
		t.Errorf("UsedRanges(short zero device) error = %v, want ErrNotExt", err)
	}
}

func TestForEachSetRun(t *testing.T) {
	tests := []struct {
		bitmap []byte
		nbits  int64
		want   [][2]int64
	}{
		{[]byte{0x00, 0x00}, 16, nil},
		{[]byte{0xff, 0xff}, 16, [][2]int64{{0, 16}}},
		{[]byte{0xff, 0xff}, 12, [][2]int64{{0, 12}}},
		{[]byte{0x01, 0x80}, 16, [][2]int64{{0, 1}, {15, 1}}},
		{[]byte{0xf0, 0x0f}, 16, [][2]int64{{4, 8}}},
		{[]byte{0xfe, 0xff, 0x01}, 24, [][2]int64{{1, 16}}},
	}
	for _, tc := range tests {
		var got [][2]int64
		forEachSetRun(tc.bitmap, tc.nbits, func(s, n int64) { got = append(got, [2]int64{s, n}) })
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("forEachSetRun(%x, %d) mismatch (-want +got):\n%s", tc.bitmap, tc.nbits, diff)
		}
	}
}

func TestHasSuper(t *testing.T) {
	f := &FS{SB: &Superblock{FeatureRoCompat: RoCompatSparseSuper}}
	var got []int64
	for g := range int64(60) {
		if f.hasSuper(g) {
			got = append(got, g)
		}
	}
	want := []int64{0, 1, 3, 5, 7, 9, 25, 27, 49}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("hasSuper(0..59) with sparse_super mismatch (-want +got):\n%s", diff)
	}
}
