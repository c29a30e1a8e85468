// Package fsprobe identifies what a byte range of a disk holds by looking
// at superblocks, like a small pure-Go blkid: ext2/ext3/ext4, xfs, btrfs,
// swap, LVM2 PV, md RAID member, vfat, iso9660.
//
// Type names and UUID formats follow blkid (TYPE= and UUID=), so results
// can be compared with `blkid -p` and written into fstab. RAID members and
// LVM PVs are reported before filesystems, as blkid does: an md 0.90/1.0
// RAID1 member also shows its filesystem at offset 0, but it must be
// reached through the md layer (see package md).
//
// Probe reads at most a few hundred KiB, never writes, and never panics on
// corrupt input; an unrecognised range yields Result{Type: ""} and no error.
package fsprobe

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xenify/xenify/disk/lvm"
	"github.com/xenify/xenify/disk/md"
)

// Type names, as blkid reports them.
const (
	Ext2      = "ext2"
	Ext3      = "ext3"
	Ext4      = "ext4"
	XFS       = "xfs"
	Btrfs     = "btrfs"
	Swap      = "swap"
	LVM2PV    = "LVM2_member"
	MDMember  = "linux_raid_member"
	VFAT      = "vfat"
	ISO9660   = "iso9660"
	JBD       = "jbd" // external ext3/4 journal device
	SwSuspend = "swsuspend"
	LUKS      = "crypto_LUKS"
)

// Result describes what was found. Type is empty when nothing was
// recognised.
type Result struct {
	Type  string
	UUID  string
	Label string
	// Version is a type-specific version string (ext: revision "1.0";
	// xfs: "4" or "5"; swap: "1"; LVM2: "LVM2 001"; md: "1.2"; vfat: "FAT32").
	Version string
	// BlockSize is the filesystem block size in bytes (0 if not applicable).
	BlockSize int64
	// Size is the size in bytes the filesystem/volume claims (0 if unknown).
	Size int64

	Ext   *ExtInfo
	XFS   *XFSInfo
	Swap  *SwapInfo
	MD    *md.Superblock
	LVM   *lvm.Label
	Btrfs *BtrfsInfo
	LUKS  *LUKSInfo
}

// ExtInfo holds ext2/3/4 superblock details.
type ExtInfo struct {
	BlocksCount, FreeBlocks int64
	InodesCount, FreeInodes uint32
	InodeSize               int
	RevLevel                uint32
	FeatureCompat           uint32
	FeatureIncompat         uint32
	FeatureROCompat         uint32
	// Features are the names of the set feature flags, as in
	// `dumpe2fs -h` (has_journal, extent, 64bit, metadata_csum, ...).
	Features []string
	// LastMounted is s_last_mounted (the mount point it was last mounted on).
	LastMounted string
	// State is s_state (1 clean, 2 errors).
	State uint16
}

// Has reports whether the named feature is set.
func (e *ExtInfo) Has(feature string) bool {
	for _, f := range e.Features {
		if f == feature {
			return true
		}
	}
	return false
}

// XFSInfo holds XFS superblock details.
type XFSInfo struct {
	// Version is sb_versionnum & 0xf; 5 means CRC-enabled metadata
	// (v5), which old bootloaders (pygrub of RHEL 5 era) cannot read.
	Version          int
	VersionNum       uint16
	DataBlocks       uint64
	FreeBlocks       uint64
	SectorSize       int
	InodeSize        int
	AGCount          uint32
	Features2        uint32
	FeaturesIncompat uint32
}

// SwapInfo holds swap header details.
type SwapInfo struct {
	// PageSize is the page size the header was written for.
	PageSize int
	// Version is 1 for "SWAPSPACE2", 0 for the old "SWAP-SPACE".
	Version  int
	LastPage uint32
}

// BtrfsInfo holds btrfs superblock details.
type BtrfsInfo struct {
	TotalBytes, BytesUsed uint64
	NumDevices            uint64
	// DevUUID is the UUID of this device (blkid UUID_SUB).
	DevUUID string
}

// Probe identifies the contents of r, a byte range of the given size.
func Probe(r io.ReaderAt, size int64) (Result, error) {
	if size < 0 {
		return Result{}, fmt.Errorf("negative size %d", size)
	}
	// RAID and LVM first, like blkid.
	// A damaged md superblock or LVM label is ignored, as blkid does, and
	// probing continues with the filesystems.
	if sb, err := md.Examine(r, size); err == nil {
		return Result{
			Type:    MDMember,
			UUID:    formatUUID(sb.UUIDBytes[:]),
			Label:   sb.Name,
			Version: sb.Version,
			MD:      sb,
		}, nil
	}
	if l, err := lvm.ReadLabel(r, size); err == nil {
		return Result{Type: LVM2PV, UUID: l.PVID, Version: l.Type, LVM: l, Size: l.DeviceSize}, nil
	}
	probers := []func(io.ReaderAt, int64) (Result, bool, error){
		probeLUKS, probeExt, probeXFS, probeBtrfs, probeSwap, probeISO, probeVFAT,
	}
	for _, p := range probers {
		res, ok, err := p(r, size)
		if err != nil {
			return Result{}, err
		}
		if ok {
			return res, nil
		}
	}
	return Result{}, nil
}

// read returns n bytes at off, or ok=false if the range is beyond size.
func read(r io.ReaderAt, size, off int64, n int) ([]byte, bool, error) {
	if off < 0 || off+int64(n) > size {
		return nil, false, nil
	}
	buf := make([]byte, n)
	got, err := r.ReadAt(buf, off)
	if got == n {
		return buf, true, nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return nil, false, fmt.Errorf("reading %d bytes at offset %d: %w", n, off, err)
}

// formatUUID formats 16 bytes as a standard 8-4-4-4-12 UUID.
func formatUUID(b []byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// cstring returns b up to the first NUL, with invalid UTF-8 replaced.
func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	if !utf8.Valid(b) {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(b)
}

var le = binary.LittleEndian
var be = binary.BigEndian
