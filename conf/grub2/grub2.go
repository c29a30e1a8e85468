// Package grub2 parses and edits GRUB 2 grub.cfg files as written by
// grub-mkconfig (Debian, Ubuntu) and grub2-mkconfig (RHEL/CentOS 7 and
// later), to the extent xenify needs: menu entries and the default entry.
// Every other line is kept as opaque text; Bytes returns the input
// unchanged until an edit is made, and edits rewrite only the lines they
// concern. After each edit the file is re-scanned, so Entries and Default
// describe the current content, with current (1-based) line numbers.
//
// # Structure recognised
//
// Lines are split into GRUB script words (single and double quotes,
// backslash escapes, ';' between commands, '#' comments). Blocks are
// opened by a '{' word and closed by a '}' command; a block is a menuentry,
// a submenu or a function (any other brace block is tracked for balance
// only). if/fi, for/while/until/done are counted so that "top level" means
// outside every block and every conditional. Inside a menuentry these
// commands are modelled: linux, linux16, linuxefi (kernel path and
// arguments), initrd, initrd16, initrdefi (one or more paths), "set root=..."
// and "search ...". Menu entries inside functions are not entries (GRUB only
// creates them when the function runs).
//
// Parse fails with a *confutil.ParseError, naming the line, on a '}' that
// closes nothing, on a block left open at the end of the file (GRUB and
// pygrub both reject these) and on NUL bytes.
//
// # Entry numbering
//
// Entry.Index is the position among all menu entries in file order,
// including those inside submenus: this is how Xen's pygrub numbers them
// (GrubConf.py, Grub2ConfigFile), and pygrub is what boots the domU.
// Entry.Path is GRUB's own positional id, where a submenu counts as one item
// of its parent menu: "2", or "1>0" for the first entry of the submenu that
// is item 1. The two agree for entries before the first submenu, which is
// why InsertEntry puts new entries before the first menu entry.
//
// # The default entry
//
// grub-mkconfig writes
//
//	if [ "${next_entry}" ] ; then
//	   set default="${next_entry}"
//	   ...
//	else
//	   set default="0"           # or "${saved_entry}", or a title
//	fi
//
// GRUB runs one branch; pygrub ignores if/else and lets the last top-level
// "set default=" win, treating ${saved_entry}/${next_entry} and anything
// that is not a number as 0. The statement to read and edit is therefore
// the last "set default=" outside menu entries, submenus and functions whose
// value is not "${next_entry}" (the else branch above). Default and
// SetDefault use that statement; DefaultIndex gives pygrub's reading.
//
// # Inserting entries
//
// pygrub only recognises a menu entry whose first line matches
// ^menuentry ["'](.*?)["'] (.*){ and only understands linux/linux16 and
// initrd/initrd16 inside it (not linuxefi/initrdefi), plus "set root=".
// FormatEntry writes entries in that shape, and InsertEntry refuses text
// pygrub would not recognise as an entry. pygrub cuts a title at the first
// quote followed by a space and does not undo the escape grub-mkconfig
// writes for an embedded single quote, so titles
// containing quotes read differently there; keep inserted titles free of
// quotes.
//
// Files that only call blscfg (RHEL 8 and later) have no menuentry lines;
// Entries is then empty and InsertEntry appends the new entry at the end.
package grub2

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/xenify/xenify/conf/cmdline"
	"github.com/xenify/xenify/conf/confutil"
)

// Entry is one menuentry.
type Entry struct {
	Title    string
	Submenus []string // titles of the enclosing submenus, outermost first
	Index    int      // pygrub's index: position among all entries in file order
	Path     string   // GRUB's positional id: "0", "1>2"

	KernelCmd string   // "linux", "linux16" or "linuxefi"; "" if none
	Kernel    string   // kernel path as written (unquoted)
	Args      string   // kernel command line, as written
	Initrd    []string // initrd paths (unquoted)
	Root      string   // value of the last "set root=" in the entry, unquoted
	Search    string   // arguments of the last "search" command in the entry, as written

	Line    int // the menuentry line
	EndLine int // the closing brace line
}

// File is a parsed grub.cfg.
type File struct {
	name  string
	lines []confutil.Line
	s     scan
}

type entryScan struct {
	Entry
	kernelIdx   int    // line index of the kernel command, -1 if none
	kernelWords []word // its words
	topLevel    bool
}

type scan struct {
	entries    []entryScan
	defaultIdx int // line index of the default statement, -1 if none
	defaultVal string
	defaultW   word // the "default=..." word
	firstTop   int  // line index of the first top-level menuentry, -1 if none
}

