package decompress

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/pierrec/lz4/v4"
)

// The kernel uses the legacy lz4 frame ("lz4 -l"): a magic number followed
// by blocks, each a little-endian 32-bit compressed size and an lz4 block
// that decompresses to at most 8 MiB. The magic may repeat between blocks
// (concatenated files). The stream has no end marker: it ends at end of
// input, or, in a kernel image, at the 4-byte size the build appends. The
// loop mirrors the kernel's lib/decompress_unlz4.c.

const lz4LegacyBlock = 8 << 20

var lz4Magic = binary.LittleEndian.Uint32(magicLZ4)

type lz4Reader struct {
	r      io.Reader
	header bool
	blocks int
	buf    []byte
	src    []byte
	dst    []byte
	err    error
}

func newLZ4Reader(r io.Reader) *lz4Reader { return &lz4Reader{r: r} }

func (z *lz4Reader) Read(p []byte) (int, error) {
	for len(z.buf) == 0 && z.err == nil {
		z.err = z.next()
	}
	if len(z.buf) > 0 {
		n := copy(p, z.buf)
		z.buf = z.buf[n:]
		return n, nil
	}
	return 0, z.err
}

func (z *lz4Reader) next() error {
	var b [4]byte
	if !z.header {
		if _, err := io.ReadFull(z.r, b[:]); err != nil {
			return fmt.Errorf("lz4: reading magic: %w", unexpected(err))
		}
		if binary.LittleEndian.Uint32(b[:]) != lz4Magic {
			return errors.New("lz4: not a legacy lz4 stream")
		}
		z.header = true
	}
	_, err := io.ReadFull(z.r, b[:])
	if err == io.EOF || (err == io.ErrUnexpectedEOF && z.blocks > 0) {
		// End of input; fewer than 4 bytes left are trailing data, as
		// in the kernel.
		return io.EOF
	}
	if err != nil {
		return fmt.Errorf("lz4: reading block size: %w", err)
	}
	size := binary.LittleEndian.Uint32(b[:])
	if size == lz4Magic {
		return nil // concatenated stream
	}
	if size > uint32(lz4.CompressBlockBound(lz4LegacyBlock)) {
		if z.blocks > 0 {
			// Not a block: the kernel build's appended size, or other
			// trailing data.
			return io.EOF
		}
		return fmt.Errorf("lz4: block size %d too large", size)
	}
	if cap(z.src) < int(size) {
		z.src = make([]byte, size)
	}
	src := z.src[:size]
	if m, err := io.ReadFull(z.r, src); err != nil {
		if z.blocks > 0 && m == 0 && err == io.EOF {
			return io.EOF
		}
		return fmt.Errorf("lz4: reading block: %w", unexpected(err))
	}
	if z.dst == nil {
		z.dst = make([]byte, lz4LegacyBlock)
	}
	out, err := lz4.UncompressBlock(src, z.dst)
	if err != nil {
		return fmt.Errorf("lz4: block %d: %w", z.blocks, err)
	}
	z.blocks++
	z.buf = z.dst[:out]
	return nil
}

// lz4Decode decompresses a legacy lz4 stream at the start of data. The
// stream's length is exact unless trailing data could not be told apart
// from the end of input; then it is len(data).
func lz4Decode(data []byte, max int64) ([]byte, int, error) {
	var out bytes.Buffer
	pos := 4
	if len(data) < 4 || binary.LittleEndian.Uint32(data) != lz4Magic {
		return nil, 0, errors.New("lz4: not a legacy lz4 stream")
	}
	var dst []byte
	blocks := 0
	for {
		if len(data)-pos < 4 {
			if blocks == 0 {
				return nil, 0, errors.New("lz4: no blocks")
			}
			// Any bytes left are too short for a block header.
			return out.Bytes(), pos, nil
		}
		size := binary.LittleEndian.Uint32(data[pos:])
		if size == lz4Magic {
			pos += 4
			continue
		}
		if size > uint32(lz4.CompressBlockBound(lz4LegacyBlock)) || int64(size) > int64(len(data)-pos-4) {
			if blocks > 0 {
				return out.Bytes(), pos, nil
			}
			return nil, 0, fmt.Errorf("lz4: block size %d too large", size)
		}
		if dst == nil {
			dst = make([]byte, lz4LegacyBlock)
		}
		n, err := lz4.UncompressBlock(data[pos+4:pos+4+int(size)], dst)
		if err != nil {
			if blocks > 0 && size == 0 {
				return out.Bytes(), pos, nil
			}
			return nil, 0, fmt.Errorf("lz4: block %d: %w", blocks, err)
		}
		if int64(out.Len()+n) > max {
			return nil, 0, fmt.Errorf("%w (%d bytes)", ErrTooLarge, max)
		}
		out.Write(dst[:n])
		blocks++
		pos += 4 + int(size)
	}
}
