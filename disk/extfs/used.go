package extfs

import (
	"errors"
	"fmt"
	"io"
	"slices"
)

// Range is a byte range [Off, Off+Len) relative to the start of the
// filesystem.
type Range struct {
	Off, Len int64
}

// End is the first byte after the range.
func (r Range) End() int64 { return r.Off + r.Len }

// maxGroups bounds the group descriptor table kept in memory (about 40 MiB
// of descriptors); 1<<20 groups of 128 MiB cover 128 TiB.
const maxGroups = 1 << 20

// FS is an opened ext filesystem: its superblock and group descriptors.
type FS struct {
	SB     *Superblock
	Groups []GroupDesc

	r    io.ReaderAt
	size int64
	bs   int64
}

// Open reads the superblock and the group descriptor table of the ext
// filesystem in r, whose device is size bytes long.
func Open(r io.ReaderAt, size int64) (*FS, error) {
	buf := make([]byte, superblockSize)
	if _, err := r.ReadAt(buf, superblockOffset); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading superblock: %w", ErrNotExt)
		}
		return nil, fmt.Errorf("reading superblock: %w", err)
	}
	sb, err := ParseSuperblock(buf)
	if err != nil {
		return nil, err
	}
	f := &FS{SB: sb, r: r, size: size, bs: sb.BlockSize()}
	if fsBytes := int64(sb.BlocksCount) * f.bs; fsBytes > size {
		return nil, fmt.Errorf("filesystem of %d bytes on a %d-byte device: %w", fsBytes, size, ErrInconsistent)
	}
	ng := sb.GroupCount()
	if ng > maxGroups {
		return nil, fmt.Errorf("%d block groups: %w", ng, ErrUnsupported)
	}
	if err := f.readGroupDescs(ng); err != nil {
		return nil, err
	}
	return f, nil
}

// descPerBlock is the number of group descriptors in one block.
func (f *FS) descPerBlock() int64 { return f.bs / f.SB.GroupDescSize() }

// descBlocks is the number of blocks of the group descriptor table.
func (f *FS) descBlocks() int64 {
	dpb := f.descPerBlock()
	return (f.SB.GroupCount() + dpb - 1) / dpb
}

func (f *FS) metaBG() bool { return f.SB.FeatureIncompat&IncompatMetaBG != 0 }

// groupFirstBlock is the first block of group g.
func (f *FS) groupFirstBlock(g int64) int64 {
	return int64(f.SB.FirstDataBlock) + g*int64(f.SB.BlocksPerGroup)
}

// groupBlocks is the number of blocks of group g (the last one may be short).
func (f *FS) groupBlocks(g int64) int64 {
	n := int64(f.SB.BlocksCount) - f.groupFirstBlock(g)
	return min(n, int64(f.SB.BlocksPerGroup))
}

// hasSuper reports whether group g holds a superblock (primary or backup).
func (f *FS) hasSuper(g int64) bool {
	if g == 0 {
		return true
	}
	sb := f.SB
	if sb.FeatureCompat&CompatSparseSuper2 != 0 {
		return g == int64(sb.BackupBGs[0]) || g == int64(sb.BackupBGs[1])
	}
	if g == 1 || sb.FeatureRoCompat&RoCompatSparseSuper == 0 {
		return true
	}
	if g&1 == 0 {
		return false
	}
	return isPower(g, 3) || isPower(g, 5) || isPower(g, 7)
}

func isPower(n, b int64) bool {
	for n%b == 0 {
		n /= b
	}
	return n == 1
}

// descBlockLoc is the block holding descriptor block i of the primary table.
func (f *FS) descBlockLoc(i int64) int64 {
	sbBlock := int64(superblockOffset) / f.bs // 1 with 1 KiB blocks, else 0
	if !f.metaBG() || i < int64(f.SB.FirstMetaBG) {
		return sbBlock + 1 + i
	}
	g := i * f.descPerBlock()
	b := f.groupFirstBlock(g)
	if f.hasSuper(g) {
		b++
	}
	return b
}

