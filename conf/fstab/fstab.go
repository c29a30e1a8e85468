// Package fstab parses and edits /etc/fstab files of a guest while keeping
// every other line (comments, blank lines, odd spacing, CRLF, a missing
// final newline) byte for byte.
//
// Parse returns a *File whose Entries are live pointers: change an entry's
// exported fields (for example e.Spec = "/dev/xvda1") and Bytes re-renders
// just that line, reusing the line's original separators (runs of spaces are
// resized so later columns stay aligned). Unchanged lines render exactly as
// read.
//
//	f, err := fstab.Parse("/etc/fstab", data)
//	if e := f.Find("/"); e != nil {
//		e.Spec = "/dev/xvda1"
//	}
//	if e := f.Find("/boot"); e != nil {
//		f.CommentOut(e, "/boot is not a separate disk in the domU")
//	}
//	out := f.Bytes()
//
// Commenting out writes a "# xenify: NOTE" line above the entry and prefixes
// the entry with "#".
//
// Syntax, following util-linux libmount: a line whose first non-blank
// character is '#' is a comment, fields are separated by spaces and tabs,
// and octal escapes such as \040 (space) are decoded in field values (and
// written for space, tab, newline, backslash and a leading '#' when a field
// is re-rendered). An entry needs at least 3 fields (spec, mount point,
// type); options, freq and passno may be missing, as libmount and glibc
// accept. A non-comment line with only 1 or 2 fields is a *confutil.ParseError
// because mount(8) would reject it and we could not tell what it means.
// Fields after the sixth are kept verbatim but not modelled. Freq and Passno
// are kept as strings (empty when missing) and not validated.
package fstab

import (
	"strings"

	"github.com/xenify/xenify/conf/confutil"
)

// Entry is one active (not commented out) fstab line.
type Entry struct {
	Spec       string // device: /dev/hda1, LABEL=/, UUID=..., /dev/VolGroup00/LogVol00, none, ...
	MountPoint string // mount point, or "swap"/"none" for swap
	Type       string // file system type
	Options    string // comma-separated options; "" when the field is missing
	Freq       string // dump frequency; "" when missing
	Passno     string // fsck pass; "" when missing

	// Line is the 1-based line number in the parsed data, 0 for entries
	// added with Append.
	Line int

	tok       confutil.Tokens
	orig      [6]string
	commented bool
	note      string
}

func (e *Entry) values() [6]string {
	return [6]string{e.Spec, e.MountPoint, e.Type, e.Options, e.Freq, e.Passno}
}

// CommentedOut reports whether CommentOut was called on e.
func (e *Entry) CommentedOut() bool { return e.commented }

// File is a parsed fstab.
type File struct {
	name  string
	items []item
}

// item is a raw line (entry == nil) or an entry.
type item struct {
	line  confutil.Line
	entry *Entry
}

// Parse parses data read from the file called name (used in errors).
func Parse(name string, data []byte) (*File, error) {
	f := &File{name: name}
	for i, l := range confutil.SplitLines(data) {
		it := item{line: l}
		trimmed := strings.TrimLeft(l.Text, " \t")
		if trimmed != "" && trimmed[0] != '#' {
			tok := confutil.Tokenize(l.Text, confutil.IsSpace)
			if n := len(tok.Fields); n < 3 {
				return nil, confutil.Errorf(name, i+1, "fstab entry has %d field(s), want at least 3 (spec, mount point, type)", n)
			}
			e := &Entry{Line: i + 1, tok: tok}
			for j := 0; j < 6 && j < len(tok.Fields); j++ {
				e.orig[j] = Unescape(tok.Fields[j])
			}
			e.Spec, e.MountPoint, e.Type, e.Options, e.Freq, e.Passno =
				e.orig[0], e.orig[1], e.orig[2], e.orig[3], e.orig[4], e.orig[5]
			it.entry = e
		}
		f.items = append(f.items, it)
	}
	return f, nil
}

// Entries returns the active entries in file order. The pointers stay valid
// across edits.
func (f *File) Entries() []*Entry {
	var out []*Entry
	for _, it := range f.items {
		if it.entry != nil && !it.entry.commented {
			out = append(out, it.entry)
		}
	}
	return out
}

