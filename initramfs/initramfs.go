// Package initramfs lists and reads Linux initramfs images: one or more
// cpio archives ("newc" 070701 or "crc" 070702), concatenated with zero
// padding between them, each part possibly compressed in any format the
// kernel supports. This is the layout Debian's mkinitramfs and dracut
// produce (an uncompressed early-microcode archive followed by a
// compressed main one) and that old mkinitrd produced (one gzip cpio).
//
// Parsing follows the kernel's init/initramfs.c: at the top level, zero
// bytes are skipped, a '0' at a 4-byte-aligned offset starts a cpio
// archive, and anything else must be a compressed stream, after which
// parsing continues; inside a decompressed stream, archives and zero
// padding may follow each other but nothing may be compressed again.
package initramfs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/xenify/xenify/decompress"
)

// Entry is one archive member.
type Entry struct {
	// Path is the member's name with any leading "./" or "/" removed
	// ("lib/modules/6.1.0-56-amd64/kernel/drivers/block/xen-blkfront.ko").
	Path string
	// Mode is the raw st_mode (file type and permission bits).
	Mode uint32
	// Size is the data size in bytes.
	Size int64
	// Link is the target of a symbolic link.
	Link string
	// Part is the index of the top-level part (0 for the first archive
	// or compressed stream) and Compression that part's compression.
	Part        int
	Compression decompress.Format
}

// File type bits of Mode.
const (
	modeType    = 0o170000
	modeDir     = 0o040000
	modeRegular = 0o100000
	modeSymlink = 0o120000
)

// IsDir, IsRegular and IsSymlink report the member's type.
func (e Entry) IsDir() bool     { return e.Mode&modeType == modeDir }
func (e Entry) IsRegular() bool { return e.Mode&modeType == modeRegular }
func (e Entry) IsSymlink() bool { return e.Mode&modeType == modeSymlink }

// FileMode converts Mode to an io/fs mode.
func (e Entry) FileMode() fs.FileMode {
	m := fs.FileMode(e.Mode & 0o777)
	switch e.Mode & modeType {
	case modeDir:
		m |= fs.ModeDir
	case modeSymlink:
		m |= fs.ModeSymlink
	case 0o020000:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case 0o060000:
		m |= fs.ModeDevice
	case 0o010000:
		m |= fs.ModeNamedPipe
	case 0o140000:
		m |= fs.ModeSocket
	}
	return m
}

// List lists every member of an initramfs image, in archive order,
// decompressing at most decompress.DefaultMax bytes in total.
func List(data []byte) ([]Entry, error) {
	return ListLimit(data, decompress.DefaultMax)
}

// ListLimit is List with a cap on the total decompressed size.
func ListLimit(data []byte, max int64) ([]Entry, error) {
	var out []Entry
	err := walk(data, max, func(e Entry, _ []byte) bool {
		out = append(out, e)
		return true
	})
	return out, err
}

// ListFiles is List that also returns, in the same single pass over the
// image, the contents of the members named in names (the last one of
// each name, as ReadFile returns it; missing names are absent from the
// map). Decoding an initramfs dominates reading it, so a caller that
// needs both pays once.
func ListFiles(data []byte, names ...string) ([]Entry, map[string][]byte, error) {
	want := map[string]string{}
	for _, n := range names {
		want[cleanPath(n)] = n
	}
	var out []Entry
	files := map[string][]byte{}
	err := walk(data, decompress.DefaultMax, func(e Entry, content []byte) bool {
		out = append(out, e)
		if n, ok := want[e.Path]; ok {
			files[n] = append([]byte(nil), content...)
		}
		return true
	})
	return out, files, err
}

// ErrNotExist is returned (wrapped) by ReadFile for a missing member.
var ErrNotExist = fs.ErrNotExist

