package decompress

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/klauspost/compress/zstd"
)

// xzStreamEnd returns the length of the xz stream at the start of data.
//
// The xz reader cannot be told to stop at the end of a stream and ignore
// what follows (it treats zero bytes as stream padding and fails when their
// count is not a multiple of four, which the kernel's appended size can
// cause). So the end is located from the stream footer instead: a footer is
// accepted only when its CRC32, its stream flags (equal to the header's)
// and the index it points back to (indicator byte and CRC32) all check out.
func xzStreamEnd(data []byte) (int, error) {
	if !plausible(XZ, data) {
		return 0, errors.New("bad stream header")
	}
	flags := data[6:8]
	const footer = 12
	candidates := 0
	// Smallest stream: header, an index of 8 bytes, footer.
	for from := 12 + 8; from < len(data); {
		i := bytes.Index(data[from:], []byte("YZ"))
		if i < 0 {
			break
		}
		end := from + i + 2
		from = end - 1
		if end < 12+8+footer {
			continue
		}
		f := data[end-footer : end]
		if !bytes.Equal(f[8:10], flags) ||
			crc32.ChecksumIEEE(f[4:10]) != binary.LittleEndian.Uint32(f[0:4]) {
			continue
		}
		// Bound the work on crafted input: a real stream's first
		// well-formed footer is its end.
		if candidates++; candidates > 16 {
			break
		}
		indexSize := (int64(binary.LittleEndian.Uint32(f[4:8])) + 1) * 4
		indexStart := int64(end-footer) - indexSize
		if indexStart < 12 || data[indexStart] != 0 {
			continue
		}
		index := data[indexStart : end-footer]
		if crc32.ChecksumIEEE(index[:len(index)-4]) != binary.LittleEndian.Uint32(index[len(index)-4:]) {
			continue
		}
		return end, nil
	}
	return 0, errors.New("no stream footer found (truncated?)")
}

// zstdFramesEnd returns the length of the run of zstd (and skippable)
// frames at the start of data, by walking frame and block headers.
func zstdFramesEnd(data []byte) (int, error) {
	pos := 0
	frames := 0
	for pos+4 <= len(data) {
		magic := binary.LittleEndian.Uint32(data[pos:])
		switch {
		case magic == 0xfd2fb528:
			n, err := zstdFrameLen(data[pos:])
			if err != nil {
				if frames > 0 {
					return pos, nil
				}
				return 0, err
			}
			pos += n
			frames++
		case magic&0xfffffff0 == 0x184d2a50 && pos+8 <= len(data):
			n := int64(binary.LittleEndian.Uint32(data[pos+4:])) + 8
			if n > int64(len(data)-pos) {
				return pos, nil
			}
			pos += int(n)
		default:
			if frames == 0 {
				return 0, errors.New("not a zstd frame")
			}
			return pos, nil
		}
	}
	if frames == 0 {
		return 0, errors.New("truncated frame")
	}
	return pos, nil
}

func zstdFrameLen(b []byte) (int, error) {
	if len(b) < 6 {
		return 0, errors.New("truncated frame header")
	}
	fhd := b[4]
	if fhd&0x08 != 0 {
		return 0, errors.New("reserved bit set in frame header")
	}
	single := fhd&0x20 != 0
	pos := 5
	if !single {
		pos++ // window descriptor
	}
	pos += [4]int{0, 1, 2, 4}[fhd&3] // dictionary ID
	switch fhd >> 6 {                // frame content size
	case 0:
		if single {
			pos++
		}
	case 1:
		pos += 2
	case 2:
		pos += 4
	case 3:
		pos += 8
	}
	for {
		if pos+3 > len(b) {
			return 0, errors.New("truncated frame")
		}
		h := uint32(b[pos]) | uint32(b[pos+1])<<8 | uint32(b[pos+2])<<16
		pos += 3
		size := int(h >> 3)
		switch (h >> 1) & 3 {
		case 0, 2: // raw, compressed
			pos += size
		case 1: // RLE
			pos++
		case 3:
			return 0, errors.New("reserved block type")
		}
		if pos > len(b) {
			return 0, errors.New("truncated frame")
		}
		if h&1 != 0 {
			break
		}
	}
	if fhd&0x04 != 0 {
		pos += 4 // content checksum
	}
	if pos > len(b) {
		return 0, errors.New("truncated frame")
	}
	return pos, nil
}

func zstdStream(data []byte, max int64) ([]byte, int, error) {
	end, err := zstdFramesEnd(data)
	if err != nil {
		return nil, 0, err
	}
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(uint64(max)), zstd.WithDecoderMaxWindow(maxDict))
	if err != nil {
		return nil, 0, err
	}
	defer d.Close()
	out, err := d.DecodeAll(data[:end], nil)
	if err != nil {
		if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrFrameSizeExceeded) ||
			(errors.Is(err, zstd.ErrWindowSizeExceeded) && max < maxDict) {
			return nil, 0, fmt.Errorf("%w (%d bytes)", ErrTooLarge, max)
		}
		return nil, 0, err
	}
	if int64(len(out)) > max {
		return nil, 0, fmt.Errorf("%w (%d bytes)", ErrTooLarge, max)
	}
	return out, end, nil
}
