package p2v

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xenify/xenify/disk/disktest"
	"github.com/xenify/xenify/internal/testenv"
)

// smallDisk is the standard test disk: ext2 (1 KiB blocks), ext3, ext4,
// swap, an md RAID1 member holding ext4, an unknown partition, and free
// space between and after the partitions, all over random old data.
func smallDisk(t testing.TB) *testDisk {
	return buildDisk(t, 192, []partSpec{
		{sizeMiB: 24, typ: "83", content: "ext2", args: []string{"-b", "1024"}},
		{sizeMiB: 32, typ: "83", content: "ext3"},
		{sizeMiB: 48, typ: "83", content: "ext4"},
		{typ: "5", content: "extended"},
		{sizeMiB: 8, typ: "82", content: "swap"},
		{sizeMiB: 24, typ: "fd", content: "md-ext4"},
		{sizeMiB: 8, typ: "83", content: "raw"},
	})
}

func allocated(t testing.TB, path string) int64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

func TestCopyPartitionedDisk(t *testing.T) {
	d := smallDisk(t)
	p, err := PlanFile(d.path)
	if err != nil {
		t.Fatalf("PlanFile(%s) error: %v", d.path, err)
	}
	var reasons []string
	for _, r := range p.Summarize() {
		reasons = append(reasons, r.Reason)
	}
	wantReasons := []string{
		"mbr and boot area",
		"ext2 used blocks of partition 1",
		"free space between partitions: full read",
		"ext3 used blocks of partition 2",
		"ext4 used blocks of partition 3",
		"extended partition 4 (EBRs, free space): full read",
		"swap header of partition 5",
		"md superblock area of partition 6",
		"ext4 used blocks of md array host:0 on partition 6",
		"unknown content of partition 7: full read",
	}
	if diff := cmp.Diff(wantReasons, reasons); diff != "" {
		t.Errorf("PlanFile(%s) reasons mismatch (-want +got):\n%s", d.path, diff)
	}
	if len(p.Warnings) != 0 {
		t.Errorf("PlanFile(%s) warnings = %q, want none", d.path, p.Warnings)
	}
	if p.Bytes() > p.Size/2 {
		t.Errorf("PlanFile(%s) plans %d of %d bytes, want less than half", d.path, p.Bytes(), p.Size)
	}

	dst := filepath.Join(t.TempDir(), "copy.img")
	var last Progress
	calls := 0
	sum, err := Copy(context.Background(), Options{
		Source: d.path, Dest: dst, Verify: true,
		Progress: func(p Progress) { last = p; calls++ }, ProgressInterval: time.Nanosecond,
	})
	if err != nil {
		t.Fatalf("Copy(%s) error: %v", d.path, err)
	}
	if !sum.Verified || sum.Resumed {
		t.Errorf("Copy() Verified, Resumed = %v, %v, want true, false", sum.Verified, sum.Resumed)
	}
	if calls == 0 || last.Done != last.Total || last.Total != p.Bytes() {
		t.Errorf("last Progress = %+v after %d calls, want Done = Total = %d", last, calls, p.Bytes())
	}
	if got := sum.BytesWritten + sum.ZeroBytes; got != p.Bytes() {
		t.Errorf("Copy() BytesWritten+ZeroBytes = %d, want the plan's %d bytes", got, p.Bytes())
	}
	if sum.BytesRead < p.Bytes() || sum.BytesRead > p.Bytes()+p.Size/10 {
		t.Errorf("Copy() BytesRead = %d, want about the plan's %d bytes", sum.BytesRead, p.Bytes())
	}
	if _, err := os.Stat(dst + CheckpointSuffix); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("checkpoint after a finished copy: stat error = %v, want not exist", err)
	}
	if a := allocated(t, dst); a > p.Bytes()+mib {
		t.Errorf("copy allocates %d bytes, want at most the plan's %d (sparse)", a, p.Bytes())
	}
	checkCopy(t, d, expectedCopy(t, d), dst)
}

