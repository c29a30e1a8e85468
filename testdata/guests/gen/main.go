//go:build ignore

// Command gen writes the binary files of the guest fixture trees under
// testdata/guests: ELF stubs standing in for guest executables, synthetic
// kernels (bzImage or gzipped XenLinux ELF) carrying the Xen metadata the
// real kernels carry, initrds (cpio newc, compressed as each distribution
// compresses them) and kernel module stubs.
//
// Text files (configuration) are checked in by hand; this program only
// produces the files that cannot be written in an editor. Its output is
// deterministic: every timestamp is fixed, so running it twice gives the
// same bytes.
//
// Run from the repository root:
//
//	go run testdata/guests/gen/main.go
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"flag"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz/lzma"
)

// ELF constants used below.
const (
	etExec = 2
	etDyn  = 3
	etRel  = 1

	em386   = 3
	emX8664 = 62

	ptLoad = 1
	ptNote = 4

	shtProgbits = 1
	shtStrtab   = 3
	shtNote     = 7

	shfAlloc     = 2
	shfExecinstr = 4
)

// Xen ELF note types (xen/include/public/elfnote.h).
const (
	xenEntry             = 1
	xenHypercallPage     = 2
	xenVirtBase          = 3
	xenPaddrOffset       = 4
	xenXenVersion        = 5
	xenGuestOS           = 6
	xenGuestVersion      = 7
	xenLoader            = 8
	xenPAEMode           = 9
	xenFeatures          = 10
	xenHVStartLow        = 12
	xenL1MFNValid        = 13
	xenSuspendCancel     = 14
	xenInitP2M           = 15
	xenModStartPFN       = 16
	xenSupportedFeatures = 17
	xenPhys32Entry       = 18
)

func main() {
	root := flag.String("root", "testdata/guests", "directory holding the fixture trees")
	flag.Parse()
	g := &gen{root: *root}
	g.centos44()
	g.centos45()
	g.centos5()
	g.ubuntu1204()
	g.debian12()
	g.debian12Dracut()
	g.ubuntu2510()
	g.rocky9()
	g.hostile()
	g.kernels()
	if g.err != nil {
		fmt.Fprintln(os.Stderr, "gen:", g.err)
		os.Exit(1)
	}
}

type gen struct {
	root string
	err  error
}

func (g *gen) write(rel string, data []byte, mode os.FileMode) {
	if g.err != nil {
		return
	}
	p := filepath.Join(g.root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		g.err = err
		return
	}
	// Remove first so that a symlink left at p is replaced, not followed.
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		g.err = err
		return
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		g.err = fmt.Errorf("writing %s: %w", p, err)
		return
	}
	if err := os.Chmod(p, mode); err != nil {
		g.err = err
	}
}

// ---------------------------------------------------------------------------
// ELF

// le is a little-endian byte builder.
type le struct{ bytes.Buffer }

func (b *le) u8(v uint8)   { b.WriteByte(v) }
func (b *le) u16(v uint16) { binary.Write(&b.Buffer, binary.LittleEndian, v) }
func (b *le) u32(v uint32) { binary.Write(&b.Buffer, binary.LittleEndian, v) }
func (b *le) u64(v uint64) { binary.Write(&b.Buffer, binary.LittleEndian, v) }
func (b *le) pad(align int) {
	for b.Len()%align != 0 {
		b.WriteByte(0)
	}
}

// word writes an address-sized value for the given ELF class.
func (b *le) word(is64 bool, v uint64) {
	if is64 {
		b.u64(v)
	} else {
		b.u32(uint32(v))
	}
}

// elfStub returns a header-only ELF file: a valid identification and
// header (class, data, machine, type) followed by zero padding. It is what
// architecture detection reads from guest binaries; it is not executable.
func elfStub(is64 bool, machine, etype uint16, size int) []byte {
	var b le
	b.Write([]byte{0x7f, 'E', 'L', 'F'})
	if is64 {
		b.u8(2)
	} else {
		b.u8(1)
	}
	b.u8(1) // ELFDATA2LSB
	b.u8(1) // EV_CURRENT
	b.u8(0) // ELFOSABI_SYSV
	b.Write(make([]byte, 8))
	b.u16(etype)
	b.u16(machine)
	b.u32(1)
	b.word(is64, 0) // entry
	b.word(is64, 0) // phoff
	b.word(is64, 0) // shoff
	b.u32(0)
	if is64 {
		b.u16(64)
		b.u16(56)
	} else {
		b.u16(52)
		b.u16(32)
	}
	b.u16(0)
	if is64 {
		b.u16(64)
	} else {
		b.u16(40)
	}
	b.u16(0)
	b.u16(0)
	for b.Len() < size {
		b.u8(0)
	}
	return b.Bytes()
}

// note is one ELF note.
type note struct {
	name string
	typ  uint32
	desc []byte
}

func encodeNotes(ns []note) []byte {
	var b le
	for _, n := range ns {
		b.u32(uint32(len(n.name) + 1))
		b.u32(uint32(len(n.desc)))
		b.u32(n.typ)
		b.WriteString(n.name)
		b.u8(0)
		b.pad(4)
		b.Write(n.desc)
		b.pad(4)
	}
	return b.Bytes()
}

