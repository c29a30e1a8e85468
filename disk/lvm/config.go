package lvm

import (
	"fmt"
	"strconv"
	"strings"
)

// Limits for untrusted metadata text.
const (
	maxDepth    = 32
	maxListLen  = 1 << 16
	maxTextSize = 64 << 20
)

// Section is one `name { ... }` block of LVM2 text metadata (the top level
// is a Section with an empty name). Keys and sub-sections keep file order.
type Section struct {
	Name     string
	Line     int // line of the section header, 0 for the top level
	Fields   []Field
	Sections []*Section
}

// Field is one `key = value` assignment.
type Field struct {
	Key  string
	Line int
	// Value is a string, an int64, a float64 or a []any of those.
	Value any
}

// ParseError reports a syntax error in LVM2 text metadata.
type ParseError struct {
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Get returns the value of key, if present (the last assignment wins).
func (s *Section) Get(key string) (any, bool) {
	for i := len(s.Fields) - 1; i >= 0; i-- {
		if s.Fields[i].Key == key {
			return s.Fields[i].Value, true
		}
	}
	return nil, false
}

// String returns the string value of key, or "" if absent or not a string.
func (s *Section) String(key string) string {
	v, _ := s.Get(key)
	str, _ := v.(string)
	return str
}

// Int returns the integer value of key and whether it was an integer.
func (s *Section) Int(key string) (int64, bool) {
	v, _ := s.Get(key)
	n, ok := v.(int64)
	return n, ok
}

// Strings returns the value of key as a list of strings (non-strings are
// skipped).
func (s *Section) Strings(key string) []string {
	v, _ := s.Get(key)
	l, _ := v.([]any)
	var out []string
	for _, e := range l {
		if str, ok := e.(string); ok {
			out = append(out, str)
		}
	}
	return out
}

// Sub returns the sub-section with the given name, or nil.
func (s *Section) Sub(name string) *Section {
	for _, c := range s.Sections {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// ParseConfig parses LVM2 text-format configuration/metadata: nested
// `name { ... }` sections, `key = value` with strings (backslash escapes),
// integers, floats and `[ ... ]` lists, and `#` comments.
func ParseConfig(text []byte) (*Section, error) {
	if len(text) > maxTextSize {
		return nil, fmt.Errorf("metadata text of %d bytes is too large", len(text))
	}
	p := &parser{lex: lexer{src: text, line: 1}}
	root := &Section{}
	if err := p.body(root, 0); err != nil {
		return nil, err
	}
	return root, nil
}

type tokKind int

const (
	tEOF tokKind = iota
	tWord
	tString
	tPunct
)

type token struct {
	kind tokKind
	text string
	line int
}

type lexer struct {
	src  []byte
	pos  int
	line int
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == '-' || c == '+' || c == '/' || c == ':' || c == '@' || c >= 0x80
}

func (l *lexer) next() (token, error) {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == '\n':
			l.line++
			l.pos++
		case c == ' ' || c == '\t' || c == '\r' || c == 0:
			l.pos++
		case c == '#':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.pos++
			}
		default:
			goto tok
		}
	}
	return token{kind: tEOF, line: l.line}, nil
tok:
	c := l.src[l.pos]
	start := l.line
	switch {
	case c == '{' || c == '}' || c == '[' || c == ']' || c == '=' || c == ',':
		l.pos++
		return token{kind: tPunct, text: string(c), line: start}, nil
	case c == '"' || c == '\'':
		quote := c
		l.pos++
		var b strings.Builder
		for {
			if l.pos >= len(l.src) {
				return token{}, &ParseError{start, "unterminated string"}
			}
			c := l.src[l.pos]
			l.pos++
			switch {
			case c == quote:
				return token{kind: tString, text: b.String(), line: start}, nil
			case c == '\\':
				if l.pos >= len(l.src) {
					return token{}, &ParseError{start, "unterminated string"}
				}
				c = l.src[l.pos]
				l.pos++
			}
			if c == '\n' {
				l.line++
			}
			b.WriteByte(c)
		}
	case isWordByte(c):
		s := l.pos
		for l.pos < len(l.src) && isWordByte(l.src[l.pos]) {
			l.pos++
		}
		return token{kind: tWord, text: string(l.src[s:l.pos]), line: start}, nil
	default:
		return token{}, &ParseError{start, fmt.Sprintf("unexpected character %q", c)}
	}
}

