package pkgfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// RPM file layout (rpm's lib/header.c, lib/rpmlead.c, and the LSB
// "Package File Format" chapter):
//
//	lead        96 bytes, magic ed ab ee db, type (0 binary, 1 source) at 6,
//	            signature type (5 = header-style signature) at 78
//	signature   a header structure, padded to a multiple of 8 bytes
//	header      the main header structure
//	payload     compressed cpio (not read here)
//
// A header structure is: magic 8e ad e8 01, 4 reserved bytes, the index
// entry count and the data size (both big-endian uint32), the index
// entries (tag, type, offset, count: four big-endian uint32 each), then
// the data store that the offsets point into.

var (
	rpmLeadMagic   = []byte{0xed, 0xab, 0xee, 0xdb}
	rpmHeaderMagic = []byte{0x8e, 0xad, 0xe8, 0x01}
)

const (
	rpmLeadSize     = 96
	rpmSigTypeHdr   = 5
	rpmHeaderIntro  = 16
	rpmEntrySize    = 16
	rpmMaxTags      = 0xffff     // rpm's HEADER_TAGS_MAX
	rpmMaxData      = 0x0fffffff // rpm's HEADER_DATA_MAX (256 MiB)
	rpmTypeInt32    = 4
	rpmTypeString   = 6
	rpmTypeStrArray = 8
	rpmTypeI18N     = 9
)

// Tags read from the main header.
const (
	tagName         = 1000
	tagVersion      = 1001
	tagRelease      = 1002
	tagArch         = 1022
	tagOldFilenames = 1027
	tagDirIndexes   = 1116
	tagBasenames    = 1117
	tagDirNames     = 1118
)

type rpmEntry struct {
	typ, offset, count uint32
}

// rpmHeader is a parsed header structure.
type rpmHeader struct {
	entries map[uint32]rpmEntry
	data    []byte
}

// readRPMHeader reads the header structure at off in r and returns it with
// its total size in bytes (without padding).
func readRPMHeader(r *io.SectionReader, off int64, what string) (*rpmHeader, int64, error) {
	intro := make([]byte, rpmHeaderIntro)
	if _, err := r.ReadAt(intro, off); err != nil {
		return nil, 0, fmt.Errorf("rpm: reading %s header at offset %d: %w", what, off, noEOF(err))
	}
	if !bytes.Equal(intro[:4], rpmHeaderMagic) {
		return nil, 0, fmt.Errorf("rpm: %s header at offset %d: bad magic % x", what, off, intro[:4])
	}
	nindex := binary.BigEndian.Uint32(intro[8:12])
	hsize := binary.BigEndian.Uint32(intro[12:16])
	if nindex == 0 || nindex > rpmMaxTags {
		return nil, 0, fmt.Errorf("rpm: %s header: index count %d out of range (1..%d)", what, nindex, rpmMaxTags)
	}
	if hsize > rpmMaxData {
		return nil, 0, fmt.Errorf("rpm: %s header: data size %d exceeds limit %d", what, hsize, rpmMaxData)
	}
	total := int64(rpmHeaderIntro) + int64(nindex)*rpmEntrySize + int64(hsize)
	if off+total > r.Size() {
		return nil, 0, fmt.Errorf("rpm: %s header: %d bytes at offset %d extend past end of file (%d bytes): %w",
			what, total, off, r.Size(), io.ErrUnexpectedEOF)
	}
	// Read through a buffer that grows only as data actually arrives, so a
	// ReaderAt shorter than the size it was given cannot force a large
	// allocation.
	var buf bytes.Buffer
	if _, err := io.CopyN(&buf, io.NewSectionReader(r, off+rpmHeaderIntro, total-rpmHeaderIntro), total-rpmHeaderIntro); err != nil {
		return nil, 0, fmt.Errorf("rpm: reading %s header: %w", what, noEOF(err))
	}
	b := buf.Bytes()
	h := &rpmHeader{entries: make(map[uint32]rpmEntry, nindex), data: b[nindex*rpmEntrySize:]}
	for i := uint32(0); i < nindex; i++ {
		e := b[i*rpmEntrySize : (i+1)*rpmEntrySize]
		tag := binary.BigEndian.Uint32(e[0:4])
		ent := rpmEntry{
			typ:    binary.BigEndian.Uint32(e[4:8]),
			offset: binary.BigEndian.Uint32(e[8:12]),
			count:  binary.BigEndian.Uint32(e[12:16]),
		}
		if _, dup := h.entries[tag]; !dup {
			h.entries[tag] = ent
		}
	}
	return h, total, nil
}

