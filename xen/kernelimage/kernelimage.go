// Package kernelimage inspects a Linux kernel image (x86 bzImage, plain or
// compressed ELF vmlinux) and reports whether, and how, Xen can boot it as
// a paravirtualised guest: the Xen ELF notes (or legacy __xen_guest
// section), PV and PVH capability, PAE mode, and compatibility with a
// host's capabilities ("xen-3.0-x86_64 hvm-3.0-x86_32 ...").
//
// The checks follow Xen's own domain builder: tools/libs/guest/
// xg_dom_bzimageloader.c, xg_dom_elfloader.c and
// xen/common/libelf/libelf-dominfo.c.
package kernelimage

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xenify/xenify/decompress"
)

// PAEMode is the kernel's PAE mode as Xen interprets it.
type PAEMode int

// PAE modes (XEN_PAE_* in libelf).
const (
	PAENo      PAEMode = iota // no PAE (or not stated)
	PAEYes                    // legacy "PAE=yes"
	PAEExtCR3                 // "yes" note, or legacy "yes[extended-cr3]"
	PAEBimodal                // "yes,bimodal": runs with or without PAE
)

func (p PAEMode) String() string {
	switch p {
	case PAEYes:
		return "yes"
	case PAEExtCR3:
		return "yes[extended-cr3]"
	case PAEBimodal:
		return "bimodal"
	}
	return "no"
}

// Image container kinds reported in Info.Format.
const (
	FormatBzImage       = "bzImage"
	FormatELF           = "ELF"
	FormatCompressedELF = "compressed ELF"
)

// Info describes a kernel image.
type Info struct {
	// Format is FormatBzImage, FormatELF or FormatCompressedELF.
	Format string
	// Compression is the bzImage payload's compression, or the whole
	// file's for a compressed ELF; decompress.None otherwise.
	Compression decompress.Format
	// BootProtocol is the bzImage boot protocol version (0x020f is
	// 2.15); KernelVersion the bzImage's version string.
	BootProtocol  uint16
	KernelVersion string

	// Class is 32 or 64, Machine the ELF machine; both zero when no ELF
	// image could be extracted (old bzImage payloads are not ELF).
	Class   int
	Machine elf.Machine
	// ELFEntry is the ELF header's entry point.
	ELFEntry uint64

	// Notes are the Xen notes, in file order, from NoteSource:
	// "PT_NOTE", "SHT_NOTE" or "__xen_guest" (XenGuest then holds the
	// raw legacy string), or "" when there are none.
	Notes      []Note
	NoteSource string
	XenGuest   string

	// Values from the notes or the __xen_guest string.
	GuestOS, GuestVersion, XenVersion, Loader string
	PAE                                       PAEMode
	HasVirtBase                               bool
	VirtBase                                  uint64
	HasEntry                                  bool
	Entry                                     uint64
	HasHypercallPage                          bool
	HypercallPage                             uint64 // virtual address
	HasPhysEntry                              bool
	PhysEntry                                 uint64
	Features, RequiredFeatures                []string

	// PV is true when Xen's PV domain builder would accept the kernel for
	// an unprivileged guest; NotPV says why not otherwise.
	PV    bool
	NotPV string
	// PVH is true when the kernel has a PVH entry point (PHYS32_ENTRY).
	PVH bool
}

// Inspect inspects a kernel image, decompressing at most
// decompress.DefaultMax bytes.
func Inspect(data []byte) (*Info, error) {
	return InspectLimit(data, decompress.DefaultMax)
}

// InspectLimit is Inspect with a cap on decompressed size.
func InspectLimit(data []byte, max int64) (*Info, error) {
	return InspectWith(data, Options{Max: max})
}

