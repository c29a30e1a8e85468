package pkgfile

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz/lzma"
	"github.com/xi2/xz"
)

// A .deb (deb(5)) is an ar archive: "!<arch>\n", then members, each a
// 60-byte header (name 16, mtime 12, uid 6, gid 6, mode 8, size 10,
// "`\n") followed by the data padded to an even length. The members are
// debian-binary ("2.0\n"), control.tar[.gz|.xz|.zst], data.tar[.gz|.xz|
// .zst|.bz2|.lzma], and optionally members whose names start with "_".

const (
	arMagic      = "!<arch>\n"
	arHeaderSize = 60
	arMaxMembers = 64

	// maxDict bounds the dictionary / window a compressed member may ask
	// for (xz -9 uses 64 MiB, zstd --ultra -22 up to 128 MiB).
	maxDict = 128 << 20
)

type arMember struct {
	name string
	off  int64
	size int64
}

func readAr(r *io.SectionReader) ([]arMember, error) {
	var members []arMember
	off := int64(len(arMagic))
	hdr := make([]byte, arHeaderSize)
	for off < r.Size() {
		if len(members) >= arMaxMembers {
			return nil, fmt.Errorf("ar: more than %d members", arMaxMembers)
		}
		if _, err := r.ReadAt(hdr, off); err != nil {
			return nil, fmt.Errorf("ar: member header at offset %d: %w", off, noEOF(err))
		}
		if string(hdr[58:60]) != "`\n" {
			return nil, fmt.Errorf("ar: member header at offset %d: bad terminator %q", off, hdr[58:60])
		}
		name := strings.TrimRight(string(hdr[0:16]), " ")
		name = strings.TrimSuffix(name, "/") // GNU ar style
		sizeField := strings.TrimRight(string(hdr[48:58]), " ")
		size, err := strconv.ParseInt(sizeField, 10, 64)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("ar: member %q: bad size %q", name, sizeField)
		}
		data := off + arHeaderSize
		if size > r.Size()-data {
			return nil, fmt.Errorf("ar: member %q: %d bytes at offset %d extend past end of file (%d bytes): %w",
				name, size, data, r.Size(), io.ErrUnexpectedEOF)
		}
		members = append(members, arMember{name: name, off: data, size: size})
		off = data + size + size%2
	}
	return members, nil
}

func readDeb(r *io.SectionReader) (*Info, error) {
	members, err := readAr(r)
	if err != nil {
		return nil, fmt.Errorf("deb: %w", err)
	}
	var binary, control, data *arMember
	for i := range members {
		m := &members[i]
		switch {
		case m.name == "debian-binary":
			binary = m
		case control == nil && (m.name == "control.tar" || strings.HasPrefix(m.name, "control.tar.")):
			control = m
		case data == nil && (m.name == "data.tar" || strings.HasPrefix(m.name, "data.tar.")):
			data = m
		}
	}
	if binary == nil {
		return nil, errors.New("deb: no debian-binary member")
	}
	vbuf := make([]byte, min(binary.size, 16))
	if _, err := r.ReadAt(vbuf, binary.off); err != nil {
		return nil, fmt.Errorf("deb: reading debian-binary: %w", noEOF(err))
	}
	if !bytes.HasPrefix(vbuf, []byte("2.")) {
		return nil, fmt.Errorf("deb: unsupported format version %q in debian-binary", bytes.TrimSpace(vbuf))
	}
	if control == nil {
		return nil, errors.New("deb: no control.tar member")
	}
	if data == nil {
		return nil, errors.New("deb: no data.tar member")
	}

	info := &Info{Format: "deb"}
	if err := debControl(r, control, info); err != nil {
		return nil, fmt.Errorf("deb: %s: %w", control.name, err)
	}
	c := newCollector(info)
	if err := debData(r, data, c); err != nil {
		return nil, fmt.Errorf("deb: %s: %w", data.name, err)
	}
	c.finish()
	return info, nil
}

