package decompress

import (
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz/lzma"
	"github.com/xi2/xz"
)

// DefaultMax is the output cap callers should use for guest kernels and
// initramfs images: 512 MiB is several times larger than any real
// vmlinux or initramfs, and small enough to hold in memory.
const DefaultMax = 512 << 20

// maxDict bounds the dictionary (history window) a stream may ask for. The
// kernel build uses at most 64 MiB (lzma -9, xz_wrap.sh uses 32 MiB, zstd -22
// --ultra uses 128 MiB windows for large inputs).
const maxDict = 128 << 20

// ErrTooLarge is returned (wrapped) when decompressed output exceeds the cap.
var ErrTooLarge = errors.New("decompressed data exceeds size limit")

// ErrUnknownFormat is returned (wrapped) for data in no recognised format.
var ErrUnknownFormat = errors.New("unknown compression format")

// NewReader returns a reader that decompresses the first stream of format f
// read from r. Data after the end of that stream is ignored where the
// format lets a streaming reader see the end (kernel images append a 4-byte
// size): for xz, trailing data that starts with zero bytes is taken as
// stream padding and can fail; [Stream] and [All] have no such limitation.
// The reader does not cap its output: wrap it in an io.LimitReader, or use
// [All] or [Stream] for in-memory input.
func NewReader(f Format, r io.Reader) (io.ReadCloser, error) {
	switch f {
	case Gzip:
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		zr.Multistream(false)
		return zr, nil
	case Bzip2:
		return io.NopCloser(&bzip2Reader{r: bzip2.NewReader(r)}), nil
	case XZ:
		zr, err := xz.NewReader(r, maxDict)
		if err != nil {
			return nil, fmt.Errorf("xz: %w", err)
		}
		zr.Multistream(false)
		return io.NopCloser(zr), nil
	case LZMA:
		zr, err := lzma.ReaderConfig{DictCap: maxDict}.NewReader(r)
		if err != nil {
			return nil, err
		}
		return io.NopCloser(zr), nil
	case LZO:
		return io.NopCloser(newLZOReader(r)), nil
	case LZ4:
		return io.NopCloser(newLZ4Reader(r)), nil
	case Zstd:
		d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxDict), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return &zstdReader{rc: d.IOReadCloser()}, nil
	}
	return nil, fmt.Errorf("%w (%v)", ErrUnknownFormat, f)
}

// bzip2Reader stops at the end of the first bzip2 stream: the standard
// library treats any bytes after a stream as the start of another one and
// fails on the kernel's appended size.
type bzip2Reader struct {
	r   io.Reader
	eof bool
}

const bzip2Continuation = "bad magic value in continuation file"

func (b *bzip2Reader) Read(p []byte) (int, error) {
	if b.eof {
		return 0, io.EOF
	}
	n, err := b.r.Read(p)
	var se bzip2.StructuralError
	if errors.As(err, &se) && string(se) == bzip2Continuation {
		b.eof = true
		return n, io.EOF
	}
	return n, err
}

// zstdReader ends at the first non-zstd data after at least one frame's
// output, rather than failing on it.
type zstdReader struct {
	rc  io.ReadCloser
	n   int64
	eof bool
}

func (z *zstdReader) Read(p []byte) (int, error) {
	if z.eof {
		return 0, io.EOF
	}
	n, err := z.rc.Read(p)
	z.n += int64(n)
	if errors.Is(err, zstd.ErrMagicMismatch) && z.n > 0 {
		z.eof = true
		return n, io.EOF
	}
	return n, err
}

func (z *zstdReader) Close() error { return z.rc.Close() }

// All decompresses the compressed stream at the start of data, whose format
// is detected from its magic number, and returns at most max bytes of
// output (ErrTooLarge beyond). Data after the end of the stream is ignored.
func All(data []byte, max int64) ([]byte, Format, error) {
	out, f, _, err := Stream(data, max)
	return out, f, err
}

