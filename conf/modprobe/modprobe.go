// Package modprobe reads and edits module configuration files:
// /etc/modprobe.conf (CentOS/RHEL 4 and 5), /etc/modprobe.d/*.conf and the
// older modutils /etc/modules.conf.
//
// A logical line is one or more physical lines joined by a backslash at
// the end of a line. As in module-init-tools and kmod, a backslash before
// any other character is dropped and the character kept, and a line is a
// comment if its first word starts with '#'. The first word of any other
// line is the command: alias, options, install, remove, blacklist,
// softdep, include, ... Lines with an unknown command or too few arguments
// are ignored by modprobe; this package keeps them and reports them through
// [File.Warnings].
//
// [File.Bytes] returns the input unchanged when nothing was edited, whatever
// its line endings. Edits rewrite only the lines they touch:
//
//   - [File.SetAlias] replaces the module of every "alias NAME MODULE" line
//     for NAME in place (only the module word changes), or adds a line.
//   - [File.AddAlias] adds an alias line after the last alias.
//   - [File.CommentOut] comments out entries, preceded by a
//     "# xenify: NOTE" line.
//
// Alias names and module names compare with '-' and '_' treated as equal,
// as modprobe does. [File.Alias] returns the first alias for a name;
// [File.AliasFamily] lists numbered families such as scsi_hostadapter,
// scsi_hostadapter1, ... which mkinitrd reads on CentOS 4 and 5.
//
// [Parse] fails only on a NUL byte, which no configuration file holds.
package modprobe

import (
	"errors"
	"fmt"
	"github.com/xenify/xenify/conf/confutil"
	"strings"
)

// ParseError reports a problem in a file at a 1-based line number.
type ParseError = confutil.ParseError

// File is a parsed module configuration file.
type File struct {
	name   string
	blocks []confutil.Line
	nl     string // line ending for new lines
}

// block is one logical line.

// Entry is one non-comment logical line.
type Entry struct {
	Command string   // first word: "alias", "options", ...
	Args    []string // remaining words
	Line    int      // 1-based line where the entry starts
}

// Alias is an "alias NAME MODULE" entry.
type Alias struct {
	Name   string
	Module string
	Line   int
}

// minArgs lists the commands modprobe (kmod, module-init-tools) and modutils
// understand, with the number of arguments each needs.
var minArgs = map[string]int{
	"alias": 2, "options": 1, "install": 2, "remove": 2, "blacklist": 1,
	"softdep": 1, "weakdep": 1, "include": 1, "config": 1,
	// modutils /etc/modules.conf
	"pre-install": 2, "post-install": 2, "pre-remove": 2, "post-remove": 2,
	"above": 2, "below": 2, "probe": 2, "probeall": 1, "path": 1, "keep": 0,
	"depfile": 1, "insmod_opt": 1, "prune": 1, "persistdir": 1,
	"generic_stringfile": 1, "pcimapfile": 1, "isapnpmapfile": 1,
	"usbmapfile": 1, "parportmapfile": 1, "ieee1394mapfile": 1,
	"pnpbiosmapfile": 1, "if": 1, "else": 0, "elseif": 1, "endif": 0, "define": 1,
}

// Parse parses data read from the file name (used in errors only).
func Parse(name string, data []byte) (*File, error) {
	s := string(data)
	f := &File{name: name, nl: "\n"}
	if i := strings.IndexByte(s, '\n'); i > 0 && s[i-1] == '\r' {
		f.nl = "\r\n"
	}
	var err error
	if f.blocks, err = confutil.SplitLogical(name, s, logicalEnd); err != nil {
		return nil, err
	}
	return f, nil
}

// logicalEnd returns the index of the newline ending the logical line that
// starts at pos, or len(s).
func logicalEnd(s string, pos int) (int, error) {
	for i := pos; i < len(s); i++ {
		switch s[i] {
		case '\n':
			return i, nil
		case '\\':
			i++ // skip the escaped character, which may be a newline
		}
	}
	return len(s), nil
}

