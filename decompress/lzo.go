package decompress

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/adler32"
	"hash/crc32"
	"io"

	"github.com/anchore/go-lzo"
)

// This file implements the lzop container (as written by the lzop tool
// and read by the kernel's lib/decompress_unlzo.c), which no Go module
// reads; the LZO1X blocks inside are decoded by github.com/anchore/go-lzo.

var errLZOCorrupt = errors.New("lzo: corrupt compressed data")

// lzo1xDecompress decompresses one LZO1X block from in into out, which must
// be exactly the uncompressed size (LZO1X-1, -1_15 and -999 all
// decompress with it). The LZO1X decoder is github.com/anchore/go-lzo's,
// a bounds-checked transcription of the kernel's lzo1x_decompress_safe.
func lzo1xDecompress(in, out []byte) error {
	n, err := lzo.Decompress(in, out)
	if err != nil {
		return err
	}
	if n != len(out) {
		return fmt.Errorf("%w: %d bytes decompressed, the block header says %d", errLZOCorrupt, n, len(out))
	}
	return nil
}

// lzop header flags (lzop's conf.h).
const (
	lzopAdler32D  = 0x0001
	lzopAdler32C  = 0x0002
	lzopExtra     = 0x0040
	lzopCRC32D    = 0x0100
	lzopCRC32C    = 0x0200
	lzopFilter    = 0x0800
	lzopHdrCRC32  = 0x1000
	lzopMaxBlock  = 64 << 20
	lzopMinVer    = 0x0900
	lzopVerFields = 0x0940
)

// lzoReader streams the content of an lzop file.
type lzoReader struct {
	r      io.Reader
	flags  uint32
	header bool
	buf    []byte // decompressed, not yet returned
	src    []byte
	dst    []byte
	err    error
}

func newLZOReader(r io.Reader) *lzoReader { return &lzoReader{r: r} }