// Stream is like All but also returns how many bytes of data the stream
// occupied, so that a caller can continue with what follows it (as the
// kernel does for concatenated initramfs parts). The count is exact for
// every format except when a stream's end cannot be told from trailing
// data; then it is len(data).
func Stream(data []byte, max int64) (out []byte, f Format, n int, err error) {
	f = Detect(data)
	if f == None {
		return nil, None, 0, ErrUnknownFormat
	}
	if max <= 0 {
		max = DefaultMax
	}
	out, n, err = stream(f, data, max)
	if err != nil {
		return nil, f, 0, fmt.Errorf("%v: %w", f, err)
	}
	return out, f, n, nil
}

// countingReader is a bytes.Reader that is also an io.ByteReader, so that
// decompressors read exactly the bytes they need and the position after
// decoding is the stream's end.
type countingReader struct{ *bytes.Reader }

func (c countingReader) consumed(total int) int { return total - c.Len() }

func stream(f Format, data []byte, max int64) ([]byte, int, error) {
	switch f {
	case Zstd:
		return zstdStream(data, max)
	case XZ:
		end, err := xzStreamEnd(data)
		if err != nil {
			return nil, 0, err
		}
		out, err := readAll(f, bytes.NewReader(data[:end]), max)
		return out, end, err
	case LZO:
		return lzopDecode(data, max)
	case LZ4:
		return lz4Decode(data, max)
	}
	cr := countingReader{bytes.NewReader(data)}
	if f == Bzip2 {
		br := &bzip2Reader{r: bzip2.NewReader(cr)}
		out, err := readCapped(br, max)
		if err != nil {
			return nil, 0, err
		}
		n := cr.consumed(len(data))
		if br.eof {
			// The standard library read two bytes after the stream,
			// looking for the "BZ" of a concatenated one.
			n -= 2
		}
		return out, n, nil
	}
	out, err := readAll(f, cr, max)
	if err != nil {
		return nil, 0, err
	}
	return out, cr.consumed(len(data)), nil
}

func readAll(f Format, r io.Reader, max int64) ([]byte, error) {
	zr, err := NewReader(f, r)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return readCapped(zr, max)
}

func readCapped(r io.Reader, max int64) ([]byte, error) {
	var buf bytes.Buffer
	got, err := buf.ReadFrom(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if got > max {
		return nil, fmt.Errorf("%w (%d bytes)", ErrTooLarge, max)
	}
	return buf.Bytes(), nil
}

// Open returns a reader of the compressed stream at the start of data,
// whose format is detected from its magic number: the same bytes [All]
// returns, decoded only as far as the caller reads. A caller that needs
// the start of a large output (the ELF headers and notes of a kernel)
// stops paying once it has them. The reader does not cap its output.
func Open(data []byte) (io.ReadCloser, Format, error) {
	f := Detect(data)
	switch f {
	case None:
		return nil, None, ErrUnknownFormat
	case XZ:
		// Bound the input at the stream's end, as All does: the xz
		// reader would take trailing data for stream padding.
		end, err := xzStreamEnd(data)
		if err != nil {
			return nil, f, fmt.Errorf("%v: %w", f, err)
		}
		data = data[:end]
	case Zstd:
		end, err := zstdFramesEnd(data)
		if err != nil {
			return nil, f, fmt.Errorf("%v: %w", f, err)
		}
		data = data[:end]
	case LZ4:
		// The legacy frame's end is told from trailing data only by
		// looking ahead, which lz4Decode does on the whole input.
		out, _, err := lz4Decode(data, DefaultMax)
		if err != nil {
			return nil, f, fmt.Errorf("%v: %w", f, err)
		}
		return io.NopCloser(bytes.NewReader(out)), f, nil
	}
	r, err := NewReader(f, countingReader{bytes.NewReader(data)})
	if err != nil {
		return nil, f, err
	}
	return r, f, nil
}