// InspectWith is Inspect with options: a cap on decompressed size and a
// cache of decoded kernels.
func InspectWith(data []byte, o Options) (*Info, error) {
	if o.Max <= 0 {
		o.Max = decompress.DefaultMax
	}
	switch {
	case len(data) >= 0x250 && string(data[0x202:0x206]) == "HdrS":
		return inspectBzImage(data, o)
	case isELF(data):
		info := &Info{Format: FormatELF}
		return info, info.fromELF(data)
	case decompress.Detect(data) != decompress.None:
		info := &Info{Format: FormatCompressedELF, Compression: decompress.Detect(data)}
		f := info.Compression
		if err := info.fromCompressedELF(data, o); err != nil {
			if errors.Is(err, errNotELF) {
				return nil, fmt.Errorf("%v-compressed kernel image does not contain an ELF file", f)
			}
			return nil, fmt.Errorf("decompressing kernel: %w", err)
		}
		if f != decompress.Gzip && info.PV {
			info.PV = false
			info.NotPV = fmt.Sprintf("kernel is a %v-compressed ELF file; Xen only decompresses gzip unless the kernel is a bzImage", f)
		}
		return info, nil
	}
	return nil, errors.New("not a bzImage, ELF or compressed ELF kernel image")
}

func inspectBzImage(data []byte, o Options) (*Info, error) {
	le := binary.LittleEndian
	info := &Info{Format: FormatBzImage, BootProtocol: le.Uint16(data[0x206:])}
	if p := int(le.Uint16(data[0x20e:])); p != 0 && 0x200+p < len(data) {
		s := data[0x200+p:]
		s = s[:min(len(s), 256)]
		if i := bytes.IndexByte(s, 0); i >= 0 {
			info.KernelVersion = string(s[:i])
		}
	}
	// Xen computes the protected-mode start as (setup_sects + 1) * 512.
	pm := (int(data[0x1f1]) + 1) * 512
	if info.BootProtocol < 0x0208 {
		// No payload fields: find the compressed payload by scanning.
		// Such kernels predate ELF payloads, so this is informational.
		info.NotPV = fmt.Sprintf("bzImage boot protocol %s is older than 2.08, which Xen's bzImage loader requires", protoString(info.BootProtocol))
		off, f := decompress.Find(data, pm)
		if off < 0 {
			return info, nil
		}
		info.Compression = f
		notPV := info.NotPV
		err := info.fromCompressedELF(data[off:], o)
		var parse *elfError
		if errors.As(err, &parse) {
			return nil, err
		}
		info.PV, info.NotPV = false, notPV
		return info, nil
	}
	off := uint64(pm) + uint64(le.Uint32(data[0x248:]))
	length := uint64(le.Uint32(data[0x24c:]))
	payload, err := rng(data, off, length, "bzImage payload")
	if err != nil {
		return nil, err
	}
	f := decompress.Detect(payload)
	info.Compression = f
	if f == decompress.None {
		if !isELF(payload) {
			return nil, errors.New("bzImage payload is neither compressed nor ELF")
		}
		if err := info.fromELF(payload); err != nil {
			return nil, err
		}
	} else if err := info.fromCompressedELF(payload, o); err != nil {
		var parse *elfError
		switch {
		case errors.Is(err, errNotELF):
			return nil, fmt.Errorf("%v-compressed bzImage payload is not an ELF file", f)
		case errors.As(err, &parse):
			return nil, err
		}
		return nil, fmt.Errorf("decompressing bzImage payload: %w", err)
	}
	if f == decompress.None && info.PV {
		info.PV = false
		info.NotPV = "bzImage payload is uncompressed (CONFIG_KERNEL_UNCOMPRESSED); Xen's bzImage loader requires a compressed payload"
	}
	return info, nil
}

func protoString(v uint16) string { return fmt.Sprintf("%d.%02d", v>>8, v&0xff) }

// fromELF fills info from an ELF vmlinux, following libelf's
// elf_xen_parse for a PV (non-HVM) guest.
func (info *Info) fromELF(data []byte) error {
	err := info.fromELFPrefix(data, false)
	var parse *elfError
	if errors.As(err, &parse) {
		return parse.err // the message callers have always seen
	}
	return err
}

// elfError is a malformed ELF image, as opposed to a failure to
// decompress one.
type elfError struct{ err error }

func (e *elfError) Error() string { return e.err.Error() }
func (e *elfError) Unwrap() error { return e.err }

var (
	errNotELF       = errors.New("not an ELF file")
	errNeedSections = errors.New("the Xen notes are not in note segments: the section headers are needed")
)

