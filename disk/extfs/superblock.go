// Package extfs reads the allocation metadata of ext2, ext3 and ext4
// filesystems: the superblock, the group descriptors and the block bitmaps.
// Its main entry point, UsedRanges, tells which byte ranges of a filesystem
// image hold data, so that a copy can skip the free blocks.
//
// Everything here works on an io.ReaderAt and never writes.
package extfs

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Errors returned by this package. Callers that copy a filesystem should
// treat any of them as "read the whole filesystem".
var (
	// ErrNotExt means the bytes do not carry an ext2/3/4 superblock.
	ErrNotExt = errors.New("not an ext2/3/4 filesystem")
	// ErrUnsupported means the filesystem uses a feature whose allocation
	// metadata this package does not interpret.
	ErrUnsupported = errors.New("unsupported ext feature")
	// ErrInconsistent means the allocation metadata contradicts itself
	// (free counts that do not match the bitmaps, metadata outside the
	// filesystem, a journal that needs recovery, an error state...).
	ErrInconsistent = errors.New("inconsistent ext allocation metadata")
)

const (
	superblockOffset = 1024
	superblockSize   = 1024
	extMagic         = 0xEF53
)

// Feature bits used by this package.
const (
	CompatHasJournal   = 0x0004
	CompatResizeInode  = 0x0010
	CompatSparseSuper2 = 0x0200

	IncompatRecover    = 0x0004
	IncompatJournalDev = 0x0008
	IncompatMetaBG     = 0x0010
	Incompat64Bit      = 0x0080
	IncompatFlexBG     = 0x0200

	RoCompatSparseSuper  = 0x0001
	RoCompatGdtCsum      = 0x0010
	RoCompatBigalloc     = 0x0200
	RoCompatMetadataCsum = 0x0400
)

// Group descriptor flags.
const (
	BGInodeUninit = 0x0001
	BGBlockUninit = 0x0002
)

// Superblock holds the superblock fields needed to locate the allocation
// metadata. Counts are widened to 64 bits where ext4 splits them.
type Superblock struct {
	InodesCount     uint32
	BlocksCount     uint64
	FreeBlocksCount uint64
	FreeInodesCount uint32
	FirstDataBlock  uint32
	LogBlockSize    uint32
	LogClusterSize  uint32
	BlocksPerGroup  uint32
	ClustersPerGrp  uint32
	InodesPerGroup  uint32
	State           uint16
	RevLevel        uint32
	InodeSize       uint16
	FeatureCompat   uint32
	FeatureIncompat uint32
	FeatureRoCompat uint32
	ReservedGDT     uint16
	DescSize        uint16
	FirstMetaBG     uint32
	BackupBGs       [2]uint32
	VolumeName      string
}

// BlockSize is the filesystem block size in bytes.
func (s *Superblock) BlockSize() int64 { return 1024 << s.LogBlockSize }

// ClusterSize is the allocation unit in bytes: the block size unless the
// bigalloc feature is on.
func (s *Superblock) ClusterSize() int64 {
	if s.FeatureRoCompat&RoCompatBigalloc != 0 {
		return 1024 << s.LogClusterSize
	}
	return s.BlockSize()
}

// GroupDescSize is the on-disk size of one group descriptor.
func (s *Superblock) GroupDescSize() int64 {
	if s.FeatureIncompat&Incompat64Bit != 0 && s.DescSize >= 64 {
		return int64(s.DescSize)
	}
	return 32
}

// GroupCount is the number of block groups.
func (s *Superblock) GroupCount() int64 {
	n := int64(s.BlocksCount) - int64(s.FirstDataBlock)
	bpg := int64(s.BlocksPerGroup)
	return (n + bpg - 1) / bpg
}

// HasGroupDescCsum reports whether group descriptors carry checksums, the
// precondition for trusting the BLOCK_UNINIT flag.
func (s *Superblock) HasGroupDescCsum() bool {
	return s.FeatureRoCompat&(RoCompatGdtCsum|RoCompatMetadataCsum) != 0
}