func (z *lzoReader) Read(p []byte) (int, error) {
	for len(z.buf) == 0 && z.err == nil {
		if !z.header {
			z.err = z.readHeader()
			z.header = true
			continue
		}
		z.err = z.readBlock()
	}
	if len(z.buf) > 0 {
		n := copy(p, z.buf)
		z.buf = z.buf[n:]
		return n, nil
	}
	return 0, z.err
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (z *lzoReader) readHeader() error {
	var hdr bytes.Buffer // bytes covered by the header checksum
	tr := io.TeeReader(z.r, &hdr)
	magic := make([]byte, len(magicLZO))
	if _, err := io.ReadFull(z.r, magic); err != nil {
		return fmt.Errorf("lzo: reading magic: %w", unexpected(err))
	}
	if !bytes.Equal(magic, magicLZO) {
		return errors.New("lzo: bad magic")
	}
	var b [16]byte // longest fixed field read at once: 12 bytes
	read := func(n int) ([]byte, error) {
		if _, err := io.ReadFull(tr, b[:n]); err != nil {
			return nil, fmt.Errorf("lzo: reading header: %w", unexpected(err))
		}
		return b[:n], nil
	}
	v, err := read(4)
	if err != nil {
		return err
	}
	version := binary.BigEndian.Uint16(v)
	if version < lzopMinVer {
		return fmt.Errorf("lzo: unsupported lzop version %#x", version)
	}
	if version >= lzopVerFields {
		if _, err := read(2); err != nil { // version needed to extract
			return err
		}
	}
	m, err := read(1)
	if err != nil {
		return err
	}
	if method := m[0]; method < 1 || method > 3 {
		return fmt.Errorf("lzo: unsupported method %d (only LZO1X)", method)
	}
	if version >= lzopVerFields {
		if _, err := read(1); err != nil { // level
			return err
		}
	}
	f, err := read(4)
	if err != nil {
		return err
	}
	z.flags = binary.BigEndian.Uint32(f)
	if z.flags&lzopFilter != 0 {
		fl, err := read(4)
		if err != nil {
			return err
		}
		if binary.BigEndian.Uint32(fl) != 0 {
			return errors.New("lzo: lzop filters are not supported")
		}
	}
	skip := 8 // mode, mtime_low
	if version >= lzopVerFields {
		skip += 4 // mtime_high
	}
	if _, err := read(skip); err != nil {
		return err
	}
	nl, err := read(1)
	if err != nil {
		return err
	}
	name := make([]byte, nl[0])
	if _, err := io.ReadFull(tr, name); err != nil {
		return fmt.Errorf("lzo: reading file name: %w", unexpected(err))
	}
	sum := hdr.Bytes()
	var want uint32
	if z.flags&lzopHdrCRC32 != 0 {
		want = crc32.ChecksumIEEE(sum)
	} else {
		want = adler32.Checksum(sum)
	}
	c, err := read(4)
	if err != nil {
		return err
	}
	if got := binary.BigEndian.Uint32(c); got != want {
		return fmt.Errorf("lzo: header checksum %#x, want %#x", got, want)
	}
	if z.flags&lzopExtra != 0 {
		l, err := read(4)
		if err != nil {
			return err
		}
		n := int64(binary.BigEndian.Uint32(l)) + 4 // extra field and its checksum
		if _, err := io.CopyN(io.Discard, z.r, n); err != nil {
			return fmt.Errorf("lzo: reading extra field: %w", unexpected(err))
		}
	}
	return nil
}

func (z *lzoReader) readBlock() error {
	var b [4]byte
	word := func(what string) (uint32, error) {
		if _, err := io.ReadFull(z.r, b[:]); err != nil {
			return 0, fmt.Errorf("lzo: reading %s: %w", what, unexpected(err))
		}
		return binary.BigEndian.Uint32(b[:]), nil
	}
	dstLen, err := word("block size")
	if err != nil {
		return err
	}
	if dstLen == 0 {
		return io.EOF
	}
	if dstLen > lzopMaxBlock {
		return fmt.Errorf("lzo: block size %d too large", dstLen)
	}
	srcLen, err := word("compressed block size")
	if err != nil {
		return err
	}
	if srcLen > dstLen {
		return fmt.Errorf("lzo: compressed block size %d exceeds uncompressed size %d", srcLen, dstLen)
	}
	var dAdler, dCRC uint32
	if z.flags&lzopAdler32D != 0 {
		if dAdler, err = word("checksum"); err != nil {
			return err
		}
	}
	if z.flags&lzopCRC32D != 0 {
		if dCRC, err = word("checksum"); err != nil {
			return err
		}
	}
	if srcLen < dstLen {
		for _, fl := range []uint32{lzopAdler32C, lzopCRC32C} {
			if z.flags&fl != 0 {
				if _, err := word("checksum"); err != nil {
					return err
				}
			}
		}
	}
	if cap(z.src) < int(srcLen) {
		z.src = make([]byte, srcLen)
	}
	src := z.src[:srcLen]
	if _, err := io.ReadFull(z.r, src); err != nil {
		return fmt.Errorf("lzo: reading block: %w", unexpected(err))
	}
	var dst []byte
	if srcLen == dstLen {
		dst = src
	} else {
		if cap(z.dst) < int(dstLen) {
			z.dst = make([]byte, dstLen)
		}
		dst = z.dst[:dstLen]
		if err := lzo1xDecompress(src, dst); err != nil {
			return err
		}
	}
	if z.flags&lzopAdler32D != 0 && adler32.Checksum(dst) != dAdler {
		return errors.New("lzo: block checksum mismatch")
	}
	if z.flags&lzopCRC32D != 0 && crc32.ChecksumIEEE(dst) != dCRC {
		return errors.New("lzo: block checksum mismatch")
	}
	z.buf = dst
	return nil
}

// lzopDecode decompresses an lzop file at the start of data and reports how
// many bytes it occupied.
func lzopDecode(data []byte, max int64) ([]byte, int, error) {
	br := bytes.NewReader(data)
	out, err := readCapped(newLZOReader(br), max)
	if err != nil {
		return nil, 0, err
	}
	return out, len(data) - br.Len(), nil
}