// fromCompressedELF fills info from a compressed ELF vmlinux, decoding
// only as far as the Xen notes need: the ELF header, the program headers
// and the note segments, which sit before the bulk of the image (about
// a third of the way into Debian 12's 66 MB vmlinux, after .text). Only
// an image whose notes are not in note segments is decoded to its end,
// for the section headers there (SHT_NOTE, __xen_guest).
//
// With o.Cache, the bytes the parse reads are cached, keyed by the
// SHA-256 of data, and a later call on the same data parses them without
// decoding anything.
func (info *Info) fromCompressedELF(data []byte, o Options) error {
	var key string
	if o.Cache != nil {
		key = cacheKey(data)
		if ok, err := info.fromCache(o.Cache, key, o.Max); ok || err != nil {
			return err
		}
	}
	max := o.Max
	parse := func(buf []byte, partial bool) error {
		rec := &recorder{flat: buf}
		err := info.fromImage(rec, partial)
		if err == nil && o.Cache != nil {
			if b := rec.encode(key, partial); b != nil {
				o.Cache.Put(key, b)
			}
		}
		return err
	}
	r, _, err := decompress.Open(data)
	if err != nil {
		return err
	}
	defer r.Close()
	p := &prefix{r: r, max: max}
	if err := p.fill(64); err != nil {
		return err
	}
	if !isELF(p.buf) {
		return errNotELF
	}
	if err := p.fill(phdrEnd(p.buf)); err != nil {
		return err
	}
	var need uint64
	if f, err := parseELFPrefix(p.buf, true); err == nil {
		for _, ph := range f.progs {
			if ph.typ == elf.PT_NOTE && ph.off != 0 && ph.off+ph.filesz > need && ph.off+ph.filesz >= ph.off {
				need = ph.off + ph.filesz
			}
		}
	}
	if need > 0 {
		if err := p.fill(need); err != nil {
			return err
		}
		saved := *info
		err := parse(p.buf, !p.eof)
		if !errors.Is(err, errNeedSections) {
			return err
		}
		*info = saved
	}
	if err := p.fill(uint64(max) + 1); err != nil {
		return err
	}
	return parse(p.buf, false)
}

// phdrEnd is where the program header table of the ELF image starting
// with hdr ends (0 when hdr is too short to say).
func phdrEnd(hdr []byte) uint64 {
	if len(hdr) < 64 {
		return 0
	}
	bo := binary.ByteOrder(binary.LittleEndian)
	if elf.Data(hdr[elf.EI_DATA]) == elf.ELFDATA2MSB {
		bo = binary.BigEndian
	}
	if elf.Class(hdr[elf.EI_CLASS]) == elf.ELFCLASS32 {
		return uint64(bo.Uint32(hdr[28:])) + uint64(bo.Uint16(hdr[42:]))*uint64(bo.Uint16(hdr[44:]))
	}
	return bo.Uint64(hdr[32:]) + uint64(bo.Uint16(hdr[54:]))*uint64(bo.Uint16(hdr[56:]))
}

// prefix holds what has been read so far of a decompressed stream.
type prefix struct {
	r   io.Reader
	buf []byte
	eof bool
	max int64
}

// fill reads until at least n bytes are held or the stream ends; past
// max bytes it fails with decompress.ErrTooLarge.
func (p *prefix) fill(n uint64) error {
	const chunk = 64 << 10
	for !p.eof && uint64(len(p.buf)) < n {
		if int64(len(p.buf)) > p.max {
			return fmt.Errorf("%w (%d bytes)", decompress.ErrTooLarge, p.max)
		}
		// Read what is missing, at least a chunk; grow to exactly n
		// when it is known, doubling otherwise (reading to the end).
		rest := min(n-uint64(len(p.buf)), uint64(p.max)+1)
		want := len(p.buf) + int(max(rest, chunk))
		if n > uint64(p.max) {
			want = len(p.buf) + chunk
		}
		if cap(p.buf) < want {
			size := want
			if n > uint64(p.max) {
				size = max(want, 2*cap(p.buf))
			}
			grown := make([]byte, len(p.buf), size)
			copy(grown, p.buf)
			p.buf = grown
		}
		m, err := p.r.Read(p.buf[len(p.buf):want])
		p.buf = p.buf[:len(p.buf)+m]
		switch {
		case err == io.EOF:
			p.eof = true
		case err != nil:
			return err
		}
	}
	if int64(len(p.buf)) > p.max {
		return fmt.Errorf("%w (%d bytes)", decompress.ErrTooLarge, p.max)
	}
	return nil
}

