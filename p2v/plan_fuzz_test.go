package p2v

import (
	"bytes"
	"os"
	"testing"
)

// FuzzPlan feeds arbitrary disk heads (padded with zeros to 4 MiB) to
// Plan: it must never panic, and its plan must be sorted, disjoint and
// inside the disk.
func FuzzPlan(f *testing.F) {
	f.Add([]byte{})
	mbr := make([]byte, 512)
	mbr[510], mbr[511] = 0x55, 0xaa
	copy(mbr[446:], []byte{0x80, 0, 0, 0, 0x83, 0, 0, 0, 0x00, 0x08, 0, 0, 0x00, 0x10, 0, 0})
	f.Add(mbr)
	if path := os.Getenv("P2V_FUZZ_SEED_IMAGE"); path != "" {
		if b, err := os.ReadFile(path); err == nil {
			f.Add(b[:min(len(b), 64<<10)])
		}
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		const size = 4 << 20
		if len(head) > size {
			head = head[:size]
		}
		disk := make([]byte, size)
		copy(disk, head)
		p, err := Plan(bytes.NewReader(disk), size)
		if err != nil {
			return
		}
		end := int64(0)
		for _, r := range p.Ranges {
			if r.Off < end || r.Len <= 0 || r.End() > size || r.Reason == "" {
				t.Fatalf("Plan returned bad range %+v after byte %d of a %d-byte disk", r, end, size)
			}
			end = r.End()
		}
	})
}

func BenchmarkCopy(b *testing.B) {
	d := buildDisk(b, 256, []partSpec{
		{sizeMiB: 160, typ: "83", content: "ext4"},
		{sizeMiB: 16, typ: "82", content: "swap"},
		{sizeMiB: 0, typ: "83", content: "ext3"},
	})
	p, err := PlanFile(d.path)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	b.SetBytes(p.Bytes())
	b.ResetTimer()
	for b.Loop() {
		if _, err := Copy(b.Context(), Options{Source: d.path, Dest: dir + "/copy.img", Overwrite: true}); err != nil {
			b.Fatal(err)
		}
	}
}
