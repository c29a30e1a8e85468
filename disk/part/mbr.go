package part

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/xenify/xenify/disk"
)

// maxLogical bounds the number of logical partitions followed in an EBR
// chain (the kernel stops at 100 EBRs and 256 minors).
const maxLogical = 128

type mbrEntry struct {
	boot  byte
	typ   byte
	start uint32 // in sectors
	count uint32 // in sectors
}

func mbrEntries(sector []byte) [4]mbrEntry {
	var es [4]mbrEntry
	for i := range es {
		b := sector[446+16*i : 446+16*(i+1)]
		es[i] = mbrEntry{
			boot:  b[0],
			typ:   b[4],
			start: binary.LittleEndian.Uint32(b[8:]),
			count: binary.LittleEndian.Uint32(b[12:]),
		}
	}
	return es
}

func isExtended(typ byte) bool { return typ == 0x05 || typ == 0x0f || typ == 0x85 }

// plausibleMBR reports whether a sector with the 0x55aa signature is a
// partition table rather than, say, a FAT boot sector of an unpartitioned
// disk: like the kernel, it requires boot indicators of 0 or 0x80.
func plausibleMBR(sector []byte, es [4]mbrEntry) bool {
	for _, e := range es {
		if e.boot != 0 && e.boot != 0x80 {
			return false
		}
		if e.count != 0 && e.start == 0 {
			return false
		}
	}
	return true
}

var mbrTypeNames = map[byte]struct {
	name  string
	class Class
}{
	0x01: {"FAT12", ClassFAT},
	0x04: {"FAT16 <32M", ClassFAT},
	0x05: {"Extended", ClassExtended},
	0x06: {"FAT16", ClassFAT},
	0x07: {"HPFS/NTFS/exFAT", ClassOther},
	0x0b: {"W95 FAT32", ClassFAT},
	0x0c: {"W95 FAT32 (LBA)", ClassFAT},
	0x0e: {"W95 FAT16 (LBA)", ClassFAT},
	0x0f: {"W95 Ext'd (LBA)", ClassExtended},
	0x82: {"Linux swap / Solaris", ClassSwap},
	0x83: {"Linux", ClassLinux},
	0x85: {"Linux extended", ClassExtended},
	0x8e: {"Linux LVM", ClassLVM},
	0xa5: {"FreeBSD", ClassOther},
	0xee: {"GPT", ClassProtective},
	0xef: {"EFI (FAT-12/16/32)", ClassESP},
	0xfd: {"Linux raid autodetect", ClassRAID},
}

func mbrType(typ byte) (string, Class) {
	if n, ok := mbrTypeNames[typ]; ok {
		return n.name, n.class
	}
	return "Unknown", ClassOther
}

func newMBRPartition(num int, e mbrEntry, start int64, ss int64, logical bool) Partition {
	name, class := mbrType(e.typ)
	return Partition{
		Number:   num,
		Start:    start,
		Size:     int64(e.count) * ss,
		Type:     fmt.Sprintf("0x%02x", e.typ),
		TypeName: name,
		Class:    class,
		Bootable: e.boot == 0x80,
		Logical:  logical,
	}
}

func readMBR(r io.ReaderAt, size int64, sectorSize int, mbr []byte, es [4]mbrEntry) (*Table, error) {
	ss := int64(sectorSize)
	t := &Table{
		Kind:       MBR,
		SectorSize: sectorSize,
		DiskID:     fmt.Sprintf("0x%08x", binary.LittleEndian.Uint32(mbr[440:])),
	}
	next := 5
	for i, e := range es {
		if e.count == 0 || e.typ == 0 {
			continue
		}
		p := newMBRPartition(i+1, e, int64(e.start)*ss, ss, false)
		t.Partitions = append(t.Partitions, p)
	}
	if err := t.check(size); err != nil {
		return nil, err
	}
	for _, ext := range t.Partitions {
		if ext.Class != ClassExtended || ext.Logical {
			continue
		}
		var err error
		next, err = t.readEBRChain(r, size, ext, next)
		if err != nil {
			return nil, err
		}
	}
	if err := t.check(size); err != nil {
		return nil, err
	}
	return t, nil
}

// readEBRChain follows the chain of extended boot records inside the
// primary extended partition ext, appending logical partitions numbered
// from next. It mirrors the kernel's parse_extended.
func (t *Table) readEBRChain(r io.ReaderAt, size int64, ext Partition, next int) (int, error) {
	ss := int64(t.SectorSize)
	first, firstSize := ext.Start, ext.Size
	this, thisSize := first, firstSize
	seen := map[int64]bool{}
	buf := make([]byte, ss)
	for {
		if seen[this] {
			return next, fmt.Errorf("%w: loop in extended partition chain: EBR at byte %d visited twice", ErrCorrupt, this)
		}
		seen[this] = true
		if len(seen) > maxLogical {
			return next, fmt.Errorf("%w: extended partition chain longer than %d EBRs", ErrCorrupt, maxLogical)
		}
		if this < first || this+ss > first+firstSize || this+ss > size {
			return next, fmt.Errorf("%w: EBR at byte %d lies outside extended partition %d (bytes %d-%d)",
				ErrCorrupt, this, ext.Number, first, first+firstSize)
		}
		if err := disk.ReadFull(r, buf, this); err != nil {
			return next, fmt.Errorf("reading EBR: %w", err)
		}
		if buf[510] != 0x55 || buf[511] != 0xaa {
			t.Warnings = append(t.Warnings, fmt.Sprintf("EBR at byte %d has no 0x55aa signature; chain ends there", this))
			return next, nil
		}
		es := mbrEntries(buf)
		for i, e := range es {
			if e.count == 0 || isExtended(e.typ) {
				continue
			}
			start := this + int64(e.start)*ss
			psize := int64(e.count) * ss
			if i >= 2 {
				// The kernel ignores garbage in the 3rd and 4th slots.
				if int64(e.start)*ss+psize > thisSize || start < first || start+psize > first+firstSize {
					t.Warnings = append(t.Warnings, fmt.Sprintf("ignoring out-of-range entry %d of EBR at byte %d", i+1, this))
					continue
				}
			}
			p := newMBRPartition(next, e, start, ss, true)
			if p.Start < first || p.End() > first+firstSize {
				return next, fmt.Errorf("%w: logical partition %d (bytes %d-%d) lies outside extended partition %d (bytes %d-%d)",
					ErrCorrupt, p.Number, p.Start, p.End(), ext.Number, first, first+firstSize)
			}
			t.Partitions = append(t.Partitions, p)
			next++
		}
		link := -1
		for i, e := range es {
			if e.count != 0 && isExtended(e.typ) {
				link = i
				break
			}
		}
		if link < 0 {
			return next, nil
		}
		e := es[link]
		this = first + int64(e.start)*ss
		thisSize = int64(e.count) * ss
	}
}
