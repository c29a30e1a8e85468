// Package linelist edits one-item-per-line configuration files such as
// /etc/securetty, /etc/modules and /etc/initramfs-tools/modules.
//
// A file is a sequence of lines. A line whose first non-blank character is
// '#' is a comment; blank lines are kept as they are. Every other line holds
// one item. The item's key is its first whitespace-separated field, so the
// /etc/modules line "e1000 debug=1" has the key "e1000"; for /etc/securetty
// the key is the whole (trimmed) line.
//
// The model keeps every byte of the input: [File.Bytes] returns the input
// unchanged when no edit was made, whatever its line endings (LF or CRLF)
// and whether or not it ends in a newline. Edits touch only the lines they
// add or remove:
//
//   - [File.Has] reports whether an item with a key is present.
//   - [File.Add] appends an item unless its key is present. New lines use the
//     file's line ending, and a file without a final newline keeps lacking
//     one.
//   - [File.Remove] deletes every line holding a key.
//
// No format this package reads can be invalid, so [Parse] only fails for
// data that is not text (it contains a NUL byte).
package linelist

import (
	"errors"
	"fmt"
	"github.com/xenify/xenify/conf/confutil"
	"strings"
)

// ParseError reports a problem in a file at a 1-based line number.
type ParseError = confutil.ParseError

// File is a parsed one-item-per-line file.
type File struct {
	name  string
	lines []confutil.Line
	nl    string // line ending used for new lines
}

// Item is one non-comment line.
type Item struct {
	Key  string // first whitespace-separated field
	Text string // the whole line without surrounding blanks
	Line int    // 1-based line number
}

// Parse parses data read from the file name (used in errors only).
func Parse(name string, data []byte) (*File, error) {
	var err error
	f := &File{name: name}
	if f.lines, err = confutil.SplitLogical(name, string(data), confutil.PhysicalEnd); err != nil {
		return nil, err
	}
	f.nl = confutil.EOL(f.lines)
	return f, nil
}

// Bytes renders the file.
func (f *File) Bytes() []byte { return confutil.JoinLines(f.lines) }

// key returns the item key of a line, or "" for blank and comment lines.
func key(text string) string {
	fields := strings.Fields(text)
	if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
		return ""
	}
	return fields[0]
}

// Items lists the non-comment lines in file order.
func (f *File) Items() []Item {
	var items []Item
	for i, l := range f.lines {
		if k := key(l.Text); k != "" {
			items = append(items, Item{Key: k, Text: strings.TrimSpace(l.Text), Line: i + 1})
		}
	}
	return items
}

// Has reports whether a non-comment line has the key item.
func (f *File) Has(item string) bool {
	if item == "" {
		return false
	}
	for _, l := range f.lines {
		if key(l.Text) == item {
			return true
		}
	}
	return false
}

// ErrInvalidItem is returned by [File.Add] for text that would not read back
// as the same single item.
var ErrInvalidItem = errors.New("invalid item")

// Add appends item as a new line unless an item with the same key (first
// field) is present. It reports whether a line was added. item may carry
// arguments ("e1000 debug=1"); it must be one line, must not start with '#'
// and must not have surrounding blanks.
func (f *File) Add(item string) (bool, error) {
	k := key(item)
	if k == "" || strings.ContainsAny(item, "\r\n\x00") || strings.TrimSpace(item) != item {
		return false, fmt.Errorf("adding %q to %s: %w", item, f.name, ErrInvalidItem)
	}
	if f.Has(k) {
		return false, nil
	}
	f.lines = confutil.InsertLine(f.lines, len(f.lines), item, f.nl, nil)
	return true, nil
}

// Remove deletes every non-comment line whose key is item and returns how
// many lines it deleted. If the last line is deleted, the new last line takes
// over its line ending, so the file keeps ending (or not) in a newline.
func (f *File) Remove(item string) int {
	if item == "" {
		return 0
	}
	n := 0
	kept := f.lines[:0]
	lastEOL := ""
	if len(f.lines) > 0 {
		lastEOL = f.lines[len(f.lines)-1].EOL
	}
	for _, l := range f.lines {
		if key(l.Text) == item {
			n++
			continue
		}
		kept = append(kept, l)
	}
	f.lines = kept
	if n > 0 && len(kept) > 0 {
		kept[len(kept)-1].EOL = lastEOL
	}
	return n
}
