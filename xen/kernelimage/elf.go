package kernelimage

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
)

// A minimal, bounds-checked ELF reader: just what Xen's libelf looks at
// (header, program headers, section headers and section names). The
// standard library's debug/elf reads far more than needed from untrusted
// input.

type elfProg struct {
	typ    elf.ProgType
	flags  elf.ProgFlag
	off    uint64
	paddr  uint64
	filesz uint64
	memsz  uint64
}

type elfSect struct {
	name string
	typ  elf.SectionType
	off  uint64
	size uint64
}

type elfFile struct {
	class   int // 32 or 64
	bo      binary.ByteOrder
	machine elf.Machine
	entry   uint64
	progs   []elfProg
	sects   []elfSect
	// partial: data is a prefix of the image that ends before the
	// section headers, which were not read.
	partial bool
}

func isELF(b []byte) bool { return bytes.HasPrefix(b, []byte(elf.ELFMAG)) }

// rng returns data[off:off+size], or an error naming what was out of range.
func rng(data []byte, off, size uint64, what string) ([]byte, error) {
	if off > uint64(len(data)) || size > uint64(len(data))-off {
		return nil, fmt.Errorf("%s (offset %#x, size %#x) is beyond the end of the %d-byte image", what, off, size, len(data))
	}
	return data[off : off+size], nil
}

// parseELFPrefix parses an ELF image, or with partial its prefix: the
// section headers are then left unread when they lie beyond it.
func parseELFPrefix(data []byte, partial bool) (*elfFile, error) {
	return parseELF(flat(data), partial)
}

// parseELF is parseELFPrefix on an image read through img.
func parseELF(img image, partial bool) (*elfFile, error) {
	size := img.size()
	data, err := img.at(0, min(size, 64), "ELF header")
	if err != nil {
		return nil, err
	}
	if !isELF(data) {
		return nil, errors.New("not an ELF file")
	}
	if len(data) < 52 {
		return nil, errors.New("truncated ELF header")
	}
	f := &elfFile{}
	switch elf.Class(data[elf.EI_CLASS]) {
	case elf.ELFCLASS32:
		f.class = 32
	case elf.ELFCLASS64:
		f.class = 64
		if len(data) < 64 {
			return nil, errors.New("truncated ELF header")
		}
	default:
		return nil, fmt.Errorf("unknown ELF class %d", data[elf.EI_CLASS])
	}
	switch elf.Data(data[elf.EI_DATA]) {
	case elf.ELFDATA2LSB:
		f.bo = binary.LittleEndian
	case elf.ELFDATA2MSB:
		f.bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("unknown ELF data encoding %d", data[elf.EI_DATA])
	}
	bo := f.bo
	f.machine = elf.Machine(bo.Uint16(data[18:]))

	var phoff, shoff uint64
	var phentsize, phnum, shentsize, shnum, shstrndx uint16
	if f.class == 32 {
		f.entry = uint64(bo.Uint32(data[24:]))
		phoff = uint64(bo.Uint32(data[28:]))
		shoff = uint64(bo.Uint32(data[32:]))
		phentsize, phnum = bo.Uint16(data[42:]), bo.Uint16(data[44:])
		shentsize, shnum, shstrndx = bo.Uint16(data[46:]), bo.Uint16(data[48:]), bo.Uint16(data[50:])
	} else {
		f.entry = bo.Uint64(data[24:])
		phoff = bo.Uint64(data[32:])
		shoff = bo.Uint64(data[40:])
		phentsize, phnum = bo.Uint16(data[54:]), bo.Uint16(data[56:])
		shentsize, shnum, shstrndx = bo.Uint16(data[58:]), bo.Uint16(data[60:]), bo.Uint16(data[62:])
	}

	phsize, shsize := uint16(32), uint16(40)
	if f.class == 64 {
		phsize, shsize = 56, 64
	}
	if phnum > 0 {
		if phentsize < phsize {
			return nil, fmt.Errorf("program header entry size %d, want at least %d", phentsize, phsize)
		}
		tbl, err := img.at(phoff, uint64(phnum)*uint64(phentsize), "program header table")
		if err != nil {
			return nil, err
		}
		for i := 0; i < int(phnum); i++ {
			p := tbl[i*int(phentsize):]
			var pr elfProg
			pr.typ = elf.ProgType(bo.Uint32(p))
			if f.class == 32 {
				pr.off = uint64(bo.Uint32(p[4:]))
				pr.paddr = uint64(bo.Uint32(p[12:]))
				pr.filesz = uint64(bo.Uint32(p[16:]))
				pr.memsz = uint64(bo.Uint32(p[20:]))
				pr.flags = elf.ProgFlag(bo.Uint32(p[24:]))
			} else {
				pr.flags = elf.ProgFlag(bo.Uint32(p[4:]))
				pr.off = bo.Uint64(p[8:])
				pr.paddr = bo.Uint64(p[24:])
				pr.filesz = bo.Uint64(p[32:])
				pr.memsz = bo.Uint64(p[40:])
			}
			f.progs = append(f.progs, pr)
		}
	}
	if n := size; partial && (shoff > n || uint64(shnum)*uint64(shentsize) > n-shoff) {
		f.partial = true
		return f, nil
	}
	if shnum > 0 {
		if shentsize < shsize {
			return nil, fmt.Errorf("section header entry size %d, want at least %d", shentsize, shsize)
		}
		tbl, err := img.at(shoff, uint64(shnum)*uint64(shentsize), "section header table")
		if err != nil {
			return nil, err
		}
		names := make([]uint32, shnum)
		for i := 0; i < int(shnum); i++ {
			s := tbl[i*int(shentsize):]
			var se elfSect
			names[i] = bo.Uint32(s)
			se.typ = elf.SectionType(bo.Uint32(s[4:]))
			if f.class == 32 {
				se.off = uint64(bo.Uint32(s[16:]))
				se.size = uint64(bo.Uint32(s[20:]))
			} else {
				se.off = bo.Uint64(s[24:])
				se.size = bo.Uint64(s[32:])
			}
			f.sects = append(f.sects, se)
		}
		// Section names are optional for Xen (only __xen_guest needs
		// them), so a bad string table is not fatal.
		if int(shstrndx) < len(f.sects) {
			st := f.sects[shstrndx]
			strtab, err := img.at(st.off, st.size, "section name table")
			if errors.Is(err, errUncached) {
				return nil, err
			}
			if err == nil {
				for i := range f.sects {
					if n := uint64(names[i]); n < uint64(len(strtab)) {
						s := strtab[n:]
						if j := bytes.IndexByte(s, 0); j >= 0 {
							s = s[:j]
						}
						f.sects[i].name = string(s)
					}
				}
			}
		}
	}
	return f, nil
}

// loadBounds returns the lowest and highest physical address covered by
// loadable segments, as libelf's elf_parse_binary computes pstart/pend.
func (f *elfFile) loadBounds() (lo, hi uint64, ok bool) {
	lo = ^uint64(0)
	for _, p := range f.progs {
		if p.typ != elf.PT_LOAD || p.flags&(elf.PF_R|elf.PF_W|elf.PF_X) == 0 {
			continue
		}
		ok = true
		lo = min(lo, p.paddr)
		hi = max(hi, p.paddr+p.memsz)
	}
	return lo, hi, ok
}