func str(s string) []byte { return append([]byte(s), 0) }
func ascii(s string) []byte {
	return []byte(s) // .ascii: no terminating NUL
}
func q(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
func l(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

// kernelELF describes a synthetic vmlinux: one PT_LOAD holding .text (the
// "Linux version" banner and a little x86 code) and, when notes is set, a
// .notes section in the same segment covered by a PT_NOTE header, as
// Linux's vmlinux.lds lays them out. xenGuest, when set, becomes a
// non-allocated __xen_guest section, as XenLinux kernels before Xen 3.0.3
// ELF notes carried their loader parameters.
type kernelELF struct {
	is64     bool
	machine  uint16
	vaddr    uint64 // virtual address of .text
	paddr    uint64 // physical address of .text
	entry    uint64
	memsz    uint64 // p_memsz of the load segment when larger than the file data (covers a real kernel's entry points)
	banner   string
	notes    []note
	xenGuest string
}

func (k kernelELF) bytes() []byte {
	is64 := k.is64
	ehsize, phsize, shsize := 52, 32, 40
	if is64 {
		ehsize, phsize, shsize = 64, 56, 64
	}
	// .text: banner plus code with call/jmp rel32 instructions so that the
	// x86 BCJ filter has something to convert.
	var text le
	text.WriteString("Linux version " + k.banner + "\n")
	text.u8(0)
	text.pad(16)
	code := []byte{
		0x55,             // push %rbp
		0x48, 0x89, 0xe5, // mov %rsp,%rbp
		0xe8, 0x10, 0x00, 0x00, 0x00, // call +0x10
		0xe8, 0x00, 0xf0, 0xff, 0xff, // call -0x1000
		0xe9, 0x40, 0x01, 0x00, 0x00, // jmp +0x140
		0x5d, // pop %rbp
		0xc3, // ret
	}
	for i := 0; i < 8; i++ {
		text.Write(code)
	}
	text.pad(16)
	notes := encodeNotes(k.notes)

	nph := 1
	if len(notes) > 0 {
		nph = 2
	}
	names := []string{"", ".text"}
	if len(notes) > 0 {
		names = append(names, ".notes")
	}
	if k.xenGuest != "" {
		names = append(names, "__xen_guest")
	}
	names = append(names, ".shstrtab")
	var shstr le
	nameOff := map[string]uint32{}
	for _, n := range names {
		nameOff[n] = uint32(shstr.Len())
		shstr.WriteString(n)
		shstr.u8(0)
	}

	textOff := 0x100
	notesOff := textOff + text.Len()
	guestOff := notesOff + len(notes)
	guest := str(k.xenGuest)
	if k.xenGuest == "" {
		guest = nil
	}
	strOff := guestOff + len(guest)
	shOff := (strOff + shstr.Len() + 7) &^ 7

	var b le
	b.Write([]byte{0x7f, 'E', 'L', 'F'})
	if is64 {
		b.u8(2)
	} else {
		b.u8(1)
	}
	b.u8(1)
	b.u8(1)
	b.u8(0)
	b.Write(make([]byte, 8))
	b.u16(etExec)
	b.u16(k.machine)
	b.u32(1)
	b.word(is64, k.entry)
	b.word(is64, uint64(ehsize))
	b.word(is64, uint64(shOff))
	b.u32(0)
	b.u16(uint16(ehsize))
	b.u16(uint16(phsize))
	b.u16(uint16(nph))
	b.u16(uint16(shsize))
	b.u16(uint16(len(names)))
	b.u16(uint16(len(names) - 1))

	loadSize := uint64(text.Len() + len(notes))
	phdr := func(typ, flags uint32, off, va, pa, size, memsz, align uint64) {
		if memsz < size {
			memsz = size
		}
		if is64 {
			b.u32(typ)
			b.u32(flags)
			b.u64(off)
			b.u64(va)
			b.u64(pa)
			b.u64(size)
			b.u64(memsz)
			b.u64(align)
		} else {
			b.u32(typ)
			b.u32(uint32(off))
			b.u32(uint32(va))
			b.u32(uint32(pa))
			b.u32(uint32(size))
			b.u32(uint32(memsz))
			b.u32(flags)
			b.u32(uint32(align))
		}
	}
	phdr(ptLoad, 5, uint64(textOff), k.vaddr, k.paddr, loadSize, k.memsz, 0x100)
	if len(notes) > 0 {
		d := uint64(text.Len())
		phdr(ptNote, 4, uint64(notesOff), k.vaddr+d, k.paddr+d, uint64(len(notes)), 0, 4)
	}
	for b.Len() < textOff {
		b.u8(0)
	}
	b.Write(text.Bytes())
	b.Write(notes)
	b.Write(guest)
	b.Write(shstr.Bytes())
	b.pad(8)

	shdr := func(name string, typ uint32, flags, addr, off, size, align uint64) {
		b.u32(nameOff[name])
		b.u32(typ)
		b.word(is64, flags)
		b.word(is64, addr)
		b.word(is64, off)
		b.word(is64, size)
		b.u32(0)
		b.u32(0)
		b.word(is64, align)
		b.word(is64, 0)
	}
	shdr("", 0, 0, 0, 0, 0, 0)
	shdr(".text", shtProgbits, shfAlloc|shfExecinstr, k.vaddr, uint64(textOff), uint64(text.Len()), 16)
	if len(notes) > 0 {
		shdr(".notes", shtNote, shfAlloc, k.vaddr+uint64(text.Len()), uint64(notesOff), uint64(len(notes)), 4)
	}
	if k.xenGuest != "" {
		shdr("__xen_guest", shtProgbits, 0, 0, uint64(guestOff), uint64(len(guest)), 1)
	}
	shdr(".shstrtab", shtStrtab, 0, 0, uint64(strOff), uint64(shstr.Len()), 1)
	return b.Bytes()
}

// ---------------------------------------------------------------------------
// Compression

// gz compresses like `gzip -n -9`: no name, no mtime, OS byte 3 (Unix).
func gz(data []byte) []byte {
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	w.Header.OS = 3
	w.Write(data)
	w.Close()
	return b.Bytes()
}

func zst(data []byte) []byte {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		panic(err)
	}
	defer enc.Close()
	return enc.EncodeAll(data, nil)
}

// bcjX86 applies the xz x86 BCJ encoder (liblzma simple/x86.c) to buf in
// place, treating buf as starting at stream position 0.
func bcjX86(buf []byte) {
	maskToAllowed := [8]bool{true, true, true, false, true, false, false, false}
	maskToBit := [8]uint32{0, 1, 2, 2, 3, 3, 3, 3}
	test := func(b byte) bool { return b == 0 || b == 0xff }
	prevMask := uint32(0)
	prevPos := uint32(0xfffffffb) // (uint32)-5
	if len(buf) < 5 {
		return
	}
	limit := len(buf) - 5
	pos := 0
	for pos <= limit {
		b := buf[pos]
		if b != 0xe8 && b != 0xe9 {
			pos++
			continue
		}
		offset := uint32(pos) - prevPos
		prevPos = uint32(pos)
		if offset > 5 {
			prevMask = 0
		} else {
			for i := uint32(0); i < offset; i++ {
				prevMask &= 0x77
				prevMask <<= 1
			}
		}
		b = buf[pos+4]
		if test(b) && maskToAllowed[(prevMask>>1)&7] && (prevMask>>1) < 0x10 {
			src := uint32(b)<<24 | uint32(buf[pos+3])<<16 | uint32(buf[pos+2])<<8 | uint32(buf[pos+1])
			var dest uint32
			for {
				dest = src + uint32(pos) + 5
				if prevMask == 0 {
					break
				}
				i := maskToBit[prevMask>>1]
				b = byte(dest >> (24 - i*8))
				if !test(b) {
					break
				}
				src = dest ^ (1<<(32-i*8) - 1)
			}
			buf[pos+4] = ^byte(((dest >> 24) & 1) - 1)
			buf[pos+3] = byte(dest >> 16)
			buf[pos+2] = byte(dest >> 8)
			buf[pos+1] = byte(dest)
			pos += 5
			prevMask = 0
		} else {
			pos++
			prevMask |= 1
			if test(b) {
				prevMask |= 0x10
			}
		}
	}
}

func uvarint(v uint64) []byte { return binary.AppendUvarint(nil, v) }

// xzKernel compresses data the way Linux's scripts/xz_wrap.sh does for
// x86 (xz --check=crc32 --x86 --lzma2=,dict=32MiB): one block with the
// filter chain BCJ x86 + LZMA2, CRC32 integrity check.
func xzKernel(data []byte) []byte {
	filtered := append([]byte(nil), data...)
	bcjX86(filtered)
	var comp bytes.Buffer
	w, err := lzma.Writer2Config{DictCap: 32 << 20}.NewWriter2(&comp)
	if err != nil {
		panic(err)
	}
	w.Write(filtered)
	w.Close()

	var out le
	// Stream header: magic, flags (check type 1 = CRC32), CRC32 of flags.
	out.Write([]byte{0xfd, '7', 'z', 'X', 'Z', 0})
	flags := []byte{0, 1}
	out.Write(flags)
	out.u32(crc32.ChecksumIEEE(flags))

	// Block header: two filters, no size fields.
	var bh le
	bh.u8(0) // size placeholder
	bh.u8(0x01)
	bh.Write(uvarint(0x04)) // BCJ x86
	bh.Write(uvarint(0))    // no properties
	bh.Write(uvarint(0x21)) // LZMA2
	bh.Write(uvarint(1))
	bh.u8(26) // dictionary size 32 MiB
	bh.pad(4)
	hdr := bh.Bytes()
	hdr = append(hdr, 0, 0, 0, 0)[:len(hdr)]
	hdr[0] = byte((len(hdr)+4)/4 - 1)
	hdrCRC := crc32.ChecksumIEEE(hdr)
	blockStart := out.Len()
	out.Write(hdr)
	out.u32(hdrCRC)
	out.Write(comp.Bytes())
	unpadded := uint64(out.Len()-blockStart) + 4 // + check
	out.pad(4)
	out.u32(crc32.ChecksumIEEE(data))

	// Index: one record.
	var idx le
	idx.u8(0)
	idx.Write(uvarint(1))
	idx.Write(uvarint(unpadded))
	idx.Write(uvarint(uint64(len(data))))
	idx.pad(4)
	idxBytes := idx.Bytes()
	out.Write(idxBytes)
	out.u32(crc32.ChecksumIEEE(idxBytes))

	// Stream footer.
	var ft le
	ft.u32(uint32((len(idxBytes)+4)/4 - 1))
	ft.Write(flags)
	footer := ft.Bytes()
	out.u32(crc32.ChecksumIEEE(footer))
	out.Write(footer)
	out.Write([]byte{'Y', 'Z'})

	// Linux appends the decompressed size (size_append) after the stream.
	out.u32(uint32(len(data)))
	return out.Bytes()
}

// ---------------------------------------------------------------------------
// bzImage

// bzImage describes an x86 boot protocol image (Documentation/x86/boot.rst).
type bzImage struct {
	protocol   uint16 // e.g. 0x0203 for 2.6.9, 0x020f for 6.1
	setupSects int
	version    string // kernel_version string
	payload    []byte // compressed vmlinux (gzip or xz)
	is64       bool
}

func (z bzImage) bytes() []byte {
	setup := make([]byte, (z.setupSects+1)*512)
	// Boot sector: the "use a boot loader" message real images carry.
	copy(setup[0:], []byte{0xea, 0x05, 0x00, 0xc0, 0x07})
	copy(setup[0x40:], "Direct floppy boot is not supported. Use a boot loader program instead.\r\n\nRemove disk and press any key to reboot ...\r\n")
	setup[0x1f1] = byte(z.setupSects)
	binary.LittleEndian.PutUint16(setup[0x1fe:], 0xaa55)
	setup[0x200] = 0xeb // jmp short start_of_setup
	setup[0x201] = 0x66
	copy(setup[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(setup[0x206:], z.protocol)
	// kernel_version: pointer to the version string, minus 0x200.
	verOff := 0x400
	copy(setup[verOff:], z.version)
	binary.LittleEndian.PutUint16(setup[0x20e:], uint16(verOff-0x200))
	setup[0x211] = 0x01 // loadflags: LOADED_HIGH
	binary.LittleEndian.PutUint32(setup[0x214:], 0x100000)

	// Protected-mode part: a decompressor stub followed by the payload.
	var pm le
	stub := []byte{0xfc, 0xfa, 0xb8, 0x18, 0x00, 0x00, 0x00, 0x8e, 0xd8, 0x8e, 0xc0} // cld; cli; mov $0x18,%eax; ...
	pm.Write(stub)
	pm.pad(0x200)
	payloadOff := pm.Len()
	pm.Write(z.payload)
	pm.pad(16)
	// Tail of the decompressor (stand-in).
	pm.Write(bytes.Repeat([]byte{0x90}, 48))
	pm.pad(16)

	syssize := uint32((pm.Len() + 15) / 16)
	binary.LittleEndian.PutUint32(setup[0x1f4:], syssize)
	if z.protocol >= 0x0205 {
		binary.LittleEndian.PutUint32(setup[0x230:], 0x200000) // kernel_alignment
		setup[0x234] = 1                                       // relocatable_kernel
	}
	if z.protocol >= 0x0206 {
		binary.LittleEndian.PutUint32(setup[0x238:], 2047) // cmdline_size
	}
	if z.protocol >= 0x0208 {
		binary.LittleEndian.PutUint32(setup[0x248:], uint32(payloadOff))
		binary.LittleEndian.PutUint32(setup[0x24c:], uint32(len(z.payload)))
	}
	if z.protocol >= 0x020a {
		binary.LittleEndian.PutUint64(setup[0x258:], 0x1000000)  // pref_address
		binary.LittleEndian.PutUint32(setup[0x260:], 0x02000000) // init_size
	}
	if z.protocol >= 0x020c && z.is64 {
		binary.LittleEndian.PutUint16(setup[0x236:], 0x7f) // xloadflags
	}
	return append(setup, pm.Bytes()...)
}

// pvops61Notes are the notes of a 6.x x86_64 pvops vmlinux, in the order
// and with the values of the real 6.1.0-56-amd64 (readelf -n), including
// the absence of HYPERCALL_PAGE, which Linux dropped in late 2024
// (XSA-466); buildID nil leaves out the GNU build-id and Linux notes
// before the version.
func pvops61Notes(ver string, entry, phys32 uint64, buildID []byte) []note {
	ns := []note{
		{"Xen", xenGuestOS, str("linux")},
		{"Xen", xenGuestVersion, str("2.6")},
		{"Xen", xenXenVersion, str("xen-3.0")},
		{"Xen", xenVirtBase, q(0xffffffff80000000)},
		{"Xen", xenInitP2M, q(0x8000000000)},
		{"Xen", xenEntry, q(entry)},
		{"Xen", xenFeatures, ascii("!writable_page_tables|pae_pgdir_above_4gb")},
		{"Xen", xenSupportedFeatures, l(0x8801)},
		{"Xen", xenPAEMode, str("yes")},
		{"Xen", xenLoader, str("generic")},
		{"Xen", xenL1MFNValid, append(q(1), q(1)...)},
		{"Xen", xenSuspendCancel, l(1)},
		{"Xen", xenModStartPFN, l(1)},
		{"Xen", xenHVStartLow, q(0xffff800000000000)},
		{"Xen", xenPaddrOffset, q(0)},
	}
	if buildID != nil {
		ns = append(ns, note{"GNU", 3, buildID}, note{"Linux", 0x100, l(0)})
	}
	return append(ns, note{"Linux", 0x101, str(ver)}, note{"Xen", xenPhys32Entry, q(phys32)})
}

// debian12Kernel writes Debian 12's linux-image-6.1.0-56-amd64 kernel.
func (g *gen) debian12Kernel(f string) {
	const ver = "6.1.0-56-amd64"
	banner := ver + " (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16)"
	buildID := []byte{0xeb, 0x4f, 0xbc, 0xd0, 0x37, 0xe7, 0x25, 0x37, 0x17, 0x95, 0x0b, 0xf2, 0xb9, 0x3b, 0xd5, 0x56, 0x6f, 0x47, 0xc5, 0x6f}
	notes := pvops61Notes(ver, 0xffffffff830791c0, 0x1000850, buildID)
	vmlinux := kernelELF{is64: true, machine: emX8664, vaddr: 0xffffffff81000000, paddr: 0x1000000, entry: 0x1000000, memsz: 0x2200000, banner: banner, notes: notes}.bytes()
	g.write(f+"/boot/vmlinuz-"+ver, bzImage{protocol: 0x020f, setupSects: 39, version: banner, payload: xzKernel(vmlinux), is64: true}.bytes(), 0o644)
}

// dracutInit is the start of dracut's shell init (modules.d/99base/init.sh),
// which images built without the systemd module run.
const dracutInit = "#!/bin/sh\n#\n# Licensed under the GPLv2\n#\n# Copyright 2008-2010, Red Hat, Inc.\n# Harald Hoyer <harald@redhat.com>\n# Jeremy Katz <katzj@redhat.com>\n\nexport -p > /tmp/export.orig\n\nNEWROOT=\"/sysroot\"\n[ -d \"$NEWROOT\" ] || mkdir -p -m 0755 \"$NEWROOT\"\n\nOLDPATH=$PATH\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\nexport PATH\n\n# (remainder of dracut's init elided in this fixture)\n"

// dracutImage assembles a dracut image (no early microcode archive) with
// the given kernel modules, as dracut 059 lays it out on a merged-/usr
// system. params is what build-parameter.txt records.
func dracutImage(ver string, mods []string, params, release, vermagic string, mtime time.Time) []byte {
	bin := func(p string) cpioEntry { return file(p, elfStub(true, emX8664, etExec, 256), 0o755) }
	es := []cpioEntry{
		file("init", []byte(dracutInit), 0o755),
		symlink("bin", "usr/bin"), symlink("sbin", "usr/sbin"), symlink("lib", "usr/lib"), symlink("lib64", "usr/lib64"),
		bin("usr/bin/bash"), symlink("usr/bin/sh", "bash"), bin("usr/bin/kmod"), symlink("usr/sbin/modprobe", "../bin/kmod"),
		bin("usr/bin/udevadm"), bin("usr/lib64/ld-linux-x86-64.so.2"), bin("usr/bin/switch_root"),
		file("usr/lib/dracut/build-parameter.txt", []byte(params), 0o644),
		file("usr/lib/dracut/dracut-059-4", nil, 0o644),
		file("usr/lib/dracut/modules.txt", []byte("bash\nudev-rules\nbase\nfs-lib\nkernel-modules\nrootfs-block\nterminfo\nudev-rules\nusrmount\nshutdown\n"), 0o644),
		file("usr/lib/modules/"+ver+"/modules.dep", nil, 0o644),
		file("etc/initrd-release", []byte(release), 0o644),
		dir("proc"), dir("sys"), dir("dev"), dir("run"), dir("sysroot"), dir("tmp"), dir("var"),
	}
	var dep strings.Builder
	for _, m := range mods {
		es = append(es, file("usr/lib/modules/"+ver+"/"+m, koStub(true, strings.TrimSuffix(filepath.Base(m), ".ko"), vermagic, ""), 0o644))
		fmt.Fprintf(&dep, "%s:\n", m)
	}
	es[15].data = []byte(dep.String())
	return cpioNewc(withParents(es), mtime)
}

// debian12Dracut is Debian 12 with sysvinit whose initramfs-tools was
// replaced by dracut configured hostonly="yes" (as on RHEL): its initrd
// holds the native machine's SATA drivers and no Xen frontend.
func (g *gen) debian12Dracut() {
	const f = "debian12-dracut"
	const ver = "6.1.0-56-amd64"
	g.guestBins(f, true, "usr/bin/bash", "usr/bin/dash", "usr/sbin/init", "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
		"usr/sbin/agetty", "usr/sbin/getty", "usr/bin/dpkg", "usr/sbin/grub-probe", "usr/bin/kmod")
	g.script(f+"/usr/sbin/grub-mkconfig", "#! /bin/sh\nset -e\n\n# Generate grub.cfg by inspecting /boot contents.\n")
	g.script(f+"/usr/bin/dracut", "#!/bin/bash -p\n#\n# Generator script for a dracut initramfs\n")
	g.debian12Kernel(f)
	magic := ver + " SMP preempt mod_unload modversions "
	// hostonly: the drivers of the native machine's disk and root only.
	mods := []string{
		"kernel/drivers/ata/libata.ko", "kernel/drivers/ata/libahci.ko", "kernel/drivers/ata/ahci.ko",
		"kernel/drivers/scsi/scsi_mod.ko", "kernel/drivers/scsi/sd_mod.ko",
		"kernel/fs/ext4/ext4.ko", "kernel/fs/jbd2/jbd2.ko", "kernel/fs/mbcache.ko", "kernel/lib/crc16.ko", "kernel/crypto/crc32c_generic.ko",
	}
	params := " --kver '" + ver + "' -f -q -H"
	release := "NAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\nVERSION=\"12 (bookworm) dracut-059-4 (Initramfs)\"\n"
	g.write(f+"/boot/initrd.img-"+ver, zst(dracutImage(ver, mods, params, release, magic, date("2026-11-20T08:14:41Z"))), 0o644)
	g.modulesTree(f, "usr/lib", ver, magic, true, append(mods, "kernel/drivers/block/xen-blkfront.ko", "kernel/drivers/net/xen-netfront.ko",
		"kernel/drivers/ata/ata_piix.ko", "kernel/drivers/net/ethernet/intel/e1000/e1000.ko")...)
}

// ubuntu2510 is Ubuntu 25.10, whose default initrd generator is dracut.
// The generic kernel builds the Xen frontends and ext4 in
// (modules.builtin), so its dracut image has no Xen module files.
func (g *gen) ubuntu2510() {
	const f = "ubuntu2510"
	const ver = "6.17.0-5-generic"
	g.guestBins(f, true, "usr/bin/bash", "usr/bin/dash", "usr/lib/systemd/systemd", "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
		"usr/sbin/agetty", "usr/bin/dpkg", "usr/sbin/grub-probe", "usr/bin/kmod")
	g.script(f+"/usr/sbin/grub-mkconfig", "#! /bin/sh\nset -e\n\n# Generate grub.cfg by inspecting /boot contents.\n")
	g.script(f+"/usr/bin/dracut", "#!/bin/bash -p\n#\n# Generator script for a dracut initramfs\n")
	banner := ver + " (buildd@lcy02-amd64-080) (x86_64-linux-gnu-gcc-15 (Ubuntu 15.2.0-4ubuntu4) 15.2.0, GNU ld (GNU Binutils for Ubuntu) 2.45) #5-Ubuntu SMP PREEMPT_DYNAMIC Wed Oct  1 09:36:17 UTC 2025"
	notes := pvops61Notes(ver, 0xffffffff83b4b1f0, 0x1000a10, nil)
	vmlinux := kernelELF{is64: true, machine: emX8664, vaddr: 0xffffffff81000000, paddr: 0x1000000, entry: 0x1000000, memsz: 0x3200000, banner: banner, notes: notes}.bytes()
	g.write(f+"/boot/vmlinuz-"+ver, bzImage{protocol: 0x020f, setupSects: 39, version: banner, payload: gz(vmlinux), is64: true}.bytes(), 0o600)
	magic := ver + " SMP preempt mod_unload modversions "
	mods := []string{
		"kernel/drivers/ata/libahci.ko", "kernel/drivers/ata/ahci.ko", "kernel/drivers/scsi/virtio_scsi.ko",
		"kernel/drivers/block/virtio_blk.ko", "kernel/drivers/nvme/host/nvme.ko", "kernel/drivers/nvme/host/nvme-core.ko",
	}
	release := "PRETTY_NAME=\"Ubuntu 25.10 dracut-108-1ubuntu1 (Initramfs)\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"25.10\"\nID=ubuntu\nID_LIKE=debian\n"
	g.write(f+"/boot/initrd.img-"+ver, zst(dracutImage(ver, mods, " --kver '"+ver+"' -f", release, magic, date("2025-10-09T14:02:55Z"))), 0o644)
	g.modulesTree(f, "usr/lib", ver, magic, true, append(mods, "kernel/drivers/net/ethernet/intel/e1000/e1000.ko", "kernel/drivers/xen/xen-gntdev.ko")...)
}

// ---------------------------------------------------------------------------
// cpio (newc)

type cpioEntry struct {
	name   string
	mode   uint32 // including type bits
	data   []byte // file contents or symlink target
	isLink bool
	rdev   [2]int // major, minor of a device node
}

const (
	sIFDIR = 0o040000
	sIFREG = 0o100000
	sIFLNK = 0o120000
	sIFCHR = 0o020000
)

func dir(name string) cpioEntry { return cpioEntry{name: name, mode: sIFDIR | 0o755} }
func file(name string, data []byte, perm uint32) cpioEntry {
	return cpioEntry{name: name, mode: sIFREG | perm, data: data}
}
func symlink(name, target string) cpioEntry {
	return cpioEntry{name: name, mode: sIFLNK | 0o777, data: []byte(target), isLink: true}
}

// cpioNewc writes entries (parents first, in the order given) with a fixed
// mtime, as `find . | cpio -o -H newc` would after `touch -d`.
func cpioNewc(entries []cpioEntry, mtime time.Time) []byte {
	var b bytes.Buffer
	hdr := func(ino int, e cpioEntry) {
		nlink := 1
		if e.mode&0o170000 == sIFDIR {
			nlink = 2
		}
		fmt.Fprintf(&b, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			ino, e.mode, 0, 0, nlink, mtime.Unix(), len(e.data), 3, 1, e.rdev[0], e.rdev[1], len(e.name)+1, 0)
		b.WriteString(e.name)
		b.WriteByte(0)
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
		b.Write(e.data)
		for b.Len()%4 != 0 {
			b.WriteByte(0)
		}
	}
	for i, e := range entries {
		hdr(721+i, e)
	}
	hdr(0, cpioEntry{name: "TRAILER!!!"})
	for b.Len()%512 != 0 {
		b.WriteByte(0)
	}
	return b.Bytes()
}

// withParents adds directory entries for every parent of the given paths,
// sorts by name (parents sort before children) and returns the list.
func withParents(es []cpioEntry) []cpioEntry {
	seen := map[string]bool{}
	for _, e := range es {
		seen[e.name] = true
	}
	var out []cpioEntry
	for _, e := range es {
		for d := filepath.Dir(e.name); d != "." && d != "/"; d = filepath.Dir(d) {
			if !seen[d] {
				seen[d] = true
				out = append(out, dir(d))
			}
		}
	}
	out = append(out, es...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// koStub returns a placeholder kernel module: an ELF relocatable header
// followed by the module's .modinfo strings (name and vermagic), which is
// what tools that read vermagic look for.
func koStub(is64 bool, name, vermagic string, depends string) []byte {
	machine := uint16(em386)
	if is64 {
		machine = emX8664
	}
	b := elfStub(is64, machine, etRel, 64)
	info := fmt.Sprintf("license=GPL\x00depends=%s\x00vermagic=%s\x00name=%s\x00", depends, vermagic, name)
	return append(b, info...)
}

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// ---------------------------------------------------------------------------
// Fixtures

// guestBins writes the ELF stubs that architecture detection reads.
func (g *gen) guestBins(fixture string, is64 bool, paths ...string) {
	machine := uint16(em386)
	if is64 {
		machine = emX8664
	}
	for _, p := range paths {
		etype := uint16(etExec)
		if strings.Contains(p, "/ld-") || strings.Contains(p, ".so") {
			etype = etDyn
		}
		g.write(fixture+"/"+p, elfStub(is64, machine, etype, 256), 0o755)
	}
}

// moduleDeps lists, by module name, the modules each one needs; only
// those present in a tree are written to its modules.dep.
var moduleDeps = map[string][]string{
	"ext3": {"jbd"}, "ext4": {"jbd2", "mbcache", "crc16"},
	"dm-mirror": {"dm-mod"}, "dm-zero": {"dm-mod"}, "dm-snapshot": {"dm-mod"},
	"sd_mod": {"scsi_mod"}, "libata": {"scsi_mod"}, "ata_piix": {"libata", "scsi_mod"},
	"ahci": {"libahci", "libata"}, "libahci": {"libata"}, "8139too": {"mii"},
	"mptscsih": {"mptbase", "scsi_mod"}, "mptspi": {"mptscsih", "mptbase"},
	"virtio_scsi": {"scsi_mod"}, "xfs": {"libcrc32c"}, "xenblk": {}, "xennet": {},
}

// script writes a shell or Python script stand-in: the real interpreter
// line and first lines of the tool, then a note that the rest is omitted.
// Tools that are scripts in the real distribution are scripts here too,
// so that code looking at a tool's first bytes sees what it would see.
func (g *gen) script(rel, head string) {
	g.write(rel, []byte(head+"\n# (fixture: the rest of this script is omitted)\n"), 0o755)
}

// modulesTree writes /lib/modules/VER/<path>.ko stubs and a modules.dep
// naming them. Kernels before 2.6.32 (module-init-tools < 3.9) wrote
// absolute paths into modules.dep; later ones write paths relative to
// the modules directory.
func (g *gen) modulesTree(fixture, libdir, ver, vermagic string, is64 bool, kos ...string) {
	byName := map[string]string{}
	for _, ko := range kos {
		name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(ko), ".xz"), ".ko")
		byName[name] = ko
		data := koStub(is64, name, vermagic, strings.Join(moduleDeps[name], ","))
		if strings.HasSuffix(ko, ".xz") {
			data = xzKernel(data)
		}
		g.write(fmt.Sprintf("%s/%s/modules/%s/%s", fixture, libdir, ver, ko), data, 0o744)
	}
	old := strings.HasPrefix(ver, "2.6.9-") || strings.HasPrefix(ver, "2.6.18-")
	path := func(ko string) string {
		if old {
			return "/lib/modules/" + ver + "/" + ko
		}
		return ko
	}
	var dep strings.Builder
	for _, ko := range kos {
		name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(ko), ".xz"), ".ko")
		fmt.Fprintf(&dep, "%s:", path(ko))
		for _, d := range moduleDeps[name] {
			if p, ok := byName[d]; ok {
				fmt.Fprintf(&dep, " %s", path(p))
			}
		}
		dep.WriteString("\n")
	}
	g.write(fmt.Sprintf("%s/%s/modules/%s/modules.dep", fixture, libdir, ver), []byte(dep.String()), 0o644)
}

// el4Init is the nash script mkinitrd 4.2.x writes for an LVM root.
func el4Init(mods []string, vg string) string {
	var b strings.Builder
	b.WriteString("#!/bin/nash\n\nmount -t proc /proc /proc\nsetquiet\necho Mounted /proc filesystem\necho Mounting sysfs\nmount -t sysfs none /sys\necho Creating /dev\nmount -o mode=0755 -t tmpfs none /dev\nmknod /dev/console c 5 1\nmknod /dev/null c 1 3\nmknod /dev/zero c 1 5\nmkdir /dev/pts\nmkdir /dev/shm\necho Starting udev\n/sbin/udevstart\necho -n \"/sbin/hotplug\" > /proc/sys/kernel/hotplug\n")
	for _, m := range mods {
		fmt.Fprintf(&b, "echo \"Loading %s.ko module\"\ninsmod /lib/%s.ko \n", m, m)
	}
	b.WriteString("/sbin/udevstart\necho Making device-mapper control node\nmkdmnod\n")
	fmt.Fprintf(&b, "echo Scanning logical volumes\nlvm vgscan --ignorelockingfailure\necho Activating logical volumes\nlvm vgchange -ay --ignorelockingfailure  %s\n", vg)
	b.WriteString("echo Making device-mapper control node\nmkdmnod\necho Creating root device\nmkrootdev /dev/root\numount /sys\necho Mounting root filesystem\nmount -o defaults --ro -t ext3 /dev/root /sysroot\nmount -t tmpfs --bind /dev /sysroot/dev\necho Switching to new root\nswitchroot /sysroot\numount /initrd/dev\n")
	return b.String()
}

// el5Init is the nash script mkinitrd 5.1.x writes for an LVM root.
func el5Init(mods []string, vg string) string {
	var b strings.Builder
	b.WriteString("#!/bin/nash\n\nmount -t proc /proc /proc\nsetquiet\necho Mounting proc filesystem\necho Mounting sysfs filesystem\nmount -t sysfs /sys /sys\necho Creating /dev\nmount -o mode=0755 -t tmpfs /dev /dev\nmkdir /dev/pts\nmount -t devpts -o gid=5,mode=620 /dev/pts /dev/pts\nmkdir /dev/shm\nmkdir /dev/mapper\necho Creating initial device nodes\nmknod /dev/null c 1 3\nmknod /dev/zero c 1 5\nmknod /dev/systty c 4 0\nmknod /dev/tty c 5 0\nmknod /dev/console c 5 1\nmknod /dev/ptmx c 5 2\nmknod /dev/rtc c 10 135\nmknod /dev/tty0 c 4 0\nmknod /dev/tty1 c 4 1\nmknod /dev/ttyS0 c 4 64\nmknod /dev/mem c 1 1\nmknod /dev/kmsg c 1 11\nmknod /dev/sda b 8 0\nmknod /dev/sda1 b 8 1\nmknod /dev/sda2 b 8 2\necho Setting up hotplug.\nhotplug\necho Creating block device nodes.\nmkblkdevs\n")
	for _, m := range mods {
		fmt.Fprintf(&b, "echo \"Loading %s.ko module\"\ninsmod /lib/%s.ko \n", m, m)
	}
	b.WriteString("echo Waiting for driver initialization.\nstabilized --hash --interval 250 /proc/scsi/scsi\n")
	fmt.Fprintf(&b, "echo Making device-mapper control node\nmkdmnod\nmkblkdevs\necho Scanning logical volumes\nlvm vgscan --ignorelockingfailure\necho Activating logical volumes\nlvm vgchange -ay --ignorelockingfailure  %s\nresume /dev/%s/LogVol01\n", vg, vg)
	b.WriteString("echo Creating root device.\nmkrootdev -t ext3 -o defaults,ro /dev/" + vg + "/LogVol00\necho Mounting root filesystem.\nmount /sysroot\necho Setting up other filesystems.\nsetuproot\necho Switching to new root and running init.\nswitchroot\n")
	return b.String()
}

// nashInitrd assembles an EL4/EL5 mkinitrd image: gzip of a newc cpio
// holding nash, lvm, the init script and the modules under /lib.
func nashInitrd(init string, mods []string, is64 bool, vermagic string, mtime time.Time, el5 bool) []byte {
	machine := uint16(em386)
	if is64 {
		machine = emX8664
	}
	bin := func(p string) cpioEntry { return file(p, elfStub(is64, machine, etExec, 256), 0o755) }
	es := []cpioEntry{
		file("init", []byte(init), 0o755),
		bin("bin/nash"),
		bin("bin/insmod"),
		symlink("bin/modprobe", "/sbin/nash"),
		symlink("bin/hotplug", "/sbin/nash"),
		bin("bin/lvm"),
		symlink("sbin", "bin"),
		file("etc/lvm/lvm.conf", []byte("devices {\n\tfilter = [ \"a/.*/\" ]\n}\n"), 0o644),
		dir("proc"), dir("sys"), dir("sysroot"), dir("lib"),
		{name: "dev/console", mode: sIFCHR | 0o600, rdev: [2]int{5, 1}},
		{name: "dev/null", mode: sIFCHR | 0o666, rdev: [2]int{1, 3}},
	}
	if el5 {
		es = append(es, file("etc/fstab", nil, 0o644), dir("etc/lvm"))
	} else {
		es = append(es, bin("bin/udevstart"), dir("loopfs"))
	}
	for _, m := range mods {
		es = append(es, file("lib/"+m+".ko", koStub(is64, m, vermagic, ""), 0o644))
	}
	return gz(cpioNewc(withParents(es), mtime))
}

func (g *gen) centos44() {
	const f = "centos44-i386"
	g.guestBins(f, false, "bin/bash", "sbin/init", "lib/ld-2.3.4.so", "bin/rpm", "sbin/setfiles",
		"sbin/mingetty", "sbin/agetty", "sbin/ethtool", "sbin/lvm.static", "sbin/grubby", "sbin/grub", "usr/bin/python2.3")
	mtime := date("2006-08-12T14:17:58Z")
	for _, v := range []struct{ ver, banner, magic string }{
		{"2.6.9-42.EL", "2.6.9-42.EL (buildcentos@build-i386) (gcc version 3.4.6 20060404 (Red Hat 3.4.6-3)) #1 Sat Aug 12 09:17:58 CDT 2006", "2.6.9-42.EL 686 REGPARM 4KSTACKS gcc-3.4"},
		{"2.6.9-42.ELsmp", "2.6.9-42.ELsmp (buildcentos@build-i386) (gcc version 3.4.6 20060404 (Red Hat 3.4.6-3)) #1 SMP Sat Aug 12 09:39:11 CDT 2006", "2.6.9-42.ELsmp SMP 686 REGPARM 4KSTACKS gcc-3.4"},
	} {
		vmlinux := kernelELF{machine: em386, vaddr: 0xc0100000, paddr: 0x100000, entry: 0x100000, banner: v.banner}.bytes()
		g.write(f+"/boot/vmlinuz-"+v.ver, bzImage{protocol: 0x0203, setupSects: 10, version: v.banner, payload: gz(vmlinux)}.bytes(), 0o644)
		// IDE disk: the PIIX IDE driver and ide-disk are built in; the
		// initrd only carries what the LVM root needs.
		mods := []string{"jbd", "ext3", "dm-mod", "dm-mirror", "dm-zero", "dm-snapshot"}
		g.write(f+"/boot/initrd-"+v.ver+".img", nashInitrd(el4Init(mods, "VolGroup00"), mods, false, v.magic, mtime, false), 0o644)
		g.modulesTree(f, "lib", v.ver, v.magic, false,
			"kernel/fs/jbd/jbd.ko", "kernel/fs/ext3/ext3.ko",
			"kernel/drivers/md/dm-mod.ko", "kernel/drivers/md/dm-mirror.ko", "kernel/drivers/md/dm-zero.ko", "kernel/drivers/md/dm-snapshot.ko",
			"kernel/drivers/net/e1000/e1000.ko", "kernel/drivers/net/8139too.ko", "kernel/drivers/net/mii.ko",
			"kernel/drivers/scsi/scsi_mod.ko", "kernel/drivers/scsi/sd_mod.ko", "kernel/drivers/scsi/libata.ko", "kernel/drivers/scsi/ata_piix.ko",
			"kernel/drivers/usb/host/uhci-hcd.ko", "kernel/drivers/usb/host/ehci-hcd.ko",
			"kernel/sound/pci/snd-intel8x0.ko")
	}
	g.write(f+"/boot/grub/splash.xpm.gz", gz([]byte("/* XPM */\nstatic char * splash_xpm[] = {\n\"640 480 14 1\",\n};\n")), 0o644)
}

func (g *gen) centos45() {
	const f = "centos45-x86_64"
	g.guestBins(f, true, "bin/bash", "sbin/init", "lib64/ld-2.3.4.so", "bin/rpm", "sbin/setfiles",
		"sbin/mingetty", "sbin/agetty", "sbin/ethtool", "sbin/lvm.static", "sbin/grubby", "sbin/grub", "usr/bin/python2.3")
	// glibc.i686 is installed next to glibc.x86_64 on a default
	// multilib install: a 32-bit loader exists on a 64-bit guest.
	g.guestBins(f, false, "lib/ld-2.3.4.so")
	mtime := date("2007-05-04T21:49:24Z")
	for _, v := range []struct{ ver, banner, magic string }{
		{"2.6.9-55.EL", "2.6.9-55.EL (buildcentos@x8664-build) (gcc version 3.4.6 20060404 (Red Hat 3.4.6-8)) #1 Wed May 2 13:37:03 EDT 2007", "2.6.9-55.EL gcc-3.4"},
		{"2.6.9-55.ELsmp", "2.6.9-55.ELsmp (buildcentos@x8664-build) (gcc version 3.4.6 20060404 (Red Hat 3.4.6-8)) #1 SMP Wed May 2 14:04:42 EDT 2007", "2.6.9-55.ELsmp SMP gcc-3.4"},
	} {
		vmlinux := kernelELF{is64: true, machine: emX8664, vaddr: 0xffffffff80100000, paddr: 0x100000, entry: 0x100000, banner: v.banner}.bytes()
		g.write(f+"/boot/vmlinuz-"+v.ver, bzImage{protocol: 0x0203, setupSects: 10, version: v.banner, payload: gz(vmlinux), is64: true}.bytes(), 0o644)
		mods := []string{"scsi_mod", "sd_mod", "libata", "ata_piix", "jbd", "ext3", "dm-mod", "dm-mirror", "dm-zero", "dm-snapshot"}
		g.write(f+"/boot/initrd-"+v.ver+".img", nashInitrd(el4Init(mods, "VolGroup00"), mods, true, v.magic, mtime, false), 0o644)
		g.modulesTree(f, "lib", v.ver, v.magic, true,
			"kernel/fs/jbd/jbd.ko", "kernel/fs/ext3/ext3.ko",
			"kernel/drivers/md/dm-mod.ko", "kernel/drivers/md/dm-mirror.ko", "kernel/drivers/md/dm-zero.ko", "kernel/drivers/md/dm-snapshot.ko",
			"kernel/drivers/scsi/scsi_mod.ko", "kernel/drivers/scsi/sd_mod.ko", "kernel/drivers/scsi/libata.ko", "kernel/drivers/scsi/ata_piix.ko",
			"kernel/drivers/net/e1000/e1000.ko",
			"kernel/drivers/usb/host/uhci-hcd.ko", "kernel/drivers/usb/host/ehci-hcd.ko")
	}
	g.write(f+"/boot/grub/splash.xpm.gz", gz([]byte("/* XPM */\nstatic char * splash_xpm[] = {\n\"640 480 14 1\",\n};\n")), 0o644)
}

func (g *gen) centos5() {
	const f = "centos5-x86_64"
	g.guestBins(f, true, "bin/bash", "sbin/init", "lib64/ld-2.5.so", "bin/rpm", "sbin/setfiles",
		"sbin/mingetty", "sbin/agetty", "sbin/ethtool", "sbin/lvm.static", "sbin/grubby", "sbin/grub", "usr/bin/python2.4")
	g.guestBins(f, false, "lib/ld-2.5.so")
	mtime := date("2007-04-02T19:41:22Z")
	native := "2.6.18-8.el5 (mockbuild@builder4.centos.org) (gcc version 4.1.1 20070105 (Red Hat 4.1.1-52)) #1 SMP Thu Mar 15 19:46:53 EDT 2007"
	xenBanner := "2.6.18-8.el5xen (mockbuild@builder4.centos.org) (gcc version 4.1.1 20070105 (Red Hat 4.1.1-52)) #1 SMP Thu Mar 15 19:56:15 EDT 2007"
	g.write(f+"/boot/vmlinuz-2.6.18-8.el5", bzImage{protocol: 0x0205, setupSects: 10, version: native, is64: true,
		payload: gz(kernelELF{is64: true, machine: emX8664, vaddr: 0xffffffff80200000, paddr: 0x200000, entry: 0x200000, banner: native}.bytes())}.bytes(), 0o644)

	// XenLinux 2.6.18 (linux-2.6.18-xen sparse tree, x86_64 head-xen.S):
	// the legacy __xen_guest string and the Xen ELF notes. vmlinuz-*xen is
	// a gzipped ELF, not a bzImage.
	const startKernelMap = 0xffffffff80000000
	xenNotes := []note{
		{"Xen", xenGuestOS, str("linux")},
		{"Xen", xenGuestVersion, str("2.6")},
		{"Xen", xenXenVersion, str("xen-3.0")},
		{"Xen", xenVirtBase, q(startKernelMap)},
		{"Xen", xenPaddrOffset, q(startKernelMap)},
		{"Xen", xenEntry, q(0xffffffff80200000)},
		{"Xen", xenHypercallPage, q(0xffffffff80206000)},
		{"Xen", xenL1MFNValid, append(q(1), q(1)...)},
		{"Xen", xenFeatures, str("writable_page_tables|writable_descriptor_tables|auto_translated_physmap|pae_pgdir_above_4gb|supervisor_mode_kernel")},
		{"Xen", xenLoader, str("generic")},
		{"Xen", xenSuspendCancel, l(1)},
	}
	xenGuest := "GUEST_OS=linux,GUEST_VER=2.6,XEN_VER=xen-3.0,VIRT_BASE=0xffffffff80000000,ELF_PADDR_OFFSET=0xffffffff80000000,VIRT_ENTRY=0xffffffff80200000,HYPERCALL_PAGE=0x206,FEATURES=writable_page_tables|writable_descriptor_tables|auto_translated_physmap|pae_pgdir_above_4gb|supervisor_mode_kernel,LOADER=generic"
	g.write(f+"/boot/vmlinuz-2.6.18-8.el5xen", gz(kernelELF{is64: true, machine: emX8664, vaddr: 0xffffffff80200000, paddr: 0xffffffff80200000,
		entry: 0xffffffff80200000, banner: xenBanner, notes: xenNotes, xenGuest: xenGuest}.bytes()), 0o644)

	// The hypervisor: Xen 3.0.3 as shipped in RHEL 5.0 is an ELF32
	// multiboot image (built with mkelf32) even on x86_64.
	var mb le
	mbMagic, mbFlags := uint32(0x1badb002), uint32(0x00010003)
	mb.u32(mbMagic)
	mb.u32(mbFlags)
	mb.u32(-(mbMagic + mbFlags))
	xen := kernelELF{machine: em386, vaddr: 0x100000, paddr: 0x100000, entry: 0x100000,
		banner: "Xen version 3.0.3-rc5-8.el5 (mockbuild@centos.org) (gcc version 4.1.1 20070105 (Red Hat 4.1.1-52))"}.bytes()
	g.write(f+"/boot/xen.gz-2.6.18-8.el5", gz(append(xen, mb.Bytes()...)), 0o644)
	g.write(f+"/boot/xen-syms-2.6.18-8.el5", elfStub(true, emX8664, etExec, 256), 0o644)

	mods := []string{"ehci-hcd", "ohci-hcd", "uhci-hcd", "jbd", "ext3", "scsi_mod", "sd_mod", "libata", "ata_piix", "dm-mod", "dm-mirror", "dm-zero", "dm-snapshot"}
	for _, v := range []struct{ ver, magic string }{
		{"2.6.18-8.el5", "2.6.18-8.el5 SMP mod_unload gcc-4.1"},
		// mkinitrd ran on native hardware when kernel-xen was installed,
		// so the xen initrd has no xenblk/xennet: they must be added.
		{"2.6.18-8.el5xen", "2.6.18-8.el5xen SMP mod_unload Xen gcc-4.1"},
	} {
		g.write(f+"/boot/initrd-"+v.ver+".img", nashInitrd(el5Init(mods, "VolGroup00"), mods, true, v.magic, mtime, true), 0o600)
		kos := []string{"kernel/fs/jbd/jbd.ko", "kernel/fs/ext3/ext3.ko",
			"kernel/drivers/md/dm-mod.ko", "kernel/drivers/md/dm-mirror.ko", "kernel/drivers/md/dm-zero.ko", "kernel/drivers/md/dm-snapshot.ko",
			"kernel/drivers/scsi/scsi_mod.ko", "kernel/drivers/scsi/sd_mod.ko", "kernel/drivers/ata/libata.ko", "kernel/drivers/ata/ata_piix.ko",
			"kernel/drivers/usb/host/uhci-hcd.ko", "kernel/drivers/usb/host/ehci-hcd.ko", "kernel/drivers/usb/host/ohci-hcd.ko",
			"kernel/drivers/net/e1000/e1000.ko"}
		if strings.HasSuffix(v.ver, "xen") {
			kos = append(kos, "kernel/drivers/xen/blkfront/xenblk.ko", "kernel/drivers/xen/netfront/xennet.ko",
				"kernel/drivers/xen/blkback/blkbk.ko", "kernel/drivers/xen/netback/netbk.ko")
		}
		g.modulesTree(f, "lib", v.ver, v.magic, true, kos...)
	}
	g.write(f+"/boot/grub/splash.xpm.gz", gz([]byte("/* XPM */\nstatic char * splash_xpm[] = {\n\"640 480 14 1\",\n};\n")), 0o644)
}

// initramfsTools assembles the main archive of an initramfs-tools image.
func initramfsTools(ver string, usrMerged bool, is64 bool, mods []string, conf string, vermagic string, mtime time.Time) []byte {
	libdir := "lib"
	if usrMerged {
		libdir = "usr/lib"
	}
	bin := func(p string) cpioEntry { return file(p, elfStub(is64, emX8664, etExec, 256), 0o755) }
	init := "#!/bin/sh\n\n# Default PATH differs between shells, and is not automatically exported\n# by klibc dash.  Make it consistent.\nexport PATH=/sbin:/usr/sbin:/bin:/usr/bin\n\n[ -d /dev ] || mkdir -m 0755 /dev\n[ -d /root ] || mkdir -m 0700 /root\n[ -d /sys ] || mkdir /sys\n[ -d /proc ] || mkdir /proc\n[ -d /tmp ] || mkdir /tmp\nmkdir -p /var/lock\nmount -t sysfs -o nodev,noexec,nosuid sysfs /sys\nmount -t proc -o nodev,noexec,nosuid proc /proc\n\n. /conf/initramfs.conf\nfor conf in conf/conf.d/*; do\n\t[ -f \"${conf}\" ] && . \"${conf}\"\ndone\n. /scripts/functions\n\n# (remainder of initramfs-tools' init elided in this fixture)\nexec run-init ${drop_caps} \"${rootmnt}\" \"${init}\" \"$@\" <\"${rootmnt}/dev/console\" >\"${rootmnt}/dev/console\" 2>&1\n"
	es := []cpioEntry{
		file("init", []byte(init), 0o755),
		file("conf/initramfs.conf", []byte(conf), 0o644),
		file("conf/arch.conf", []byte("DPKG_ARCH=amd64\n"), 0o644),
		file("scripts/functions", []byte("# -*- shell-script -*-\n"), 0o644),
		file("scripts/local", []byte("# Local filesystem mounting\t\t\t-*- shell-script -*-\n"), 0o644),
		file(libdir+"/modules/"+ver+"/modules.dep", nil, 0o644),
		dir("run"), dir("var"),
	}
	if usrMerged {
		es = append(es, symlink("bin", "usr/bin"), symlink("sbin", "usr/sbin"), symlink("lib", "usr/lib"), symlink("lib64", "usr/lib64"),
			bin("usr/bin/busybox"), bin("usr/bin/kmod"), symlink("usr/sbin/modprobe", "/bin/kmod"), bin("usr/lib64/ld-linux-x86-64.so.2"), bin("usr/bin/run-init"))
	} else {
		es = append(es, bin("bin/busybox"), bin("sbin/modprobe"), bin("lib64/ld-linux-x86-64.so.2"), bin("bin/run-init"))
	}
	var dep strings.Builder
	for _, m := range mods {
		es = append(es, file(libdir+"/modules/"+ver+"/"+m, koStub(is64, strings.TrimSuffix(filepath.Base(m), ".ko"), vermagic, ""), 0o644))
		fmt.Fprintf(&dep, "%s:\n", m)
	}
	es[5].data = []byte(dep.String())
	return cpioNewc(withParents(es), mtime)
}

func pvopsNotes64(virtBase, entry, hypercall uint64, extra ...note) []note {
	ns := []note{
		{"Xen", xenGuestOS, str("linux")},
		{"Xen", xenGuestVersion, str("2.6")},
		{"Xen", xenXenVersion, str("xen-3.0")},
		{"Xen", xenVirtBase, q(virtBase)},
		{"Xen", xenEntry, q(entry)},
		{"Xen", xenHypercallPage, q(hypercall)},
	}
	return append(ns, extra...)
}

func (g *gen) ubuntu1204() {
	const f = "ubuntu1204"
	const ver = "3.2.0-23-generic"
	g.guestBins(f, true, "bin/bash", "bin/dash", "sbin/init", "lib/x86_64-linux-gnu/ld-2.15.so", "sbin/getty",
		"usr/bin/dpkg", "sbin/ethtool", "usr/sbin/grub-probe")
	g.script(f+"/usr/sbin/grub-mkconfig", "#! /bin/sh\nset -e\n\n# Generate grub.cfg by inspecting /boot contents.\n")
	g.script(f+"/usr/sbin/mkinitramfs", "#!/bin/sh\n\numask 0022\nexport PATH='/usr/bin:/sbin:/bin'\n")
	g.script(f+"/usr/sbin/update-initramfs", "#!/bin/sh\n\nSTATEDIR=/var/lib/initramfs-tools\nBOOTDIR=/boot\n")
	banner := ver + " (buildd@crested) (gcc version 4.6.3 (Ubuntu/Linaro 4.6.3-1ubuntu4) ) #36-Ubuntu SMP Tue Apr 10 20:39:51 UTC 2012"
	// linux 3.2 arch/x86/xen/xen-head.S (x86_64): VIRT_BASE is
	// __PAGE_OFFSET, no PVH entry point yet.
	// x86_64 kernels give __START_KERNEL_map as VIRT_BASE (xen-head.S).
	notes := pvopsNotes64(0xffffffff80000000, 0xffffffff81cfc200, 0xffffffff81001000,
		note{"Xen", xenFeatures, str("!writable_page_tables|pae_pgdir_above_4gb")},
		note{"Xen", xenPAEMode, str("yes")},
		note{"Xen", xenLoader, str("generic")},
		note{"Xen", xenL1MFNValid, append(q(1), q(1)...)},
		note{"Xen", xenSuspendCancel, l(1)},
		note{"Xen", xenHVStartLow, q(0xffff800000000000)},
		note{"Xen", xenPaddrOffset, q(0)},
	)
	vmlinux := kernelELF{is64: true, machine: emX8664, vaddr: 0xffffffff81000000, paddr: 0x1000000, entry: 0x1000000, memsz: 0x2200000, banner: banner, notes: notes}.bytes()
	g.write(f+"/boot/vmlinuz-"+ver, bzImage{protocol: 0x020a, setupSects: 27, version: banner, payload: gz(vmlinux), is64: true}.bytes(), 0o600)
	conf := "MODULES=most\nBUSYBOX=y\nCOMPCACHE_SIZE=\"\"\nCOMPRESS=gzip\nBOOT=local\n"
	magic := ver + " SMP mod_unload modversions "
	// xen-blkfront and xen-netfront are built in (=y) in Ubuntu's 3.2
	// generic kernel, so the initrd has no Xen modules.
	mods := []string{
		"kernel/drivers/ata/libahci.ko", "kernel/drivers/ata/ahci.ko", "kernel/drivers/scsi/mptspi.ko",
		"kernel/drivers/message/fusion/mptbase.ko", "kernel/drivers/message/fusion/mptscsih.ko",
		"kernel/drivers/net/ethernet/intel/e1000/e1000.ko", "kernel/drivers/block/floppy.ko",
	}
	g.write(f+"/boot/initrd.img-"+ver, gz(initramfsTools(ver, false, true, mods, conf, magic, date("2012-04-25T10:21:47Z"))), 0o644)
	g.modulesTree(f, "lib", ver, magic, true, append(mods, "kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko")...)
	g.write(f+"/boot/memtest86+.bin", append([]byte{0xea, 0x05, 0x00, 0xc0, 0x07}, make([]byte, 507)...), 0o644)
}

func (g *gen) debian12() {
	for _, f := range []string{"debian12", "debian12-uuid"} {
		const ver = "6.1.0-56-amd64"
		g.guestBins(f, true, "usr/bin/bash", "usr/bin/dash", "usr/lib/systemd/systemd", "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
			"usr/sbin/agetty", "usr/bin/dpkg", "usr/sbin/grub-probe", "usr/bin/kmod")
		g.script(f+"/usr/sbin/grub-mkconfig", "#! /bin/sh\nset -e\n\n# Generate grub.cfg by inspecting /boot contents.\n")
		g.script(f+"/usr/sbin/mkinitramfs", "#!/bin/sh\n\numask 0022\nexport PATH='/usr/bin:/sbin:/bin'\n")
		g.script(f+"/usr/sbin/update-initramfs", "#!/bin/sh\n\nSTATEDIR=/var/lib/initramfs-tools\nBOOTDIR=/boot\n")
		g.debian12Kernel(f)
		conf := "MODULES=most\nBUSYBOX=auto\nKEYMAP=n\nCOMPRESS=zstd\nDEVICE=\nNFSROOT=auto\nRUNSIZE=10%\nFSTYPE=auto\n"
		magic := ver + " SMP preempt mod_unload modversions "
		// MODULES=most: the Xen front-ends (=m in Debian) are included.
		mods := []string{
			"kernel/drivers/block/xen-blkfront.ko", "kernel/drivers/net/xen-netfront.ko",
			"kernel/drivers/ata/libata.ko", "kernel/drivers/ata/libahci.ko", "kernel/drivers/ata/ahci.ko", "kernel/drivers/ata/ata_piix.ko",
			"kernel/drivers/scsi/scsi_mod.ko", "kernel/drivers/scsi/sd_mod.ko", "kernel/drivers/scsi/virtio_scsi.ko",
			"kernel/drivers/block/virtio_blk.ko", "kernel/fs/ext4/ext4.ko", "kernel/fs/jbd2/jbd2.ko", "kernel/fs/mbcache.ko",
			"kernel/lib/crc16.ko", "kernel/crypto/crc32c_generic.ko",
		}
		g.write(f+"/boot/initrd.img-"+ver, zst(initramfsTools(ver, true, true, mods, conf, magic, date("2026-11-20T08:12:03Z"))), 0o644)
		g.modulesTree(f, "usr/lib", ver, magic, true, append(mods, "kernel/drivers/net/ethernet/intel/e1000/e1000.ko",
			"kernel/drivers/xen/xen-gntdev.ko", "kernel/drivers/xen/xenfs/xenfs.ko")...)
	}
}

func (g *gen) rocky9() {
	const f = "rocky9"
	const ver = "5.14.0-362.8.1.el9_3.x86_64"
	g.guestBins(f, true, "usr/bin/bash", "usr/lib/systemd/systemd", "usr/lib64/ld-linux-x86-64.so.2", "usr/bin/rpm", "usr/sbin/setfiles",
		"usr/sbin/agetty", "usr/sbin/ethtool", "usr/sbin/grubby", "usr/bin/python3.9", "usr/bin/kmod")
	g.script(f+"/usr/bin/dracut", "#!/usr/bin/bash\n#\n# dracut - create initramfs images\n")
	g.script(f+"/usr/bin/dnf-3", "#!/usr/bin/python3\n# -*- coding: utf-8 -*-\nimport os\nimport sys\n")
	banner := ver + " (mockbuild@iad1-prod-build001.bld.equ.rockylinux.org) (gcc (GCC) 11.4.1 20230605 (Red Hat 11.4.1-2), GNU ld version 2.35.2-42.el9) #1 SMP PREEMPT_DYNAMIC Wed Nov 8 17:36:32 UTC 2023"
	// EL9 builds CONFIG_XEN=y but CONFIG_XEN_PV and CONFIG_XEN_PVH unset:
	// xen-head.S emits only the notes outside its CONFIG_XEN_PV block, so
	// there is no XEN_ELFNOTE_ENTRY and the kernel cannot boot as a PV
	// guest. PHYS32_ENTRY comes from the generic CONFIG_PVH entry.
	notes := []note{
		{"Xen", xenGuestOS, str("linux")},
		{"Xen", xenGuestVersion, str("2.6")},
		{"Xen", xenXenVersion, str("xen-3.0")},
		{"Xen", xenHypercallPage, q(0xffffffff81001000)},
		{"Xen", xenFeatures, ascii("!writable_page_tables|pae_pgdir_above_4gb")},
		{"Xen", xenSupportedFeatures, l(0x8801)},
		{"Xen", xenPAEMode, str("yes")},
		{"Xen", xenLoader, str("generic")},
		{"Xen", xenL1MFNValid, append(q(1), q(1)...)},
		{"Xen", xenSuspendCancel, l(1)},
		{"Xen", xenModStartPFN, l(1)},
		{"Xen", xenHVStartLow, q(0xffff800000000000)},
		{"Xen", xenPaddrOffset, q(0)},
		{"Linux", 0x101, str(ver)},
		{"Xen", xenPhys32Entry, q(0x1000930)},
	}
	vmlinux := kernelELF{is64: true, machine: emX8664, vaddr: 0xffffffff81000000, paddr: 0x1000000, entry: 0x1000000, memsz: 0x2200000, banner: banner, notes: notes}.bytes()
	g.write(f+"/boot/vmlinuz-"+ver, bzImage{protocol: 0x020f, setupSects: 39, version: banner, payload: gz(vmlinux), is64: true}.bytes(), 0o755)
	g.write(f+"/usr/lib/modules/"+ver+"/vmlinuz", bzImage{protocol: 0x020f, setupSects: 39, version: banner, payload: gz(vmlinux), is64: true}.bytes(), 0o755)

	// dracut image: an uncompressed early cpio with CPU microcode
	// (microcode_ctl's early_microcode), then the gzip-compressed main
	// archive.
	mtime := date("2023-11-20T09:30:11Z")
	early := cpioNewc(withParents([]cpioEntry{
		file("early_cpio", []byte("1\n"), 0o644),
		file("kernel/x86/microcode/GenuineIntel.bin", bytes.Repeat([]byte{0x01, 0x00, 0x00, 0x00}, 12), 0o644),
	}), mtime)
	magic := ver + " SMP preempt mod_unload modversions "
	mods := []string{
		"kernel/drivers/ata/ahci.ko.xz", "kernel/drivers/ata/libahci.ko.xz", "kernel/fs/xfs/xfs.ko.xz",
		"kernel/drivers/md/dm-mod.ko.xz", "kernel/drivers/scsi/sd_mod.ko.xz", "kernel/drivers/block/xen-blkfront.ko.xz",
		"kernel/drivers/net/xen-netfront.ko.xz",
	}
	bin := func(p string) cpioEntry { return file(p, elfStub(true, emX8664, etExec, 256), 0o755) }
	es := []cpioEntry{
		symlink("init", "usr/lib/systemd/systemd"),
		symlink("bin", "usr/bin"), symlink("sbin", "usr/sbin"), symlink("lib", "usr/lib"), symlink("lib64", "usr/lib64"),
		bin("usr/lib/systemd/systemd"), bin("usr/bin/bash"), bin("usr/sbin/lvm"), bin("usr/lib64/ld-linux-x86-64.so.2"),
		file("usr/lib/dracut/build-parameter.txt", []byte(" --kver '"+ver+"' -f"), 0o644),
		file("usr/lib/dracut/modules.txt", []byte("bash\nsystemd\nsystemd-initrd\nnss-softokn\ni18n\nnetwork-manager\nnetwork\nifcfg\nprefixdevname\nkernel-modules\nkernel-modules-extra\nkernel-network-modules\nlvm\nqemu\nrootfs-block\nterminfo\nudev-rules\nvirtiofs\ndracut-systemd\nusrmount\nbase\nfs-lib\nmicrocode_ctl-fw_dir_override\nshutdown\n"), 0o644),
		file("etc/cmdline.d/00-lvm.conf", []byte(" rd.lvm.lv=rl/root rd.lvm.lv=rl/swap"), 0o644),
		file("etc/initrd-release", []byte("NAME=\"Rocky Linux\"\nVERSION=\"9.3 (Blue Onyx) dracut-057-44.git20230822.el9\"\nID=\"rocky\"\nVERSION_ID=\"9.3\"\n"), 0o644),
	}
	for _, m := range mods {
		es = append(es, file("usr/lib/modules/"+ver+"/"+m, xzKernel(koStub(true, strings.TrimSuffix(filepath.Base(m), ".ko.xz"), magic, "")), 0o644))
	}
	main := gz(cpioNewc(withParents(es), mtime))
	g.write(f+"/boot/initramfs-"+ver+".img", append(early, main...), 0o600)
	g.write(f+"/boot/initramfs-0-rescue-8f5c2ab1d4e34e4c9a3ad6a2ff0c1b7e.img", append(early, main...), 0o600)
	g.modulesTree(f, "usr/lib", ver, magic, true, append(mods, "kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko.xz", "kernel/lib/libcrc32c.ko.xz")...)
	// The rescue entry's kernel is a copy of the installed kernel.
	g.write(f+"/boot/vmlinuz-0-rescue-8f5c2ab1d4e34e4c9a3ad6a2ff0c1b7e", bzImage{protocol: 0x020f, setupSects: 39, version: banner, payload: gz(vmlinux), is64: true}.bytes(), 0o755)
}

func (g *gen) hostile() {
	const f = "hostile"
	g.guestBins(f, false, "bin/bash", "sbin/init", "lib/ld-2.3.4.so", "bin/rpm", "sbin/mingetty")
	banner := "2.6.9-42.EL (buildcentos@build-i386) (gcc version 3.4.6 20060404 (Red Hat 3.4.6-3)) #1 Sat Aug 12 09:17:58 CDT 2006"
	vmlinux := kernelELF{machine: em386, vaddr: 0xc0100000, paddr: 0x100000, entry: 0x100000, banner: banner}.bytes()
	g.write(f+"/boot/vmlinuz-2.6.9-42.EL", bzImage{protocol: 0x0203, setupSects: 10, version: banner, payload: gz(vmlinux)}.bytes(), 0o644)
	// An initrd whose cpio names try to escape the extraction directory.
	evil := cpioNewc([]cpioEntry{
		file("../../../../tmp/xenify-escaped", []byte("escaped\n"), 0o644),
		file("/etc/cron.d/evil", []byte("* * * * * root /bin/true\n"), 0o644),
		symlink("lib", "/etc"),
		file("lib/passwd-overwrite", []byte("root::0:0::/:/bin/sh\n"), 0o644),
		file("init", []byte("#!/bin/nash\n"), 0o755),
	}, date("2006-08-12T14:17:58Z"))
	g.write(f+"/boot/initrd-2.6.9-42.EL.img", gz(evil), 0o644)
	// A truncated gzip stream and a bzImage whose payload fields point
	// past the end of the file.
	g.write(f+"/boot/initrd-2.6.9-42.ELsmp.img", gz(evil)[:100], 0o644)
	bad := bzImage{protocol: 0x020f, setupSects: 10, version: banner, payload: gz(vmlinux)}.bytes()
	binary.LittleEndian.PutUint32(bad[0x248:], 0x7ffffff0)
	binary.LittleEndian.PutUint32(bad[0x24c:], 0x7fffffff)
	g.write(f+"/boot/vmlinuz-2.6.9-42.ELsmp", bad, 0o644)
}

// kernels writes standalone kernel images that no fixture tree installs
// but that kernel inspection should understand.
func (g *gen) kernels() {
	// RHEL/CentOS 4.5 kernel-xenU for i686: a gzipped PAE ELF32 carrying
	// only the legacy __xen_guest string (no Xen ELF notes).
	banner := "2.6.9-55.ELxenU (buildcentos@build-i386) (gcc version 3.4.6 20060404 (Red Hat 3.4.6-8)) #1 SMP Wed May 2 15:02:14 EDT 2007"
	k := kernelELF{machine: em386, vaddr: 0xc0100000, paddr: 0xc0100000, entry: 0xc0100000, banner: banner,
		xenGuest: "GUEST_OS=linux,GUEST_VER=2.6,XEN_VER=xen-3.0,VIRT_BASE=0xC0000000,ELF_PADDR_OFFSET=0xC0000000,HYPERCALL_PAGE=0x104,PAE=yes[extended-cr3],LOADER=generic"}
	g.write("kernels/vmlinuz-2.6.9-55.ELxenU", gz(k.bytes()), 0o644)
	// The same for x86_64.
	banner = "2.6.9-55.ELxenU (buildcentos@x8664-build) (gcc version 3.4.6 20060404 (Red Hat 3.4.6-8)) #1 SMP Wed May 2 14:52:10 EDT 2007"
	k = kernelELF{is64: true, machine: emX8664, vaddr: 0xffffffff80100000, paddr: 0xffffffff80100000, entry: 0xffffffff80100000, banner: banner,
		xenGuest: "GUEST_OS=linux,GUEST_VER=2.6,XEN_VER=xen-3.0,VIRT_BASE=0xffffffff80000000,ELF_PADDR_OFFSET=0xffffffff80000000,HYPERCALL_PAGE=0x104,LOADER=generic"}
	g.write("kernels/vmlinuz-2.6.9-55.ELxenU.x86_64", gz(k.bytes()), 0o644)
}
