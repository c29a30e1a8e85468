package disktest

import (
	"encoding/binary"
	"fmt"
	"time"
)

// MD writes an md RAID member superblock (the md driver, and so `mdadm
// --create`, is unavailable on the test machines) laid out as in the
// kernel's include/uapi/linux/raid/md_p.h, and puts Content into the array
// data area of this member.
type MD struct {
	// Version is "0.90", "1.0", "1.1" or "1.2" (default "1.2").
	Version string
	// Level is the RAID level (default 1).
	Level int
	// RaidDisks is the number of members (default 2).
	RaidDisks int
	// Role is this member's slot.
	Role int
	// UUID is the array UUID (default: a fixed test UUID).
	UUID [16]byte
	// Name is the 1.x array name (e.g. "host:0").
	Name    string
	Content Content
}

var defaultMDUUID = [16]byte{0x6b, 0x8f, 0x1e, 0x2a, 0x44, 0x90, 0x11, 0xee, 0x80, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56}

// MDSuperblock returns the superblock bytes for a member of memberSize
// bytes, where they go (offset in the member), and the array data range
// (offset and size in the member).
func MDSuperblock(m MD, memberSize int64) (sb []byte, sbOff, dataOff, dataSize int64, err error) {
	if m.Version == "" {
		m.Version = "1.2"
	}
	if m.Level == 0 && m.Version != "" {
		m.Level = 1
	}
	if m.RaidDisks == 0 {
		m.RaidDisks = 2
	}
	if m.UUID == [16]byte{} {
		m.UUID = defaultMDUUID
	}
	now := uint64(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).Unix())
	le := binary.LittleEndian
	switch m.Version {
	case "0.90":
		if memberSize < 128*1024 {
			return nil, 0, 0, 0, fmt.Errorf("member of %d bytes too small for 0.90", memberSize)
		}
		sbOff = (memberSize &^ (64*1024 - 1)) - 64*1024
		dataSize = sbOff
		sb = make([]byte, 4096)
		w := func(i int, v uint32) { le.PutUint32(sb[4*i:], v) }
		w(0, 0xa92b4efc)
		w(1, 0)
		w(2, 90)
		w(3, 0)
		w(5, le.Uint32(m.UUID[0:]))
		w(6, uint32(now))
		w(7, uint32(int32(m.Level)))
		w(8, uint32(dataSize/1024))
		w(9, uint32(m.RaidDisks))
		w(10, uint32(m.RaidDisks))
		w(11, 0)
		w(13, le.Uint32(m.UUID[4:]))
		w(14, le.Uint32(m.UUID[8:]))
		w(15, le.Uint32(m.UUID[12:]))
		w(32, uint32(now)) // utime
		w(33, 1)           // state: clean
		w(34, uint32(m.RaidDisks))
		w(35, uint32(m.RaidDisks))
		w(39, 20) // events_lo
		w(64, 0)  // layout
		w(65, 0)  // chunk_size
		disk := func(base, n int) {
			w(base, uint32(n)) // number
			w(base+1, 8)       // major (sd)
			w(base+2, uint32(16*n+1))
			w(base+3, uint32(n)) // raid_disk
			w(base+4, 1<<1|1<<2) // active, sync
		}
		for i := 0; i < m.RaidDisks && i < 27; i++ {
			disk(128+32*i, i)
		}
		disk(992, m.Role)
		var sum uint64
		for i := 0; i < 1024; i++ {
			sum += uint64(le.Uint32(sb[4*i:]))
		}
		w(38, uint32(sum&0xffffffff)+uint32(sum>>32))
		return sb, sbOff, 0, dataSize, nil
	case "1.0", "1.1", "1.2":
	default:
		return nil, 0, 0, 0, fmt.Errorf("unsupported md metadata version %q", m.Version)
	}
	sectors := memberSize / 512
	var dataOffSec, dataSec, superSec int64
	switch m.Version {
	case "1.0":
		superSec = (sectors - 16) &^ 7
		dataOffSec = 0
		dataSec = superSec - 8 // leave room like mdadm does (bitmap space aside)
	case "1.1":
		superSec = 0
		dataOffSec = 2048
		dataSec = sectors - dataOffSec
	case "1.2":
		superSec = 8
		dataOffSec = 2048
		dataSec = sectors - dataOffSec
	}
	if dataSec <= 128 {
		return nil, 0, 0, 0, fmt.Errorf("member of %d bytes too small for %s", memberSize, m.Version)
	}
	compSec := dataSec &^ 127 // RAID1 component size: multiple of 64 KiB
	sb = make([]byte, 4096)
	le.PutUint32(sb[0:], 0xa92b4efc)
	le.PutUint32(sb[4:], 1)
	copy(sb[16:32], m.UUID[:])
	copy(sb[32:64], m.Name)
	le.PutUint64(sb[64:], now)
	le.PutUint32(sb[72:], uint32(int32(m.Level)))
	le.PutUint64(sb[80:], uint64(compSec))
	le.PutUint32(sb[92:], uint32(m.RaidDisks))
	le.PutUint64(sb[128:], uint64(dataOffSec))
	le.PutUint64(sb[136:], uint64(dataSec))
	le.PutUint64(sb[144:], uint64(superSec))
	le.PutUint32(sb[160:], uint32(m.Role)) // dev_number
	for i := range 16 {
		sb[168+i] = byte(0xa0 + i)
	}
	le.PutUint64(sb[192:], now)
	le.PutUint64(sb[200:], 20)         // events
	le.PutUint64(sb[208:], ^uint64(0)) // resync_offset: clean
	le.PutUint32(sb[220:], uint32(m.RaidDisks))
	for i := 0; i < m.RaidDisks; i++ {
		le.PutUint16(sb[256+2*i:], uint16(i))
	}
	n := 256 + 2*m.RaidDisks
	var sum uint64
	for i := 0; i+4 <= n; i += 4 {
		sum += uint64(le.Uint32(sb[i:]))
	}
	if n%4 == 2 {
		sum += uint64(le.Uint16(sb[n-2:]))
	}
	le.PutUint32(sb[216:], uint32(sum&0xffffffff)+uint32(sum>>32))
	return sb, superSec * 512, dataOffSec * 512, compSec * 512, nil
}

func (m MD) build(b *builder, where string, off, size int64) {
	t := b.t
	t.Helper()
	sb, sbOff, dataOff, dataSize, err := MDSuperblock(m, size)
	if err != nil {
		t.Fatal(err)
	}
	WriteAt(t, b.path, sb, off+sbOff)
	b.add(Volume{Where: where + "/md", Kind: "linux_raid_member", Offset: off, Size: size, Linear: true})
	if m.Content != nil {
		m.Content.build(b, where+"/md/data", off+dataOff, dataSize)
	}
}