// fromELFPrefix is fromELF on a prefix of the image when partial: it
// fails with errNeedSections when the notes are not in the note
// segments it holds.
func (info *Info) fromELFPrefix(data []byte, partial bool) error {
	return info.fromImage(flat(data), partial)
}

// fromImage is fromELFPrefix on an image read through img.
func (info *Info) fromImage(img image, partial bool) error {
	f, err := parseELF(img, partial)
	if errors.Is(err, errUncached) {
		return err
	}
	if err != nil {
		return &elfError{fmt.Errorf("parsing ELF kernel: %w", err)}
	}
	info.Class = f.class
	info.Machine = f.machine
	info.ELFEntry = f.entry

	total := 0
	for _, p := range f.progs {
		// Some binutils versions leave p_offset zero for note segments;
		// Xen skips those.
		if p.typ != elf.PT_NOTE || p.off == 0 {
			continue
		}
		buf, err := img.at(p.off, p.filesz, "note segment")
		if err != nil {
			return imageErr(err)
		}
		info.Notes = append(info.Notes, parseNotes(f, buf, &total)...)
	}
	if len(info.Notes) == 0 && f.partial {
		return errNeedSections
	}
	if len(info.Notes) > 0 {
		info.NoteSource = "PT_NOTE"
	} else {
		for _, s := range f.sects {
			if s.typ != elf.SHT_NOTE {
				continue
			}
			buf, err := img.at(s.off, s.size, "note section")
			if err != nil {
				return imageErr(err)
			}
			info.Notes = append(info.Notes, parseNotes(f, buf, &total)...)
		}
		if len(info.Notes) > 0 {
			info.NoteSource = "SHT_NOTE"
		}
	}
	var paddrOffset uint64
	hasPaddrOffset := false
	if info.NoteSource != "" {
		for _, n := range info.Notes {
			switch n.Type {
			case NoteGuestOS:
				info.GuestOS = n.Str
			case NoteGuestVersion:
				info.GuestVersion = n.Str
			case NoteXenVersion:
				info.XenVersion = n.Str
			case NoteLoader:
				info.Loader = n.Str
			case NotePAEMode:
				if n.Str == "yes" {
					info.PAE = PAEExtCR3
				}
				if strings.Contains(n.Str, "bimodal") {
					info.PAE = PAEBimodal
				}
			case NoteVirtBase:
				info.HasVirtBase, info.VirtBase = true, n.Value
			case NoteEntry:
				info.HasEntry, info.Entry = true, n.Value
			case NoteHypercallPage:
				info.HasHypercallPage, info.HypercallPage = true, n.Value
			case NotePhys32Entry:
				info.HasPhysEntry, info.PhysEntry = true, n.Value
			case NotePaddrOffset:
				hasPaddrOffset, paddrOffset = true, n.Value
			case NoteFeatures:
				s, r := parseFeatures(n.Str)
				info.Features = append(info.Features, s...)
				info.RequiredFeatures = append(info.RequiredFeatures, r...)
			case NoteSupportedFeatures:
				for i := 0; i < 32; i++ {
					if n.Value&(1<<i) != 0 {
						info.Features = appendUnique(info.Features, featureName(i))
					}
				}
			}
		}
	} else {
		for _, s := range f.sects {
			if s.name != "__xen_guest" {
				continue
			}
			buf, err := img.at(s.off, s.size, "__xen_guest section")
			if err != nil {
				return imageErr(err)
			}
			if i := bytes.IndexByte(buf, 0); i >= 0 {
				buf = buf[:i]
			}
			info.NoteSource = "__xen_guest"
			info.XenGuest = string(buf)
			hasPaddrOffset, paddrOffset = info.parseGuestInfo(info.XenGuest)
			break
		}
	}
	info.PVH = info.HasPhysEntry && info.NoteSource != "__xen_guest"
	info.PV, info.NotPV = info.pvCheck(f, hasPaddrOffset, paddrOffset)
	return nil
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// parseGuestInfo parses a legacy __xen_guest string such as
// "GUEST_OS=linux,XEN_VER=xen-3.0,VIRT_BASE=0xC0000000,PAE=yes[extended-cr3]"
// the way libelf's elf_xen_parse_guest_info does.
func (info *Info) parseGuestInfo(s string) (hasPaddrOffset bool, paddrOffset uint64) {
	num := func(v string) uint64 {
		// strtoull(value, NULL, 0): parse the longest valid prefix.
		for end := len(v); end > 0; end-- {
			if n, err := strconv.ParseUint(v[:end], 0, 64); err == nil {
				return n
			}
		}
		return 0
	}
	var hypercallPage uint64
	for _, kv := range strings.Split(s, ",") {
		name, value, _ := strings.Cut(kv, "=")
		switch name {
		case "LOADER":
			info.Loader = value
		case "GUEST_OS":
			info.GuestOS = value
		case "GUEST_VER":
			info.GuestVersion = value
		case "XEN_VER":
			info.XenVersion = value
		case "PAE":
			if value == "yes[extended-cr3]" {
				info.PAE = PAEExtCR3
			} else if strings.HasPrefix(value, "yes") {
				info.PAE = PAEYes
			}
		case "VIRT_BASE":
			info.HasVirtBase, info.VirtBase = true, num(value)
		case "VIRT_ENTRY":
			info.HasEntry, info.Entry = true, num(value)
		case "ELF_PADDR_OFFSET":
			hasPaddrOffset, paddrOffset = true, num(value)
		case "HYPERCALL_PAGE":
			// A page number, relative to VIRT_BASE.
			info.HasHypercallPage, hypercallPage = true, num(value)<<12
		case "FEATURES":
			// Legacy strings separate features with '|' as well.
			sup, req := parseFeatures(value)
			info.Features = append(info.Features, sup...)
			info.RequiredFeatures = append(info.RequiredFeatures, req...)
		}
	}
	if info.HasHypercallPage {
		info.HypercallPage = hypercallPage
		if info.HasVirtBase {
			info.HypercallPage += info.VirtBase
		}
	}
	return hasPaddrOffset, paddrOffset
}

// pvCheck applies libelf's elf_xen_note_check and elf_xen_addr_calc_check
// for a PV guest, xg_dom_elfloader's domU check, and one check Xen does
// not make: that a notes-based kernel has a PV entry point.
func (info *Info) pvCheck(f *elfFile, hasPaddrOffset bool, paddrOffset uint64) (bool, string) {
	if f.machine != elf.EM_386 && f.machine != elf.EM_X86_64 {
		return false, fmt.Sprintf("kernel is for %v, not x86", f.machine)
	}
	if info.NoteSource == "" {
		return false, "kernel has no Xen ELF notes and no __xen_guest section: it was built without Xen guest support"
	}
	if !strings.HasPrefix(info.Loader, "generic") && !strings.HasPrefix(info.GuestOS, "linux") {
		return false, fmt.Sprintf("Xen only loads images for the generic loader or Linux (loader %q, guest OS %q)", info.Loader, info.GuestOS)
	}
	if !strings.HasPrefix(info.XenVersion, "xen-3.0") {
		return false, fmt.Sprintf("Xen only loads images built for xen-3.0 (kernel says %q)", info.XenVersion)
	}
	for _, r := range info.RequiredFeatures {
		if !knownToXen(r) {
			return false, fmt.Sprintf("kernel requires feature %q, unknown to Xen's domain builder", r)
		}
		if r == "dom0" {
			return false, "kernel requires dom0: it does not support unprivileged (domU) operation"
		}
	}
	if info.NoteSource != "__xen_guest" && !info.HasEntry {
		why := "kernel has Xen ELF notes but no XEN_ELFNOTE_ENTRY: it was built without CONFIG_XEN_PV"
		if info.PVH {
			why += "; it can boot as PVH"
		}
		return false, why
	}

	// Address checks (elf_xen_addr_calc_check).
	if hasPaddrOffset && !info.HasVirtBase {
		return false, "ELF_PADDR_OFFSET set but VIRT_BASE unset"
	}
	virtBase := info.VirtBase // 0 when unset
	if !hasPaddrOffset {
		paddrOffset = 0
		if info.NoteSource == "__xen_guest" {
			paddrOffset = virtBase
		}
	}
	pstart, pend, ok := f.loadBounds()
	if !ok {
		return false, "kernel has no loadable segments"
	}
	off := virtBase - paddrOffset
	kstart, kend := pstart+off, pend+off
	entry := f.entry
	if info.HasEntry {
		entry = info.Entry
	}
	if kstart > kend || entry < kstart || entry > kend || virtBase > kstart {
		return false, fmt.Sprintf("ELF start or entry out of bounds (kernel %#x-%#x, entry %#x, virt base %#x)", kstart, kend, entry, virtBase)
	}
	return true, ""
}

// GuestType returns the Xen guest type the PV domain builder would pick
// for this kernel on a host with caps ("xen-3.0-x86_64",
// "xen-3.0-x86_32p" or "xen-3.0-x86_32"), or "" for a non-x86 kernel.
func (info *Info) GuestType(caps []string) string {
	switch info.Machine {
	case elf.EM_X86_64:
		return "xen-3.0-x86_64"
	case elf.EM_386:
		switch info.PAE {
		case PAEBimodal:
			if hasCap(caps, "xen-3.0-x86_32p") {
				return "xen-3.0-x86_32p"
			}
			return "xen-3.0-x86_32"
		case PAEYes, PAEExtCR3:
			return "xen-3.0-x86_32p"
		}
		return "xen-3.0-x86_32"
	}
	return ""
}

func splitCaps(caps []string) []string {
	var out []string
	for _, c := range caps {
		out = append(out, strings.Fields(c)...)
	}
	return out
}

func hasCap(caps []string, want string) bool {
	for _, c := range splitCaps(caps) {
		if c == want {
			return true
		}
	}
	return false
}

func hasCapPrefix(caps []string, prefix string) bool {
	for _, c := range splitCaps(caps) {
		if strings.HasPrefix(c, prefix) {
			return true
		}
	}
	return false
}

// CompatibleWith reports whether the kernel can boot as a PV guest on a
// host with the given capabilities (the xen_caps line of "xl info", e.g.
// "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64"; entries
// may also be given one per element). The reason says which capability
// matched, or what would work instead.
func (info *Info) CompatibleWith(caps []string) (ok bool, reason string) {
	hvm := hasCapPrefix(caps, "hvm-3.0-")
	if !info.PV {
		why := "kernel cannot boot as a PV guest: " + info.NotPV
		switch {
		case info.PVH && hvm:
			why += "; boot it as PVH (type = \"pvh\") instead"
		case hvm:
			why += "; install a Xen PV-capable kernel in the guest, or run it as HVM"
		default:
			why += "; install a Xen PV-capable kernel in the guest"
		}
		return false, why
	}
	want := info.GuestType(caps)
	if hasCap(caps, want) {
		return true, fmt.Sprintf("host offers %s", want)
	}
	var alts []string
	if info.Class == 32 {
		switch {
		case hasCap(caps, "xen-3.0-x86_64"):
			alts = append(alts, "install a 64-bit PV kernel in the guest (the host runs 64-bit PV only)")
		case want == "xen-3.0-x86_32p" && hasCap(caps, "xen-3.0-x86_32"):
			alts = append(alts, "install a non-PAE 32-bit PV kernel in the guest")
		case want == "xen-3.0-x86_32" && hasCap(caps, "xen-3.0-x86_32p"):
			alts = append(alts, "install a PAE 32-bit PV kernel in the guest")
		}
	} else {
		switch {
		case hasCap(caps, "xen-3.0-x86_32p"):
			alts = append(alts, "install a 32-bit PAE PV kernel in the guest (the host runs 32-bit PV only)")
		case hasCap(caps, "xen-3.0-x86_32"):
			alts = append(alts, "install a 32-bit non-PAE PV kernel in the guest (the host runs 32-bit PV only)")
		}
	}
	switch {
	case info.PVH && hvm:
		alts = append(alts, "boot this kernel as PVH (type = \"pvh\")")
	case hvm:
		alts = append(alts, "run the guest as HVM")
	}
	why := fmt.Sprintf("host lacks %s (it offers %q)", want, strings.Join(splitCaps(caps), " "))
	if want == "xen-3.0-x86_32p" || want == "xen-3.0-x86_32" {
		why = fmt.Sprintf("host lacks %s: its hypervisor has no 32-bit PV support (it offers %q)", want, strings.Join(splitCaps(caps), " "))
	}
	if len(alts) > 0 {
		why += "; " + strings.Join(alts, ", or ")
	}
	return false, why
}