// unwrap returns the text modprobe sees for raw, and for each of its bytes
// the index in raw it came from.
func unwrap(raw string) (string, []int) {
	var b strings.Builder
	var off []int
	for i := 0; i < len(raw); i++ {
		if raw[i] == '\\' && i+1 < len(raw) {
			i++
			if raw[i] == '\n' {
				continue
			}
		}
		b.WriteByte(raw[i])
		off = append(off, i)
	}
	return b.String(), off
}

type token struct {
	text       string
	start, end int // span in the unwrapped text
}

func tokens(text string) []token {
	var toks []token
	for i := 0; i < len(text); {
		for i < len(text) && (text[i] == ' ' || text[i] == '\t') {
			i++
		}
		j := i
		for j < len(text) && text[j] != ' ' && text[j] != '\t' {
			j++
		}
		if j > i {
			toks = append(toks, token{text[i:j], i, j})
		}
		i = j
	}
	return toks
}

// parsed is a logical line split into words.
type parsed struct {
	text string
	off  []int
	toks []token
}

func parseBlock(raw string) parsed {
	text, off := unwrap(raw)
	return parsed{text: text, off: off, toks: tokens(text)}
}

// isEntry reports whether p is a non-comment, non-blank line.
func (p parsed) isEntry() bool {
	return len(p.toks) > 0 && !strings.HasPrefix(p.toks[0].text, "#")
}

func (p parsed) entry(line int) Entry {
	e := Entry{Command: p.toks[0].text, Line: line}
	for _, t := range p.toks[1:] {
		e.Args = append(e.Args, t.text)
	}
	return e
}

// each calls fn for every entry with its block index.
func (f *File) each(fn func(i int, p parsed, e Entry)) {
	line := 1
	for i, b := range f.blocks {
		if p := parseBlock(b.Text); p.isEntry() {
			fn(i, p, p.entry(line))
		}
		line += strings.Count(b.Text, "\n") + 1
	}
}

// Bytes renders the file.
func (f *File) Bytes() []byte { return confutil.JoinLines(f.blocks) }

// Entries lists all entries in file order.
func (f *File) Entries() []Entry {
	var out []Entry
	f.each(func(_ int, _ parsed, e Entry) { out = append(out, e) })
	return out
}

// Warnings lists the entries modprobe ignores: unknown commands and
// commands with too few arguments.
func (f *File) Warnings() []*ParseError {
	var out []*ParseError
	f.each(func(_ int, _ parsed, e Entry) {
		n, ok := minArgs[e.Command]
		switch {
		case !ok:
			out = append(out, &ParseError{File: f.name, Line: e.Line, Msg: fmt.Sprintf("ignoring bad line starting with %q", e.Command)})
		case len(e.Args) < n:
			out = append(out, &ParseError{File: f.name, Line: e.Line, Msg: fmt.Sprintf("%s needs %d arguments, has %d", e.Command, n, len(e.Args))})
		}
	})
	return out
}

// normalize makes '-' and '_' equal, as modprobe does.
func normalize(s string) string { return strings.ReplaceAll(s, "-", "_") }

// Aliases lists all valid alias entries in file order.
func (f *File) Aliases() []Alias {
	var out []Alias
	f.each(func(_ int, _ parsed, e Entry) {
		if e.Command == "alias" && len(e.Args) >= 2 {
			out = append(out, Alias{Name: e.Args[0], Module: e.Args[1], Line: e.Line})
		}
	})
	return out
}

// Alias returns the module of the first alias for name.
func (f *File) Alias(name string) (module string, ok bool) {
	for _, a := range f.Aliases() {
		if normalize(a.Name) == normalize(name) {
			return a.Module, true
		}
	}
	return "", false
}