// ParseSuperblock decodes and sanity-checks a 1024-byte ext superblock (the
// bytes at offset 1024 of the filesystem). It returns ErrNotExt when the
// magic is missing and ErrUnsupported or ErrInconsistent for values this
// package cannot work with. It never panics on arbitrary input.
func ParseSuperblock(b []byte) (*Superblock, error) {
	if len(b) < superblockSize {
		return nil, fmt.Errorf("superblock is %d bytes, want %d: %w", len(b), superblockSize, ErrNotExt)
	}
	le := binary.LittleEndian
	if le.Uint16(b[0x38:]) != extMagic {
		return nil, ErrNotExt
	}
	s := &Superblock{
		InodesCount:     le.Uint32(b[0x0:]),
		BlocksCount:     uint64(le.Uint32(b[0x4:])),
		FreeBlocksCount: uint64(le.Uint32(b[0xC:])),
		FreeInodesCount: le.Uint32(b[0x10:]),
		FirstDataBlock:  le.Uint32(b[0x14:]),
		LogBlockSize:    le.Uint32(b[0x18:]),
		LogClusterSize:  le.Uint32(b[0x1C:]),
		BlocksPerGroup:  le.Uint32(b[0x20:]),
		ClustersPerGrp:  le.Uint32(b[0x24:]),
		InodesPerGroup:  le.Uint32(b[0x28:]),
		State:           le.Uint16(b[0x3A:]),
		RevLevel:        le.Uint32(b[0x4C:]),
		InodeSize:       128,
		FeatureCompat:   le.Uint32(b[0x5C:]),
		FeatureIncompat: le.Uint32(b[0x60:]),
		FeatureRoCompat: le.Uint32(b[0x64:]),
		ReservedGDT:     le.Uint16(b[0xCE:]),
		DescSize:        le.Uint16(b[0xFE:]),
		FirstMetaBG:     le.Uint32(b[0x104:]),
		BackupBGs:       [2]uint32{le.Uint32(b[0x24C:]), le.Uint32(b[0x250:])},
		VolumeName:      cstring(b[0x78:0x88]),
	}
	if s.RevLevel >= 1 {
		s.InodeSize = le.Uint16(b[0x58:])
	} else {
		// Revision 0 filesystems have no feature fields.
		s.FeatureCompat, s.FeatureIncompat, s.FeatureRoCompat = 0, 0, 0
		s.ReservedGDT = 0
	}
	if s.FeatureIncompat&Incompat64Bit != 0 {
		s.BlocksCount |= uint64(le.Uint32(b[0x150:])) << 32
		s.FreeBlocksCount |= uint64(le.Uint32(b[0x158:])) << 32
	}
	if s.FeatureRoCompat&RoCompatBigalloc == 0 {
		s.LogClusterSize = s.LogBlockSize
		s.ClustersPerGrp = s.BlocksPerGroup
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Superblock) check() error {
	switch {
	case s.LogBlockSize > 6: // 64 KiB is the largest ext block size
		return fmt.Errorf("block size 1024<<%d: %w", s.LogBlockSize, ErrInconsistent)
	case s.LogClusterSize < s.LogBlockSize || s.LogClusterSize > s.LogBlockSize+16:
		return fmt.Errorf("cluster size 1024<<%d with block size 1024<<%d: %w", s.LogClusterSize, s.LogBlockSize, ErrInconsistent)
	case s.BlocksPerGroup == 0 || s.ClustersPerGrp == 0:
		return fmt.Errorf("zero blocks per group: %w", ErrInconsistent)
	case s.InodesPerGroup == 0:
		return fmt.Errorf("zero inodes per group: %w", ErrInconsistent)
	case s.BlocksCount == 0 || s.BlocksCount > 1<<48 || s.BlocksCount > (1<<62)>>(10+s.LogBlockSize):
		return fmt.Errorf("block count %d: %w", s.BlocksCount, ErrInconsistent)
	case uint64(s.FirstDataBlock) >= s.BlocksCount:
		return fmt.Errorf("first data block %d beyond block count %d: %w", s.FirstDataBlock, s.BlocksCount, ErrInconsistent)
	case s.InodeSize < 128 || s.InodeSize&(s.InodeSize-1) != 0 || int64(s.InodeSize) > s.BlockSize():
		return fmt.Errorf("inode size %d: %w", s.InodeSize, ErrInconsistent)
	}
	bitsPerBitmap := uint64(s.BlockSize()) * 8
	if uint64(s.ClustersPerGrp) > bitsPerBitmap {
		return fmt.Errorf("%d clusters per group do not fit a %d-byte bitmap: %w", s.ClustersPerGrp, s.BlockSize(), ErrInconsistent)
	}
	ratio := uint64(1) << (s.LogClusterSize - s.LogBlockSize)
	if uint64(s.BlocksPerGroup) != uint64(s.ClustersPerGrp)*ratio {
		return fmt.Errorf("%d blocks per group but %d clusters of %d blocks: %w", s.BlocksPerGroup, s.ClustersPerGrp, ratio, ErrInconsistent)
	}
	if s.FeatureRoCompat&RoCompatBigalloc != 0 && s.FirstDataBlock != 0 {
		return fmt.Errorf("bigalloc with first data block %d: %w", s.FirstDataBlock, ErrInconsistent)
	}
	if s.FeatureIncompat&IncompatJournalDev != 0 {
		return fmt.Errorf("external journal device: %w", ErrUnsupported)
	}
	if s.FeatureIncompat&Incompat64Bit != 0 && s.DescSize != 0 &&
		(s.DescSize < 32 || s.DescSize&(s.DescSize-1) != 0 || int64(s.DescSize) > s.BlockSize()) {
		return fmt.Errorf("group descriptor size %d: %w", s.DescSize, ErrInconsistent)
	}
	// Inode table size per group must fit inside a group.
	itb := (uint64(s.InodesPerGroup)*uint64(s.InodeSize) + uint64(s.BlockSize()) - 1) / uint64(s.BlockSize())
	if itb > uint64(s.BlocksPerGroup) {
		return fmt.Errorf("inode table of %d blocks larger than a group of %d: %w", itb, s.BlocksPerGroup, ErrInconsistent)
	}
	groups := uint64(s.GroupCount())
	if groups*uint64(s.InodesPerGroup) > 1<<32 {
		return fmt.Errorf("%d groups of %d inodes overflow 32-bit inode numbers: %w", groups, s.InodesPerGroup, ErrInconsistent)
	}
	return nil
}

// InodeTableBlocks is the number of blocks of one group's inode table.
func (s *Superblock) InodeTableBlocks() int64 {
	bs := s.BlockSize()
	return (int64(s.InodesPerGroup)*int64(s.InodeSize) + bs - 1) / bs
}

func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// GroupDesc is one decoded block group descriptor.
type GroupDesc struct {
	BlockBitmap     uint64
	InodeBitmap     uint64
	InodeTable      uint64
	FreeBlocksCount uint32
	FreeInodesCount uint32
	Flags           uint16
	ItableUnused    uint32
}

// ParseGroupDesc decodes one group descriptor of the given size (32, or the
// superblock's descriptor size with the 64bit feature).
func ParseGroupDesc(b []byte, size int64) (GroupDesc, error) {
	if size < 32 || int64(len(b)) < size {
		return GroupDesc{}, fmt.Errorf("group descriptor of %d bytes, want %d: %w", len(b), size, ErrInconsistent)
	}
	le := binary.LittleEndian
	g := GroupDesc{
		BlockBitmap:     uint64(le.Uint32(b[0x0:])),
		InodeBitmap:     uint64(le.Uint32(b[0x4:])),
		InodeTable:      uint64(le.Uint32(b[0x8:])),
		FreeBlocksCount: uint32(le.Uint16(b[0xC:])),
		FreeInodesCount: uint32(le.Uint16(b[0xE:])),
		Flags:           le.Uint16(b[0x12:]),
		ItableUnused:    uint32(le.Uint16(b[0x1C:])),
	}
	if size >= 64 {
		g.BlockBitmap |= uint64(le.Uint32(b[0x20:])) << 32
		g.InodeBitmap |= uint64(le.Uint32(b[0x24:])) << 32
		g.InodeTable |= uint64(le.Uint32(b[0x28:])) << 32
		g.FreeBlocksCount |= uint32(le.Uint16(b[0x2C:])) << 16
		g.FreeInodesCount |= uint32(le.Uint16(b[0x2E:])) << 16
		g.ItableUnused |= uint32(le.Uint16(b[0x32:])) << 16
	}
	return g, nil
}
