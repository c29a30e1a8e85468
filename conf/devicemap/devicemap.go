// Package devicemap parses and edits GRUB's /boot/grub/device.map, which
// maps BIOS drive names to Linux devices:
//
//	(fd0)	/dev/fd0
//	(hd0)     /dev/hda
//
// Comments (#), blank lines and spacing are kept; Bytes returns the input
// unchanged until an edit is made, and SetDevice rewrites only the device
// field of the drive's line, keeping its separator.
//
// Like grub-install, which warns about and skips malformed lines, Parse
// keeps lines that do not start with "(DRIVE)" followed by a device as
// opaque text instead of failing; they are not returned by Entries. Drive
// names are given without parentheses ("hd0"); arguments with
// parentheses are accepted too.
package devicemap

import (
	"strings"

	"github.com/xenify/xenify/conf/confutil"
)

// Entry is one drive mapping.
type Entry struct {
	Drive  string // "hd0", "fd0", "hd0,msdos1"... without parentheses
	Device string // "/dev/hda"
	Line   int    // 1-based line number in the current content
}

// File is a parsed device.map.
type File struct {
	lines []confutil.Line
}

// Parse parses data. It does not fail; the error is for symmetry with the
// other conf parsers and is always nil.
func Parse(name string, data []byte) (*File, error) {
	return &File{lines: confutil.SplitLines(data)}, nil
}

// Bytes renders the file.
func (f *File) Bytes() []byte { return confutil.JoinLines(f.lines) }

func parseLine(s string) (confutil.Tokens, bool) {
	t := strings.TrimLeft(s, " \t")
	if t == "" || t[0] == '#' || t[0] != '(' {
		return confutil.Tokens{}, false
	}
	tok := confutil.Tokenize(s, confutil.IsSpace)
	d := tok.Fields[0]
	if len(tok.Fields) < 2 || len(d) < 3 || d[len(d)-1] != ')' || strings.ContainsAny(d[1:len(d)-1], "()") {
		return confutil.Tokens{}, false
	}
	return tok, true
}

func drive(s string) string {
	return strings.TrimSuffix(strings.TrimPrefix(s, "("), ")")
}

// Entries returns the mappings in file order.
func (f *File) Entries() []Entry {
	var out []Entry
	for i, l := range f.lines {
		if tok, ok := parseLine(l.Text); ok {
			out = append(out, Entry{Drive: drive(tok.Fields[0]), Device: tok.Fields[1], Line: i + 1})
		}
	}
	return out
}

// Device returns the device of drive (the first mapping, as GRUB uses).
func (f *File) Device(drv string) (string, bool) {
	drv = drive(drv)
	for _, e := range f.Entries() {
		if e.Drive == drv {
			return e.Device, true
		}
	}
	return "", false
}

// SetDevice maps drv to device: the device field of every line for drv is
// replaced; if there is none, a line "(drv)\tdevice" is appended.
func (f *File) SetDevice(drv, device string) {
	drv = drive(drv)
	found := false
	for i, l := range f.lines {
		tok, ok := parseLine(l.Text)
		if !ok || drive(tok.Fields[0]) != drv {
			continue
		}
		found = true
		if tok.Fields[1] != device {
			tok.Set(1, device)
			f.lines[i].Text = tok.String()
		}
	}
	if !found {
		sep := "\t"
		for _, l := range f.lines {
			if tok, ok := parseLine(l.Text); ok {
				sep = tok.Seps[0]
				break
			}
		}
		f.lines = confutil.InsertLines(f.lines, len(f.lines), "("+drv+")"+sep+device)
	}
}

// Remove deletes the lines for drv and reports whether there were any.
func (f *File) Remove(drv string) bool {
	drv = drive(drv)
	removed := false
	for i := 0; i < len(f.lines); i++ {
		if tok, ok := parseLine(f.lines[i].Text); ok && drive(tok.Fields[0]) == drv {
			f.lines = confutil.DeleteLines(f.lines, i, i+1)
			i--
			removed = true
		}
	}
	return removed
}
