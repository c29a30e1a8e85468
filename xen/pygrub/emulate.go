package pygrub

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"unicode/utf8"
)

// Filesystem is what pygrub finds at one of the offsets PartitionOffsets
// returns.
type Filesystem struct {
	Offset int64
	// FS is the filesystem's content; nil when libfsimage cannot open
	// anything there (no filesystem, XFS v5, btrfs, LVM PV, ...).
	FS fs.FS
	// Type is the filesystem type as fsprobe/blkid names it. "xfs"
	// selects the GRUB-derived path rules (a path ends at white space).
	Type string
	// Unreadable says why FS is nil, for the report.
	Unreadable string
}

// Options are the pygrub command-line options that change its choice.
type Options struct {
	// Entry is --entry=VALUE (an index or an exact title); used when
	// HasEntry is set. pygrub ignores values that select nothing.
	Entry    string
	HasEntry bool
	// Args is --args=VALUE, appended to the entry's arguments.
	Args string
}

// Attempt records what pygrub did with one filesystem.
type Attempt struct {
	Offset     int64
	ConfigPath string // "" if none was found
	Kind       Kind
	// Err is why pygrub moved on to the next filesystem; "" for the
	// filesystem it boots from.
	Err string
}

// Result is the outcome of emulating `pygrub -q` (and `pygrub -q -l`).
type Result struct {
	// Bootable is true when pygrub would hand a kernel to Xen.
	Bootable bool
	// Failure is pygrub's final error when not Bootable.
	Failure string

	// Offset, ConfigPath and Kind describe the filesystem and config
	// file pygrub took its entry from (zero if none).
	Offset     int64
	ConfigPath string
	Kind       Kind
	Entries    []Entry
	// DefaultIndex is the entry pygrub selects without --entry;
	// ChosenIndex the one it boots (-1 if none).
	DefaultIndex int
	ChosenIndex  int
	Chosen       Entry
	// Kernel, Ramdisk and Args are what pygrub passes on: guest paths
	// inside the filesystem at Offset. Ramdisk is "" for none.
	Kernel, Ramdisk, Args string

	Attempts []Attempt
	// ListOutput is the standard output of `pygrub -q -n -l`.
	ListOutput string
	// Problems are findings a human should read, most important first.
	Problems []string
}

// Config search order of pygrub 4.17 (Grub.read_config's cfg_list).
var cfgList = []struct {
	path string
	kind Kind
}{
	{"/boot/grub/grub.cfg", Grub2},
	{"/grub/grub.cfg", Grub2},
	{"/boot/grub2/grub.cfg", Grub2},
	{"/grub2/grub.cfg", Grub2},
	{"/boot/isolinux/isolinux.cfg", ExtLinux},
	{"/boot/extlinux/extlinux.conf", ExtLinux},
	{"/boot/extlinux.conf", ExtLinux},
	{"/extlinux/extlinux.conf", ExtLinux},
	{"/extlinux.conf", ExtLinux},
	{"/boot/grub/menu.lst", Grub},
	{"/boot/grub/grub.conf", Grub},
	{"/grub/menu.lst", Grub},
	{"/grub/grub.conf", Grub},
}

// ConfigPaths returns the files pygrub looks for, in order.
func ConfigPaths() []string {
	var out []string
	for _, c := range cfgList {
		out = append(out, c.path)
	}
	return out
}

const fsReadMax = 1 << 20 // FS_READ_MAX: pygrub reads at most 1 MiB of config

// Parse parses a config file's bytes with the given parser, as pygrub
// does after reading it: at most 1 MiB, strict UTF-8.
func Parse(kind Kind, data []byte) (*Config, error) {
	if len(data) > fsReadMax {
		data = data[:fsReadMax]
	}
	if !utf8.Valid(data) {
		return nil, &ParseError{Msg: "UnicodeDecodeError: not valid UTF-8"}
	}
	switch kind {
	case Grub:
		return ParseGrub(string(data))
	case Grub2:
		return ParseGrub2(string(data))
	case ExtLinux:
		return ParseExtLinux(string(data))
	}
	return nil, fmt.Errorf("unknown config kind %q", kind)
}

// EmulateFS emulates pygrub on a disk that is one filesystem (or whose
// first tried partition is the only one that matters).
func EmulateFS(fsys fs.FS, fsType string, opts Options) *Result {
	return Emulate([]Filesystem{{FS: fsys, Type: fsType}}, opts)
}

