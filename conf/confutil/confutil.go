// Package confutil holds the small pieces shared by xenify's configuration
// file parsers in conf/...: a typed parse error carrying the guest file name
// and line, the one line model (Line) with splitters for physical and
// logical lines that remember each line's terminator so files render back
// byte-identically, the "# xenify: NOTE" comment (Note), and a field
// tokenizer that keeps the separators between fields so an edited line
// keeps its original layout. Each parser adds only what its format
// differs in.
package confutil

import (
	"fmt"
	"strings"
)

// ParseError reports a syntax problem in a guest configuration file.
// Line is 1-based; 0 means the error is not tied to one line.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line <= 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Errorf returns a *ParseError for file name at line.
func Errorf(name string, line int, format string, args ...any) *ParseError {
	return &ParseError{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// Line is one line of a file: its text without terminator, and the
// terminator itself ("\n", "\r\n" or "" for a last line without newline).
// It is the one line model of every parser in conf/...: for formats with
// continuations (SplitLogical) Text is a logical line and keeps its
// interior line endings.
type Line struct {
	Text string
	EOL  string
}

// SplitLines splits data into lines. Joining Text+EOL of all lines gives back
// data exactly. An empty input yields no lines.
func SplitLines(data []byte) []Line {
	s := string(data)
	var lines []Line
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, Line{Text: s})
			break
		}
		text, eol := s[:i], "\n"
		if strings.HasSuffix(text, "\r") {
			text, eol = text[:len(text)-1], "\r\n"
		}
		lines = append(lines, Line{Text: text, EOL: eol})
		s = s[i+1:]
	}
	return lines
}

// JoinLines renders lines back to bytes.
func JoinLines(lines []Line) []byte {
	n := 0
	for _, l := range lines {
		n += len(l.Text) + len(l.EOL)
	}
	b := make([]byte, 0, n)
	for _, l := range lines {
		b = append(b, l.Text...)
		b = append(b, l.EOL...)
	}
	return b
}

// EOL returns the line terminator new lines should use: the terminator of
// the first terminated line, or "\n".
func EOL(lines []Line) string {
	for _, l := range lines {
		if l.EOL != "" {
			return l.EOL
		}
	}
	return "\n"
}

// InsertLines inserts texts as new lines before index i (0 <= i <= len(lines))
// and returns the new slice. New lines get the file's terminator. When
// inserting after a last line that had no terminator, that line gets one,
// and the inserted last line goes without, so the file keeps "no newline at
// end of file".
func InsertLines(lines []Line, i int, texts ...string) []Line {
	if len(texts) == 0 {
		return lines
	}
	eol := EOL(lines)
	add := make([]Line, len(texts))
	for j, t := range texts {
		add[j] = Line{Text: t, EOL: eol}
	}
	if i == len(lines) && i > 0 && lines[i-1].EOL == "" {
		lines[i-1].EOL = eol
		add[len(add)-1].EOL = ""
	}
	out := make([]Line, 0, len(lines)+len(add))
	out = append(out, lines[:i]...)
	out = append(out, add...)
	out = append(out, lines[i:]...)
	return out
}

// DeleteLines removes lines[i:j] and returns the new slice. If the removed
// range included the last line and that line had no terminator, the new
// last line loses its terminator too.
func DeleteLines(lines []Line, i, j int) []Line {
	if i >= j {
		return lines
	}
	noEOL := j == len(lines) && lines[j-1].EOL == ""
	out := append(append([]Line(nil), lines[:i]...), lines[j:]...)
	if noEOL && len(out) > 0 && j-i < len(lines) {
		out[len(out)-1].EOL = ""
	}
	return out
}

// IsBlank reports whether s is empty or only spaces and tabs.
func IsBlank(s string) bool {
	return strings.TrimLeft(s, " \t") == ""
}

// IsSpace reports whether c is a space or a tab.
func IsSpace(c byte) bool { return c == ' ' || c == '\t' }

// Tokens is a line split into fields with the exact text around them:
// Lead + Fields[0] + Seps[0] + Fields[1] + ... + Fields[n-1] + Trail
// reproduces the line. len(Seps) == max(len(Fields)-1, 0).
type Tokens struct {
	Lead   string
	Fields []string
	Seps   []string
	Trail  string
}

// Tokenize splits s at runs of characters for which isSep returns true.
func Tokenize(s string, isSep func(byte) bool) Tokens {
	var t Tokens
	i := 0
	for i < len(s) && isSep(s[i]) {
		i++
	}
	t.Lead = s[:i]
	for i < len(s) {
		j := i
		for j < len(s) && !isSep(s[j]) {
			j++
		}
		t.Fields = append(t.Fields, s[i:j])
		k := j
		for k < len(s) && isSep(s[k]) {
			k++
		}
		if k == len(s) {
			t.Trail = s[j:k]
		} else {
			t.Seps = append(t.Seps, s[j:k])
		}
		i = k
	}
	return t
}

// String renders the tokens.
func (t Tokens) String() string {
	var b strings.Builder
	b.WriteString(t.Lead)
	for i, f := range t.Fields {
		if i > 0 {
			b.WriteString(t.Seps[i-1])
		}
		b.WriteString(f)
	}
	b.WriteString(t.Trail)
	return b.String()
}

// Set replaces field i with v. If the separator after the field consists
// only of spaces, its width is adjusted (keeping at least one space) so the
// following fields stay in their columns where possible.
func (t *Tokens) Set(i int, v string) {
	old := t.Fields[i]
	t.Fields[i] = v
	if i < len(t.Seps) && strings.Trim(t.Seps[i], " ") == "" {
		w := len(old) + len(t.Seps[i]) - len(v)
		if w < 1 {
			w = 1
		}
		t.Seps[i] = strings.Repeat(" ", w)
	}
}

// Append adds a field at the end, separated by sep.
func (t *Tokens) Append(sep, v string) {
	if len(t.Fields) > 0 {
		t.Seps = append(t.Seps, sep)
	}
	t.Fields = append(t.Fields, v)
}

// Truncate drops fields from index n on (and their separators).
func (t *Tokens) Truncate(n int) {
	if n >= len(t.Fields) {
		return
	}
	t.Fields = t.Fields[:n]
	if n == 0 {
		t.Seps = nil
	} else {
		t.Seps = t.Seps[:n-1]
	}
}
