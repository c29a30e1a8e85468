package part

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const mib = 1 << 20

type ent struct {
	boot        bool
	typ         byte
	start, size uint32 // sectors
}

func putEntries(sector []byte, es ...ent) {
	for i, e := range es {
		b := sector[446+16*i:]
		if e.boot {
			b[0] = 0x80
		}
		b[4] = e.typ
		binary.LittleEndian.PutUint32(b[8:], e.start)
		binary.LittleEndian.PutUint32(b[12:], e.size)
	}
	sector[510], sector[511] = 0x55, 0xaa
}

// ebr describes one extended boot record: its location (sector relative to
// the disk), the logical partition (start relative to the EBR) and the
// link to the next EBR (relative to the extended partition start).
type ebr struct {
	at          uint32
	logical     ent
	nextStart   uint32
	nextSize    uint32
	extraSlot34 []ent
}

func mbrDisk(size int64, primaries []ent, ebrs []ebr) []byte {
	d := make([]byte, size)
	binary.LittleEndian.PutUint32(d[440:], 0xdeadbeef)
	putEntries(d[:512], primaries...)
	for _, e := range ebrs {
		s := d[int64(e.at)*512:][:512]
		es := []ent{e.logical}
		if e.nextSize != 0 {
			es = append(es, ent{typ: 0x05, start: e.nextStart, size: e.nextSize})
		} else {
			es = append(es, ent{})
		}
		es = append(es, e.extraSlot34...)
		putEntries(s, es...)
	}
	return d
}