// strings returns the strings of tag (a STRING, STRING_ARRAY or
// I18NSTRING entry), or nil, false when the tag is absent.
func (h *rpmHeader) strings(tag uint32) ([]string, bool, error) {
	e, ok := h.entries[tag]
	if !ok {
		return nil, false, nil
	}
	count := e.count
	switch e.typ {
	case rpmTypeString:
		count = 1
	case rpmTypeStrArray, rpmTypeI18N:
	default:
		return nil, true, fmt.Errorf("rpm: tag %d has type %d, want a string type", tag, e.typ)
	}
	if uint64(e.offset) >= uint64(len(h.data)) {
		return nil, true, fmt.Errorf("rpm: tag %d: offset %d outside data (%d bytes)", tag, e.offset, len(h.data))
	}
	d := h.data[e.offset:]
	// Every string takes at least its NUL byte.
	if count == 0 || uint64(count) > uint64(len(d)) {
		return nil, true, fmt.Errorf("rpm: tag %d: %d strings cannot fit in %d bytes", tag, count, len(d))
	}
	if count > maxEntries {
		return nil, true, fmt.Errorf("rpm: tag %d: %d strings exceed limit %d", tag, count, maxEntries)
	}
	out := make([]string, 0, min(count, 4096))
	for i := uint32(0); i < count; i++ {
		j := bytes.IndexByte(d, 0)
		if j < 0 {
			return nil, true, fmt.Errorf("rpm: tag %d: string %d not terminated", tag, i)
		}
		out = append(out, string(d[:j]))
		d = d[j+1:]
	}
	return out, true, nil
}

// str returns the first string of tag, or "" when the tag is absent.
func (h *rpmHeader) str(tag uint32) (string, error) {
	s, ok, err := h.strings(tag)
	if err != nil || !ok {
		return "", err
	}
	return s[0], nil
}

// int32s returns the values of an INT32 tag.
func (h *rpmHeader) int32s(tag uint32) ([]uint32, bool, error) {
	e, ok := h.entries[tag]
	if !ok {
		return nil, false, nil
	}
	if e.typ != rpmTypeInt32 {
		return nil, true, fmt.Errorf("rpm: tag %d has type %d, want INT32", tag, e.typ)
	}
	if e.count > maxEntries {
		return nil, true, fmt.Errorf("rpm: tag %d: %d values exceed limit %d", tag, e.count, maxEntries)
	}
	if uint64(e.offset)+4*uint64(e.count) > uint64(len(h.data)) {
		return nil, true, fmt.Errorf("rpm: tag %d: %d values at offset %d outside data (%d bytes)", tag, e.count, e.offset, len(h.data))
	}
	d := h.data[e.offset:]
	out := make([]uint32, e.count)
	for i := range out {
		out[i] = binary.BigEndian.Uint32(d[4*i:])
	}
	return out, true, nil
}

func readRPM(r *io.SectionReader) (*Info, error) {
	lead := make([]byte, rpmLeadSize)
	if _, err := r.ReadAt(lead, 0); err != nil {
		return nil, fmt.Errorf("rpm: reading lead: %w", noEOF(err))
	}
	if typ := binary.BigEndian.Uint16(lead[6:8]); typ != 0 {
		return nil, fmt.Errorf("rpm: lead type %d: not a binary package (source rpm?)", typ)
	}
	if st := binary.BigEndian.Uint16(lead[78:80]); st != rpmSigTypeHdr {
		return nil, fmt.Errorf("rpm: unsupported signature type %d (want %d)", st, rpmSigTypeHdr)
	}
	_, sigSize, err := readRPMHeader(r, rpmLeadSize, "signature")
	if err != nil {
		return nil, err
	}
	off := int64(rpmLeadSize) + sigSize
	off += (8 - off%8) % 8
	h, _, err := readRPMHeader(r, off, "main")
	if err != nil {
		return nil, err
	}

	info := &Info{Format: "rpm"}
	for _, f := range []struct {
		tag uint32
		dst *string
	}{
		{tagName, &info.Name},
		{tagVersion, &info.Version},
		{tagRelease, &info.Release},
		{tagArch, &info.Arch},
	} {
		if *f.dst, err = h.str(f.tag); err != nil {
			return nil, err
		}
	}
	if info.Name == "" {
		return nil, errors.New("rpm: main header has no NAME")
	}

	c := newCollector(info)
	if err := rpmFiles(h, c); err != nil {
		return nil, fmt.Errorf("rpm: file list: %w", err)
	}
	c.finish()
	return info, nil
}

// rpmFiles feeds the file list of h to c: BASENAMES/DIRNAMES/DIRINDEXES
// (rpm >= 4.1, "CompressedFileNames"), or the older OLDFILENAMES.
func rpmFiles(h *rpmHeader, c *collector) error {
	base, ok, err := h.strings(tagBasenames)
	if err != nil {
		return err
	}
	if !ok {
		old, ok, err := h.strings(tagOldFilenames)
		if err != nil || !ok {
			return err // no files at all is legal
		}
		for _, p := range old {
			if err := c.add(cleanPath(p)); err != nil {
				return err
			}
		}
		return nil
	}
	dirs, ok, err := h.strings(tagDirNames)
	if err == nil && !ok {
		err = errors.New("BASENAMES without DIRNAMES")
	}
	if err != nil {
		return err
	}
	idx, ok, err := h.int32s(tagDirIndexes)
	if err == nil && !ok {
		err = errors.New("BASENAMES without DIRINDEXES")
	}
	if err != nil {
		return err
	}
	if len(idx) != len(base) {
		return fmt.Errorf("%d DIRINDEXES for %d BASENAMES", len(idx), len(base))
	}
	for i, b := range base {
		if uint64(idx[i]) >= uint64(len(dirs)) {
			return fmt.Errorf("file %d (%q): dir index %d out of range (%d dirs)", i, b, idx[i], len(dirs))
		}
		if err := c.add(cleanPath(dirs[idx[i]] + b)); err != nil {
			return err
		}
	}
	return nil
}

// noEOF turns io.EOF into io.ErrUnexpectedEOF: running out of input
// inside a structure is truncation.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
