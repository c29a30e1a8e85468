package kernelimage

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Xen ELF note types, from xen/include/public/elfnote.h.
const (
	NoteInfo              = 0
	NoteEntry             = 1
	NoteHypercallPage     = 2
	NoteVirtBase          = 3
	NotePaddrOffset       = 4
	NoteXenVersion        = 5
	NoteGuestOS           = 6
	NoteGuestVersion      = 7
	NoteLoader            = 8
	NotePAEMode           = 9
	NoteFeatures          = 10
	NoteBSDSymtab         = 11
	NoteHVStartLow        = 12
	NoteL1MFNValid        = 13
	NoteSuspendCancel     = 14
	NoteInitP2M           = 15
	NoteModStartPFN       = 16
	NoteSupportedFeatures = 17
	NotePhys32Entry       = 18
)

type noteKind int

const (
	kindNumeric noteKind = iota
	kindString
	kindL1MFN
	kindBitmap
)

var noteTypes = map[uint32]struct {
	name string
	kind noteKind
}{
	NoteInfo:              {"INFO", kindString},
	NoteEntry:             {"ENTRY", kindNumeric},
	NoteHypercallPage:     {"HYPERCALL_PAGE", kindNumeric},
	NoteVirtBase:          {"VIRT_BASE", kindNumeric},
	NotePaddrOffset:       {"PADDR_OFFSET", kindNumeric},
	NoteXenVersion:        {"XEN_VERSION", kindString},
	NoteGuestOS:           {"GUEST_OS", kindString},
	NoteGuestVersion:      {"GUEST_VERSION", kindString},
	NoteLoader:            {"LOADER", kindString},
	NotePAEMode:           {"PAE_MODE", kindString},
	NoteFeatures:          {"FEATURES", kindString},
	NoteBSDSymtab:         {"BSD_SYMTAB", kindString},
	NoteHVStartLow:        {"HV_START_LOW", kindNumeric},
	NoteL1MFNValid:        {"L1_MFN_VALID", kindL1MFN},
	NoteSuspendCancel:     {"SUSPEND_CANCEL", kindNumeric},
	NoteInitP2M:           {"INIT_P2M", kindNumeric},
	NoteModStartPFN:       {"MOD_START_PFN", kindNumeric},
	NoteSupportedFeatures: {"SUPPORTED_FEATURES", kindBitmap},
	NotePhys32Entry:       {"PHYS32_ENTRY", kindNumeric},
}

// Note is one decoded Xen ELF note (name "Xen").
type Note struct {
	Type uint32
	// Name is the XEN_ELFNOTE_ suffix ("ENTRY", "PAE_MODE", ...), or
	// "unknown (0x13)" for types this package does not know.
	Name string
	// Desc is the raw descriptor.
	Desc []byte
	// IsString is true for string notes; Str holds their value up to the
	// first NUL.
	IsString bool
	Str      string
	// Value holds numeric notes (descriptor of 1, 2, 4 or 8 bytes, in the
	// ELF file's byte order; 0 for other sizes, as in Xen's libelf). For
	// SUPPORTED_FEATURES it is the first 32-bit word of the bitmap.
	Value uint64
	// Pairs holds the (mask, value) pairs of L1_MFN_VALID.
	Pairs [][2]uint64
}

// String formats n as Xen's readnotes tool does (without the descriptor
// size), e.g. "ENTRY: 0xffffffff830791c0" or "GUEST_OS: linux".
func (n Note) String() string {
	switch {
	case n.IsString:
		return n.Name + ": " + n.Str
	case n.Type == NoteL1MFNValid && len(n.Pairs) > 0:
		return fmt.Sprintf("%s: mask=%#x value=%#x", n.Name, n.Pairs[0][0], n.Pairs[0][1])
	case strings.HasPrefix(n.Name, "unknown"):
		return fmt.Sprintf("unknown note type %#x", n.Type)
	}
	if n.Value == 0 {
		return n.Name + ": 0" // C's %#x, as readnotes prints it
	}
	return fmt.Sprintf("%s: %#x", n.Name, n.Value)
}

const maxNotes = 1 << 16 // as Xen's ELF_MAX_TOTAL_NOTE_COUNT bounds work

