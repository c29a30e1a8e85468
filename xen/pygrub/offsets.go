package pygrub

import (
	"encoding/binary"
	"fmt"
	"io"
)

const sectorSize = 512

// MBR partition types pygrub treats specially.
const (
	typeSolaris    = 0xbf
	typeSolarisOld = 0x82 // also Linux swap: pygrub looks for a VTOC there
	typeGPT        = 0xee
)

// PartitionOffsets returns the byte offsets at which pygrub 4.17 tries to
// open a filesystem, in the order it tries them, reproducing
// get_partition_offsets() including its quirks:
//
//   - Without the 0x55aa signature the whole disk is one filesystem ([0]).
//   - MBR primary slots are taken in slot order; the active flag is
//     ignored (under Python 3 the comparison with '\x80' never matches),
//     the partition type is ignored except 0xbf/0x82 (Solaris VTOC probe;
//     a Linux swap partition is therefore skipped) and 0xee.
//   - Logical partitions inside an extended partition are never tried;
//     the extended container itself is.
//   - 0xee (GPT) appends the start of every entry of the GPT entry array,
//     read as if it started at LBA 2 whatever the header says, including
//     empty entries (offset 0), and stops scanning the MBR.
//   - No usable entry at all yields [0].
//
// An error is what makes pygrub itself crash (a traceback, exit status 1)
// before it tries any filesystem, e.g. a GPT header claiming more entries
// than the disk holds.
func PartitionOffsets(r io.ReaderAt, size int64) ([]int64, error) {
	buf := make([]byte, 0x8006)
	n, err := r.ReadAt(buf, 0)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("reading disk header: %w", err)
	}
	buf = buf[:n]
	if len(buf) < 512 || binary.LittleEndian.Uint16(buf[0x1fe:]) != 0xaa55 {
		return []int64{0}, nil
	}
	var offs []int64
	for _, poff := range []int{446, 462, 478, 494} {
		e := buf[poff : poff+16]
		offset := int64(binary.LittleEndian.Uint32(e[8:12])) * sectorSize
		typ := e[4]
		if offset == 0 {
			continue
		}
		if typ == typeSolaris || typ == typeSolarisOld {
			slice, ok, err := solarisSlice(r, offset)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			offset += slice
		}
		if typ == typeGPT {
			g, err := gptOffsets(r, size)
			if err != nil {
				return nil, err
			}
			offs = append(offs, g...)
			break
		}
		offs = append(offs, offset)
	}
	if len(offs) == 0 {
		offs = []int64{0}
	}
	return offs, nil
}

// readShort reads like os.read: up to len(p) bytes, fewer at the end.
func readShort(r io.ReaderAt, p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("negative offset %d", off)
	}
	n, err := r.ReadAt(p, off)
	if err == io.EOF {
		err = nil
	}
	return n, err
}

// solarisSlice is get_solaris_slice: ok is false when pygrub's
// RuntimeError makes it skip the partition.
func solarisSlice(r io.ReaderAt, offset int64) (int64, bool, error) {
	buf := make([]byte, 512)
	n, err := readShort(r, buf, offset+sectorSize)
	if err != nil {
		return 0, false, fmt.Errorf("reading disk label at %d: %w", offset+sectorSize, err)
	}
	buf = buf[:n]
	if len(buf) < 510 {
		return 0, false, fmt.Errorf("disk label at %d: struct.error: short read (%d bytes)", offset+sectorSize, n)
	}
	if binary.LittleEndian.Uint16(buf[508:]) != 0xdabe {
		return 0, false, nil
	}
	if len(buf) < 32 {
		return 0, false, fmt.Errorf("disk label at %d: struct.error: short read", offset)
	}
	nslices := int(binary.LittleEndian.Uint16(buf[30:]))
	for i := 0; i < nslices; i++ {
		so := 72 + 12*i
		if so+8 > len(buf) {
			return 0, false, fmt.Errorf("disk label at %d: struct.error: slice %d beyond sector", offset, i)
		}
		if binary.LittleEndian.Uint16(buf[so:]) == 0x2 { // V_ROOT
			return int64(binary.LittleEndian.Uint32(buf[so+4:])) * sectorSize, true, nil
		}
	}
	return 0, false, nil
}

// maxGPTEntries bounds the work on hostile headers; pygrub itself would
// read on until a short read makes it crash, which the size check below
// reproduces.
func gptOffsets(r io.ReaderAt, size int64) ([]int64, error) {
	hdr := make([]byte, 512)
	n, err := readShort(r, hdr, sectorSize)
	if err != nil {
		return nil, fmt.Errorf("reading GPT header: %w", err)
	}
	if n < 88 {
		return nil, fmt.Errorf("GPT header: struct.error: short read (%d bytes)", n)
	}
	count := int64(binary.LittleEndian.Uint32(hdr[80:84]))
	esize := int64(binary.LittleEndian.Uint32(hdr[84:88]))
	pos := int64(2 * sectorSize) // the file position after reading LBA 1
	if size >= 0 && count > 0 {
		// Each entry needs 40 readable bytes at its position, else
		// struct.unpack on the short buffer raises.
		last := pos + (count-1)*esize
		if esize < 40 || last+40 > size {
			return nil, fmt.Errorf("GPT entry array (%d entries of %d bytes): struct.error: reads past the end of the disk", count, esize)
		}
	}
	var offs []int64
	e := make([]byte, 40)
	for i := int64(0); i < count; i++ {
		m, err := readShort(r, e, pos)
		if err != nil {
			return nil, fmt.Errorf("reading GPT entry %d: %w", i, err)
		}
		if m < 40 {
			return nil, fmt.Errorf("GPT entry %d: struct.error: short read", i)
		}
		lba := binary.LittleEndian.Uint64(e[32:40])
		if lba >= 1<<53 {
			offs = append(offs, -1) // beyond any disk: nothing can be opened there
		} else {
			offs = append(offs, int64(lba)*sectorSize)
		}
		pos += esize
	}
	return offs, nil
}
