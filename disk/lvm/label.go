// Package lvm reads LVM2 physical volumes without device-mapper: the label
// and PV header, the metadata area with its circular text buffer, and the
// text metadata itself, and maps linear logical volumes to byte ranges on
// their physical volume.
//
// On-disk layout (all little-endian):
//
//	sector 0..3: label_header "LABELONE", sector, crc, offset, "LVM2 001"
//	label+offset: pv_header: 32-char PV UUID, device size, then lists of
//	              (offset, size) data areas and metadata areas, each
//	              terminated by a zero entry
//	mda start:    mda_header: crc, magic "\x20LVM2 x[5A%r0N*>", version,
//	              start, size, raw_locn{offset, size, checksum, flags}...
//	mda start + raw_locn.offset: metadata text (wrapping to mda start + 512)
//
// Checksums use LVM's CRC-32 variant (see CRC). A VG spanning several PVs
// is described identically on each PV; callers map stripes to devices by
// PV UUID (PhysicalVolume.ID / Label.PVID).
//
// Typical use:
//
//	pv, err := lvm.ReadPV(sectionReader, partSize)
//	loc, err := pv.VG.Locate("LogVol00") // errors.Is(err, lvm.ErrNotLinear) for striped/mirrored/split LVs
//	// the LV's data is bytes [loc.Offset, loc.Offset+loc.Size) of the PV whose UUID is loc.PVID
package lvm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/xenify/xenify/disk"
)

// InitialCRC is the seed of LVM's checksum (INITIAL_CRC in lib/misc/crc.h).
const InitialCRC = 0xf597a6cf

// MDAMagic is the magic of a metadata area header.
const MDAMagic = "\x20LVM2 x[5A%r0N*>"

var (
	// ErrNoLabel is returned when none of the first four sectors holds an
	// LVM2 label.
	ErrNoLabel = errors.New("no LVM2 label found")
	// ErrChecksum is wrapped by errors about checksum mismatches.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrNotLinear is wrapped by Locate when an LV cannot be mapped to one
	// contiguous byte range on one PV.
	ErrNotLinear = errors.New("logical volume is not linear")
)

// CRC computes LVM's checksum (calc_crc in lib/misc/crc.c): the reflected
// CRC-32 polynomial without the initial and final inversion, seeded with
// initial (InitialCRC for a fresh checksum).
func CRC(initial uint32, p []byte) uint32 {
	return ^crc32.Update(^initial, crc32.IEEETable, p)
}

// Area is a (offset, size) byte range on the PV; Size 0 means "to the end
// of the device" for data areas.
type Area struct {
	Offset, Size int64
}

// Label is a decoded LVM2 label and PV header.
type Label struct {
	// Sector is the sector (0-3) holding "LABELONE".
	Sector int
	// Type is the label type, "LVM2 001".
	Type string
	// PVID is the PV UUID in LVM's dashed form (6-4-4-4-4-4-6).
	PVID string
	// DeviceSize is the device size recorded in the PV header, in bytes.
	DeviceSize    int64
	DataAreas     []Area
	MetadataAreas []Area
}

// FormatID inserts dashes into a 32-character LVM UUID the way LVM prints
// it (6-4-4-4-4-4-6). Other input is returned unchanged.
func FormatID(raw string) string {
	if len(raw) != 32 {
		return raw
	}
	return raw[0:6] + "-" + raw[6:10] + "-" + raw[10:14] + "-" + raw[14:18] + "-" +
		raw[18:22] + "-" + raw[22:26] + "-" + raw[26:32]
}

// ReadLabel finds and decodes the LVM2 label and PV header in the first four
// sectors of a PV of the given size.
func ReadLabel(r io.ReaderAt, size int64) (*Label, error) {
	if size < 2048 {
		return nil, ErrNoLabel
	}
	buf := make([]byte, 2048)
	if err := disk.ReadFull(r, buf, 0); err != nil {
		return nil, fmt.Errorf("reading LVM label: %w", err)
	}
	for s := 0; s < 4; s++ {
		sec := buf[s*512 : (s+1)*512]
		if !bytes.Equal(sec[:8], []byte("LABELONE")) {
			continue
		}
		if got := binary.LittleEndian.Uint64(sec[8:]); got != uint64(s) {
			return nil, fmt.Errorf("LVM label in sector %d claims sector %d", s, got)
		}
		want := binary.LittleEndian.Uint32(sec[16:])
		if got := CRC(InitialCRC, sec[20:]); got != want {
			return nil, fmt.Errorf("LVM label in sector %d: %w: crc 0x%08x, want 0x%08x", s, ErrChecksum, got, want)
		}
		off := binary.LittleEndian.Uint32(sec[20:])
		l := &Label{Sector: s, Type: string(bytes.TrimRight(sec[24:32], "\x00 "))}
		if string(sec[24:32]) != "LVM2 001" {
			return nil, fmt.Errorf("LVM label in sector %d has unsupported type %q", s, sec[24:32])
		}
		if off < 32 || off+32+8 > 512 {
			return nil, fmt.Errorf("LVM label in sector %d: pv_header offset %d out of range", s, off)
		}
		h := sec[off:]
		l.PVID = FormatID(string(h[:32]))
		l.DeviceSize = int64(binary.LittleEndian.Uint64(h[32:]))
		if l.DeviceSize < 0 {
			return nil, fmt.Errorf("LVM PV header: bad device size")
		}
		p := h[40:]
		list := &l.DataAreas
		for lists := 0; lists < 2; {
			if len(p) < 16 {
				return nil, fmt.Errorf("LVM PV header: area lists run past the label sector")
			}
			o := binary.LittleEndian.Uint64(p)
			n := binary.LittleEndian.Uint64(p[8:])
			p = p[16:]
			if o == 0 && n == 0 {
				lists++
				list = &l.MetadataAreas
				continue
			}
			if o > 1<<62 || n > 1<<62 {
				return nil, fmt.Errorf("LVM PV header: area offset %d size %d out of range", o, n)
			}
			*list = append(*list, Area{Offset: int64(o), Size: int64(n)})
		}
		return l, nil
	}
	return nil, ErrNoLabel
}

