// Package md reads Linux software RAID (md) member superblocks, versions
// 0.90 and 1.0/1.1/1.2, from a member device or image without assembling
// the array (no md driver needed).
//
// The main use is RAID1: every member holds a full copy of the array data,
// so the array's filesystem can be reached directly at a byte range inside
// one member (see Superblock.RAID1Range) and attached with
// `losetup --offset --sizelimit`.
//
// Superblock locations (size is the member size in bytes):
//
//	0.90: (size &^ (64KiB-1)) - 64KiB, 4 KiB long, host-endian
//	1.0:  ((size/512 - 16) &^ 7) * 512
//	1.1:  0
//	1.2:  4096
//
// Input is untrusted: Examine never panics and checks the checksum.
package md

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/xenify/xenify/disk"
)

// Magic is the md superblock magic number.
const Magic = 0xa92b4efc

// ErrNotFound is returned by Examine when no md superblock is present.
var ErrNotFound = errors.New("no md superblock found")

// Role values for 1.x superblocks that are not an active slot.
const (
	RoleSpare  = -1 // 0xffff in dev_roles
	RoleFaulty = -2 // 0xfffe in dev_roles
)

// Superblock is the decoded superblock of one md member.
type Superblock struct {
	// Version is "0.90", "1.0", "1.1" or "1.2".
	Version string
	// Offset is the byte offset of the superblock in the member.
	Offset int64
	// UUID is the array UUID in mdadm's format
	// ("xxxxxxxx:xxxxxxxx:xxxxxxxx:xxxxxxxx").
	UUID string
	// UUIDBytes is the array UUID in the byte order blkid prints it (for
	// 0.90: the four uuid words, each as a big-endian number).
	UUIDBytes [16]byte
	// Name is the 1.x array name ("host:name"); empty for 0.90.
	Name string
	// Level is the RAID level: -4 multipath, -1 linear, 0, 1, 4, 5, 6, 10.
	Level int
	// Layout and ChunkSize (bytes) are the level's layout parameters.
	Layout    int
	ChunkSize int64
	// RaidDisks is the number of devices in a complete array.
	RaidDisks int
	// DevNumber is the device's number (0.90: this_disk.number; 1.x:
	// dev_number, the index into dev_roles).
	DevNumber int
	// Role is the device's slot in the array (0.90: this_disk.raid_disk),
	// or RoleSpare / RoleFaulty.
	Role int
	// DataOffset and DataSize are the byte range of the member that holds
	// array data (0.90: 0 and the superblock offset).
	DataOffset, DataSize int64
	// ComponentSize is the number of bytes of each member that the array
	// uses (0.90: size field in KiB; 1.x: size field in sectors), starting
	// at DataOffset. For RAID1 it is the array size.
	ComponentSize int64
	// Events is the event counter.
	Events uint64
	// Clean is true when the array was cleanly stopped (0.90 MD_SB_CLEAN;
	// 1.x resync_offset == MaxSector).
	Clean bool
	// FeatureMap is the 1.x feature map (bit 0: bitmap present).
	FeatureMap uint32
	// CTime and UTime are creation and update times.
	CTime, UTime time.Time
	// BigEndian is true for a 0.90 superblock written by a big-endian host.
	BigEndian bool
}