func TestIntegrationCopyLVM(t *testing.T) {
	disktest.RequireRoot(t)
	d := buildDisk(t, 256, []partSpec{
		{sizeMiB: 40, typ: "83", content: "ext4"},
		{sizeMiB: 160, typ: "8e", content: "lvm"},
		{sizeMiB: 0, typ: "82", content: "swap"},
	})
	p, err := PlanFile(d.path)
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, r := range p.Summarize() {
		reasons = append(reasons, r.Reason)
	}
	for _, want := range []string{
		"LVM label and metadata of partition 2",
		"ext4 used blocks of LV vgtest/root",
		"ext3 used blocks of LV vgtest/data",
		"free extents of VG vgtest: full read",
	} {
		if !slices.Contains(reasons, want) {
			t.Errorf("PlanFile(%s) reasons = %q, want %q among them", d.path, reasons, want)
		}
	}
	dst := filepath.Join(t.TempDir(), "copy.img")
	if _, err := Copy(context.Background(), Options{Source: d.path, Dest: dst, Verify: true}); err != nil {
		t.Fatalf("Copy(%s) error: %v", d.path, err)
	}
	checkCopy(t, d, expectedCopy(t, d), dst)
}

// resumeDisk is smaller, so interrupting it several times stays fast.
func resumeDisk(t testing.TB) *testDisk {
	return buildDisk(t, 96, []partSpec{
		{sizeMiB: 56, typ: "83", content: "ext4"},
		{sizeMiB: 8, typ: "82", content: "swap"},
		{sizeMiB: 0, typ: "83", content: "ext3"},
	})
}

func referenceCopy(t *testing.T, d *testDisk) [32]byte {
	t.Helper()
	ref := filepath.Join(t.TempDir(), "ref.img")
	if _, err := Copy(context.Background(), Options{Source: d.path, Dest: ref}); err != nil {
		t.Fatalf("Copy(%s) error: %v", d.path, err)
	}
	return sha256File(t, ref)
}

func TestCopyResumeAfterCancel(t *testing.T) {
	d := resumeDisk(t)
	ref := referenceCopy(t, d)
	dst := filepath.Join(t.TempDir(), "copy.img")
	srcSum := sha256File(t, d.path)

	// Interrupt twice, at 30% and 70% of the plan, then finish.
	var resumedAt []int64
	for _, frac := range []float64{0.3, 0.7} {
		ctx, cancel := context.WithCancel(context.Background())
		_, err := Copy(ctx, Options{
			Source: d.path, Dest: dst, BufferSize: 1 << 20, CheckpointBytes: 2 << 20,
			ProgressInterval: time.Nanosecond,
			Progress: func(p Progress) {
				if float64(p.Done) >= frac*float64(p.Total) {
					cancel()
				}
			},
		})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Copy(cancelled at %.0f%%) error = %v, want context.Canceled", frac*100, err)
		}
		ck, err := ReadCheckpoint(dst + CheckpointSuffix)
		if err != nil {
			t.Fatalf("ReadCheckpoint after cancel: %v", err)
		}
		if f := float64(ck.DoneBytes) / float64(ck.PlanBytes); f < frac || f > frac+0.2 {
			t.Errorf("checkpoint after cancel at %.0f%%: DoneBytes %d of %d, want about that fraction", frac*100, ck.DoneBytes, ck.PlanBytes)
		}
		resumedAt = append(resumedAt, ck.DoneBytes)
	}
	sum, err := Copy(context.Background(), Options{Source: d.path, Dest: dst, Verify: true})
	if err != nil {
		t.Fatalf("Copy(resume) error: %v", err)
	}
	if !sum.Resumed || sum.ResumedAt != resumedAt[1] {
		t.Errorf("Copy(resume) Resumed, ResumedAt = %v, %d, want true, %d", sum.Resumed, sum.ResumedAt, resumedAt[1])
	}
	if got := sum.BytesWritten + sum.ZeroBytes; got != sum.Plan.Bytes()-resumedAt[1] {
		t.Errorf("Copy(resume) wrote %d plan bytes, want only the remaining %d", got, sum.Plan.Bytes()-resumedAt[1])
	}
	if got := sha256File(t, dst); got != ref {
		t.Errorf("resumed copy sha256 %x, want %x (uninterrupted copy)", got, ref)
	}
	if got := sha256File(t, d.path); got != srcSum {
		t.Errorf("source changed during the copy")
	}
}