// ReadMetadata returns the committed metadata text of the PV, read from the
// first usable metadata area, after checking the mda_header and text
// checksums. If every metadata area is damaged it returns an error (wrapping
// ErrChecksum for checksum mismatches).
func ReadMetadata(r io.ReaderAt, size int64, l *Label) ([]byte, error) {
	if len(l.MetadataAreas) == 0 {
		return nil, fmt.Errorf("PV %s has no metadata areas", l.PVID)
	}
	var errs []error
	for _, a := range l.MetadataAreas {
		text, err := readMDA(r, size, a)
		if err == nil {
			return text, nil
		}
		errs = append(errs, fmt.Errorf("metadata area at offset %d: %w", a.Offset, err))
	}
	return nil, errors.Join(errs...)
}

var errIgnored = errors.New("metadata area is marked ignored")

func readMDA(r io.ReaderAt, size int64, a Area) ([]byte, error) {
	if a.Offset < 0 || a.Size < 512 || a.Offset > size || a.Size > size-a.Offset {
		return nil, fmt.Errorf("area (size %d) outside the %d-byte device", a.Size, size)
	}
	hdr := make([]byte, 512)
	if err := disk.ReadFull(r, hdr, a.Offset); err != nil {
		return nil, err
	}
	if string(hdr[4:20]) != MDAMagic {
		return nil, fmt.Errorf("bad mda_header magic %q", hdr[4:20])
	}
	if got, want := CRC(InitialCRC, hdr[4:]), binary.LittleEndian.Uint32(hdr); got != want {
		return nil, fmt.Errorf("mda_header %w: crc 0x%08x, want 0x%08x", ErrChecksum, got, want)
	}
	if v := binary.LittleEndian.Uint32(hdr[20:]); v != 1 {
		return nil, fmt.Errorf("unsupported mda_header version %d", v)
	}
	if start := binary.LittleEndian.Uint64(hdr[24:]); start != uint64(a.Offset) {
		return nil, fmt.Errorf("mda_header start %d does not match its location", start)
	}
	mdaSize := binary.LittleEndian.Uint64(hdr[32:])
	if mdaSize < 1024 || mdaSize > uint64(a.Size) {
		return nil, fmt.Errorf("mda_header size %d invalid for a %d-byte area", mdaSize, a.Size)
	}
	rl := hdr[40:]
	off := binary.LittleEndian.Uint64(rl)
	n := binary.LittleEndian.Uint64(rl[8:])
	sum := binary.LittleEndian.Uint32(rl[16:])
	flags := binary.LittleEndian.Uint32(rl[20:])
	if flags&1 != 0 {
		return nil, errIgnored
	}
	if off == 0 && n == 0 {
		return nil, fmt.Errorf("metadata area holds no metadata")
	}
	// The circular buffer is [512, mdaSize) relative to the area start.
	if off < 512 || off >= mdaSize || n > mdaSize-512 || n > maxTextSize {
		return nil, fmt.Errorf("raw_locn offset %d size %d outside the %d-byte metadata buffer", off, n, mdaSize)
	}
	text := make([]byte, n)
	first := n
	if off+n > mdaSize {
		first = mdaSize - off
	}
	if err := disk.ReadFull(r, text[:first], a.Offset+int64(off)); err != nil {
		return nil, err
	}
	if first < n {
		if err := disk.ReadFull(r, text[first:], a.Offset+512); err != nil {
			return nil, err
		}
	}
	if got := CRC(InitialCRC, text); got != sum {
		return nil, fmt.Errorf("metadata text %w: crc 0x%08x, want 0x%08x", ErrChecksum, got, sum)
	}
	return bytes.TrimRight(text, "\x00"), nil
}