func (f *FS) readGroupDescs(ng int64) error {
	dsz := f.SB.GroupDescSize()
	dpb := f.descPerBlock()
	nb := f.descBlocks()
	f.Groups = make([]GroupDesc, 0, ng)
	blk := make([]byte, f.bs)
	for i := int64(0); i < nb; i++ {
		loc := f.descBlockLoc(i)
		if loc >= int64(f.SB.BlocksCount) {
			return fmt.Errorf("group descriptor block %d at block %d beyond the filesystem: %w", i, loc, ErrInconsistent)
		}
		if _, err := f.r.ReadAt(blk, loc*f.bs); err != nil {
			return fmt.Errorf("reading group descriptor block %d at block %d: %w", i, loc, err)
		}
		for j := int64(0); j < dpb && int64(len(f.Groups)) < ng; j++ {
			gd, err := ParseGroupDesc(blk[j*dsz:], dsz)
			if err != nil {
				return err
			}
			f.Groups = append(f.Groups, gd)
		}
	}
	return nil
}

// blockRun is a run of blocks [start, start+n) with the reason it is used;
// metadata runs are checked against the bitmaps.
type blockRun struct{ start, n int64 }

// baseMeta appends the superblock and group descriptor blocks of group g
// (ext2fs_super_and_bgd_loc2 in e2fsprogs).
func (f *FS) baseMeta(g int64, out []blockRun) []blockRun {
	gb := f.groupFirstBlock(g)
	if gb == 0 && f.bs == 1024 {
		gb = 1
	}
	hasSuper := f.hasSuper(g)
	if hasSuper {
		out = append(out, blockRun{gb, 1})
	}
	dpb := f.descPerBlock()
	if !f.metaBG() || g/dpb < int64(f.SB.FirstMetaBG) {
		if hasSuper {
			old := int64(f.SB.FirstMetaBG)
			if !f.metaBG() {
				old = f.descBlocks() + int64(f.SB.ReservedGDT)
			}
			if old > 0 {
				out = append(out, blockRun{gb + 1, old})
			}
		}
		return out
	}
	if m := g % dpb; m == 0 || m == 1 || m == dpb-1 {
		nb := gb
		if hasSuper {
			nb++
		}
		out = append(out, blockRun{nb, 1})
	}
	return out
}

// metadata lists every block the allocation bitmaps do not describe on their
// own: superblocks, descriptor tables, reserved GDT blocks, bitmaps and inode
// tables of all groups. The result is sorted and merged.
func (f *FS) metadata() ([]blockRun, error) {
	itb := f.SB.InodeTableBlocks()
	nblocks := int64(f.SB.BlocksCount)
	var runs []blockRun
	for g := range int64(len(f.Groups)) {
		runs = f.baseMeta(g, runs)
		gd := f.Groups[g]
		for _, m := range []struct {
			what  string
			start uint64
			n     int64
		}{
			{"block bitmap", gd.BlockBitmap, 1},
			{"inode bitmap", gd.InodeBitmap, 1},
			{"inode table", gd.InodeTable, itb},
		} {
			if m.start < uint64(f.SB.FirstDataBlock) || m.start >= uint64(nblocks) || int64(m.start)+m.n > nblocks {
				return nil, fmt.Errorf("group %d: %s at block %d outside the filesystem (blocks %d-%d): %w",
					g, m.what, m.start, f.SB.FirstDataBlock, nblocks-1, ErrInconsistent)
			}
			runs = append(runs, blockRun{int64(m.start), m.n})
		}
	}
	for _, r := range runs {
		if r.start+r.n > nblocks {
			return nil, fmt.Errorf("metadata blocks %d-%d beyond the filesystem's %d blocks: %w", r.start, r.start+r.n-1, nblocks, ErrInconsistent)
		}
	}
	return mergeRuns(runs), nil
}

func mergeRuns(runs []blockRun) []blockRun {
	slices.SortFunc(runs, func(a, b blockRun) int {
		switch {
		case a.start < b.start:
			return -1
		case a.start > b.start:
			return 1
		}
		return 0
	})
	out := runs[:0]
	for _, r := range runs {
		if n := len(out); n > 0 && r.start <= out[n-1].start+out[n-1].n {
			end := max(out[n-1].start+out[n-1].n, r.start+r.n)
			out[n-1].n = end - out[n-1].start
			continue
		}
		out = append(out, r)
	}
	return out
}