// Find returns the first active entry whose mount point is mountPoint, or
// nil. A trailing slash is ignored ("/boot/" matches "/boot").
func (f *File) Find(mountPoint string) *Entry {
	want := cleanMP(mountPoint)
	for _, e := range f.Entries() {
		if cleanMP(e.MountPoint) == want {
			return e
		}
	}
	return nil
}

func cleanMP(s string) string {
	if len(s) > 1 {
		s = strings.TrimRight(s, "/")
		if s == "" {
			s = "/"
		}
	}
	return s
}

// CommentOut disables e: Bytes writes "# xenify: NOTE" above it and the
// entry itself prefixed with "#". e must belong to f. A multi-line note is
// written as several comment lines.
func (f *File) CommentOut(e *Entry, note string) {
	e.commented = true
	e.note = note
}

// Append adds a new entry at the end of the file, separated by tabs, and
// returns it.
func (f *File) Append(e Entry) *Entry {
	ne := &Entry{Spec: e.Spec, MountPoint: e.MountPoint, Type: e.Type, Options: e.Options, Freq: e.Freq, Passno: e.Passno}
	ne.orig = [6]string{"\x00"} // never equal: always rendered
	f.items = append(f.items, item{entry: ne})
	return ne
}

// Bytes renders the file.
func (f *File) Bytes() []byte {
	var lines []confutil.Line
	eol := f.eol()
	for _, it := range f.items {
		e := it.entry
		if e == nil {
			lines = append(lines, it.line)
			continue
		}
		text := it.line.Text
		if e.Line == 0 || e.values() != e.orig {
			text = e.render()
		}
		if e.commented {
			for _, n := range strings.Split(e.note, "\n") {
				lines = append(lines, confutil.Line{Text: confutil.Note(n), EOL: eol})
			}
			text = "#" + text
		}
		if e.Line == 0 {
			// Appended: keep "no newline at end of file" if that was so.
			if n := len(lines); n > 0 && lines[n-1].EOL == "" {
				lines[n-1].EOL = eol
				lines = append(lines, confutil.Line{Text: text})
				continue
			}
			lines = append(lines, confutil.Line{Text: text, EOL: eol})
			continue
		}
		lines = append(lines, confutil.Line{Text: text, EOL: it.line.EOL})
	}
	return confutil.JoinLines(lines)
}

func (f *File) eol() string {
	var ls []confutil.Line
	for _, it := range f.items {
		if it.entry == nil || it.entry.Line != 0 {
			ls = append(ls, it.line)
		}
	}
	return confutil.EOL(ls)
}

// render renders e from its fields, reusing its original separators.
func (e *Entry) render() string {
	vals := e.values()
	n := 6
	for n > 3 && vals[n-1] == "" {
		n--
	}
	if len(e.tok.Fields) > 6 {
		n = 6 // keep the extra fields, so all six must be written
	}
	tok := e.tok
	tok.Fields = append([]string(nil), tok.Fields...)
	tok.Seps = append([]string(nil), tok.Seps...)
	for i := 0; i < n; i++ {
		v := vals[i]
		if v == "" {
			switch i {
			case 0, 1, 2:
				v = "none"
			case 3:
				v = "defaults"
			default:
				v = "0"
			}
		}
		v = Escape(v)
		if i == 0 && strings.HasPrefix(v, "#") {
			v = `\043` + v[1:]
		}
		if i < len(tok.Fields) {
			if vals[i] != e.orig[i] {
				tok.Set(i, v)
			}
		} else {
			sep := "\t"
			if len(tok.Seps) > 0 {
				sep = tok.Seps[len(tok.Seps)-1]
				if strings.Trim(sep, " ") == "" {
					sep = " "
				}
			}
			tok.Append(sep, v)
		}
	}
	if len(tok.Fields) <= 6 {
		tok.Truncate(n)
	}
	return tok.String()
}

// Unescape decodes the octal escapes (\040 and the like) used in fstab
// fields. Other backslashes are kept.
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOct(s[i+1]) && isOct(s[i+2]) && isOct(s[i+3]) && s[i+1] <= '3' {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOct(c byte) bool { return c >= '0' && c <= '7' }

// Escape encodes space, tab, newline, carriage return and backslash as
// octal escapes so that s is one fstab field.
func Escape(s string) string {
	if !strings.ContainsAny(s, " \t\n\r\\") {
		return s
	}
	r := strings.NewReplacer(`\`, `\134`, " ", `\040`, "\t", `\011`, "\n", `\012`, "\r", `\015`)
	return r.Replace(s)
}
