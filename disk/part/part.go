// Package part reads MBR (including extended partition chains) and GPT
// partition tables from a raw disk image or block device.
//
// Everything works on an io.ReaderAt plus the disk size in bytes; nothing
// is ever written. Input is treated as untrusted: loops are bounded, sizes
// are checked before allocation, and corrupt tables produce errors that wrap
// ErrCorrupt instead of panics.
//
// Partition numbers follow the Linux kernel, so Partition.Number N is what
// the kernel would call /dev/sdaN: MBR primaries are 1-4 by slot (empty slots
// leave gaps), logical partitions inside extended partitions are 5, 6, ... in
// chain order, and GPT partitions are numbered by their entry index + 1.
//
// Typical use:
//
//	t, err := part.Read(f, size)
//	for _, p := range t.Partitions {
//		if p.Class == part.ClassLVM { ... p.Start, p.Size ... }
//	}
package part

import (
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/xenify/xenify/disk"
)

// DefaultSectorSize is the logical sector size used by Read.
const DefaultSectorSize = 512

// ErrCorrupt is wrapped by every error that reports an inconsistent
// partition table (overlaps, out-of-range partitions, EBR loops, bad GPT
// checksums with no usable backup, ...).
var ErrCorrupt = errors.New("corrupt partition table")

// Kind is the kind of partition table found on a disk.
type Kind int

const (
	// None means no partition table was recognised.
	None Kind = iota
	// MBR is a DOS/MBR partition table, possibly with extended partitions.
	MBR
	// GPT is a GUID partition table (behind a protective MBR).
	GPT
)

func (k Kind) String() string {
	switch k {
	case MBR:
		return "mbr"
	case GPT:
		return "gpt"
	default:
		return "none"
	}
}

// Class is a coarse classification of a partition's type, the same for MBR
// type bytes and GPT type GUIDs.
type Class int

const (
	ClassOther      Class = iota // anything not listed below
	ClassLinux                   // Linux filesystem data (MBR 0x83, GPT Linux filesystem/root/home/...)
	ClassSwap                    // Linux swap (MBR 0x82)
	ClassLVM                     // LVM physical volume (MBR 0x8e)
	ClassRAID                    // Linux md RAID member (MBR 0xfd)
	ClassExtended                // MBR extended partition container (0x05, 0x0f, 0x85)
	ClassBIOSBoot                // GPT BIOS boot partition (GRUB core.img)
	ClassESP                     // EFI system partition (MBR 0xef or GPT ESP)
	ClassFAT                     // MBR FAT types and GPT Microsoft basic data
	ClassProtective              // MBR 0xee protective entry (only seen in broken hybrids)
)

var classNames = map[Class]string{
	ClassOther: "other", ClassLinux: "linux", ClassSwap: "swap", ClassLVM: "lvm",
	ClassRAID: "raid", ClassExtended: "extended", ClassBIOSBoot: "bios-boot",
	ClassESP: "esp", ClassFAT: "fat", ClassProtective: "protective",
}