// Examine looks for an md superblock on a member of the given size, trying
// 1.2, 1.1, 1.0 and then 0.90 (like mdadm's auto-detection, but preferring
// the first one found). It returns ErrNotFound when there is none.
func Examine(r io.ReaderAt, size int64) (*Superblock, error) {
	type try struct {
		version string
		offset  int64
	}
	var tries []try
	if size >= 8192+4096 {
		tries = append(tries, try{"1.2", 4096}, try{"1.1", 0})
	}
	if size >= 8*1024 {
		sectors := size / 512
		tries = append(tries, try{"1.0", ((sectors - 16) &^ 7) * 512})
	}
	var firstErr error
	for _, t := range tries {
		sb, err := examine1(r, size, t.offset, t.version)
		if err == nil {
			return sb, nil
		}
		if !errors.Is(err, ErrNotFound) && firstErr == nil {
			firstErr = err
		}
	}
	if size >= 128*1024 {
		sb, err := examine0(r, size)
		if err == nil {
			return sb, nil
		}
		if !errors.Is(err, ErrNotFound) && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return nil, ErrNotFound
}

// Offset090 returns where a 0.90 superblock lives on a member of the given
// size in bytes.
func Offset090(size int64) int64 { return (size &^ (64*1024 - 1)) - 64*1024 }

// Offset10 returns where a 1.0 superblock lives on a member of the given size.
func Offset10(size int64) int64 { return ((size/512 - 16) &^ 7) * 512 }

// DataRange returns the byte range of the member that the array uses:
// DataOffset and ComponentSize (or DataSize when ComponentSize is unknown).
func (s *Superblock) DataRange() (offset, size int64) {
	if s.ComponentSize > 0 && s.ComponentSize <= s.DataSize {
		return s.DataOffset, s.ComponentSize
	}
	return s.DataOffset, s.DataSize
}

// RAID1Range returns the byte range inside this member that holds the
// complete array contents, which is only defined for RAID1 (and for
// single-member linear arrays). For other levels it returns an error.
func (s *Superblock) RAID1Range() (offset, size int64, err error) {
	if s.Level != 1 && !(s.Level == -1 && s.RaidDisks == 1) {
		return 0, 0, fmt.Errorf("md array %s is RAID level %d, not RAID1: its data cannot be read from one member", s.UUID, s.Level)
	}
	if s.Role < 0 {
		return 0, 0, fmt.Errorf("md member of array %s is a spare or faulty device (role %d), not an in-sync mirror", s.UUID, s.Role)
	}
	off, n := s.DataRange()
	return off, n, nil
}

func examine0(r io.ReaderAt, size int64) (*Superblock, error) {
	off := Offset090(size)
	buf := make([]byte, 4096)
	if err := disk.ReadFull(r, buf, off); err != nil {
		return nil, fmt.Errorf("reading 0.90 superblock: %w", err)
	}
	var bo binary.ByteOrder
	switch {
	case binary.LittleEndian.Uint32(buf) == Magic:
		bo = binary.LittleEndian
	case binary.BigEndian.Uint32(buf) == Magic:
		bo = binary.BigEndian
	default:
		return nil, ErrNotFound
	}
	w := func(i int) uint32 { return bo.Uint32(buf[4*i:]) }
	if w(1) != 0 || w(2) != 90 {
		return nil, fmt.Errorf("md superblock at offset %d: version %d.%d, want 0.90", off, w(1), w(2))
	}
	var sum uint64
	for i := 0; i < 1024; i++ {
		if i == 32+6 {
			continue // sb_csum
		}
		sum += uint64(w(i))
	}
	csum := uint32(sum&0xffffffff) + uint32(sum>>32)
	if got := w(32 + 6); got != csum {
		return nil, fmt.Errorf("md 0.90 superblock at offset %d: checksum 0x%08x, want 0x%08x", off, got, csum)
	}
	sb := &Superblock{
		Version:   "0.90",
		Offset:    off,
		Level:     int(int32(w(7))),
		RaidDisks: int(w(10)),
		Layout:    int(w(64)),
		ChunkSize: int64(w(65)),
		CTime:     time.Unix(int64(w(6)), 0).UTC(),
		UTime:     time.Unix(int64(w(32)), 0).UTC(),
		Clean:     w(33)&1 != 0,
		BigEndian: bo == binary.BigEndian,
	}
	// events_lo/hi are native-endian words: on little-endian lo comes first.
	if bo == binary.LittleEndian {
		sb.Events = uint64(w(32+8))<<32 | uint64(w(32+7))
	} else {
		sb.Events = uint64(w(32+7))<<32 | uint64(w(32+8))
	}
	words := []uint32{w(5), w(13), w(14), w(15)}
	sb.UUID = fmt.Sprintf("%08x:%08x:%08x:%08x", words[0], words[1], words[2], words[3])
	for i, w := range words {
		binary.BigEndian.PutUint32(sb.UUIDBytes[4*i:], w)
	}
	// this_disk descriptor at word 992.
	sb.DevNumber = int(w(992))
	sb.Role = int(w(992 + 3))
	if w(992+4)&(1<<0) != 0 { // MD_DISK_FAULTY
		sb.Role = RoleFaulty
	} else if w(992+4)&(1<<2) == 0 && sb.Role >= sb.RaidDisks { // not in sync, beyond raid_disks: spare
		sb.Role = RoleSpare
	}
	sb.DataOffset = 0
	sb.DataSize = off
	sb.ComponentSize = int64(w(8)) * 1024
	return sb, nil
}

func examine1(r io.ReaderAt, size, off int64, version string) (*Superblock, error) {
	if off < 0 || off+1024 > size {
		return nil, ErrNotFound
	}
	buf := make([]byte, 1024)
	if err := disk.ReadFull(r, buf, off); err != nil {
		return nil, fmt.Errorf("reading %s superblock: %w", version, err)
	}
	le := binary.LittleEndian
	if le.Uint32(buf) != Magic || le.Uint32(buf[4:]) != 1 {
		return nil, ErrNotFound
	}
	superOffset := int64(le.Uint64(buf[144:]))
	if superOffset*512 != off {
		// A 1.x superblock found at another version's location (e.g. a
		// 1.1 superblock probed as 1.0) is not a match for this version.
		return nil, ErrNotFound
	}
	maxDev := le.Uint32(buf[220:])
	if maxDev > 384 {
		return nil, fmt.Errorf("md %s superblock at offset %d: max_dev %d too large", version, off, maxDev)
	}
	n := 256 + int(maxDev)*2
	var sum uint64
	for i := 0; i+4 <= n; i += 4 {
		if i == 216 {
			continue
		}
		sum += uint64(le.Uint32(buf[i:]))
	}
	if n%4 == 2 {
		sum += uint64(le.Uint16(buf[n-2:]))
	}
	csum := uint32(sum&0xffffffff) + uint32(sum>>32)
	if got := le.Uint32(buf[216:]); got != csum {
		return nil, fmt.Errorf("md %s superblock at offset %d: checksum 0x%08x, want 0x%08x", version, off, got, csum)
	}
	sb := &Superblock{
		Version:       version,
		Offset:        off,
		FeatureMap:    le.Uint32(buf[8:]),
		Name:          strings.TrimRight(string(buf[32:64]), "\x00"),
		CTime:         time.Unix(int64(le.Uint64(buf[64:])&(1<<40-1)), 0).UTC(),
		Level:         int(int32(le.Uint32(buf[72:]))),
		Layout:        int(le.Uint32(buf[76:])),
		ComponentSize: sectors(le.Uint64(buf[80:])),
		ChunkSize:     int64(le.Uint32(buf[88:])) * 512,
		RaidDisks:     int(le.Uint32(buf[92:])),
		DataOffset:    sectors(le.Uint64(buf[128:])),
		DataSize:      sectors(le.Uint64(buf[136:])),
		DevNumber:     int(le.Uint32(buf[160:])),
		UTime:         time.Unix(int64(le.Uint64(buf[192:])&(1<<40-1)), 0).UTC(),
		Events:        le.Uint64(buf[200:]),
		Clean:         le.Uint64(buf[208:]) == ^uint64(0),
	}
	copy(sb.UUIDBytes[:], buf[16:32])
	u := buf[16:32]
	sb.UUID = fmt.Sprintf("%x:%x:%x:%x", u[0:4], u[4:8], u[8:12], u[12:16])
	if sb.DataOffset < 0 || sb.DataSize < 0 || sb.DataOffset > size || sb.DataSize > size-sb.DataOffset {
		return nil, fmt.Errorf("md %s superblock at offset %d: data area %d+%d outside the %d-byte member", version, off, sb.DataOffset, sb.DataSize, size)
	}
	if sb.ComponentSize < 0 {
		return nil, fmt.Errorf("md %s superblock at offset %d: bad component size", version, off)
	}
	sb.Role = RoleSpare
	if uint32(sb.DevNumber) < maxDev {
		role := le.Uint16(buf[256+2*sb.DevNumber:])
		switch role {
		case 0xffff:
			sb.Role = RoleSpare
		case 0xfffe:
			sb.Role = RoleFaulty
		default:
			sb.Role = int(role)
		}
	}
	return sb, nil
}

// sectors converts a sector count to bytes, saturating to -1 on overflow
// so that range checks reject it.
func sectors(n uint64) int64 {
	if n > 1<<54 {
		return -1
	}
	return int64(n) * 512
}