// chosen is what run_grub returns for one filesystem.
type chosen struct {
	cfg        *Config
	kind       Kind
	configPath string
	text       string
	def, sel   int
	entry      Entry
}

// Emulate runs pygrub's logic over the filesystems in the order pygrub
// tries them (see PartitionOffsets and Candidates).
func Emulate(parts []Filesystem, opts Options) *Result {
	res := &Result{ChosenIndex: -1}
	var list strings.Builder
	run(parts, opts, &list, nil)
	res.ListOutput = list.String()

	var atts []Attempt
	idx, ch := run(parts, opts, nil, &atts)
	res.Attempts = atts
	if idx < 0 {
		res.Failure = "RuntimeError: Unable to find partition containing kernel"
		res.Problems = append(res.Problems, "pygrub finds no bootable entry on the first disk: "+describeAttempts(atts))
		for i, a := range atts {
			if a.Kind != Grub2 || i >= len(parts) || parts[i].FS == nil {
				continue
			}
			if data, err := readHead(parts[i].FS, parts[i].Type, a.ConfigPath, fsReadMax); err == nil && hasBLS(string(data)) {
				res.Problems = append(res.Problems, fmt.Sprintf("%s uses blscfg: pygrub 4.17 does not read BLS snippets (%d found), it sees only literal menuentry blocks", a.ConfigPath, countBLS(parts[i].FS, parts[i].Type)))
			}
		}
		return res
	}
	p := parts[idx]
	res.Offset, res.ConfigPath, res.Kind = p.Offset, ch.configPath, ch.kind
	res.DefaultIndex, res.ChosenIndex, res.Chosen = ch.def, ch.sel, ch.entry
	if ch.cfg != nil {
		res.Entries = ch.cfg.Entries
	}
	res.Kernel = ch.entry.Kernel
	if ch.entry.HasInitrd {
		res.Ramdisk = ch.entry.Initrd
	}
	res.Args = ch.entry.Args
	if opts.Args != "" {
		res.Args += " " + opts.Args
	}
	if _, err := lookup(p.FS, p.Type, res.Kernel); err != nil {
		res.Failure = "The requested kernel file does not exist"
		res.Problems = append(res.Problems, fmt.Sprintf("kernel %s of entry %q not found on the filesystem at offset %d that holds %s: pygrub fails", res.Kernel, ch.entry.Title, p.Offset, ch.configPath))
	} else if res.Ramdisk != "" {
		if _, err := lookup(p.FS, p.Type, res.Ramdisk); err != nil {
			res.Failure = "The requested ramdisk file does not exist"
			msg := fmt.Sprintf("initrd %s of entry %q not found on the filesystem at offset %d: pygrub fails", res.Ramdisk, ch.entry.Title, p.Offset)
			if strings.ContainsAny(res.Ramdisk, " \t") {
				msg += " (pygrub takes the whole initrd line as one path; several initrd files are not supported)"
			}
			res.Problems = append(res.Problems, msg)
		}
	}
	res.Bootable = res.Failure == ""
	res.Problems = append(res.Problems, advise(res, ch, p)...)
	return res
}

func describeAttempts(atts []Attempt) string {
	if len(atts) == 0 {
		return "no filesystem to try"
	}
	var s []string
	for _, a := range atts {
		s = append(s, fmt.Sprintf("offset %d: %s", a.Offset, a.Err))
	}
	return strings.Join(s, "; ")
}

// advise adds findings about a bootable (or nearly) result.
func advise(res *Result, ch chosen, p Filesystem) []string {
	var out []string
	if ch.cfg != nil {
		out = append(out, ch.cfg.Notes...)
		if ch.cfg.Default < 0 || ch.cfg.Default >= len(ch.cfg.Entries) {
			out = append(out, fmt.Sprintf("default %q is beyond the %d entries pygrub sees: it boots entry 0", ch.cfg.DefaultText, len(ch.cfg.Entries)))
		}
	}
	if ch.kind == Grub2 && hasBLS(ch.text) {
		n := countBLS(p.FS, p.Type)
		out = append(out, fmt.Sprintf("%s uses blscfg: pygrub 4.17 does not read BLS snippets (%d found in /loader/entries or /boot/loader/entries), so it sees only the %d menuentry blocks", ch.configPath, n, len(res.Entries)))
	}
	for i, a := range res.Attempts[:len(res.Attempts)-1] {
		out = append(out, fmt.Sprintf("pygrub skipped filesystem %d (offset %d): %s", i+1, a.Offset, a.Err))
	}
	for _, e := range res.Entries {
		if !e.HasKernel || !e.HasInitrd {
			out = append(out, fmt.Sprintf("entry %q has no %s line pygrub understands: `pygrub -l` stops listing there (booting another entry is unaffected)", e.Title, map[bool]string{true: "initrd", false: "kernel"}[e.HasKernel]))
			break
		}
	}
	return out
}

