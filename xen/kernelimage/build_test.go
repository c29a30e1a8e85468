package kernelimage

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"os/exec"
	"testing"

	"github.com/xenify/xenify/decompress"
	"github.com/xenify/xenify/internal/testenv"
)

// Builders for synthetic kernels: a minimal ELF vmlinux with Xen notes or a
// __xen_guest section, and a bzImage around it, built the way the kernel
// build does.

type testNote struct {
	typ  uint32
	desc []byte
}

type elfSpec struct {
	class   int // 32 or 64
	machine elf.Machine
	notes   []testNote
	// noPTNote leaves the notes only in a SHT_NOTE section.
	noPTNote bool
	// otherNotes are non-Xen notes placed before the Xen ones.
	otherNotes bool
	xenGuest   string
	paddr      uint64 // physical load address of the one PT_LOAD
	entry      uint64 // e_entry
	// text, when set, is the .text section (after the notes, as in a
	// real vmlinux); 4 KiB of NOPs otherwise.
	text []byte
}

func str(s string) []byte { return append([]byte(s), 0) }
func u32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func noteBytes(name string, typ uint32, desc []byte) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, uint32(len(name)+1))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(desc)))
	b = binary.LittleEndian.AppendUint32(b, typ)
	b = append(b, name...)
	b = append(b, 0)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	b = append(b, desc...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func buildELF(s elfSpec) []byte {
	le := binary.LittleEndian
	is64 := s.class == 64
	ehsize, phentsize, shentsize := 52, 32, 40
	if is64 {
		ehsize, phentsize, shentsize = 64, 56, 64
	}
	var notes []byte
	if s.otherNotes {
		notes = append(notes, noteBytes("GNU", 3, bytes.Repeat([]byte{0xab}, 20))...)
	}
	for _, n := range s.notes {
		notes = append(notes, noteBytes("Xen", n.typ, n.desc)...)
	}
	nph := 1
	if len(notes) > 0 && !s.noPTNote {
		nph = 2
	}
	text := bytes.Repeat([]byte{0x90}, 4096)
	if s.text != nil {
		text = s.text
	}
	guest := []byte(nil)
	if s.xenGuest != "" {
		guest = str(s.xenGuest)
	}
	shstr := []byte("\x00.text\x00.note.Xen\x00__xen_guest\x00.shstrtab\x00")
	nameOff := map[string]uint32{".text": 1, ".note.Xen": 7, "__xen_guest": 17, ".shstrtab": 29}

	off := ehsize + nph*phentsize
	notesOff := off
	off += len(notes)
	textOff := (off + 15) &^ 15
	off = textOff + len(text)
	guestOff := off
	off += len(guest)
	shstrOff := off
	off += len(shstr)
	shOff := (off + 7) &^ 7

	type sh struct {
		name      string
		typ       elf.SectionType
		off, size int
	}
	shdrs := []sh{{}, {".text", elf.SHT_PROGBITS, textOff, len(text)}}
	if len(notes) > 0 {
		shdrs = append(shdrs, sh{".note.Xen", elf.SHT_NOTE, notesOff, len(notes)})
	}
	if len(guest) > 0 {
		shdrs = append(shdrs, sh{"__xen_guest", elf.SHT_PROGBITS, guestOff, len(guest)})
	}
	shdrs = append(shdrs, sh{".shstrtab", elf.SHT_STRTAB, shstrOff, len(shstr)})

	b := make([]byte, shOff+len(shdrs)*shentsize)
	copy(b, elf.ELFMAG)
	b[elf.EI_CLASS] = byte(elf.ELFCLASS32)
	if is64 {
		b[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	}
	b[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	b[elf.EI_VERSION] = 1
	le.PutUint16(b[16:], uint16(elf.ET_EXEC))
	le.PutUint16(b[18:], uint16(s.machine))
	le.PutUint32(b[20:], 1)
	vaddr := s.paddr // vaddr is not used by Xen; keep it simple
	if is64 {
		le.PutUint64(b[24:], s.entry)
		le.PutUint64(b[32:], uint64(ehsize))
		le.PutUint64(b[40:], uint64(shOff))
		le.PutUint16(b[52:], uint16(ehsize))
		le.PutUint16(b[54:], uint16(phentsize))
		le.PutUint16(b[56:], uint16(nph))
		le.PutUint16(b[58:], uint16(shentsize))
		le.PutUint16(b[60:], uint16(len(shdrs)))
		le.PutUint16(b[62:], uint16(len(shdrs)-1))
	} else {
		le.PutUint32(b[24:], uint32(s.entry))
		le.PutUint32(b[28:], uint32(ehsize))
		le.PutUint32(b[32:], uint32(shOff))
		le.PutUint16(b[40:], uint16(ehsize))
		le.PutUint16(b[42:], uint16(phentsize))
		le.PutUint16(b[44:], uint16(nph))
		le.PutUint16(b[46:], uint16(shentsize))
		le.PutUint16(b[48:], uint16(len(shdrs)))
		le.PutUint16(b[50:], uint16(len(shdrs)-1))
	}
	putPhdr := func(i int, typ elf.ProgType, flags elf.ProgFlag, off, filesz, paddr, memsz int) {
		p := b[ehsize+i*phentsize:]
		if is64 {
			le.PutUint32(p, uint32(typ))
			le.PutUint32(p[4:], uint32(flags))
			le.PutUint64(p[8:], uint64(off))
			le.PutUint64(p[16:], vaddr+uint64(paddr)-s.paddr)
			le.PutUint64(p[24:], uint64(paddr))
			le.PutUint64(p[32:], uint64(filesz))
			le.PutUint64(p[40:], uint64(memsz))
			le.PutUint64(p[48:], 4)
		} else {
			le.PutUint32(p, uint32(typ))
			le.PutUint32(p[4:], uint32(off))
			le.PutUint32(p[8:], uint32(vaddr)+uint32(paddr)-uint32(s.paddr))
			le.PutUint32(p[12:], uint32(paddr))
			le.PutUint32(p[16:], uint32(filesz))
			le.PutUint32(p[20:], uint32(memsz))
			le.PutUint32(p[24:], uint32(flags))
			le.PutUint32(p[28:], 4)
		}
	}
	putPhdr(0, elf.PT_LOAD, elf.PF_R|elf.PF_X, textOff, len(text), int(s.paddr), 0x10000)
	if nph == 2 {
		putPhdr(1, elf.PT_NOTE, elf.PF_R, notesOff, len(notes), 0, len(notes))
	}
	copy(b[notesOff:], notes)
	copy(b[textOff:], text)
	copy(b[guestOff:], guest)
	copy(b[shstrOff:], shstr)
	for i, h := range shdrs {
		p := b[shOff+i*shentsize:]
		if h.name == "" {
			continue
		}
		le.PutUint32(p, nameOff[h.name])
		le.PutUint32(p[4:], uint32(h.typ))
		if is64 {
			le.PutUint64(p[24:], uint64(h.off))
			le.PutUint64(p[32:], uint64(h.size))
			le.PutUint64(p[48:], 1)
		} else {
			le.PutUint32(p[16:], uint32(h.off))
			le.PutUint32(p[20:], uint32(h.size))
			le.PutUint32(p[32:], 1)
		}
	}
	return b
}

// pvops64 resembles a modern x86_64 Linux kernel built with CONFIG_XEN_PV
// and CONFIG_XEN_PVH (arch/x86/xen/xen-head.S).
func pvops64() elfSpec {
	return elfSpec{
		class: 64, machine: elf.EM_X86_64, paddr: 0x1000000, entry: 0x1000000,
		otherNotes: true,
		notes: []testNote{
			{NoteGuestOS, str("linux")},
			{NoteGuestVersion, str("2.6")},
			{NoteXenVersion, str("xen-3.0")},
			{NoteVirtBase, u64(0xffffffff80000000)},
			{NoteInitP2M, u64(0x8000000000)},
			{NoteEntry, u64(0xffffffff81001000)},
			{NoteHypercallPage, u64(0xffffffff81002000)},
			{NoteFeatures, str("!writable_page_tables|pae_pgdir_above_4gb")},
			{NoteSupportedFeatures, u32(1<<8 | 1<<11)},
			{NotePAEMode, str("yes")},
			{NoteLoader, str("generic")},
			{NoteL1MFNValid, append(u64(1), u64(1)...)},
			{NoteSuspendCancel, u32(1)},
			{NoteModStartPFN, u32(1)},
			{NoteHVStartLow, u64(0xffff800000000000)},
			{NotePaddrOffset, u64(0)},
			{NotePhys32Entry, u32(0x1000100)},
		},
	}
}

// pvops32PAE resembles a 32-bit PAE pvops kernel.
func pvops32PAE() elfSpec {
	return elfSpec{
		class: 32, machine: elf.EM_386, paddr: 0x1000000, entry: 0x1000000,
		notes: []testNote{
			{NoteGuestOS, str("linux")},
			{NoteGuestVersion, str("2.6")},
			{NoteXenVersion, str("xen-3.0")},
			{NoteVirtBase, u32(0xc0000000)},
			{NoteEntry, u32(0xc1001000)},
			{NoteHypercallPage, u32(0xc1002000)},
			{NoteFeatures, str("!writable_page_tables|pae_pgdir_above_4gb")},
			{NotePAEMode, str("yes")},
			{NoteLoader, str("generic")},
			{NoteL1MFNValid, append(u64(1), u64(1)...)},
			{NoteSuspendCancel, u32(1)},
			{NoteHVStartLow, u32(0xf5800000)},
			{NotePaddrOffset, u32(0)},
			{NotePhys32Entry, u32(0x1000100)},
		},
	}
}

// xenLinux32 resembles an old XenLinux (e.g. 2.6.18-8.el5xen, i686) kernel
// with only the legacy __xen_guest section.
func xenLinux32() elfSpec {
	return elfSpec{
		class: 32, machine: elf.EM_386, paddr: 0xc0100000, entry: 0xc0100000,
		xenGuest: "GUEST_OS=linux,GUEST_VER=2.6,XEN_VER=xen-3.0,VIRT_BASE=0xC0000000,ELF_PADDR_OFFSET=0xC0000000,HYPERCALL_PAGE=0x2,PAE=yes[extended-cr3],LOADER=generic",
	}
}

// native64 is a kernel built without any Xen support.
func native64() elfSpec {
	return elfSpec{class: 64, machine: elf.EM_X86_64, paddr: 0x1000000, entry: 0x1000000, otherNotes: true}
}

// kernelBuildCmd are the compressors the kernel build uses for each
// CONFIG_KERNEL_* choice (scripts/Makefile.lib, scripts/xz_wrap.sh).
var kernelBuildCmd = map[decompress.Format][]string{
	decompress.Gzip:  {"gzip", "-n", "-f", "-9"},
	decompress.Bzip2: {"bzip2", "-9"},
	decompress.XZ:    {"xz", "--format=xz", "--check=crc32", "--x86", "--lzma2=,dict=32MiB"},
	decompress.LZMA:  {"lzma", "-9"},
	decompress.LZO:   {"lzop", "-9"},
	decompress.LZ4:   {"lz4", "-l", "-9"},
	decompress.Zstd:  {"zstd", "-22", "--ultra", "-q"},
}

func run(t testing.TB, args []string, in []byte) []byte {
	t.Helper()
	if _, err := exec.LookPath(args[0]); err != nil {
		testenv.Skipf(t, "%s not installed: %v", args[0], err)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin = bytes.NewReader(in)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%q: %v: %s", args, err, errb.String())
	}
	return out.Bytes()
}

// kernelPayload compresses vmlinux as the kernel build does, including the
// appended little-endian size for everything but gzip.
func kernelPayload(t testing.TB, f decompress.Format, vmlinux []byte) []byte {
	t.Helper()
	p := run(t, kernelBuildCmd[f], vmlinux)
	if f != decompress.Gzip {
		p = binary.LittleEndian.AppendUint32(p, uint32(len(vmlinux)))
	}
	return p
}

func gzipBytes(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

const testKernelVersion = "6.1.0-test-amd64 (test@xenify) #1 SMP PREEMPT_DYNAMIC"

// bzImage wraps a payload in an x86 boot sector and setup header with the
// given boot protocol version, as arch/x86/boot/header.S and tools/build.c
// lay it out.
func bzImage(payload []byte, proto uint16) []byte {
	le := binary.LittleEndian
	const setupSects = 4
	const decompressorCode = 0x3a0 // bytes before the payload in the PM part
	pm := (setupSects + 1) * 512
	b := make([]byte, pm+decompressorCode+len(payload)+64)
	b[0x1f1] = setupSects
	le.PutUint16(b[0x1fe:], 0xaa55)
	copy(b[0x202:], "HdrS")
	le.PutUint16(b[0x206:], proto)
	le.PutUint16(b[0x20e:], 0x300) // kernel_version at 0x200+0x300
	copy(b[0x500:], testKernelVersion)
	b[0x211] = 1 // LOADED_HIGH
	if proto >= 0x0208 {
		le.PutUint32(b[0x248:], decompressorCode)
		le.PutUint32(b[0x24c:], uint32(len(payload)))
	}
	for i := pm; i < pm+decompressorCode; i++ {
		b[i] = 0xcc
	}
	copy(b[pm+decompressorCode:], payload)
	return b
}