// openTar returns a tar reader over member m, decompressed according to
// its name's suffix, reading at most limit decompressed bytes.
func openTar(r *io.SectionReader, m *arMember, limit int64) (*tar.Reader, func(), error) {
	raw := io.NewSectionReader(r, m.off, m.size)
	_, suffix, _ := strings.Cut(m.name, ".tar")
	var zr io.Reader
	closer := func() {}
	switch suffix {
	case "":
		// Uncompressed: tar skips file contents by seeking.
		return tar.NewReader(raw), closer, nil
	case ".gz":
		g, err := gzip.NewReader(bufio.NewReader(raw))
		if err != nil {
			return nil, nil, fmt.Errorf("gzip: %w", noEOF(err))
		}
		zr = g
	case ".bz2":
		zr = bzip2.NewReader(bufio.NewReader(raw))
	case ".xz":
		x, err := xz.NewReader(bufio.NewReader(raw), maxDict)
		if err != nil {
			return nil, nil, fmt.Errorf("xz: %w", noEOF(err))
		}
		zr = x
	case ".lzma":
		l, err := lzma.ReaderConfig{DictCap: maxDict}.NewReader(bufio.NewReader(raw))
		if err != nil {
			return nil, nil, fmt.Errorf("lzma: %w", noEOF(err))
		}
		zr = l
	case ".zst":
		d, err := zstd.NewReader(bufio.NewReader(raw),
			zstd.WithDecoderConcurrency(1),
			zstd.WithDecoderMaxWindow(maxDict),
			zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, nil, fmt.Errorf("zstd: %w", err)
		}
		zr, closer = d, d.Close
	default:
		return nil, nil, fmt.Errorf("unsupported compression %q", suffix)
	}
	name := map[string]string{".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".lzma": "lzma", ".zst": "zstd"}[suffix]
	zr = &errPrefixReader{r: zr, prefix: name}
	return tar.NewReader(&limitReader{r: zr, n: limit}), closer, nil
}

// errPrefixReader names the decompressor in its errors.
type errPrefixReader struct {
	r      io.Reader
	prefix string
}

func (e *errPrefixReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && !strings.HasPrefix(err.Error(), e.prefix+":") {
		err = fmt.Errorf("%s: %w", e.prefix, noEOF(err))
	}
	return n, err
}

// errTooLarge is returned when a member decompresses to more than its cap.
var errTooLarge = errors.New("decompressed size exceeds limit")

// limitReader is io.LimitReader that fails, rather than reporting EOF,
// when the limit is exceeded.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		// Distinguish a stream ending exactly at the limit from one
		// that goes on.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			return 0, errTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

func debControl(r *io.SectionReader, m *arMember, info *Info) error {
	tr, closer, err := openTar(r, m, maxControlTarSize)
	if err != nil {
		return err
	}
	defer closer()
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return errors.New("no control file")
		}
		if err != nil {
			return noEOF(err)
		}
		if cleanPath(h.Name) != "/control" || h.Typeflag != tar.TypeReg {
			continue
		}
		if h.Size > maxControlSize {
			return fmt.Errorf("control file of %d bytes exceeds limit %d", h.Size, maxControlSize)
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxControlSize))
		if err != nil {
			return fmt.Errorf("reading control: %w", noEOF(err))
		}
		return parseControl(b, info)
	}
}

// parseControl reads the Package, Version and Architecture fields of a
// deb control file (deb-control(5)): "Field: value" lines, continuation
// lines start with a space or tab, field names are case-insensitive.
func parseControl(b []byte, info *Info) error {
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			break // end of the first (only) paragraph
		}
		if line[0] == ' ' || line[0] == '\t' || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return fmt.Errorf("control line %d: no ':' in %q", i+1, line)
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(k) {
		case "package":
			info.Name = v
		case "version":
			info.Version = v
		case "architecture":
			info.Arch = v
		}
	}
	if info.Name == "" {
		return errors.New("control file has no Package field")
	}
	return nil
}

func debData(r *io.SectionReader, m *arMember, c *collector) error {
	tr, closer, err := openTar(r, m, maxDataSize)
	if err != nil {
		return err
	}
	defer closer()
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return noEOF(err)
		}
		p := cleanPath(h.Name)
		if p == "/" {
			continue
		}
		if err := c.add(p); err != nil {
			return err
		}
	}
}
