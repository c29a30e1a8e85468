// Package shellvars reads and edits files of shell variable assignments:
// RHEL ifcfg-* files, /etc/sysconfig/{network,kernel,grub,init},
// /etc/selinux/config and /etc/default/grub.
//
// These files are sourced by a shell, but xenify never evaluates them. A
// logical line is one of
//
//   - a comment or blank line;
//   - a plain assignment: optional "export", NAME=WORD, optional trailing
//     "# comment". WORD may mix unquoted text, 'single quotes' and "double
//     quotes" and may span lines inside quotes or through backslash-newline;
//   - anything else (commands, "if", several assignments on one line, ...),
//     which is kept verbatim and reported by [File.Opaque].
//
// An assignment whose value needs the shell to compute it ($VAR, `cmd`,
// $(cmd), ~) is still an assignment, but its [Var.Literal] is false and
// [File.Get] does not report a value for it. Assignments inside compound
// commands (if ... fi, case ... esac, loops, { }) are conditional and are
// reported as opaque too; nesting is tracked by keywords, not by a full
// shell grammar. Here-documents are not recognised.
//
// [File.Bytes] returns the input unchanged when nothing was edited, whatever
// its line endings. Edits rewrite only the lines they touch:
//
//   - [File.Set] replaces the value of the last assignment (the one the
//     shell ends up with) in place, keeping "export", spacing and trailing
//     comment, and keeping the original quoting style where the new value
//     allows it. Without an assignment it adds NAME=VALUE, quoting VALUE
//     only when needed, after the last commented-out "#NAME=..." example
//     or else at the end.
//   - [File.Delete] removes every assignment of a name.
//   - [File.CommentOut] turns every assignment of a name into a comment,
//     preceded by a "# xenify: NOTE" line.
//
// [Parse] fails with a [*ParseError] only where the shell itself would fail
// to read the file: an unterminated quote, backquote or $( at the end of
// the file, or a NUL byte.
package shellvars

import (
	"errors"
	"fmt"
	"github.com/xenify/xenify/conf/confutil"
	"strings"
)

// ParseError reports a problem in a file at a 1-based line number.
type ParseError = confutil.ParseError

// File is a parsed shell-variable file.
type File struct {
	name   string
	blocks []confutil.Line
	nl     string // line ending for new lines
}

// block is one logical line: one or more physical lines.

// Var is one assignment.
type Var struct {
	Name     string
	Value    string // value with quotes and escapes removed; the raw text if !Literal
	Raw      string // value as written, with its quotes
	Literal  bool   // Value is exact: no expansion or substitution
	Exported bool   // written as "export NAME=..."
	Line     int    // 1-based line where the assignment starts
}