func TestReadMBR(t *testing.T) {
	const size = 64 * mib
	s := uint32(2048) // 1 MiB in sectors
	ignore := cmpopts.IgnoreFields(Partition{}, "TypeName")
	tests := []struct {
		name string
		disk []byte
		want []Partition
	}{
		{
			name: "root+swap",
			disk: mbrDisk(size, []ent{{boot: true, typ: 0x83, start: s, size: 40 * s}, {typ: 0x82, start: 41 * s, size: 20 * s}}, nil),
			want: []Partition{
				{Number: 1, Start: 1 * mib, Size: 40 * mib, Type: "0x83", Class: ClassLinux, Bootable: true},
				{Number: 2, Start: 41 * mib, Size: 20 * mib, Type: "0x82", Class: ClassSwap},
			},
		},
		{
			name: "gap in slots keeps numbers",
			disk: mbrDisk(size, []ent{{}, {}, {typ: 0x8e, start: s, size: 10 * s}}, nil),
			want: []Partition{
				{Number: 3, Start: 1 * mib, Size: 10 * mib, Type: "0x8e", Class: ClassLVM},
			},
		},
		{
			name: "extended chain with three logicals",
			disk: mbrDisk(size,
				[]ent{{typ: 0x83, start: s, size: 10 * s}, {typ: 0x05, start: 11 * s, size: 50 * s}},
				[]ebr{
					{at: 11 * s, logical: ent{typ: 0x83, start: s, size: 10 * s}, nextStart: 11 * s, nextSize: 11 * s},
					{at: 22 * s, logical: ent{typ: 0x82, start: s, size: 10 * s}, nextStart: 22 * s, nextSize: 28 * s},
					{at: 33 * s, logical: ent{typ: 0xfd, start: 2048, size: 27 * s}},
				}),
			want: []Partition{
				{Number: 1, Start: 1 * mib, Size: 10 * mib, Type: "0x83", Class: ClassLinux},
				{Number: 2, Start: 11 * mib, Size: 50 * mib, Type: "0x05", Class: ClassExtended},
				{Number: 5, Start: 12 * mib, Size: 10 * mib, Type: "0x83", Class: ClassLinux, Logical: true},
				{Number: 6, Start: 23 * mib, Size: 10 * mib, Type: "0x82", Class: ClassSwap, Logical: true},
				{Number: 7, Start: 34 * mib, Size: 27 * mib, Type: "0xfd", Class: ClassRAID, Logical: true},
			},
		},
		{
			name: "garbage in EBR slot 3 ignored",
			disk: mbrDisk(size,
				[]ent{{typ: 0x0f, start: s, size: 20 * s}},
				[]ebr{{at: s, logical: ent{typ: 0x83, start: s, size: 10 * s}, extraSlot34: []ent{{typ: 0x83, start: 1, size: 1 << 30}}}}),
			want: []Partition{
				{Number: 1, Start: 1 * mib, Size: 20 * mib, Type: "0x0f", Class: ClassExtended},
				{Number: 5, Start: 2 * mib, Size: 10 * mib, Type: "0x83", Class: ClassLinux, Logical: true},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Read(bytes.NewReader(tc.disk), int64(len(tc.disk)))
			if err != nil {
				t.Fatalf("Read() = %v", err)
			}
			if got.Kind != MBR || got.DiskID != "0xdeadbeef" {
				t.Errorf("Read() kind, id = %v, %q, want mbr, 0xdeadbeef", got.Kind, got.DiskID)
			}
			if diff := cmp.Diff(tc.want, got.Partitions, ignore); diff != "" {
				t.Errorf("Read() partitions mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadMBRCorrupt(t *testing.T) {
	const size = 64 * mib
	s := uint32(2048)
	tests := []struct {
		name string
		disk []byte
	}{
		{"overlap", mbrDisk(size, []ent{{typ: 0x83, start: s, size: 10 * s}, {typ: 0x83, start: 5 * s, size: 10 * s}}, nil)},
		{"past end", mbrDisk(size, []ent{{typ: 0x83, start: s, size: 100 * s}}, nil)},
		{"EBR loop", mbrDisk(size,
			[]ent{{typ: 0x05, start: s, size: 50 * s}},
			[]ebr{
				{at: s, logical: ent{typ: 0x83, start: s, size: 5 * s}, nextStart: 10 * s, nextSize: 10 * s},
				{at: 11 * s, logical: ent{typ: 0x83, start: s, size: 5 * s}, nextStart: 0, nextSize: 10 * s},
			})},
		{"logical outside extended", mbrDisk(size,
			[]ent{{typ: 0x05, start: s, size: 10 * s}},
			[]ebr{{at: s, logical: ent{typ: 0x83, start: s, size: 20 * s}}})},
		{"EBR link outside extended", mbrDisk(size,
			[]ent{{typ: 0x05, start: s, size: 10 * s}},
			[]ebr{{at: s, logical: ent{typ: 0x83, start: s, size: 2 * s}, nextStart: 40 * s, nextSize: 2 * s}})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Read(bytes.NewReader(tc.disk), int64(len(tc.disk)))
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Read() = %+v, %v, want error wrapping ErrCorrupt", got, err)
			}
		})
	}
}

func TestReadNone(t *testing.T) {
	for _, tc := range []struct {
		name string
		disk []byte
	}{
		{"zeros", make([]byte, mib)},
		{"tiny", make([]byte, 100)},
		{"fat boot sector", func() []byte {
			d := make([]byte, mib)
			for i := 446; i < 510; i++ {
				d[i] = 0x4f
			}
			d[510], d[511] = 0x55, 0xaa
			return d
		}()},
	} {
		got, err := Read(bytes.NewReader(tc.disk), int64(len(tc.disk)))
		if err != nil || got.Kind != None {
			t.Errorf("%s: Read() = %+v, %v, want Kind None", tc.name, got, err)
		}
	}
}

type gptPart struct {
	typ         string
	first, last uint64
	name        string
	attrs       uint64
}

func guidBytes(s string) []byte {
	h, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(h) != 16 {
		panic("bad GUID " + s)
	}
	b := bytes.Clone(h)
	binary.BigEndian.PutUint32(b[0:], binary.LittleEndian.Uint32(h[0:]))
	binary.BigEndian.PutUint16(b[4:], binary.LittleEndian.Uint16(h[4:]))
	binary.BigEndian.PutUint16(b[6:], binary.LittleEndian.Uint16(h[6:]))
	return b
}

// gptDisk builds a disk with a protective MBR, primary and backup GPT.
func gptDisk(size int64, ss int64, parts []gptPart) []byte {
	d := make([]byte, size)
	last := uint64(size/ss) - 1
	putEntries(d[:512], ent{typ: 0xee, start: 1, size: uint32(min(last, 0xffffffff))})
	if ss != 512 {
		copy(d[ss-512:], d[:512])
	}
	entries := make([]byte, 128*128)
	for i, p := range parts {
		e := entries[i*128:]
		copy(e, guidBytes(p.typ))
		copy(e[16:], guidBytes("01234567-89ab-cdef-0123-456789abcd00"))
		e[31] = byte(i + 1)
		binary.LittleEndian.PutUint64(e[32:], p.first)
		binary.LittleEndian.PutUint64(e[40:], p.last)
		binary.LittleEndian.PutUint64(e[48:], p.attrs)
		for j, c := range utf16.Encode([]rune(p.name)) {
			binary.LittleEndian.PutUint16(e[56+2*j:], c)
		}
	}
	entSectors := uint64(len(entries)) / uint64(ss)
	hdr := func(my, alt, entryLBA uint64) []byte {
		h := make([]byte, 92)
		copy(h, "EFI PART")
		binary.LittleEndian.PutUint32(h[8:], 0x00010000)
		binary.LittleEndian.PutUint32(h[12:], 92)
		binary.LittleEndian.PutUint64(h[24:], my)
		binary.LittleEndian.PutUint64(h[32:], alt)
		binary.LittleEndian.PutUint64(h[40:], 2+entSectors)
		binary.LittleEndian.PutUint64(h[48:], last-1-entSectors)
		copy(h[56:], guidBytes("11111111-2222-3333-4444-555555555555"))
		binary.LittleEndian.PutUint64(h[72:], entryLBA)
		binary.LittleEndian.PutUint32(h[80:], 128)
		binary.LittleEndian.PutUint32(h[84:], 128)
		binary.LittleEndian.PutUint32(h[88:], crc32.ChecksumIEEE(entries))
		binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h))
		return h
	}
	copy(d[ss:], hdr(1, last, 2))
	copy(d[2*ss:], entries)
	copy(d[int64(last)*int64(ss):], hdr(last, 1, last-entSectors))
	copy(d[int64(last-entSectors)*ss:], entries)
	return d
}

func TestReadGPT(t *testing.T) {
	parts := []gptPart{
		{typ: GUIDBIOSBoot, first: 2048, last: 4095, name: "bios"},
		{typ: GUIDLinuxFS, first: 4096, last: 8191, name: "boot", attrs: 1 << 2},
		{typ: GUIDLinuxLVM, first: 8192, last: 65535, name: "pv"},
	}
	want := []Partition{
		{Number: 1, Start: 2048 * 512, Size: 2048 * 512, Type: GUIDBIOSBoot, TypeName: "BIOS boot", Class: ClassBIOSBoot, Name: "bios", UUID: "01234567-89ab-cdef-0123-456789abcd01"},
		{Number: 2, Start: 4096 * 512, Size: 4096 * 512, Type: GUIDLinuxFS, TypeName: "Linux filesystem", Class: ClassLinux, Name: "boot", Bootable: true, UUID: "01234567-89ab-cdef-0123-456789abcd02"},
		{Number: 3, Start: 8192 * 512, Size: 57344 * 512, Type: GUIDLinuxLVM, TypeName: "Linux LVM", Class: ClassLVM, Name: "pv", UUID: "01234567-89ab-cdef-0123-456789abcd03"},
	}
	const size = 40 * mib
	good := gptDisk(size, 512, parts)

	t.Run("primary", func(t *testing.T) {
		got, err := Read(bytes.NewReader(good), size)
		if err != nil {
			t.Fatalf("Read() = %v", err)
		}
		if got.Kind != GPT || got.BackupGPT || got.DiskID != "11111111-2222-3333-4444-555555555555" || len(got.Warnings) != 0 {
			t.Errorf("Read() = kind %v backup %v id %q warnings %q, want gpt, false, 11111111-..., none", got.Kind, got.BackupGPT, got.DiskID, got.Warnings)
		}
		if diff := cmp.Diff(want, got.Partitions); diff != "" {
			t.Errorf("Read() partitions mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("corrupt primary header uses backup", func(t *testing.T) {
		d := bytes.Clone(good)
		d[512+60] ^= 0xff // disk GUID byte: header CRC now wrong
		got, err := Read(bytes.NewReader(d), size)
		if err != nil {
			t.Fatalf("Read() = %v", err)
		}
		if !got.BackupGPT || len(got.Warnings) == 0 {
			t.Errorf("Read() backup = %v warnings %q, want true and a warning", got.BackupGPT, got.Warnings)
		}
		if diff := cmp.Diff(want, got.Partitions); diff != "" {
			t.Errorf("Read() partitions mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("corrupt primary entries uses backup", func(t *testing.T) {
		d := bytes.Clone(good)
		d[2*512+56] ^= 0xff
		got, err := Read(bytes.NewReader(d), size)
		if err != nil || !got.BackupGPT {
			t.Fatalf("Read() = %+v, %v, want backup table", got, err)
		}
	})
	t.Run("both corrupt", func(t *testing.T) {
		d := bytes.Clone(good)
		d[512+60] ^= 0xff
		d[size-512+60] ^= 0xff
		if got, err := Read(bytes.NewReader(d), size); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Read() = %+v, %v, want ErrCorrupt", got, err)
		}
	})
	t.Run("overlap", func(t *testing.T) {
		d := gptDisk(size, 512, []gptPart{{typ: GUIDLinuxFS, first: 2048, last: 9000}, {typ: GUIDLinuxFS, first: 9000, last: 10000}})
		if got, err := Read(bytes.NewReader(d), size); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Read() = %+v, %v, want ErrCorrupt", got, err)
		}
	})
	t.Run("4096-byte sectors", func(t *testing.T) {
		d := gptDisk(size, 4096, []gptPart{{typ: GUIDLinuxSwap, first: 256, last: 511}})
		got, err := ReadSectorSize(bytes.NewReader(d), size, 4096)
		if err != nil {
			t.Fatalf("ReadSectorSize(4096) = %v", err)
		}
		if len(got.Partitions) != 1 || got.Partitions[0].Start != mib || got.Partitions[0].Size != mib {
			t.Errorf("ReadSectorSize(4096) partitions = %+v, want one at 1 MiB of 1 MiB", got.Partitions)
		}
	})
}

func FuzzRead(f *testing.F) {
	s := uint32(8)
	f.Add(mbrDisk(64*512, []ent{{typ: 0x83, start: s, size: s}, {typ: 0x05, start: 2 * s, size: 4 * s}},
		[]ebr{{at: 2 * s, logical: ent{typ: 0x83, start: 1, size: 2}, nextStart: s, nextSize: s}, {at: 3 * s, logical: ent{typ: 0x82, start: 1, size: 2}}}))
	f.Add(gptDisk(80*512, 512, []gptPart{{typ: GUIDLinuxFS, first: 34, last: 40, name: "x"}}))
	f.Add(make([]byte, 1024))
	f.Fuzz(func(t *testing.T, d []byte) {
		for _, ss := range []int{512, 4096} {
			tab, err := ReadSectorSize(bytes.NewReader(d), int64(len(d)), ss)
			if err != nil {
				continue
			}
			for _, p := range tab.Partitions {
				if p.Start < 0 || p.Size <= 0 || p.End() > int64(len(d)) {
					t.Fatalf("ReadSectorSize() returned out-of-range partition %+v for %d-byte disk", p, len(d))
				}
			}
		}
	})
}