// Check reports whether the filesystem's state allows trusting its bitmaps:
// it must be cleanly unmounted, without recorded errors and without a
// journal that needs recovery.
func (f *FS) Check() error {
	sb := f.SB
	if sb.FeatureIncompat&IncompatRecover != 0 {
		return fmt.Errorf("journal needs recovery (filesystem mounted or not cleanly unmounted): %w", ErrInconsistent)
	}
	if sb.State&0x0002 != 0 {
		return fmt.Errorf("filesystem state has errors recorded: %w", ErrInconsistent)
	}
	if sb.State&0x0001 == 0 {
		return fmt.Errorf("filesystem not cleanly unmounted: %w", ErrInconsistent)
	}
	return nil
}

// UsedRanges returns the byte ranges of the ext2/3/4 filesystem in r (a
// device or image of size bytes, starting at the filesystem's first byte)
// that hold data: the boot block, superblocks and their backups, group
// descriptors, reserved GDT blocks, bitmaps, inode tables and every block
// marked used in the block bitmaps. Groups flagged BLOCK_UNINIT (with
// group descriptor checksums on) contribute only their metadata.
//
// The ranges are sorted, merged, and lie within the filesystem. An error
// wrapping ErrInconsistent or ErrUnsupported means the bitmaps cannot be
// trusted and the caller should read the whole filesystem.
func UsedRanges(r io.ReaderAt, size int64) ([]Range, error) {
	f, err := Open(r, size)
	if err != nil {
		return nil, err
	}
	if err := f.Check(); err != nil {
		return nil, err
	}
	return f.UsedRanges()
}

// Prefetcher is implemented by readers for which one request for many
// ranges is much cheaper than many requests (a disk read over SSH).
// UsedRanges tells it where all the block bitmaps are before reading them.
type Prefetcher interface {
	// Prefetch is a hint: ranges are [offset, length] pairs.
	Prefetch(ranges [][2]int64)
}

// UsedRanges is the method form of the package function, for a filesystem
// already opened (and checked, if the caller wants that).
func (f *FS) UsedRanges() ([]Range, error) {
	sb := f.SB
	meta, err := f.metadata()
	if err != nil {
		return nil, err
	}
	ratio := int64(1) << (sb.LogClusterSize - sb.LogBlockSize)
	if pf, ok := f.r.(Prefetcher); ok {
		var locs [][2]int64
		for _, gd := range f.Groups {
			if gd.Flags&BGBlockUninit == 0 || !sb.HasGroupDescCsum() {
				locs = append(locs, [2]int64{int64(gd.BlockBitmap) * f.bs, f.bs})
			}
		}
		pf.Prefetch(locs)
	}
	cache := &blockCache{r: f.r, bs: f.bs}
	var used []blockRun
	var totalFree uint64
	mi := 0 // first metadata run that may reach into the current group
	for g := range int64(len(f.Groups)) {
		gd := f.Groups[g]
		gStart := f.groupFirstBlock(g)
		gBlocks := f.groupBlocks(g)
		gEnd := gStart + gBlocks
		clusters := (gBlocks + ratio - 1) / ratio
		for mi < len(meta) && meta[mi].start+meta[mi].n <= gStart {
			mi++
		}
		if gd.Flags&BGBlockUninit != 0 && sb.HasGroupDescCsum() {
			// Only the metadata is used; it is already in meta.
			var metaInGroup int64
			for j := mi; j < len(meta) && meta[j].start < gEnd; j++ {
				s, e := max(meta[j].start, gStart), min(meta[j].start+meta[j].n, gEnd)
				metaInGroup += e - s
			}
			if free := gBlocks - metaInGroup; ratio == 1 && free != int64(gd.FreeBlocksCount) {
				return nil, fmt.Errorf("group %d (BLOCK_UNINIT): descriptor says %d free blocks, its metadata leaves %d: %w",
					g, gd.FreeBlocksCount, free, ErrInconsistent)
			}
			totalFree += uint64(gd.FreeBlocksCount)
			continue
		}
		bitmap, err := cache.block(int64(gd.BlockBitmap))
		if err != nil {
			return nil, fmt.Errorf("reading block bitmap of group %d at block %d: %w", g, gd.BlockBitmap, err)
		}
		var usedClusters int64
		forEachSetRun(bitmap, clusters, func(s, n int64) {
			usedClusters += n
			bs := gStart + s*ratio
			be := min(bs+n*ratio, gEnd)
			if n := len(used); n > 0 && used[n-1].start+used[n-1].n == bs {
				used[n-1].n = be - used[n-1].start
			} else {
				used = append(used, blockRun{bs, be - bs})
			}
		})
		if free := clusters - usedClusters; free != int64(gd.FreeBlocksCount) {
			return nil, fmt.Errorf("group %d: descriptor says %d free blocks, block bitmap has %d: %w",
				g, gd.FreeBlocksCount, free, ErrInconsistent)
		}
		totalFree += uint64(gd.FreeBlocksCount)
		// Every metadata block inside this group must be marked used.
		for j := mi; j < len(meta) && meta[j].start < gEnd; j++ {
			s, e := max(meta[j].start, gStart), min(meta[j].start+meta[j].n, gEnd)
			for b := s; b < e; b += ratio {
				bit := (b - gStart) / ratio
				if bitmap[bit/8]&(1<<(bit%8)) == 0 {
					return nil, fmt.Errorf("group %d: metadata block %d is free in the block bitmap: %w", g, b, ErrInconsistent)
				}
			}
		}
	}
	if sb.State&0x0001 != 0 && totalFree*uint64(ratio) != sb.FreeBlocksCount && totalFree != sb.FreeBlocksCount {
		return nil, fmt.Errorf("superblock says %d free blocks, group descriptors add up to %d: %w",
			sb.FreeBlocksCount, totalFree*uint64(ratio), ErrInconsistent)
	}
	all := append(meta, used...)
	all = mergeRuns(all)
	out := make([]Range, 0, len(all)+1)
	// The boot block (first 1024 bytes) and the primary superblock.
	out = append(out, Range{0, superblockOffset + superblockSize})
	for _, r := range all {
		rr := Range{r.start * f.bs, r.n * f.bs}
		if n := len(out); rr.Off <= out[n-1].End() {
			out[n-1].Len = max(out[n-1].End(), rr.End()) - out[n-1].Off
			continue
		}
		out = append(out, rr)
	}
	return out, nil
}