// Opaque is a logical line that is neither a comment nor a plain assignment.
type Opaque struct {
	Line int
	Text string // may contain newlines if the line continues
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

// logicalEnd is the end of the logical line at pos: a comment or blank
// line ends at its newline, anything else where the shell's quoting and
// continuations end it.
func logicalEnd(s string, pos int) (int, error) {
	if isCommentOrBlank(s[pos:]) {
		return indexFrom(s, pos, '\n'), nil
	}
	return scanLogical(s, pos)
}

func indexFrom(s string, pos int, c byte) int {
	if i := strings.IndexByte(s[pos:], c); i >= 0 {
		return pos + i
	}
	return len(s)
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

func skipBlanks(s string, i int) int {
	for i < len(s) && isBlank(s[i]) {
		i++
	}
	return i
}

// isCommentOrBlank reports whether the physical line starting s is blank or
// a comment.
func isCommentOrBlank(s string) bool {
	i := skipBlanks(s, 0)
	return i == len(s) || s[i] == '#' || s[i] == '\n' || (s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n')
}

var (
	errSingle = errors.New("unexpected end of file looking for matching '")
	errDouble = errors.New("unexpected end of file looking for matching \"")
	errBack   = errors.New("unexpected end of file looking for matching `")
	errParen  = errors.New("unexpected end of file looking for matching )")
)

// scanLogical returns the index of the newline ending the logical line that
// starts at pos (or len(s)). It follows quotes, backquotes, $( ) and
// backslash escapes the way the shell's lexer does, closely enough to find
// where a command ends.
func scanLogical(s string, pos int) (int, error) {
	i := pos
	for i < len(s) {
		c := s[i]
		switch {
		case c == '\n':
			return i, nil
		case c == '#' && (i == pos || strings.IndexByte(" \t;&|()", s[i-1]) >= 0):
			return indexFrom(s, i, '\n'), nil
		default:
			j, err := scanToken(s, i)
			if err != nil {
				return 0, err
			}
			i = j
		}
	}
	return i, nil
}

// scanToken skips one character or quoted construct at s[i] outside quotes
// and returns the index after it.
func scanToken(s string, i int) (int, error) {
	switch c := s[i]; {
	case c == '\\':
		return min(i+2, len(s)), nil
	case c == '\'':
		j := strings.IndexByte(s[i+1:], '\'')
		if j < 0 {
			return 0, errSingle
		}
		return i + j + 2, nil
	case c == '"':
		return scanDouble(s, i+1)
	case c == '`':
		return scanBackquote(s, i+1)
	case c == '$' && i+1 < len(s) && s[i+1] == '(':
		return scanParen(s, i+2)
	}
	return i + 1, nil
}

func scanDouble(s string, i int) (int, error) {
	for i < len(s) {
		switch c := s[i]; {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			i += 2
		case c == '`':
			j, err := scanBackquote(s, i+1)
			if err != nil {
				return 0, err
			}
			i = j
		case c == '$' && i+1 < len(s) && s[i+1] == '(':
			j, err := scanParen(s, i+2)
			if err != nil {
				return 0, err
			}
			i = j
		default:
			i++
		}
	}
	return 0, errDouble
}

func scanBackquote(s string, i int) (int, error) {
	for i < len(s) {
		switch s[i] {
		case '`':
			return i + 1, nil
		case '\\':
			i += 2
		default:
			i++
		}
	}
	return 0, errBack
}

// scanParen skips the body of $( ... ) up to and including its ")".
func scanParen(s string, i int) (int, error) {
	depth := 1
	for i < len(s) {
		switch c := s[i]; c {
		case '(':
			depth++
			i++
		case ')':
			depth--
			i++
			if depth == 0 {
				return i, nil
			}
		case '#':
			if strings.IndexByte(" \t\n;&|(", s[i-1]) >= 0 {
				i = indexFrom(s, i, '\n')
			} else {
				i++
			}
		default:
			j, err := scanToken(s, i)
			if err != nil {
				return 0, err
			}
			i = j
		}
	}
	return 0, errParen
}

type quoteStyle int

const (
	quoteNone quoteStyle = iota
	quoteSingle
	quoteDouble
	quoteMixed
)

// assign is a parsed plain assignment.
type assign struct {
	name    string
	export  bool
	vs, ve  int // span of the value word in the block's raw text
	value   string
	literal bool
	style   quoteStyle
}

func isNameByte(c byte, first bool) bool {
	return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || !first && '0' <= c && c <= '9'
}

// parseAssign parses raw as a plain assignment.
func parseAssign(raw string) (assign, bool) {
	var a assign
	i := skipBlanks(raw, 0)
	if strings.HasPrefix(raw[i:], "export") && i+6 < len(raw) && isBlank(raw[i+6]) {
		a.export = true
		i = skipBlanks(raw, i+6)
	}
	j := i
	for j < len(raw) && isNameByte(raw[j], j == i) {
		j++
	}
	if j == i || j >= len(raw) || raw[j] != '=' {
		return a, false
	}
	a.name = raw[i:j]
	a.vs = j + 1
	a.literal = true
	var v strings.Builder
	var sq, dq, bare bool
	k := a.vs
word:
	for k < len(raw) {
		c := raw[k]
		switch {
		case isBlank(c) || c == '\n':
			break word
		case strings.IndexByte(";&|<>()", c) >= 0:
			return a, false
		case c == '\\':
			bare = true
			if k+1 >= len(raw) {
				v.WriteByte(c)
				k++
				continue
			}
			if raw[k+1] != '\n' {
				v.WriteByte(raw[k+1])
			}
			k += 2
		case c == '\'':
			sq = true
			e := strings.IndexByte(raw[k+1:], '\'')
			if e < 0 {
				return a, false
			}
			v.WriteString(raw[k+1 : k+1+e])
			k += e + 2
		case c == '"':
			dq = true
			k++
			for {
				if k >= len(raw) {
					return a, false
				}
				c := raw[k]
				if c == '"' {
					k++
					break
				}
				if c == '\\' && k+1 < len(raw) {
					switch n := raw[k+1]; n {
					case '$', '`', '"', '\\':
						v.WriteByte(n)
						k += 2
						continue
					case '\n':
						k += 2
						continue
					}
				}
				if c == '$' || c == '`' {
					a.literal = false
					e, ok := skipSubst(raw, k)
					if !ok {
						return a, false
					}
					k = e
					continue
				}
				v.WriteByte(c)
				k++
			}
		case c == '$' || c == '`':
			a.literal = false
			bare = true
			e, ok := skipSubst(raw, k)
			if !ok {
				return a, false
			}
			k = e
		case c == '~' && (k == a.vs || raw[k-1] == ':'):
			a.literal = false
			bare = true
			k++
		default:
			bare = true
			v.WriteByte(c)
			k++
		}
	}
	a.ve = k
	if r := skipBlanks(raw, k); r < len(raw) && raw[r] != '#' {
		return a, false
	}
	switch {
	case !sq && !dq:
		a.style = quoteNone
	case sq && !dq && !bare:
		a.style = quoteSingle
	case dq && !sq && !bare:
		a.style = quoteDouble
	default:
		a.style = quoteMixed
	}
	a.value = v.String()
	if !a.literal {
		a.value = raw[a.vs:a.ve]
	}
	return a, true
}

// skipSubst skips the expansion or substitution starting with '$' or '`'
// at raw[k]: `cmd`, $(cmd), ${...} or a plain '$'.
func skipSubst(raw string, k int) (int, bool) {
	var e int
	var err error
	switch {
	case raw[k] == '`':
		e, err = scanBackquote(raw, k+1)
	case k+1 < len(raw) && raw[k+1] == '(':
		e, err = scanParen(raw, k+2)
	case k+1 < len(raw) && raw[k+1] == '{':
		i := strings.IndexByte(raw[k:], '}')
		if i < 0 {
			return 0, false
		}
		e = k + i + 1
	default:
		e = k + 1
	}
	return e, err == nil
}

// Bytes renders the file.
func (f *File) Bytes() []byte { return confutil.JoinLines(f.blocks) }

// kind classifies a block.
type kind int

const (
	kindComment kind = iota // comment or blank line
	kindAssign              // plain top-level assignment
	kindOpaque              // anything else
)

// each calls fn for every block with its 1-based line number, its kind and,
// for kindAssign, the parsed assignment. Assignments inside compound
// commands (if/case/for/while/until/select ... fi/esac/done, { }) are
// conditional, so they are reported as opaque.
func (f *File) each(fn func(i, line int, k kind, a assign)) {
	line, depth := 1, 0
	for i, b := range f.blocks {
		switch a, ok := parseAssign(b.Text); {
		case isCommentOrBlank(b.Text):
			fn(i, line, kindComment, assign{})
		case ok && depth == 0:
			fn(i, line, kindAssign, a)
		default:
			depth = max(0, depth+nesting(b.Text))
			fn(i, line, kindOpaque, assign{})
		}
		line += strings.Count(b.Text, "\n") + 1
	}
}

// nesting returns how much raw changes the nesting depth of compound
// commands. It looks at words only, which is enough for the files this
// package is meant for.
func nesting(raw string) int {
	d := 0
	for _, w := range strings.FieldsFunc(raw, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == ';' || r == '&' || r == '|'
	}) {
		switch w {
		case "if", "case", "for", "while", "until", "select", "{":
			d++
		case "fi", "esac", "done", "}":
			d--
		}
	}
	return d
}

// Vars lists all plain assignments in file order.
func (f *File) Vars() []Var {
	var vars []Var
	f.each(func(i, line int, k kind, a assign) {
		if k == kindAssign {
			b := f.blocks[i]
			vars = append(vars, Var{
				Name: a.name, Value: a.value, Raw: b.Text[a.vs:a.ve],
				Literal: a.literal, Exported: a.export, Line: line,
			})
		}
	})
	return vars
}

// Opaque lists the logical lines that are neither comments nor plain
// assignments. xenify keeps them verbatim and never evaluates them.
func (f *File) Opaque() []Opaque {
	var out []Opaque
	f.each(func(i, line int, k kind, _ assign) {
		if k == kindOpaque {
			out = append(out, Opaque{Line: line, Text: f.blocks[i].Text})
		}
	})
	return out
}

// Lookup returns the last assignment of name, the one in effect after the
// shell has read the file.
func (f *File) Lookup(name string) (Var, bool) {
	var v Var
	found := false
	for _, x := range f.Vars() {
		if x.Name == name {
			v, found = x, true
		}
	}
	return v, found
}

// Get returns the value of the last assignment of name. ok is false if
// name is not assigned or if its last assignment is not literal (see
// [Var.Literal]); use [File.Lookup] to tell these apart.
func (f *File) Get(name string) (value string, ok bool) {
	v, found := f.Lookup(name)
	if !found || !v.Literal {
		return "", false
	}
	return v.Value, true
}

// ErrInvalid is wrapped by errors for names or values that cannot be
// written.
var ErrInvalid = errors.New("invalid name or value")

// ErrOpenCompound is wrapped by [File.Set] when it would have to add a line
// but the file ends inside an unfinished if/case/loop, where the new line
// would be conditional.
var ErrOpenCompound = errors.New("file ends inside a compound command")

func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isNameByte(name[i], i == 0) {
			return false
		}
	}
	return true
}