func (c Class) String() string {
	if s, ok := classNames[c]; ok {
		return s
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

// Partition is one partition. Start and Size are in bytes from the start of
// the disk.
type Partition struct {
	// Number is the Linux partition number (sdaN).
	Number int
	// Start and Size are byte offsets/lengths on the disk.
	Start, Size int64
	// Type is "0x83"-style for MBR, or the lowercase type GUID for GPT.
	Type string
	// TypeName is a human-readable type ("Linux", "Linux LVM", "EFI System", ...).
	TypeName string
	// Class is the coarse classification of Type.
	Class Class
	// Bootable is the MBR active flag (0x80) or GPT attribute bit 2
	// (legacy BIOS bootable).
	Bootable bool
	// Name is the GPT partition name (empty for MBR).
	Name string
	// UUID is the GPT unique partition GUID (lowercase), empty for MBR.
	UUID string
	// Logical is true for MBR logical partitions (inside an extended one).
	Logical bool
}

// End returns the byte offset just past the partition.
func (p Partition) End() int64 { return p.Start + p.Size }

// Table is a parsed partition table.
type Table struct {
	Kind Kind
	// SectorSize is the logical sector size used to interpret the table.
	SectorSize int
	// DiskID is the MBR disk signature ("0x1234abcd") or the GPT disk GUID.
	DiskID string
	// Partitions are sorted by Number.
	Partitions []Partition
	// BackupGPT is true when the primary GPT header or entry array was
	// unusable and the backup at the end of the disk was used instead.
	BackupGPT bool
	// Warnings lists non-fatal problems (bad backup GPT, partitions in the
	// 3rd/4th EBR slots that were ignored, ...).
	Warnings []string
}

// Partition returns the partition with the given Linux number.
func (t *Table) Partition(n int) (Partition, bool) {
	for _, p := range t.Partitions {
		if p.Number == n {
			return p, true
		}
	}
	return Partition{}, false
}

// Read reads the partition table of a disk with 512-byte logical sectors.
// A disk without a recognisable table yields Kind None and no error.
func Read(r io.ReaderAt, size int64) (*Table, error) {
	return ReadSectorSize(r, size, DefaultSectorSize)
}

// ReadSectorSize is Read for a given logical sector size (512, 1024, 2048
// or 4096).
func ReadSectorSize(r io.ReaderAt, size int64, sectorSize int) (*Table, error) {
	switch sectorSize {
	case 512, 1024, 2048, 4096:
	default:
		return nil, fmt.Errorf("unsupported sector size %d", sectorSize)
	}
	if size < 0 {
		return nil, fmt.Errorf("negative disk size %d", size)
	}
	if size < int64(sectorSize) {
		return &Table{Kind: None, SectorSize: sectorSize}, nil
	}
	mbr := make([]byte, sectorSize)
	if err := disk.ReadFull(r, mbr, 0); err != nil {
		return nil, fmt.Errorf("reading MBR: %w", err)
	}
	if mbr[510] != 0x55 || mbr[511] != 0xaa {
		return &Table{Kind: None, SectorSize: sectorSize}, nil
	}
	entries := mbrEntries(mbr)
	for _, e := range entries {
		if e.typ == 0xee {
			return readGPT(r, size, sectorSize)
		}
	}
	if !plausibleMBR(mbr, entries) {
		return &Table{Kind: None, SectorSize: sectorSize}, nil
	}
	t, err := readMBR(r, size, sectorSize, mbr, entries)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// check validates partition bounds and overlaps and sorts t.Partitions.
func (t *Table) check(size int64) error {
	sort.Slice(t.Partitions, func(i, j int) bool { return t.Partitions[i].Number < t.Partitions[j].Number })
	for _, p := range t.Partitions {
		if p.Size <= 0 {
			return fmt.Errorf("%w: partition %d has size %d", ErrCorrupt, p.Number, p.Size)
		}
		if p.Start < 0 || p.End() > size || p.End() < p.Start {
			return fmt.Errorf("%w: partition %d (bytes %d-%d) lies outside the disk (%d bytes)",
				ErrCorrupt, p.Number, p.Start, p.End(), size)
		}
	}
	// Overlap check among data partitions (extended containers hold the
	// logicals, so they are checked separately by the MBR code).
	var data []Partition
	for _, p := range t.Partitions {
		if p.Class != ClassExtended {
			data = append(data, p)
		}
	}
	sort.Slice(data, func(i, j int) bool { return data[i].Start < data[j].Start })
	for i := 1; i < len(data); i++ {
		a, b := data[i-1], data[i]
		if b.Start < a.End() {
			return fmt.Errorf("%w: partitions %d (bytes %d-%d) and %d (bytes %d-%d) overlap",
				ErrCorrupt, a.Number, a.Start, a.End(), b.Number, b.Start, b.End())
		}
	}
	return nil
}