func hasBLS(text string) bool {
	for _, l := range strings.Split(text, "\n") {
		l = pyStrip(l)
		if l == "blscfg" || strings.HasPrefix(l, "blscfg ") {
			return true
		}
	}
	return false
}

func countBLS(fsys fs.FS, typ string) int {
	for _, dir := range []string{"/loader/entries", "/boot/loader/entries"} {
		p, err := resolve(fsys, typ, dir)
		if err != nil {
			continue
		}
		ents, err := fs.ReadDir(fsys, p)
		if err != nil {
			continue
		}
		n := 0
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".conf") {
				n++
			}
		}
		return n
	}
	return 0
}

// run is pygrub's partition loop. With list set it also prints what
// `pygrub -l` prints (and fails where that printing raises). It returns
// the index of the filesystem used, or -1.
func run(parts []Filesystem, opts Options, list *strings.Builder, atts *[]Attempt) (int, chosen) {
	record := func(a Attempt) {
		if atts != nil {
			*atts = append(*atts, a)
		}
	}
	for i, p := range parts {
		a := Attempt{Offset: p.Offset}
		if p.FS == nil {
			a.Err = "libfsimage cannot open a filesystem here"
			if p.Unreadable != "" {
				a.Err += ": " + p.Unreadable
			}
			record(a)
			continue
		}
		if _, err := lookup(p.FS, p.Type, "/nwserver/xnloader.sys"); err == nil {
			record(a)
			return i, chosen{entry: Entry{Title: "NetWare", Kernel: "/nwserver/xnloader.sys", HasKernel: true}, sel: -1}
		}
		ch, err := runGrub(p, opts, list)
		a.ConfigPath, a.Kind = ch.configPath, ch.kind
		if err != nil {
			a.Err = err.Error()
			record(a)
			continue
		}
		if ch.entry.Kernel == "" {
			a.Err = fmt.Sprintf("entry %q has an empty kernel path", ch.entry.Title)
			record(a)
			continue
		}
		record(a)
		return i, ch
	}
	return -1, chosen{}
}

func runGrub(p Filesystem, opts Options, list *strings.Builder) (chosen, error) {
	var ch chosen
	for _, c := range cfgList {
		if _, err := lookup(p.FS, p.Type, c.path); err == nil {
			ch.configPath, ch.kind = c.path, c.kind
			break
		}
	}
	if ch.configPath == "" {
		return ch, errors.New("couldn't find bootloader config file")
	}
	data, err := readHead(p.FS, p.Type, ch.configPath, fsReadMax)
	if err != nil {
		return ch, fmt.Errorf("reading %s: %w", ch.configPath, err)
	}
	if len(data) <= fsReadMax {
		ch.text = string(data)
	}
	cfg, err := Parse(ch.kind, data)
	if err != nil {
		return ch, fmt.Errorf("parsing %s: %w", ch.configPath, err)
	}
	ch.cfg = cfg
	if list != nil {
		for _, e := range cfg.Entries {
			fmt.Fprintf(list, "title: %s\n  root: %s\n", e.Title, e.Root)
			if !e.HasKernel {
				return ch, fmt.Errorf("TypeError listing entry %q: no kernel", e.Title)
			}
			args := "None"
			if e.HasArgs {
				args = e.Args
			}
			fmt.Fprintf(list, "  kernel: %s\n  args: %s\n", e.Kernel, args)
			if !e.HasInitrd {
				return ch, fmt.Errorf("TypeError listing entry %q: no initrd", e.Title)
			}
			fmt.Fprintf(list, "  initrd: %s\n", e.Initrd)
		}
	}
	sel := cfg.Default
	if sel < 0 || sel > len(cfg.Entries) {
		sel = 0
	}
	ch.def = sel
	if ch.def >= len(cfg.Entries) {
		ch.def = 0
	}
	if opts.HasEntry {
		if idx, ok := entryIndex(cfg, opts.Entry); ok && idx >= 0 && idx < len(cfg.Entries) {
			sel = idx
		}
	}
	if sel >= len(cfg.Entries) {
		sel = 0
	}
	if len(cfg.Entries) == 0 {
		return ch, fmt.Errorf("IndexError: %s has no entries", ch.configPath)
	}
	ch.sel = sel
	ch.entry = cfg.Entries[sel]
	if !ch.entry.HasKernel {
		return ch, fmt.Errorf("TypeError: entry %q has no kernel line pygrub understands", ch.entry.Title)
	}
	return ch, nil
}

