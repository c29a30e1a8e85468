package p2v

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/xenify/xenify/disk/disktest"
	"github.com/xenify/xenify/disk/lvm"
)

// This file builds test disks whose free space holds old non-zero data, so
// that a copy which reads or writes free space is caught, and checks
// copies against independent oracles (dumpe2fs, e2fsck, debugfs).

const mib = 1 << 20

// fillRandom writes seeded pseudo-random bytes over [0, size) of path.
func fillRandom(t testing.TB, path string, size int64, seed uint64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 1, 2, 3})
	buf := make([]byte, 4*mib)
	for off := int64(0); off < size; off += int64(len(buf)) {
		_, _ = rng.Read(buf)
		n := min(int64(len(buf)), size-off)
		if _, err := f.WriteAt(buf[:n], off); err != nil {
			t.Fatal(err)
		}
	}
}

// randomTree writes files with random content and returns name → sha256.
func randomTree(t testing.TB, dir string, seed uint64, files int, maxSize int) map[string][32]byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 9))
	sums := map[string][32]byte{}
	for i := range files {
		name := fmt.Sprintf("d%d/f%d", i%3, i)
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, rng.IntN(maxSize))
		for j := 0; j+8 <= len(b); j += 8 {
			binary.LittleEndian.PutUint64(b[j:], rng.Uint64())
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		sums[name] = sha256.Sum256(b)
	}
	return sums
}

func need(t testing.TB, tools ...string) {
	t.Helper()
	disktest.RequireTools(t, tools...)
}

// extVol is an ext filesystem put into a test image.
type extVol struct {
	name     string // "partition 1", "LV vg/lv"
	typ      string
	off, n   int64
	files    map[string][32]byte
	mkfsArgs []string
}

// testDisk is a built image and what is inside.
type testDisk struct {
	path string
	size int64
	exts []extVol
	// swaps are (offset, size) of swap areas; only the first page holds data.
	swaps [][2]int64
}

// partSpec is one partition of a test disk.
type partSpec struct {
	sizeMiB int64 // 0: rest
	typ     string
	content string // "ext2", "ext3", "ext4", "swap", "lvm", "raw", "md-ext4"
	args    []string
}

// buildDisk makes an MBR disk image of sizeMiB, first filled with random
// data, then partitioned (partitions start at 1 MiB, 1 MiB apart so there
// is free space between them) and formatted without discards.
func buildDisk(t testing.TB, sizeMiB int64, parts []partSpec) *testDisk {
	t.Helper()
	need(t, "sfdisk", "mke2fs", "mkswap")
	d := &testDisk{path: filepath.Join(t.TempDir(), "src.img"), size: sizeMiB * mib}
	fillRandom(t, d.path, d.size, 42)
	var script strings.Builder
	script.WriteString("label: dos\n")
	start := int64(1)
	for _, p := range parts {
		if p.typ == "5" {
			// Extended partition over the rest; logicals follow, each
			// after a 1 MiB gap holding its EBR.
			fmt.Fprintf(&script, "start=%dMiB, type=5\n", start)
			start++
			continue
		}
		if p.sizeMiB > 0 {
			fmt.Fprintf(&script, "start=%dMiB, size=%dMiB, type=%s\n", start, p.sizeMiB, p.typ)
			start += p.sizeMiB + 1
		} else {
			fmt.Fprintf(&script, "start=%dMiB, type=%s\n", start, p.typ)
		}
	}
	disktest.Run(t, []byte(script.String()), "sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", d.path)
	infos := sfdiskParts(t, d.path)
	for i, p := range parts {
		pi := infos[i]
		name := fmt.Sprintf("partition %d", i+1)
		switch p.content {
		case "ext2", "ext3", "ext4":
			d.exts = append(d.exts, mkext(t, d.path, name, p.content, pi[0], pi[1], uint64(i+1), p.args))
		case "md-ext4":
			sb, sbOff, dOff, dSize, err := disktest.MDSuperblock(disktest.MD{Version: "1.2", Name: "host:0"}, pi[1])
			if err != nil {
				t.Fatal(err)
			}
			disktest.WriteAt(t, d.path, sb, pi[0]+sbOff)
			d.exts = append(d.exts, mkext(t, d.path, "md "+name, "ext4", pi[0]+dOff, dSize, uint64(i+1), p.args))
		case "swap":
			tmp := filepath.Join(t.TempDir(), "swap")
			if err := os.Truncate(tmp, 0); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if err := os.WriteFile(tmp, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(tmp, pi[1]); err != nil {
				t.Fatal(err)
			}
			disktest.Run(t, nil, "mkswap", "-q", tmp)
			head, err := os.ReadFile(tmp)
			if err != nil {
				t.Fatal(err)
			}
			disktest.WriteAt(t, d.path, head[:4096], pi[0])
			d.swaps = append(d.swaps, [2]int64{pi[0], pi[1]})
		case "lvm":
			d.exts = append(d.exts, mklvm(t, d.path, pi[0], pi[1], uint64(i+1))...)
		case "raw", "extended":
		default:
			t.Fatalf("unknown content %q", p.content)
		}
	}
	return d
}

func sfdiskParts(t testing.TB, path string) [][2]int64 {
	t.Helper()
	out := disktest.Run(t, nil, "sfdisk", "--dump", path)
	re := regexp.MustCompile(`start=\s*(\d+), size=\s*(\d+)`)
	var parts [][2]int64
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		a, _ := strconv.ParseInt(m[1], 10, 64)
		b, _ := strconv.ParseInt(m[2], 10, 64)
		parts = append(parts, [2]int64{a * 512, b * 512})
	}
	return parts
}

