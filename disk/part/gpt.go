package part

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"unicode/utf16"

	"github.com/xenify/xenify/disk"
)

// maxGPTEntryBytes bounds the size of a GPT partition entry array we are
// willing to read (the usual array is 128 entries of 128 bytes = 16 KiB).
const maxGPTEntryBytes = 1 << 20

type gptHeader struct {
	myLBA, altLBA           uint64
	firstUsable, lastUsable uint64
	diskGUID                string
	entryLBA                uint64
	numEntries, entrySize   uint32
	entryCRC                uint32
}

// GUIDString formats a 16-byte on-disk (mixed-endian) GUID in the usual
// lowercase 8-4-4-4-12 form.
func GUIDString(b []byte) string {
	if len(b) < 16 {
		return ""
	}
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x",
		binary.LittleEndian.Uint32(b[0:4]),
		binary.LittleEndian.Uint16(b[4:6]),
		binary.LittleEndian.Uint16(b[6:8]),
		b[8:10], b[10:16])
}

// Well-known GPT partition type GUIDs (lowercase).
const (
	GUIDLinuxFS     = "0fc63daf-8483-4772-8e79-3d69d8477de4"
	GUIDLinuxSwap   = "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f"
	GUIDLinuxLVM    = "e6d6d379-f507-44c2-a23c-238f2a3df928"
	GUIDLinuxRAID   = "a19d880f-05fc-4d3b-a006-743f0f84911e"
	GUIDBIOSBoot    = "21686148-6449-6e6f-744e-656564454649"
	GUIDESP         = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
	GUIDMSBasicData = "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7"
	GUIDRootX86_64  = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709"
	GUIDRootX86     = "44479540-f297-41b2-9af7-d131d5f0458a"
	GUIDLinuxHome   = "933ac7e1-2eb4-4f13-b844-0e14e2aef915"
	GUIDLinuxSrv    = "3b8f8425-20e0-4f3b-907f-1a25a76f98e8"
	GUIDXBootLdr    = "bc13c2ff-59e6-4262-a352-b275fd6f7172"
	GUIDLinuxResvd  = "8da63339-0007-60c0-c436-083ac8230908"
)

var gptTypeNames = map[string]struct {
	name  string
	class Class
}{
	GUIDLinuxFS:     {"Linux filesystem", ClassLinux},
	GUIDLinuxSwap:   {"Linux swap", ClassSwap},
	GUIDLinuxLVM:    {"Linux LVM", ClassLVM},
	GUIDLinuxRAID:   {"Linux RAID", ClassRAID},
	GUIDBIOSBoot:    {"BIOS boot", ClassBIOSBoot},
	GUIDESP:         {"EFI System", ClassESP},
	GUIDMSBasicData: {"Microsoft basic data", ClassFAT},
	GUIDRootX86_64:  {"Linux root (x86-64)", ClassLinux},
	GUIDRootX86:     {"Linux root (x86)", ClassLinux},
	GUIDLinuxHome:   {"Linux home", ClassLinux},
	GUIDLinuxSrv:    {"Linux server data", ClassLinux},
	GUIDXBootLdr:    {"Linux extended boot", ClassLinux},
	GUIDLinuxResvd:  {"Linux reserved", ClassOther},
}

func gptType(guid string) (string, Class) {
	if n, ok := gptTypeNames[guid]; ok {
		return n.name, n.class
	}
	return "Unknown", ClassOther
}

func readGPT(r io.ReaderAt, size int64, sectorSize int) (*Table, error) {
	ss := int64(sectorSize)
	lastLBA := uint64(size/ss) - 1
	t := &Table{Kind: GPT, SectorSize: sectorSize}

	primary, perr := readGPTAt(r, size, ss, 1, lastLBA)
	var parts []Partition
	if perr == nil {
		parts, perr = readGPTEntries(r, size, ss, primary)
	}
	if perr == nil {
		t.DiskID = primary.diskGUID
		t.Partitions = parts
		alt := primary.altLBA
		if alt != lastLBA {
			t.Warnings = append(t.Warnings, fmt.Sprintf("alternate GPT header LBA %d is not the last LBA %d (disk grown or truncated?)", alt, lastLBA))
		}
		if alt <= lastLBA && alt > 1 {
			if b, err := readGPTAt(r, size, ss, alt, lastLBA); err != nil {
				t.Warnings = append(t.Warnings, fmt.Sprintf("backup GPT header: %v", err))
			} else if b.entryCRC != primary.entryCRC || b.numEntries != primary.numEntries {
				t.Warnings = append(t.Warnings, "backup GPT entries differ from primary")
			}
		}
	} else {
		backup, berr := readGPTAt(r, size, ss, lastLBA, lastLBA)
		if berr == nil {
			parts, berr = readGPTEntries(r, size, ss, backup)
		}
		if berr != nil {
			return nil, fmt.Errorf("%w: primary GPT: %v; backup GPT: %v", ErrCorrupt, perr, berr)
		}
		t.DiskID = backup.diskGUID
		t.Partitions = parts
		t.BackupGPT = true
		t.Warnings = append(t.Warnings, fmt.Sprintf("primary GPT unusable (%v); using backup GPT at LBA %d", perr, lastLBA))
	}
	if err := t.check(size); err != nil {
		return nil, err
	}
	return t, nil
}