// entryIndex is pygrub's get_entry_idx.
func entryIndex(cfg *Config, entry string) (int, bool) {
	if v, err := pyInt(entry); err == nil {
		if !v.IsInt64() || v.Int64() > 1<<31 || v.Int64() < -1<<31 {
			return -1, true
		}
		return int(v.Int64()), true
	}
	for i, e := range cfg.Entries {
		if e.Title == entry {
			return i, true
		}
	}
	return 0, false
}

// readHead reads at most max+1 bytes of a guest file.
func readHead(fsys fs.FS, typ, p string, max int64) ([]byte, error) {
	rp, err := resolve(fsys, typ, p)
	if err != nil {
		return nil, err
	}
	f, err := fsys.Open(rp)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, max))
}

// lookup is libfsimage's file_exists.
func lookup(fsys fs.FS, typ, p string) (fs.FileInfo, error) {
	rp, err := resolve(fsys, typ, p)
	if err != nil {
		return nil, err
	}
	fi, err := fs.Stat(fsys, rp)
	if err != nil {
		return nil, err
	}
	// The ext2fs-lib plugin opens any inode; the GRUB-derived readers
	// (xfs, fat, iso9660, ...) want a regular file.
	if fi.IsDir() && !strings.HasPrefix(typ, "ext") && typ != "" {
		return nil, fmt.Errorf("%s: is a directory", p)
	}
	return fi, nil
}

const maxLinks = 8

// resolve turns a guest path into an fs.FS name, following symlinks
// inside the filesystem (absolute targets start at its root), as the
// libfsimage readers do. Relative paths start at the root too.
func resolve(fsys fs.FS, typ, p string) (string, error) {
	if typ == "xfs" || typ == "vfat" || typ == "iso9660" {
		// GRUB legacy readers end a path at the first white space.
		if i := strings.IndexAny(p, " \t\n\v\f\r"); i >= 0 {
			p = p[:i]
		}
	}
	if strings.ContainsRune(p, 0) {
		p = p[:strings.IndexByte(p, 0)] // a C string ends at NUL
	}
	rl, canLink := fsys.(fs.ReadLinkFS)
	comps := strings.Split(p, "/")
	var stack []string
	links := 0
	for len(comps) > 0 {
		c := comps[0]
		comps = comps[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		cur := path.Join(append(append([]string{}, stack...), c)...)
		if !fs.ValidPath(cur) {
			return "", fmt.Errorf("%s: invalid path", p)
		}
		if canLink {
			fi, err := rl.Lstat(cur)
			if err != nil {
				return "", err
			}
			if fi.Mode()&fs.ModeSymlink != 0 {
				links++
				if links > maxLinks {
					return "", fmt.Errorf("%s: too many symbolic links", p)
				}
				target, err := rl.ReadLink(cur)
				if err != nil {
					return "", err
				}
				if strings.HasPrefix(target, "/") {
					stack = nil
				}
				comps = append(strings.Split(target, "/"), comps...)
				continue
			}
			if len(comps) > 0 && !fi.IsDir() {
				// Only a directory may have more components after it;
				// trailing empty components are fine.
				rest := strings.Trim(strings.Join(comps, "/"), "/")
				if rest != "" {
					return "", fmt.Errorf("%s: not a directory", cur)
				}
			}
		}
		stack = append(stack, c)
	}
	if len(stack) == 0 {
		return ".", nil
	}
	return path.Join(stack...), nil
}