func mkext(t testing.TB, img, name, typ string, off, n int64, seed uint64, extra []string) extVol {
	t.Helper()
	dir := t.TempDir()
	files := randomTree(t, dir, seed, 12, int(min(n/40, 2*mib)))
	args := []string{"-q", "-F", "-t", typ, "-E", fmt.Sprintf("offset=%d,nodiscard", off), "-d", dir}
	args = append(args, extra...)
	args = append(args, img, fmt.Sprintf("%dk", n/1024))
	disktest.Run(t, nil, append([]string{"mke2fs"}, args...)...)
	return extVol{name: name, typ: typ, off: off, n: n, files: files, mkfsArgs: extra}
}

const lvmConfig = "global{activation=0} backup{backup=0 archive=0} devices{obtain_device_list_from_udev=0}"

// mklvm makes the range a PV with VG "vgtest", a linear LV "root" (ext4)
// filling half the VG, a second LV "data" (ext3), leaving free extents.
func mklvm(t testing.TB, img string, off, n int64, seed uint64) []extVol {
	t.Helper()
	disktest.RequireRoot(t)
	need(t, "losetup", "pvcreate", "vgcreate", "lvcreate")
	dev := disktest.Losetup(t, img, off, n)
	lvmc := func(cmd string, args ...string) {
		disktest.Run(t, nil, append([]string{cmd, "--devices", dev, "--config", lvmConfig}, args...)...)
	}
	lvmc("pvcreate", "-q", "-ff", "-y", dev)
	lvmc("vgcreate", "-q", "-s", "4m", "vgtest", dev)
	lvmc("lvcreate", "-q", "-an", "-Zn", "-y", "-l", "50%VG", "-n", "root", "vgtest")
	lvmc("lvcreate", "-q", "-an", "-Zn", "-y", "-l", "25%VG", "-n", "data", "vgtest")
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pv, err := lvm.ReadPV(io.NewSectionReader(f, off, n), n)
	if err != nil {
		t.Fatalf("lvm.ReadPV: %v", err)
	}
	var out []extVol
	for i, lv := range []struct{ name, typ string }{{"root", "ext4"}, {"data", "ext3"}} {
		loc, err := pv.VG.Locate(lv.name)
		if err != nil {
			t.Fatalf("Locate(%s): %v", lv.name, err)
		}
		out = append(out, mkext(t, img, "LV vgtest/"+lv.name, lv.typ, off+loc.Offset, loc.Size, seed*10+uint64(i), nil))
	}
	return out
}