// forEachSetRun calls fn(start, n) for each run of set bits among the first
// nbits bits of bitmap (bit i is bit i%8 of byte i/8).
func forEachSetRun(bitmap []byte, nbits int64, fn func(start, n int64)) {
	runStart := int64(-1)
	i := int64(0)
	for i < nbits {
		if i%8 == 0 && i+8 <= nbits {
			switch bitmap[i/8] {
			case 0x00:
				if runStart >= 0 {
					fn(runStart, i-runStart)
					runStart = -1
				}
				i += 8
				continue
			case 0xFF:
				if runStart < 0 {
					runStart = i
				}
				i += 8
				continue
			}
		}
		if bitmap[i/8]&(1<<(i%8)) != 0 {
			if runStart < 0 {
				runStart = i
			}
		} else if runStart >= 0 {
			fn(runStart, i-runStart)
			runStart = -1
		}
		i++
	}
	if runStart >= 0 {
		fn(runStart, nbits-runStart)
	}
}

// blockCache reads blocks through a small aligned window, so the block
// bitmaps that flex_bg packs together cost one read per window.
type blockCache struct {
	r    io.ReaderAt
	bs   int64
	off  int64
	data []byte
}

const cacheWindow = 256 << 10

func (c *blockCache) block(b int64) ([]byte, error) {
	off := b * c.bs
	if c.data != nil && off >= c.off && off+c.bs <= c.off+int64(len(c.data)) {
		return c.data[off-c.off : off-c.off+c.bs], nil
	}
	win := max(int64(cacheWindow), c.bs)
	if _, ok := c.r.(Prefetcher); ok {
		// The reader caches what Prefetch fetched, block by block.
		win = c.bs
	}
	start := off / win * win
	if c.data == nil {
		c.data = make([]byte, win)
	}
	n, err := c.r.ReadAt(c.data[:win], start)
	if n < int(off-start+c.bs) {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		c.data = nil
		return nil, err
	}
	c.off = start
	c.data = c.data[:n]
	return c.data[off-start : off-start+c.bs], nil
}