type block struct {
	kind  string // "menuentry", "submenu", "function", ""
	title string
	entry int // index into entries for menuentry blocks, else -1
	items int // number of menu items inside (for submenus)
	line  int
}

// Parse parses data read from the file called name (used in errors).
func Parse(name string, data []byte) (*File, error) {
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return nil, confutil.Errorf(name, bytes.Count(data[:i], []byte("\n"))+1, "NUL byte: not a text file")
	}
	f := &File{name: name, lines: confutil.SplitLines(data)}
	if err := f.rescan(); err != nil {
		return nil, err
	}
	return f, nil
}

// Bytes renders the file.
func (f *File) Bytes() []byte { return confutil.JoinLines(f.lines) }

func scanLines(name string, lines []confutil.Line) (scan, error) {
	s := scan{defaultIdx: -1, firstTop: -1}
	var stack []block
	top := block{entry: -1} // the top-level menu, for item counting
	conds := 0
	// menu returns the innermost menu (submenu block or top) for counting.
	menu := func() *block {
		for i := len(stack) - 1; i >= 0; i-- {
			switch stack[i].kind {
			case "submenu":
				if stack[i].entry < 0 {
					return nil // an uncounted submenu
				}
				return &stack[i]
			case "menuentry", "function":
				return nil
			}
		}
		return &top
	}
	inFunction := func() bool {
		for _, b := range stack {
			if b.kind == "function" {
				return true
			}
		}
		return false
	}
	for i, l := range lines {
		for _, words := range lexLine(l.Text) {
			for len(words) > 0 && !words[0].quoted {
				switch words[0].val {
				case "then", "else", "do":
					words = words[1:]
					continue
				}
				break
			}
			if len(words) == 0 {
				continue
			}
			w0 := words[0].val
			if words[0].quoted {
				w0 = "\x00" + w0 // never a keyword
			}
			switch w0 {
			case "}":
				if len(stack) == 0 {
					return s, confutil.Errorf(name, i+1, "'}' closes no block")
				}
				b := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				if b.kind == "menuentry" && b.entry >= 0 {
					s.entries[b.entry].EndLine = i + 1
				}
				continue
			case "if", "for", "while", "until":
				conds++
			case "fi", "done":
				if conds > 0 {
					conds--
				}
			}
			opens := false
			for _, w := range words {
				if w.val == "{" && !w.quoted {
					opens = true
				}
			}
			if opens {
				b := block{entry: -1, line: i}
				switch w0 {
				case "menuentry", "submenu", "function":
					b.kind = w0
				}
				if (b.kind == "menuentry" || b.kind == "submenu") && len(words) > 1 {
					b.title = words[1].val
				}
				if m := menu(); m != nil && !inFunction() && (b.kind == "menuentry" || b.kind == "submenu") {
					idx := m.items
					m.items++
					if b.kind == "menuentry" {
						// A counted submenu remembers its own position in
						// its menu in entry.
						var subs, pathParts []string
						for _, sb := range stack {
							if sb.kind == "submenu" {
								subs = append(subs, sb.title)
								pathParts = append(pathParts, strconv.Itoa(sb.entry))
							}
						}
						pathParts = append(pathParts, strconv.Itoa(idx))
						e := entryScan{kernelIdx: -1, topLevel: len(stack) == 0 && conds == 0}
						e.Title = b.title
						e.Submenus = subs
						e.Index = len(s.entries)
						e.Path = strings.Join(pathParts, ">")
						e.Line = i + 1
						b.entry = len(s.entries)
						s.entries = append(s.entries, e)
						if e.topLevel && s.firstTop < 0 {
							s.firstTop = i
						}
					} else {
						b.entry = idx
					}
				}
				stack = append(stack, b)
				continue
			}
			// Commands inside a menu entry.
			if n := len(stack); n > 0 && stack[n-1].kind == "menuentry" && stack[n-1].entry >= 0 {
				e := &s.entries[stack[n-1].entry]
				switch w0 {
				case "linux", "linux16", "linuxefi":
					e.KernelCmd = w0
					e.kernelIdx = i
					e.kernelWords = words
					e.Kernel, e.Args = "", ""
					if len(words) > 1 {
						e.Kernel = words[1].val
					}
					if len(words) > 2 {
						e.Args = l.Text[words[2].start:words[len(words)-1].end]
					}
				case "initrd", "initrd16", "initrdefi":
					e.Initrd = nil
					for _, w := range words[1:] {
						e.Initrd = append(e.Initrd, w.val)
					}
				case "set":
					if len(words) > 1 {
						if v, ok := strings.CutPrefix(words[1].val, "root="); ok {
							e.Root = v
						}
					}
				case "search":
					if len(words) > 1 {
						e.Search = l.Text[words[1].start:words[len(words)-1].end]
					}
				}
				continue
			}
			// Top-level "set default=".
			if w0 == "set" && len(stack) == 0 && len(words) > 1 {
				if v, ok := strings.CutPrefix(words[1].val, "default="); ok && v != "${next_entry}" {
					s.defaultIdx, s.defaultVal, s.defaultW = i, v, words[1]
				}
			}
		}
	}
	if n := len(stack); n > 0 {
		b := stack[n-1]
		return s, confutil.Errorf(name, b.line+1, "block opened here is not closed at end of file")
	}
	return s, nil
}