// freeRanges returns the free byte ranges (relative to the filesystem)
// that dumpe2fs reports for the ext filesystem at [off, off+n) of img.
func freeRanges(t testing.TB, img string, off, n int64) [][2]int64 {
	t.Helper()
	fsimg := extract(t, img, off, n)
	out := disktest.Run(t, nil, "dumpe2fs", fsimg)
	bs := atoi(t, regexp.MustCompile(`(?m)^Block size:\s+(\d+)`).FindStringSubmatch(out)[1])
	var free [][2]int64
	for _, m := range regexp.MustCompile(`(?m)^\s+Free blocks: (.*)$`).FindAllStringSubmatch(out, -1) {
		for _, part := range strings.Split(m[1], ", ") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			a, z, ok := strings.Cut(part, "-")
			if !ok {
				z = a
			}
			free = append(free, [2]int64{atoi(t, a) * bs, (atoi(t, z) + 1) * bs})
		}
	}
	return free
}

func atoi(t testing.TB, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// extract copies [off, off+n) of img into a temp file and returns its path.
func extract(t testing.TB, img string, off, n int64) string {
	t.Helper()
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := filepath.Join(t.TempDir(), "fs.img")
	o, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if _, err := io.Copy(o, io.NewSectionReader(f, off, n)); err != nil {
		t.Fatal(err)
	}
	return out
}

// expectedCopy returns the source bytes with the regions a copy must leave
// as holes zeroed: ext free blocks (by dumpe2fs) and swap areas after their
// header page.
func expectedCopy(t testing.TB, d *testDisk) []byte {
	t.Helper()
	want, err := os.ReadFile(d.path)
	if err != nil {
		t.Fatal(err)
	}
	zero := func(a, z int64) { clear(want[a:z]) }
	for _, e := range d.exts {
		for _, fr := range freeRanges(t, d.path, e.off, e.n) {
			zero(e.off+fr[0], e.off+fr[1])
		}
	}
	for _, s := range d.swaps {
		zero(s[0]+4096, s[0]+s[1])
	}
	return want
}

// checkCopy checks the copy at path against the source disk d: byte for
// byte against expectedCopy, e2fsck -fn on every filesystem, and every
// file's content via debugfs.
func checkCopy(t testing.TB, d *testDisk, want []byte, path string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("copy %s has %d bytes, want %d", path, len(got), len(want))
	}
	if i := firstDiff(got, want); i >= 0 {
		t.Errorf("copy %s differs from the expected image at byte %d (got %#x, want %#x); %s",
			path, i, got[i], want[i], d.where(int64(i)))
	}
	need(t, "e2fsck", "debugfs")
	for _, e := range d.exts {
		fsimg := extract(t, path, e.off, e.n)
		if out, err := exec.Command("e2fsck", "-fn", fsimg).CombinedOutput(); err != nil {
			t.Errorf("e2fsck -fn on the copy of %s: %v\n%s", e.name, err, out)
		}
		dumpDir := t.TempDir()
		for name, sum := range e.files {
			dst := filepath.Join(dumpDir, strings.ReplaceAll(name, "/", "_"))
			disktest.Run(t, nil, "debugfs", "-R", fmt.Sprintf("dump /%s %s", name, dst), fsimg)
			b, err := os.ReadFile(dst)
			if err != nil {
				t.Fatalf("debugfs dump /%s from the copy of %s: %v", name, e.name, err)
			}
			if sha256.Sum256(b) != sum {
				t.Errorf("file /%s in the copy of %s: sha256 differs from the original", name, e.name)
			}
		}
	}
}

func (d *testDisk) where(off int64) string {
	for _, e := range d.exts {
		if off >= e.off && off < e.off+e.n {
			return fmt.Sprintf("inside %s %s at fs byte %d", e.typ, e.name, off-e.off)
		}
	}
	for _, s := range d.swaps {
		if off >= s[0] && off < s[0]+s[1] {
			return "inside swap"
		}
	}
	return "outside filesystems"
}

func firstDiff(a, b []byte) int {
	const step = 1 << 16
	for i := 0; i < len(a); i += step {
		e := min(i+step, len(a))
		if !bytes.Equal(a[i:e], b[i:e]) {
			for j := i; j < e; j++ {
				if a[j] != b[j] {
					return j
				}
			}
		}
	}
	return -1
}

func sha256File(t testing.TB, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s
}