type parser struct {
	lex    lexer
	peeked *token
}

func (p *parser) next() (token, error) {
	if p.peeked != nil {
		t := *p.peeked
		p.peeked = nil
		return t, nil
	}
	return p.lex.next()
}

// body parses fields and sections until '}' (depth > 0) or EOF (depth 0).
func (p *parser) body(s *Section, depth int) error {
	if depth > maxDepth {
		return &ParseError{s.Line, "sections nested too deeply"}
	}
	for {
		t, err := p.next()
		if err != nil {
			return err
		}
		switch {
		case t.kind == tEOF:
			if depth > 0 {
				return &ParseError{t.line, fmt.Sprintf("missing '}' for section %q opened on line %d", s.Name, s.Line)}
			}
			return nil
		case t.kind == tPunct && t.text == "}":
			if depth == 0 {
				return &ParseError{t.line, "unexpected '}'"}
			}
			return nil
		case t.kind == tWord || t.kind == tString:
			op, err := p.next()
			if err != nil {
				return err
			}
			switch {
			case op.kind == tPunct && op.text == "{":
				sub := &Section{Name: t.text, Line: t.line}
				if err := p.body(sub, depth+1); err != nil {
					return err
				}
				s.Sections = append(s.Sections, sub)
			case op.kind == tPunct && op.text == "=":
				v, err := p.value(t.line)
				if err != nil {
					return err
				}
				s.Fields = append(s.Fields, Field{Key: t.text, Line: t.line, Value: v})
			default:
				return &ParseError{op.line, fmt.Sprintf("expected '=' or '{' after %q", t.text)}
			}
		default:
			return &ParseError{t.line, fmt.Sprintf("unexpected %q", t.text)}
		}
	}
}

func (p *parser) value(line int) (any, error) {
	t, err := p.next()
	if err != nil {
		return nil, err
	}
	switch {
	case t.kind == tString:
		return t.text, nil
	case t.kind == tWord:
		return scalar(t)
	case t.kind == tPunct && t.text == "[":
		list := []any{}
		for {
			t, err := p.next()
			if err != nil {
				return nil, err
			}
			switch {
			case t.kind == tPunct && t.text == "]":
				return list, nil
			case t.kind == tPunct && t.text == ",":
				continue
			case t.kind == tString:
				list = append(list, t.text)
			case t.kind == tWord:
				v, err := scalar(t)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			case t.kind == tEOF:
				return nil, &ParseError{line, "unterminated list"}
			default:
				return nil, &ParseError{t.line, fmt.Sprintf("unexpected %q in list", t.text)}
			}
			if len(list) > maxListLen {
				return nil, &ParseError{line, "list too long"}
			}
		}
	case t.kind == tEOF:
		return nil, &ParseError{line, "missing value"}
	default:
		return nil, &ParseError{t.line, fmt.Sprintf("unexpected %q, want a value", t.text)}
	}
}

func scalar(t token) (any, error) {
	if n, err := strconv.ParseInt(t.text, 10, 64); err == nil {
		return n, nil
	}
	if n, err := strconv.ParseInt(t.text, 0, 64); err == nil {
		return n, nil
	}
	if f, err := strconv.ParseFloat(t.text, 64); err == nil {
		return f, nil
	}
	return nil, &ParseError{t.line, fmt.Sprintf("bad value %q (strings must be quoted)", t.text)}
}
