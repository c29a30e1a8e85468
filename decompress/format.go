// Package decompress sniffs and decompresses the stream formats the Linux
// kernel uses for compressed kernel payloads and initramfs archives: gzip,
// bzip2, xz (including the x86 BCJ filter), legacy lzma, lzop, legacy lz4
// and zstd.
//
// All input is treated as untrusted: functions never panic on malformed
// data, and the byte-slice helpers cap their output (see [DefaultMax]).
package decompress

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
)

// Format identifies a compression format.
type Format int

// Known formats. None means "not compressed, or not a format this package
// recognises".
const (
	None Format = iota
	Gzip
	Bzip2
	XZ
	LZMA
	LZO
	LZ4
	Zstd
)

var formatNames = [...]string{
	None:  "none",
	Gzip:  "gzip",
	Bzip2: "bzip2",
	XZ:    "xz",
	LZMA:  "lzma",
	LZO:   "lzo",
	LZ4:   "lz4",
	Zstd:  "zstd",
}

// String returns the conventional lower-case name of f ("gzip", "xz", ...),
// matching the names of the kernel's CONFIG_KERNEL_* and
// CONFIG_RD_* options.
func (f Format) String() string {
	if f < 0 || int(f) >= len(formatNames) {
		return "unknown"
	}
	return formatNames[f]
}

// Formats lists every compressed format, in a stable order.
func Formats() []Format {
	return []Format{Gzip, Bzip2, XZ, LZMA, LZO, LZ4, Zstd}
}

var (
	magicGzip    = []byte{0x1f, 0x8b}
	magicBzip2   = []byte("BZh")
	magicXZ      = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	magicLZMA    = []byte{0x5d, 0x00, 0x00}
	magicLZO     = []byte{0x89, 'L', 'Z', 'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a}
	magicLZ4     = []byte{0x02, 0x21, 0x4c, 0x18}
	magicZstd    = []byte{0x28, 0xb5, 0x2f, 0xfd}
	bzBlockMagic = []byte{0x31, 0x41, 0x59, 0x26, 0x53, 0x59}
	bzEndMagic   = []byte{0x17, 0x72, 0x45, 0x38, 0x50, 0x90}
)

// Detect reports the format whose magic number starts b, using the same
// short magics the kernel's lib/decompress.c uses (plus the full lzop and
// xz magics). It returns None when b does not start with a known magic.
func Detect(b []byte) Format {
	switch {
	case bytes.HasPrefix(b, magicGzip):
		return Gzip
	case bytes.HasPrefix(b, magicBzip2):
		return Bzip2
	case bytes.HasPrefix(b, magicXZ):
		return XZ
	case bytes.HasPrefix(b, magicLZMA):
		return LZMA
	case bytes.HasPrefix(b, magicLZO):
		return LZO
	case bytes.HasPrefix(b, magicLZ4):
		return LZ4
	case bytes.HasPrefix(b, magicZstd):
		return Zstd
	}
	return None
}

// plausible reports whether b starts with a header of format f that passes
// stricter checks than Detect: header fields in range and, where the format
// has one, a valid header checksum. Find uses it to avoid false positives
// when scanning a large buffer.
func plausible(f Format, b []byte) bool {
	switch f {
	case Gzip:
		// ID1 ID2 CM=8 (deflate) FLG with reserved bits clear.
		return len(b) >= 10 && b[2] == 8 && b[3]&0xe0 == 0
	case Bzip2:
		return len(b) >= 10 && b[3] >= '1' && b[3] <= '9' &&
			(bytes.Equal(b[4:10], bzBlockMagic) || bytes.Equal(b[4:10], bzEndMagic))
	case XZ:
		// Stream flags: first byte zero, check type in the low nibble of
		// the second, then CRC32 of the two flag bytes.
		return len(b) >= 12 && b[6] == 0 && b[7]&0xf0 == 0 &&
			crc32.ChecksumIEEE(b[6:8]) == binary.LittleEndian.Uint32(b[8:12])
	case LZMA:
		if len(b) < 13 {
			return false
		}
		dict := binary.LittleEndian.Uint32(b[1:5])
		size := binary.LittleEndian.Uint64(b[5:13])
		return dict >= 1<<12 && dict <= 1<<30 && (size == ^uint64(0) || size < 1<<40)
	case LZO:
		return len(b) >= len(magicLZO)+7
	case LZ4:
		return len(b) >= 8
	case Zstd:
		// Frame header descriptor: reserved bit 3 must be zero.
		return len(b) >= 6 && b[4]&0x08 == 0
	}
	return false
}

// Find returns the offset of the first plausible compressed stream at or
// after from in data, and its format. It returns -1 and None when there is
// none. This is the "extract-vmlinux" scan for images whose headers do not
// say where their payload starts (old bzImages, non-x86 zImages).
func Find(data []byte, from int) (int, Format) {
	if from < 0 {
		from = 0
	}
	for i := from; i < len(data); i++ {
		var f Format
		switch data[i] {
		case 0x1f, 'B', 0xfd, 0x5d, 0x89, 0x02, 0x28:
			f = Detect(data[i:])
		default:
			continue
		}
		if f != None && plausible(f, data[i:]) {
			return i, f
		}
	}
	return -1, None
}