func (f *File) rescan() error {
	s, err := scanLines(f.name, f.lines)
	if err != nil {
		return err
	}
	f.s = s
	return nil
}

// Entries returns all menu entries in file order.
func (f *File) Entries() []Entry {
	out := make([]Entry, len(f.s.entries))
	for i, e := range f.s.entries {
		out[i] = e.Entry
		out[i].Submenus = append([]string(nil), e.Submenus...)
		out[i].Initrd = append([]string(nil), e.Initrd...)
	}
	return out
}

// Default returns the value of the default statement (see the package
// documentation), unquoted, e.g. "0", "${saved_entry}" or a title.
func (f *File) Default() (string, bool) {
	if f.s.defaultIdx < 0 {
		return "", false
	}
	return f.s.defaultVal, true
}

// DefaultLine returns the 1-based line of the default statement, 0 if none.
func (f *File) DefaultLine() int { return f.s.defaultIdx + 1 }

// DefaultIndex returns the entry index pygrub boots: the numeric default,
// or 0 when there is none or it is a variable or title (numeric false).
func (f *File) DefaultIndex() (n int, numeric bool) {
	v, ok := f.Default()
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// SetDefault rewrites the default statement's value to value, written in
// double quotes (so "$" is literal). If there is no default statement,
// `set default="VALUE"` is inserted before the first top-level menu entry,
// or at the end of the file.
func (f *File) SetDefault(value string) error {
	if strings.ContainsAny(value, "\r\n") {
		return fmt.Errorf("%s: default value %q contains a newline", f.name, value)
	}
	nw := "default=" + doubleQuote(value)
	if i := f.s.defaultIdx; i >= 0 {
		t := f.lines[i].Text
		w := f.s.defaultW
		f.lines[i].Text = t[:w.start] + nw + t[w.end:]
	} else {
		at := f.s.firstTop
		if at < 0 {
			at = len(f.lines)
		}
		f.lines = confutil.InsertLines(f.lines, at, "set "+nw)
	}
	return f.rescan()
}

// EditKernelArgs applies edit to the kernel command line of the entry with
// pygrub index i and rewrites its linux line if the command line changed.
// The kernel path, the separators before it and anything after the
// arguments are kept.
func (f *File) EditKernelArgs(i int, edit func(c *cmdline.Cmdline)) error {
	if i < 0 || i >= len(f.s.entries) {
		return fmt.Errorf("%s: entry index %d out of range (%d entries)", f.name, i, len(f.s.entries))
	}
	e := f.s.entries[i]
	if e.kernelIdx < 0 {
		return fmt.Errorf("%s:%d: menu entry %q has no linux command", f.name, e.Line, e.Title)
	}
	t := f.lines[e.kernelIdx].Text
	words := e.kernelWords
	if len(words) < 2 {
		return fmt.Errorf("%s:%d: linux command without a kernel path", f.name, e.kernelIdx+1)
	}
	start, end := words[1].end, words[1].end // the argument span
	if len(words) > 2 {
		start, end = words[2].start, words[len(words)-1].end
	}
	old := t[start:end]
	c := cmdline.Parse(old)
	edit(c)
	na := c.String()
	if na == old {
		return nil
	}
	head := t[:start]
	if len(words) == 2 {
		head = t[:words[1].end]
		if na != "" {
			head += " "
		}
	} else if strings.TrimSpace(na) == "" {
		head = t[:words[1].end]
		na = ""
	}
	f.lines[e.kernelIdx].Text = head + na + t[end:]
	return f.rescan()
}

// pygrubEntry is the pattern pygrub uses to recognise a menuentry line.
var pygrubEntry = regexp.MustCompile(`^menuentry ["'](.*?)["'] (.*)\{`)

// InsertEntry inserts text, which must be exactly one menuentry block
// (for example from FormatEntry), before the first top-level menu entry,
// so that it becomes entry 0 for both GRUB and pygrub. If the file has no
// top-level menu entry it is appended at the end. Text whose first line
// pygrub would not recognise as a menuentry is rejected.
func (f *File) InsertEntry(text string) error {
	add := confutil.SplitLines([]byte(strings.TrimRight(text, "\r\n")))
	if len(add) == 0 {
		return fmt.Errorf("%s: inserting an empty menu entry", f.name)
	}
	s, err := scanLines("new entry", add)
	if err != nil {
		return fmt.Errorf("%s: inserting menu entry: %w", f.name, err)
	}
	if len(s.entries) != 1 || !s.entries[0].topLevel || s.entries[0].Line != 1 || s.entries[0].EndLine != len(add) {
		return fmt.Errorf("%s: inserted text must be exactly one menuentry block", f.name)
	}
	if !pygrubEntry.MatchString(strings.TrimSpace(add[0].Text)) {
		return fmt.Errorf("%s: pygrub would not recognise menuentry line %q", f.name, add[0].Text)
	}
	texts := make([]string, len(add))
	for i, l := range add {
		texts[i] = l.Text
	}
	at := f.s.firstTop
	if at < 0 {
		at = len(f.lines)
	}
	f.lines = confutil.InsertLines(f.lines, at, texts...)
	return f.rescan()
}

// HasTerminalOutput reports whether a terminal_output command of the
// file names terminal name (e.g. "terminal_output serial console" names
// "serial"): grub-mkconfig's GRUB_TERMINAL, or a line added by hand.
func (f *File) HasTerminalOutput(name string) bool {
	for _, l := range f.lines {
		for _, words := range lexLine(l.Text) {
			if len(words) < 2 || words[0].val != "terminal_output" {
				continue
			}
			for _, w := range words[1:] {
				if w.val == name {
					return true
				}
			}
		}
	}
	return false
}

// InsertCommands inserts lines of plain commands before the first
// top-level menu entry, after the header grub-mkconfig writes (so they
// override its terminal settings), or at the end of a file without one.
func (f *File) InsertCommands(lines ...string) error {
	s, err := scanLines("new commands", confutil.SplitLines([]byte(strings.Join(lines, "\n"))))
	if err != nil {
		return fmt.Errorf("%s: inserting commands: %w", f.name, err)
	}
	if len(s.entries) > 0 {
		return fmt.Errorf("%s: inserted commands must not hold a menu entry", f.name)
	}
	at := f.s.firstTop
	if at < 0 {
		at = len(f.lines)
	}
	f.lines = confutil.InsertLines(f.lines, at, lines...)
	return f.rescan()
}

// NewEntry describes a menu entry for FormatEntry.
type NewEntry struct {
	Title  string
	Class  []string // --class values, e.g. "debian", "gnu-linux"
	Root   string   // GRUB device for "set root=", e.g. "hd0,msdos1"; optional
	Search string   // arguments for a search command, e.g. "--no-floppy --fs-uuid --set=root 0f1e..."; optional
	Kernel string   // kernel path, e.g. "/boot/vmlinuz-6.1.0-13-amd64"
	Args   string   // kernel command line
	Initrd []string // initrd paths
}

// FormatEntry renders e as a menuentry block in grub-mkconfig's style
// (tab indentation), using only commands pygrub understands: set root,
// search, linux and initrd. Paths are written as single words; a path
// containing white space or quotes is quoted.
func FormatEntry(e NewEntry) string {
	var b strings.Builder
	b.WriteString("menuentry " + singleQuote(e.Title))
	for _, c := range e.Class {
		b.WriteString(" --class " + quoteWord(c))
	}
	b.WriteString(" {\n")
	if e.Root != "" {
		b.WriteString("\tset root=" + singleQuote(e.Root) + "\n")
	}
	if e.Search != "" {
		b.WriteString("\tsearch " + e.Search + "\n")
	}
	b.WriteString("\tlinux\t" + quoteWord(e.Kernel))
	if e.Args != "" {
		b.WriteString(" " + e.Args)
	}
	b.WriteString("\n")
	if len(e.Initrd) > 0 {
		b.WriteString("\tinitrd\t")
		for i, p := range e.Initrd {
			if i > 0 {
				b.WriteString(" ")
			}
			b.WriteString(quoteWord(p))
		}
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	return b.String()
}

func quoteWord(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t'\"\\$;#{}|&<>") {
		return s
	}
	return singleQuote(s)
}