// parseNotes decodes the notes in buf, returning those named "Xen". It
// stops at the first malformed header, as libelf does at the end of a
// segment.
func parseNotes(f *elfFile, buf []byte, total *int) []Note {
	var out []Note
	for len(buf) >= 12 {
		if *total >= maxNotes {
			break
		}
		*total++
		namesz := uint64(f.bo.Uint32(buf))
		descsz := uint64(f.bo.Uint32(buf[4:]))
		typ := f.bo.Uint32(buf[8:])
		nameEnd := 12 + (namesz+3)&^3
		descEnd := nameEnd + (descsz+3)&^3
		if namesz > uint64(len(buf)) || descsz > uint64(len(buf)) || 12+namesz > uint64(len(buf)) || nameEnd+descsz > uint64(len(buf)) {
			break
		}
		name := bytes.TrimRight(buf[12:12+namesz], "\x00")
		desc := buf[nameEnd : nameEnd+descsz]
		if string(name) == "Xen" {
			out = append(out, decodeNote(f, typ, desc))
		}
		if descEnd >= uint64(len(buf)) {
			break
		}
		buf = buf[descEnd:]
	}
	return out
}

func decodeNote(f *elfFile, typ uint32, desc []byte) Note {
	n := Note{Type: typ, Desc: append([]byte(nil), desc...)}
	t, ok := noteTypes[typ]
	if !ok {
		n.Name = fmt.Sprintf("unknown (%#x)", typ)
		return n
	}
	n.Name = t.name
	switch t.kind {
	case kindString:
		n.IsString = true
		s := desc
		if i := bytes.IndexByte(s, 0); i >= 0 {
			s = s[:i]
		}
		n.Str = string(s)
	case kindNumeric:
		n.Value = numeric(f, desc)
	case kindBitmap:
		if len(desc) >= 4 {
			n.Value = uint64(f.bo.Uint32(desc))
		}
	case kindL1MFN:
		// maddr_t-sized pairs: 8 bytes each on x86.
		for i := 0; i+16 <= len(desc); i += 16 {
			n.Pairs = append(n.Pairs, [2]uint64{f.bo.Uint64(desc[i:]), f.bo.Uint64(desc[i+8:])})
		}
		if len(n.Pairs) == 0 {
			for i := 0; i+8 <= len(desc); i += 8 {
				n.Pairs = append(n.Pairs, [2]uint64{uint64(f.bo.Uint32(desc[i:])), uint64(f.bo.Uint32(desc[i+4:]))})
			}
		}
	}
	return n
}

func numeric(f *elfFile, d []byte) uint64 {
	switch len(d) {
	case 1:
		return uint64(d[0])
	case 2:
		return uint64(f.bo.Uint16(d))
	case 4:
		return uint64(f.bo.Uint32(d))
	case 8:
		return f.bo.Uint64(d)
	}
	return 0
}

// Feature names Xen's libelf knows (libelf-dominfo.c); a kernel that
// requires ("!name") any other feature is rejected by the domain builder.
var xenFeatureNames = map[int]string{
	0:  "writable_page_tables",
	1:  "writable_descriptor_tables",
	2:  "auto_translated_physmap",
	3:  "supervisor_mode_kernel",
	4:  "pae_pgdir_above_4gb",
	8:  "hvm_callback_vector",
	11: "dom0",
}

// More XENFEAT_ names (xen/include/public/features.h), used only to name
// bits of SUPPORTED_FEATURES.
var otherFeatureNames = map[int]string{
	5:  "mmu_pt_update_preserve_ad",
	7:  "gnttab_map_avail_bits",
	9:  "hvm_safe_pvclock",
	10: "hvm_pirqs",
	12: "linux_rsdp_unrestricted",
	13: "direct_mapped",
	14: "not_direct_mapped",
}

func featureName(bit int) string {
	if n, ok := xenFeatureNames[bit]; ok {
		return n
	}
	if n, ok := otherFeatureNames[bit]; ok {
		return n
	}
	return "bit" + strconv.Itoa(bit)
}

func knownToXen(name string) bool {
	for _, n := range xenFeatureNames {
		if n == name {
			return true
		}
	}
	return false
}

// parseFeatures splits a FEATURES string ("!writable_page_tables|
// pae_pgdir_above_4gb") into supported and required names.
func parseFeatures(s string) (supported, required []string) {
	for _, f := range strings.Split(s, "|") {
		if f == "" {
			continue
		}
		if name, ok := strings.CutPrefix(f, "!"); ok {
			required = append(required, name)
			supported = append(supported, name)
			continue
		}
		supported = append(supported, f)
	}
	return supported, required
}