// readGPTAt reads and validates the GPT header at the given LBA.
func readGPTAt(r io.ReaderAt, size, ss int64, lba, lastLBA uint64) (*gptHeader, error) {
	buf := make([]byte, ss)
	if err := disk.ReadFull(r, buf, int64(lba)*ss); err != nil {
		return nil, fmt.Errorf("reading GPT header at LBA %d: %w", lba, err)
	}
	if !bytes.Equal(buf[:8], []byte("EFI PART")) {
		return nil, fmt.Errorf("no GPT signature at LBA %d", lba)
	}
	hsize := binary.LittleEndian.Uint32(buf[12:])
	if hsize < 92 || int64(hsize) > ss {
		return nil, fmt.Errorf("GPT header at LBA %d: bad header size %d", lba, hsize)
	}
	want := binary.LittleEndian.Uint32(buf[16:])
	hdr := append([]byte(nil), buf[:hsize]...)
	binary.LittleEndian.PutUint32(hdr[16:], 0)
	if got := crc32.ChecksumIEEE(hdr); got != want {
		return nil, fmt.Errorf("GPT header at LBA %d: header CRC32 0x%08x, want 0x%08x", lba, got, want)
	}
	h := &gptHeader{
		myLBA:       binary.LittleEndian.Uint64(buf[24:]),
		altLBA:      binary.LittleEndian.Uint64(buf[32:]),
		firstUsable: binary.LittleEndian.Uint64(buf[40:]),
		lastUsable:  binary.LittleEndian.Uint64(buf[48:]),
		diskGUID:    GUIDString(buf[56:72]),
		entryLBA:    binary.LittleEndian.Uint64(buf[72:]),
		numEntries:  binary.LittleEndian.Uint32(buf[80:]),
		entrySize:   binary.LittleEndian.Uint32(buf[84:]),
		entryCRC:    binary.LittleEndian.Uint32(buf[88:]),
	}
	if h.myLBA != lba {
		return nil, fmt.Errorf("GPT header at LBA %d claims to be at LBA %d", lba, h.myLBA)
	}
	if h.entrySize < 128 || h.entrySize&(h.entrySize-1) != 0 || h.entrySize > 4096 {
		return nil, fmt.Errorf("GPT header at LBA %d: bad entry size %d", lba, h.entrySize)
	}
	if uint64(h.numEntries)*uint64(h.entrySize) > maxGPTEntryBytes {
		return nil, fmt.Errorf("GPT header at LBA %d: entry array of %d x %d bytes is too large", lba, h.numEntries, h.entrySize)
	}
	if h.firstUsable > h.lastUsable || h.lastUsable > lastLBA {
		return nil, fmt.Errorf("GPT header at LBA %d: usable LBAs %d-%d outside disk (last LBA %d)", lba, h.firstUsable, h.lastUsable, lastLBA)
	}
	if h.entryLBA < 2 || h.entryLBA > lastLBA {
		return nil, fmt.Errorf("GPT header at LBA %d: entry array LBA %d outside disk", lba, h.entryLBA)
	}
	return h, nil
}

func readGPTEntries(r io.ReaderAt, size, ss int64, h *gptHeader) ([]Partition, error) {
	n := int64(h.numEntries) * int64(h.entrySize)
	if int64(h.entryLBA)*ss+n > size {
		return nil, fmt.Errorf("GPT entry array at LBA %d runs past the end of the disk", h.entryLBA)
	}
	buf := make([]byte, n)
	if err := disk.ReadFull(r, buf, int64(h.entryLBA)*ss); err != nil {
		return nil, fmt.Errorf("reading GPT entries: %w", err)
	}
	if got := crc32.ChecksumIEEE(buf); got != h.entryCRC {
		return nil, fmt.Errorf("GPT entry array CRC32 0x%08x, want 0x%08x", got, h.entryCRC)
	}
	var parts []Partition
	var zero [16]byte
	for i := uint32(0); i < h.numEntries; i++ {
		e := buf[int64(i)*int64(h.entrySize):][:h.entrySize]
		if bytes.Equal(e[:16], zero[:]) {
			continue
		}
		first := binary.LittleEndian.Uint64(e[32:])
		last := binary.LittleEndian.Uint64(e[40:])
		attrs := binary.LittleEndian.Uint64(e[48:])
		if first > last || first < h.firstUsable || last > h.lastUsable {
			return nil, fmt.Errorf("GPT partition %d (LBA %d-%d) outside usable LBAs %d-%d",
				i+1, first, last, h.firstUsable, h.lastUsable)
		}
		typ := GUIDString(e[:16])
		name, class := gptType(typ)
		parts = append(parts, Partition{
			Number:   int(i) + 1,
			Start:    int64(first) * ss,
			Size:     int64(last-first+1) * ss,
			Type:     typ,
			TypeName: name,
			Class:    class,
			Bootable: attrs&(1<<2) != 0,
			Name:     utf16Name(e[56:128]),
			UUID:     GUIDString(e[16:32]),
		})
	}
	return parts, nil
}

func utf16Name(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return strings.ToValidUTF8(string(utf16.Decode(u)), "\uFFFD")
}
