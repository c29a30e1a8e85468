// Package bootcode reads the boot code a PC BIOS runs from a disk: the
// MBR's first 440 bytes, and the boot loader's next stage they load. An
// HVM guest boots exactly this way (its emulated BIOS reads sector 0 of
// the first disk), so verify asks here whether the disk will boot.
//
// It knows GRUB's two generations by their own layout:
//   - GRUB 2 (i386-pc): boot.img in the MBR holds, at offset 0x5c, the
//     sector of core.img's first sector, diskboot.img, whose blocklist
//     (the last 12 bytes) names the rest of core.img, usually in the gap
//     between the MBR and the first partition.
//   - GRUB legacy: stage1 in the MBR holds its version (3.2) at 0x3e and
//     at 0x44 the sector of stage1.5 (or stage2), whose start says
//     "Loading stage".
package bootcode

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

const sector = 512

// Loader names.
const (
	Grub2      = "grub2"
	GrubLegacy = "grub-legacy"
	Other      = "other"
)

// Result is what a BIOS would boot from the disk.
type Result struct {
	// Loader is Grub2, GrubLegacy, Other (boot code xenify does not
	// know), or "" when there is nothing to boot.
	Loader string
	// OK: the boot code and the stage it loads are present.
	OK bool
	// Detail says what was found, or what is missing.
	Detail string
}

// grubMessages are the error strings both GRUB generations' MBR code
// prints ("GRUB " then "Geom", "Hard Disk", "Read", " Error").
var grubMessages = []byte("GRUB \x00Geom\x00Hard Disk\x00Read\x00 Error")

// Inspect reads the boot code of the disk r of size bytes.
func Inspect(r io.ReaderAt, size int64) Result {
	mbr := make([]byte, sector)
	if _, err := r.ReadAt(mbr, 0); err != nil {
		return Result{Detail: "cannot read the MBR: " + err.Error()}
	}
	if mbr[510] != 0x55 || mbr[511] != 0xaa {
		return Result{Detail: "sector 0 has no boot signature (55 aa): the BIOS boots nothing from this disk"}
	}
	if allZero(mbr[:440]) {
		return Result{Detail: "the MBR has a partition table but no boot code: the BIOS boots nothing from this disk"}
	}
	if !bytes.Contains(mbr[:440], grubMessages) {
		return Result{Loader: Other, OK: true, Detail: "the MBR has boot code that is not GRUB's (xenify does not check what it loads)"}
	}
	if mbr[0x3e] == 3 && mbr[0x3f] == 2 {
		return legacy(r, size, mbr)
	}
	return grub2(r, size, mbr)
}

// grub2 follows boot.img to core.img.
func grub2(r io.ReaderAt, size int64, mbr []byte) Result {
	res := Result{Loader: Grub2}
	lba := binary.LittleEndian.Uint64(mbr[0x5c:])
	first, err := readSector(r, size, lba)
	if err != nil {
		res.Detail = fmt.Sprintf("GRUB 2's boot.img is in the MBR, but core.img's first sector (%d) cannot be read: %v", lba, err)
		return res
	}
	if !bytes.Contains(first, []byte("loading\x00")) {
		res.Detail = fmt.Sprintf("GRUB 2's boot.img is in the MBR, but sector %d, where it loads core.img from, holds no diskboot.img: run grub-install on the disk in the guest", lba)
		return res
	}
	// diskboot.img's blocklist: start (8 bytes), length (2), segment
	// (2), from the end of the sector backwards; the first entry is the
	// last 12 bytes.
	start := binary.LittleEndian.Uint64(first[0x1f4:])
	n := binary.LittleEndian.Uint16(first[0x1fc:])
	if n == 0 {
		res.Detail = fmt.Sprintf("GRUB 2's core.img at sector %d has an empty blocklist: run grub-install on the disk in the guest", lba)
		return res
	}
	rest, err := readSector(r, size, start)
	if err != nil || allZero(rest) {
		why := "it is empty"
		if err != nil {
			why = err.Error()
		}
		res.Detail = fmt.Sprintf("GRUB 2's core.img continues at sector %d (%d sectors), but %s: run grub-install on the disk in the guest", start, n, why)
		return res
	}
	if end := int64(start+uint64(n)) * sector; end > size {
		res.Detail = fmt.Sprintf("GRUB 2's core.img runs past the end of the disk (sectors %d to %d)", start, start+uint64(n)-1)
		return res
	}
	res.OK = true
	res.Detail = fmt.Sprintf("GRUB 2: boot.img in the MBR loads core.img from sector %d (diskboot.img, then %d sectors from %d)", lba, n, start)
	return res
}

// legacy follows stage1 to stage1.5 or stage2.
func legacy(r io.ReaderAt, size int64, mbr []byte) Result {
	res := Result{Loader: GrubLegacy}
	lba := uint64(binary.LittleEndian.Uint32(mbr[0x44:]))
	next, err := readSector(r, size, lba)
	if err != nil {
		res.Detail = fmt.Sprintf("GRUB legacy's stage1 is in the MBR, but its next stage at sector %d cannot be read: %v", lba, err)
		return res
	}
	if !bytes.Contains(next, []byte("Loading stage")) {
		res.Detail = fmt.Sprintf("GRUB legacy's stage1 is in the MBR, but sector %d, where it loads the next stage from, holds neither stage1.5 nor stage2: run grub-install on the disk in the guest", lba)
		return res
	}
	res.OK = true
	what := "stage2"
	if bytes.Contains(next, []byte("stage1.5")) {
		what = "stage1.5"
	}
	res.Detail = fmt.Sprintf("GRUB legacy: stage1 in the MBR loads %s from sector %d", what, lba)
	return res
}

func readSector(r io.ReaderAt, size int64, lba uint64) ([]byte, error) {
	if lba == 0 || int64(lba+1)*sector > size {
		return nil, fmt.Errorf("sector %d is outside the disk (%d sectors)", lba, size/sector)
	}
	b := make([]byte, sector)
	if _, err := r.ReadAt(b, int64(lba)*sector); err != nil {
		return nil, err
	}
	return b, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
