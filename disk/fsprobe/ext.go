package fsprobe

import (
	"fmt"
	"io"
)

var extCompat = []struct {
	bit  uint32
	name string
}{
	{0x1, "dir_prealloc"}, {0x2, "imagic_inodes"}, {0x4, "has_journal"}, {0x8, "ext_attr"},
	{0x10, "resize_inode"}, {0x20, "dir_index"}, {0x200, "sparse_super2"}, {0x400, "fast_commit"},
	{0x800, "stable_inodes"}, {0x1000, "orphan_file"},
}

var extIncompat = []struct {
	bit  uint32
	name string
}{
	{0x1, "compression"}, {0x2, "filetype"}, {0x4, "needs_recovery"}, {0x8, "journal_dev"},
	{0x10, "meta_bg"}, {0x40, "extent"}, {0x80, "64bit"}, {0x100, "mmp"}, {0x200, "flex_bg"},
	{0x400, "ea_inode"}, {0x1000, "dirdata"}, {0x2000, "metadata_csum_seed"}, {0x4000, "large_dir"},
	{0x8000, "inline_data"}, {0x10000, "encrypt"}, {0x20000, "casefold"},
}

var extROCompat = []struct {
	bit  uint32
	name string
}{
	{0x1, "sparse_super"}, {0x2, "large_file"}, {0x4, "btree_dir"}, {0x8, "huge_file"},
	{0x10, "uninit_bg"}, {0x20, "dir_nlink"}, {0x40, "extra_isize"}, {0x80, "snapshot"},
	{0x100, "quota"}, {0x200, "bigalloc"}, {0x400, "metadata_csum"}, {0x800, "replica"},
	{0x1000, "read-only"}, {0x2000, "project"}, {0x8000, "verity"}, {0x10000, "orphan_present"},
}

// Feature sets the ext2 and ext3 drivers understand (from blkid's ext
// prober): anything beyond them makes the filesystem "ext4".
const (
	ext2IncompatSupp = 0x2 | 0x10       // filetype, meta_bg
	ext3IncompatSupp = 0x2 | 0x4 | 0x10 // filetype, recover, meta_bg
	ext23ROSupp      = 0x1 | 0x2 | 0x4  // sparse_super, large_file, btree_dir
	extCompatJournal = 0x4
	extIncompatJDev  = 0x8
)

func probeExt(r io.ReaderAt, size int64) (Result, bool, error) {
	sb, ok, err := read(r, size, 1024, 1024)
	if !ok || err != nil {
		return Result{}, false, err
	}
	if le.Uint16(sb[0x38:]) != 0xef53 {
		return Result{}, false, nil
	}
	logBS := le.Uint32(sb[0x18:])
	if logBS > 6 { // up to 64 KiB blocks
		return Result{}, false, nil
	}
	e := &ExtInfo{
		InodesCount:     le.Uint32(sb[0x00:]),
		FreeInodes:      le.Uint32(sb[0x10:]),
		State:           le.Uint16(sb[0x3a:]),
		RevLevel:        le.Uint32(sb[0x4c:]),
		FeatureCompat:   le.Uint32(sb[0x5c:]),
		FeatureIncompat: le.Uint32(sb[0x60:]),
		FeatureROCompat: le.Uint32(sb[0x64:]),
		LastMounted:     cstring(sb[0x88 : 0x88+64]),
		InodeSize:       128,
	}
	if e.RevLevel >= 1 {
		e.InodeSize = int(le.Uint16(sb[0x58:]))
	} else {
		// Revision 0 has no feature fields.
		e.FeatureCompat, e.FeatureIncompat, e.FeatureROCompat = 0, 0, 0
	}
	e.BlocksCount = int64(le.Uint32(sb[0x04:]))
	e.FreeBlocks = int64(le.Uint32(sb[0x0c:]))
	if e.FeatureIncompat&0x80 != 0 { // 64bit
		e.BlocksCount |= int64(le.Uint32(sb[0x150:])&0x7fffffff) << 32
		e.FreeBlocks |= int64(le.Uint32(sb[0x158:])&0x7fffffff) << 32
	}
	for _, f := range extCompat {
		if e.FeatureCompat&f.bit != 0 {
			e.Features = append(e.Features, f.name)
		}
	}
	for _, f := range extIncompat {
		if e.FeatureIncompat&f.bit != 0 {
			e.Features = append(e.Features, f.name)
		}
	}
	for _, f := range extROCompat {
		if e.FeatureROCompat&f.bit != 0 {
			e.Features = append(e.Features, f.name)
		}
	}
	bs := int64(1024) << logBS
	res := Result{
		UUID:      formatUUID(sb[0x68:0x78]),
		Label:     cstring(sb[0x78:0x88]),
		Version:   fmt.Sprintf("%d.%d", e.RevLevel, le.Uint16(sb[0x3e:])),
		BlockSize: bs,
		Size:      e.BlocksCount * bs,
		Ext:       e,
	}
	switch {
	case e.FeatureIncompat&extIncompatJDev != 0:
		res.Type = JBD
	case e.FeatureCompat&extCompatJournal == 0 &&
		e.FeatureIncompat&^ext2IncompatSupp == 0 && e.FeatureROCompat&^ext23ROSupp == 0:
		res.Type = Ext2
	case e.FeatureCompat&extCompatJournal != 0 &&
		e.FeatureIncompat&^ext3IncompatSupp == 0 && e.FeatureROCompat&^ext23ROSupp == 0:
		res.Type = Ext3
	default:
		res.Type = Ext4
	}
	return res, true, nil
}