func safeBare(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !isNameByte(c, false) && strings.IndexByte("@%+=:,./-", c) < 0 {
			return false
		}
	}
	return true
}

func quoteDoubleStr(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if strings.IndexByte("\\\"$`", v[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
	return b.String()
}

// render quotes v in style, falling back to a style that can hold v.
func render(v string, style quoteStyle) string {
	switch {
	case style == quoteNone && safeBare(v):
		return v
	case style == quoteSingle && !strings.Contains(v, "'"):
		return "'" + v + "'"
	}
	return quoteDoubleStr(v)
}

// Set assigns value to name. It rewrites the value of the last assignment
// of name in place or, if there is none, appends a new line.
func (f *File) Set(name, value string) error {
	if !validName(name) || strings.IndexByte(value, 0) >= 0 {
		return fmt.Errorf("setting %q in %s: %w", name, f.name, ErrInvalid)
	}
	last := -1
	var la assign
	depth := 0
	f.each(func(i, _ int, k kind, a assign) {
		if k == kindAssign && a.name == name {
			last, la = i, a
		}
		if k == kindOpaque {
			depth = max(0, depth+nesting(f.blocks[i].Text))
		}
	})
	if last >= 0 {
		b := &f.blocks[last]
		b.Text = b.Text[:la.vs] + render(value, la.style) + b.Text[la.ve:]
		return nil
	}
	if depth > 0 {
		return fmt.Errorf("adding %s to %s: %w", name, f.name, ErrOpenCompound)
	}
	raw := name + "=" + render(value, quoteNone)
	// Put a new assignment after a commented-out example of it, as in
	// Debian's "#GRUB_TERMINAL=console".
	for i := len(f.blocks) - 1; i >= 0; i-- {
		if c := strings.TrimLeft(f.blocks[i].Text, " \t#"); strings.HasPrefix(c, name+"=") && isCommentOrBlank(f.blocks[i].Text) {
			f.insertBlock(i+1, raw)
			return nil
		}
	}
	f.insertBlock(len(f.blocks), raw)
	return nil
}

// insertBlock inserts a new logical line before block index i.
func (f *File) insertBlock(i int, raw string) {
	f.blocks = confutil.InsertLine(f.blocks, i, raw, f.nl, func(last string) bool {
		return !isCommentOrBlank(last) && confutil.OddBackslashes(last)
	})
}

// assignments returns the indexes of the blocks assigning name.
func (f *File) assignments(name string) map[int]bool {
	m := map[int]bool{}
	f.each(func(i, _ int, k kind, a assign) {
		if k == kindAssign && a.name == name {
			m[i] = true
		}
	})
	return m
}

// Delete removes every assignment of name and returns how many it removed.
func (f *File) Delete(name string) int {
	n := 0
	lastEOL := ""
	if len(f.blocks) > 0 {
		lastEOL = f.blocks[len(f.blocks)-1].EOL
	}
	match := f.assignments(name)
	kept := f.blocks[:0]
	for i, b := range f.blocks {
		if match[i] {
			n++
			continue
		}
		kept = append(kept, b)
	}
	f.blocks = kept
	if n > 0 && len(kept) > 0 {
		kept[len(kept)-1].EOL = lastEOL
	}
	return n
}

// CommentOut turns every assignment of name into a comment preceded by the
// line "# xenify: NOTE" and returns how many assignments it commented out.
func (f *File) CommentOut(name, note string) int {
	match := f.assignments(name)
	var n int
	f.blocks, n = confutil.CommentOut(f.blocks, func(i int) bool { return match[i] }, note, f.nl, false)
	return n
}