// ReadFile returns the contents of the last member named name (a later
// member overrides an earlier one, as when the kernel unpacks them), for
// example "init" or "etc/modprobe.d/xen.conf". Symbolic links are not
// followed.
func ReadFile(data []byte, name string) ([]byte, error) {
	name = cleanPath(name)
	var found []byte
	ok := false
	err := walk(data, decompress.DefaultMax, func(e Entry, content []byte) bool {
		if e.Path == name {
			found, ok = content, true
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, ErrNotExist)
	}
	return append([]byte(nil), found...), nil
}

func cleanPath(p string) string {
	for {
		switch {
		case strings.HasPrefix(p, "./"):
			p = p[2:]
		case strings.HasPrefix(p, "/"):
			p = p[1:]
		default:
			if p == "." {
				return ""
			}
			return p
		}
	}
}

// walk calls fn for each member with its contents; fn returns false to
// stop.
func walk(data []byte, max int64, fn func(Entry, []byte) bool) error {
	var budget = max
	part := 0
	pos := 0
	for pos < len(data) {
		if data[pos] == 0 {
			pos++
			continue
		}
		if data[pos] == '0' && pos%4 == 0 {
			n, stop, err := parseArchives(data[pos:], pos, part, decompress.None, fn, false)
			if err != nil {
				return err
			}
			if stop {
				return nil
			}
			pos += n
			part++
			continue
		}
		f := decompress.Detect(data[pos:])
		if f == decompress.None {
			return fmt.Errorf("offset %d: invalid magic at start of compressed archive (% x)", pos, data[pos:min(pos+6, len(data))])
		}
		if budget <= 0 {
			return fmt.Errorf("offset %d: part %d: %w", pos, part, decompress.ErrTooLarge)
		}
		// Shared: one conversion reads the same initramfs several
		// times (the contents handed to fn are read-only).
		out, _, n, err := decompress.StreamShared(data[pos:], budget)
		if err != nil {
			return fmt.Errorf("offset %d: part %d: %w", pos, part, err)
		}
		budget -= int64(len(out))
		_, stop, err := parseArchives(out, 0, part, f, fn, true)
		if err != nil {
			return fmt.Errorf("offset %d: part %d (%v): %w", pos, part, f, err)
		}
		if stop {
			return nil
		}
		if n <= 0 {
			return fmt.Errorf("offset %d: %v stream of no length", pos, f)
		}
		pos += n
		part++
	}
	if part == 0 {
		return errors.New("no cpio archive found")
	}
	return nil
}

const headerLen = 110

// parseArchives parses cpio archives starting at b[0]. In a decompressed
// stream (inStream) it continues over zero padding into further archives
// until the end of b; at the top level it stops after one archive's
// trailer. It returns how many bytes were consumed. base is b's offset in
// the enclosing data, for error messages.
func parseArchives(b []byte, base, part int, comp decompress.Format, fn func(Entry, []byte) bool, inStream bool) (int, bool, error) {
	pos := 0
	for {
		if inStream {
			for pos < len(b) && b[pos] == 0 {
				pos++
			}
			if pos == len(b) {
				return pos, false, nil
			}
		} else if pos == len(b) && pos > 0 {
			// An archive without a trailer: the kernel keeps what it
			// unpacked.
			return pos, false, nil
		}
		if pos+headerLen > len(b) {
			return 0, false, fmt.Errorf("offset %d: truncated cpio header", base+pos)
		}
		h := b[pos : pos+headerLen]
		magic := string(h[:6])
		if magic != "070701" && magic != "070702" {
			what := "junk"
			switch magic {
			case "070707":
				what = "unsupported cpio format (odc, 070707)"
			default:
				if h[0] == 0xc7 && h[1] == 0x71 || h[0] == 0x71 && h[1] == 0xc7 {
					what = "unsupported cpio format (binary)"
				} else if decompress.Detect(b[pos:]) != decompress.None {
					what = "compressed data inside a compressed archive"
				}
			}
			return 0, false, fmt.Errorf("offset %d: %s", base+pos, what)
		}
		var field [13]uint64
		for i := range field {
			v, err := strconv.ParseUint(string(h[6+8*i:14+8*i]), 16, 32)
			if err != nil {
				return 0, false, fmt.Errorf("offset %d: bad cpio header field %q", base+pos, h[6+8*i:14+8*i])
			}
			field[i] = v
		}
		mode, filesize, namesize, check := field[1], field[6], field[11], field[12]
		if namesize == 0 {
			return 0, false, fmt.Errorf("offset %d: cpio entry with empty name", base+pos)
		}
		nameStart := pos + headerLen
		nameEnd := nameStart + int(namesize)
		if nameEnd > len(b) {
			return 0, false, fmt.Errorf("offset %d: truncated cpio name", base+pos)
		}
		name := b[nameStart:nameEnd]
		if name[len(name)-1] != 0 {
			return 0, false, fmt.Errorf("offset %d: cpio name not NUL-terminated", base+pos)
		}
		name = name[:len(name)-1]
		dataStart := align4(nameEnd)
		dataEnd := dataStart + int(filesize)
		if dataStart > len(b) || dataEnd > len(b) {
			return 0, false, fmt.Errorf("offset %d: %q: truncated cpio data (%d bytes)", base+pos, name, filesize)
		}
		content := b[dataStart:dataEnd:dataEnd] // an append copies
		pos = align4(dataEnd)
		if pos > len(b) {
			pos = len(b)
		}
		if string(name) == "TRAILER!!!" {
			if !inStream {
				return pos, false, nil
			}
			continue
		}
		// Like the kernel, verify the "crc" format's checksum for regular
		// files only (GNU cpio writes 0 for symbolic links).
		if magic == "070702" && mode&modeType == modeRegular {
			var sum uint32
			for _, c := range content {
				sum += uint32(c)
			}
			if sum != uint32(check) {
				return 0, false, fmt.Errorf("offset %d: %q: bad data checksum %#x, want %#x", base+pos, name, sum, check)
			}
		}
		e := Entry{Path: cleanPath(string(name)), Mode: uint32(mode), Size: int64(filesize), Part: part, Compression: comp}
		if e.IsSymlink() {
			e.Link = string(content)
		}
		if e.Path == "" {
			continue // "." itself
		}
		if !fn(e, content) {
			return pos, true, nil
		}
	}
}

func align4(n int) int { return (n + 3) &^ 3 }

// moduleSuffixes are the file name endings of kernel modules, compressed
// or not.
var moduleSuffixes = []string{".ko", ".ko.gz", ".ko.xz", ".ko.zst", ".ko.bz2"}

// FindModule returns the first member that is kernel module name. Names
// match with '-' and '_' treated alike (modprobe does the same), under
// lib/modules/VERSION/ or usr/lib/modules/VERSION/, or directly under lib/
// as old mkinitrd (CentOS 4/5) placed them ("lib/xenblk.ko").
func FindModule(entries []Entry, name string) (Entry, bool) {
	want := normModule(name)
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		base := path.Base(e.Path)
		stem := ""
		for _, s := range moduleSuffixes {
			if strings.HasSuffix(base, s) {
				stem = strings.TrimSuffix(base, s)
				break
			}
		}
		if stem == "" || normModule(stem) != want {
			continue
		}
		p := strings.TrimPrefix(e.Path, "usr/")
		if strings.HasPrefix(p, "lib/modules/") && strings.Count(p, "/") >= 3 || path.Dir(p) == "lib" {
			return e, true
		}
	}
	return Entry{}, false
}