// TestHelperCopyProcess is not a test: TestCopyResumeAfterSIGKILL runs the
// test binary with P2V_HELPER_SRC/DST set to copy slowly in a child process
// it can SIGKILL.
func TestHelperCopyProcess(t *testing.T) {
	src, dst := os.Getenv("P2V_HELPER_SRC"), os.Getenv("P2V_HELPER_DST")
	if src == "" {
		// Not a helper run: nothing to do. (Returning rather than
		// skipping keeps CI's count of skipped tests meaningful.)
		return
	}
	_, err := Copy(context.Background(), Options{
		Source: src, Dest: dst, BufferSize: 256 << 10, CheckpointBytes: 1 << 20,
		ProgressInterval: time.Nanosecond,
		Progress:         func(Progress) { time.Sleep(2 * time.Millisecond) },
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCopyResumeAfterSIGKILL(t *testing.T) {
	d := resumeDisk(t)
	ref := referenceCopy(t, d)
	dst := filepath.Join(t.TempDir(), "copy.img")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperCopyProcess$")
	cmd.Env = append(os.Environ(), "P2V_HELPER_SRC="+d.path, "P2V_HELPER_DST="+dst)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var killedAt int64
	for killedAt == 0 {
		select {
		case err := <-waited:
			t.Fatalf("helper copy finished (%v) before it could be killed", err)
		case <-time.After(5 * time.Millisecond):
		}
		ck, err := ReadCheckpoint(dst + CheckpointSuffix)
		if err != nil || ck.DoneBytes < ck.PlanBytes/3 {
			continue
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-waited
		killedAt = ck.DoneBytes
	}
	ck, err := ReadCheckpoint(dst + CheckpointSuffix)
	if err != nil {
		t.Fatalf("ReadCheckpoint after SIGKILL: %v", err)
	}
	if ck.DoneBytes >= ck.PlanBytes {
		t.Fatalf("checkpoint after SIGKILL: DoneBytes %d of %d, want an unfinished copy", ck.DoneBytes, ck.PlanBytes)
	}
	sum, err := Copy(context.Background(), Options{Source: d.path, Dest: dst, Verify: true})
	if err != nil {
		t.Fatalf("Copy(resume after SIGKILL) error: %v", err)
	}
	if !sum.Resumed || sum.ResumedAt < killedAt {
		t.Errorf("Copy(resume) Resumed, ResumedAt = %v, %d, want true, >= %d", sum.Resumed, sum.ResumedAt, killedAt)
	}
	if got := sha256File(t, dst); got != ref {
		t.Errorf("copy resumed after SIGKILL: sha256 %x, want %x (uninterrupted copy)", got, ref)
	}
}

func TestCopyRefusals(t *testing.T) {
	d := resumeDisk(t)
	srcSum := sha256File(t, d.path)
	dir := t.TempDir()

	link := filepath.Join(dir, "symlink.img")
	if err := os.Symlink(d.path, link); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(dir, "hardlink.img")
	if err := os.Link(d.path, hard); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(dir, "existing.img")
	if err := os.WriteFile(existing, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	badCk := filepath.Join(dir, "badck.img")
	if err := os.WriteFile(badCk, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(badCk+CheckpointSuffix, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		dst  string
		want error
	}{
		{"same path", d.path, ErrSameDevice},
		{"symlink to source", link, ErrSameDevice},
		{"hard link to source", hard, ErrSameDevice},
		{"existing file", existing, ErrDestExists},
		{"corrupt checkpoint", badCk, ErrCheckpointMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Copy(context.Background(), Options{Source: d.path, Dest: tc.dst})
			if !errors.Is(err, tc.want) {
				t.Errorf("Copy(%s → %s) error = %v, want %v", d.path, tc.dst, err, tc.want)
			}
		})
	}
	if b, _ := os.ReadFile(existing); string(b) != "precious" {
		t.Errorf("refused copy changed the existing destination to %q", b)
	}
	if got := sha256File(t, d.path); got != srcSum {
		t.Errorf("a refused copy changed the source")
	}
	// With Overwrite the existing file is replaced.
	if _, err := Copy(context.Background(), Options{Source: d.path, Dest: existing, Overwrite: true}); err != nil {
		t.Errorf("Copy(Overwrite) error = %v, want nil", err)
	}
}

func TestCopyRefusesCheckpointOfOtherSource(t *testing.T) {
	d := resumeDisk(t)
	dst := filepath.Join(t.TempDir(), "copy.img")
	ctx, cancel := context.WithCancel(context.Background())
	_, err := Copy(ctx, Options{Source: d.path, Dest: dst, BufferSize: 1 << 20, ProgressInterval: time.Nanosecond,
		Progress: func(p Progress) {
			if p.Done > p.Total/2 {
				cancel()
			}
		}})
	cancel()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Copy(cancelled) error = %v, want context.Canceled", err)
	}
	// Another source: same image with one changed byte in the first MiB.
	other := filepath.Join(t.TempDir(), "other.img")
	b, err := os.ReadFile(d.path)
	if err != nil {
		t.Fatal(err)
	}
	b[446+16*3+8]++ // an unused partition slot's start field: same plan, different head
	if err := os.WriteFile(other, b, 0o644); err != nil {
		t.Fatal(err)
	}
	before := sha256File(t, dst)
	_, err = Copy(context.Background(), Options{Source: other, Dest: dst})
	if !errors.Is(err, ErrCheckpointMismatch) || !strings.Contains(err.Error(), "remove it") {
		t.Errorf("Copy(other source, same dst) error = %v, want ErrCheckpointMismatch telling to remove it", err)
	}
	if sha256File(t, dst) != before {
		t.Errorf("refused resume changed the destination")
	}
}

func TestCopyFallsBackOnInconsistentExt(t *testing.T) {
	d := buildDisk(t, 64, []partSpec{
		{sizeMiB: 0, typ: "83", content: "ext4", args: []string{"-b", "4096", "-O", "^metadata_csum,^uninit_bg"}},
	})
	e := d.exts[0]
	// Lower group 0's free block count (descriptor at fs block 1).
	f, err := os.OpenFile(d.path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var c [2]byte
	off := e.off + 4096 + 0xC
	if _, err := f.ReadAt(c[:], off); err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint16(c[:], binary.LittleEndian.Uint16(c[:])-1)
	if _, err := f.WriteAt(c[:], off); err != nil {
		t.Fatal(err)
	}
	f.Close()

	dst := filepath.Join(t.TempDir(), "copy.img")
	sum, err := Copy(context.Background(), Options{Source: d.path, Dest: dst, Verify: true})
	if err != nil {
		t.Fatalf("Copy(%s) error: %v", d.path, err)
	}
	if len(sum.Warnings) != 1 || !strings.Contains(sum.Warnings[0], "free blocks") {
		t.Errorf("Copy(inconsistent ext4) warnings = %q, want one about free blocks", sum.Warnings)
	}
	want, err := os.ReadFile(d.path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if i := firstDiff(got, want); i >= 0 {
		t.Errorf("copy of an inconsistent ext4 differs from the source at byte %d, want a full copy", i)
	}
}

func TestPlanExtents(t *testing.T) {
	// Ranges closer than MaxGap share a read; long ranges are cut at
	// BufferSize; resuming starts mid-range.
	p := &CopyPlan{Size: 100 << 20, Ranges: []Range{
		{Off: 0, Len: 4096, Reason: "a"},
		{Off: 8192, Len: 4096, Reason: "b"},         // 4 KiB gap: joined
		{Off: 10 << 20, Len: 20 << 20, Reason: "c"}, // far: new extent, cut in 8 MiB pieces
		{Off: 31 << 20, Len: 1 << 20, Reason: "d"},  // 1 MiB gap > MaxGap
	}}
	e := &executor{opt: Options{}, plan: p}
	e.opt.defaults()
	type ext struct{ Off, N int64 }
	var got []ext
	var done []int64
	e.extents(0, func(off, n int64, segs []seg) bool {
		got = append(got, ext{off, n})
		done = append(done, segs[len(segs)-1].planDone)
		return true
	})
	want := []ext{{0, 12288}, {10 << 20, 8 << 20}, {18 << 20, 8 << 20}, {26 << 20, 4 << 20}, {31 << 20, 1 << 20}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("extents(0) mismatch (-want +got):\n%s", diff)
	}
	if done[len(done)-1] != p.Bytes() {
		t.Errorf("extents(0) last planDone = %d, want %d", done[len(done)-1], p.Bytes())
	}
	got = nil
	e.extents(8192+(1<<20), func(off, n int64, segs []seg) bool {
		got = append(got, ext{off, n})
		return true
	})
	want = []ext{{11 << 20, 8 << 20}, {19 << 20, 8 << 20}, {27 << 20, 3 << 20}, {31 << 20, 1 << 20}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("extents(resume) mismatch (-want +got):\n%s", diff)
	}
}

func TestCopyBufferedAndDirectAgree(t *testing.T) {
	d := resumeDisk(t)
	var sums [][32]byte
	for _, direct := range []bool{true, false} {
		dst := filepath.Join(t.TempDir(), "copy.img")
		if _, err := Copy(context.Background(), Options{Source: d.path, Dest: dst, DirectIO: direct}); err != nil {
			t.Fatalf("Copy(DirectIO: %v) error: %v", direct, err)
		}
		sums = append(sums, sha256File(t, dst))
	}
	if sums[0] != sums[1] {
		t.Errorf("O_DIRECT copy sha256 %x, buffered copy %x, want equal", sums[0], sums[1])
	}
	// A source on tmpfs (O_DIRECT may be refused there) still copies.
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		shm, err := os.MkdirTemp("/dev/shm", "p2v-test")
		if err != nil {
			testenv.Skipf(t, "cannot use /dev/shm: %v", err)
		}
		defer os.RemoveAll(shm)
		src := filepath.Join(shm, "src.img")
		b, err := os.ReadFile(d.path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(src, b, 0o644); err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(t.TempDir(), "copy.img")
		if _, err := Copy(context.Background(), Options{Source: src, Dest: dst, DirectIO: true}); err != nil {
			t.Fatalf("Copy(source on tmpfs, DirectIO) error: %v", err)
		}
		if got := sha256File(t, dst); got != sums[0] {
			t.Errorf("copy of a tmpfs source sha256 %x, want %x", got, sums[0])
		}
	}
}

// hintedFile is a source that takes prefetch hints and counts, like a
// remote disk, the requests that would cost a round trip: those naming
// a 4 KiB block not fetched before.
type hintedFile struct {
	*os.File
	have     map[int64]bool
	requests [][][2]int64
}

func (h *hintedFile) Prefetch(ranges [][2]int64) {
	round := false
	for _, r := range ranges {
		for b := r[0] / 4096; b*4096 < r[0]+r[1]; b++ {
			if !h.have[b] {
				h.have[b], round = true, true
			}
		}
	}
	if round {
		h.requests = append(h.requests, ranges)
	}
}

// TestPlanPrefetchesPartitionsTogether: on a source that takes hints the
// plan asks for the start and end of every partition in one request
// (one round trip on a remote disk, not one per partition), and plans
// exactly what it plans without hints.
func TestPlanPrefetchesPartitionsTogether(t *testing.T) {
	d := smallDisk(t)
	want, err := PlanFile(d.path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(d.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := &hintedFile{File: f, have: map[int64]bool{}}
	got, err := Plan(h, d.size)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash() != want.Hash() || fmt.Sprint(got.Warnings) != fmt.Sprint(want.Warnings) {
		t.Errorf("plan with hints differs:\n%+v\nwithout:\n%+v", got, want)
	}
	if len(h.requests) == 0 {
		t.Fatal("no prefetch request")
	}
	starts := map[int64]bool{}
	for _, r := range h.requests[0] {
		starts[r[0]] = true
	}
	// The data partitions: ext2, ext3, ext4, swap, md, raw.
	var n int
	for _, r := range want.Ranges {
		if strings.HasPrefix(r.Reason, "unknown content of partition") || strings.HasPrefix(r.Reason, "swap header of partition") {
			n++
			if !starts[r.Off] {
				t.Errorf("the first request does not name %s at byte %d: %v", r.Reason, r.Off, h.requests[0])
			}
		}
	}
	if n == 0 || len(h.requests[0]) < 2*6 {
		t.Errorf("the first request names %d ranges, want the start and end of all 6 data partitions: %v", len(h.requests[0]), h.requests[0])
	}
	t.Logf("%d requests", len(h.requests))
}