// AliasFamily lists the aliases named base or base followed by digits, such
// as scsi_hostadapter, scsi_hostadapter1, scsi_hostadapter2, in file order.
func (f *File) AliasFamily(base string) []Alias {
	var out []Alias
	nb := normalize(base)
	for _, a := range f.Aliases() {
		n := normalize(a.Name)
		if rest, ok := strings.CutPrefix(n, nb); ok && strings.Trim(rest, "0123456789") == "" {
			out = append(out, a)
		}
	}
	return out
}

// FreeAliasName returns base if no alias uses it, else the first of base1,
// base2, ... that is free. It is how anaconda and mkinitrd number
// scsi_hostadapter aliases.
func (f *File) FreeAliasName(base string) string {
	used := map[string]bool{}
	for _, a := range f.Aliases() {
		used[normalize(a.Name)] = true
	}
	if !used[normalize(base)] {
		return base
	}
	for i := 1; ; i++ {
		if n := fmt.Sprintf("%s%d", base, i); !used[normalize(n)] {
			return n
		}
	}
}

// ErrInvalid is wrapped by errors for names that cannot be written.
var ErrInvalid = errors.New("invalid name")

func validWord(w string) bool {
	return w != "" && !strings.HasPrefix(w, "#") && !strings.ContainsAny(w, " \t\r\n\\\x00")
}

// SetAlias makes name an alias for module. Every alias line for name gets
// module in place of its old module; if there is none, a line
// "alias NAME MODULE" is added after the last alias line (or at the end).
// It returns the number of lines changed or added.
func (f *File) SetAlias(name, module string) (int, error) {
	if !validWord(name) || !validWord(module) {
		return 0, fmt.Errorf("setting alias %q %q in %s: %w", name, module, f.name, ErrInvalid)
	}
	n := 0
	f.each(func(i int, p parsed, e Entry) {
		if e.Command != "alias" || len(p.toks) < 3 || normalize(e.Args[0]) != normalize(name) {
			return
		}
		n++
		t := p.toks[2]
		b := &f.blocks[i]
		start, end := p.off[t.start], p.off[t.end-1]+1
		if seg := b.Text[start:end]; seg == t.text {
			b.Text = b.Text[:start] + module + b.Text[end:]
			return
		}
		// The word is split over lines or escaped: rewrite the line.
		b.Text = "alias " + e.Args[0] + " " + module
	})
	if n > 0 {
		return n, nil
	}
	return 1, f.AddAlias(name, module)
}

// AddAlias adds the line "alias NAME MODULE" after the last alias line, or
// at the end of the file if there is none, even if name already has an
// alias. See [File.FreeAliasName] for numbered aliases.
func (f *File) AddAlias(name, module string) error {
	if !validWord(name) || !validWord(module) {
		return fmt.Errorf("adding alias %q %q to %s: %w", name, module, f.name, ErrInvalid)
	}
	at := len(f.blocks)
	f.each(func(i int, _ parsed, e Entry) {
		if e.Command == "alias" {
			at = i + 1
		}
	})
	f.insert(at, "alias "+name+" "+module)
	return nil
}

// insert inserts a new logical line before block index i.
func (f *File) insert(i int, raw string) {
	f.blocks = confutil.InsertLine(f.blocks, i, raw, f.nl, confutil.OddBackslashes)
}

// CommentOut comments out every entry for which match returns true: each of
// its physical lines gets a leading '#', and a "# xenify: NOTE" line is put
// before it. It returns the number of entries commented out.
func (f *File) CommentOut(match func(Entry) bool, note string) int {
	hit := map[int]bool{}
	f.each(func(i int, _ parsed, e Entry) {
		if match(e) {
			hit[i] = true
		}
	})
	var n int
	f.blocks, n = confutil.CommentOut(f.blocks, func(i int) bool { return hit[i] }, note, f.nl, false)
	return n
}

// CommentOutAlias comments out every alias for name; see
// [File.CommentOut].
func (f *File) CommentOutAlias(name, note string) int {
	return f.CommentOut(func(e Entry) bool {
		return e.Command == "alias" && len(e.Args) > 0 && normalize(e.Args[0]) == normalize(name)
	}, note)
}