// HasModule reports whether the initramfs contains kernel module name
// (see FindModule).
func HasModule(entries []Entry, name string) bool {
	_, ok := FindModule(entries, name)
	return ok
}

// XenBlockModules are the names of the Xen block frontend driver: pvops
// kernels call it xen-blkfront (xen_blkfront), XenLinux kernels xenblk.
var XenBlockModules = []string{"xen-blkfront", "xenblk"}

// HasXenBlockFrontend reports whether the initramfs contains a Xen block
// frontend module under any of its names, and returns it.
func HasXenBlockFrontend(entries []Entry) (Entry, bool) {
	for _, n := range XenBlockModules {
		if e, ok := FindModule(entries, n); ok {
			return e, true
		}
	}
	return Entry{}, false
}

func normModule(s string) string { return strings.ReplaceAll(s, "-", "_") }

// BuiltinFromModulesBuiltin reports whether module name is built into the
// kernel, given the contents of lib/modules/VERSION/modules.builtin (lines
// such as "kernel/drivers/block/xen-blkfront.ko").
func BuiltinFromModulesBuiltin(data []byte, name string) bool {
	want := normModule(name)
	for _, line := range bytes.Split(data, []byte("\n")) {
		l := strings.TrimSpace(string(line))
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		base := path.Base(l)
		for _, s := range moduleSuffixes {
			if strings.HasSuffix(base, s) {
				if normModule(strings.TrimSuffix(base, s)) == want {
					return true
				}
				break
			}
		}
	}
	return false
}

// ConfigHas returns the value of kernel configuration symbol sym
// ("CONFIG_XEN_BLKDEV_FRONTEND" or just "XEN_BLKDEV_FRONTEND") in the
// contents of a /boot/config-VERSION file: "y", "m", or the raw value of a
// string or number option (quotes kept). It returns "" when the symbol is
// absent or "is not set".
func ConfigHas(data []byte, sym string) string {
	if !strings.HasPrefix(sym, "CONFIG_") {
		sym = "CONFIG_" + sym
	}
	prefix := sym + "="
	val := ""
	for _, line := range bytes.Split(data, []byte("\n")) {
		l := strings.TrimSpace(string(line))
		if v, ok := strings.CutPrefix(l, prefix); ok {
			val = v // a later assignment wins, as in Kconfig
		} else if l == "# "+sym+" is not set" {
			val = ""
		}
	}
	return val
}
