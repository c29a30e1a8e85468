// Package udevnet reads and edits udev persistent network rules,
// /etc/udev/rules.d/70-persistent-net.rules, as written by write_net_rules
// on RHEL/CentOS 6, Debian 6 to 8 and Ubuntu 10.04 to 14.04:
//
//	# PCI device 0x8086:0x100f (e1000)
//	SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="00:0c:29:3a:7b:1c", ATTR{dev_id}=="0x0", ATTR{type}=="1", KERNEL=="eth*", NAME="eth0"
//
// The parser follows udev's rules syntax: comments start with '#', a line
// ending in a backslash continues on the next line, and a rule is a list of
// KEY OP "VALUE" pairs separated by commas or blanks, with OP one of ==,
// !=, =, +=, -=, :=. udev skips a rule it cannot parse and so does this
// package: the line is kept and reported by [File.Warnings]. [Parse] only
// fails for a NUL byte.
//
// [File.Rules] lists the rules with their MAC address, interface name and
// the driver named in the comment above them. [File.Bytes] returns the
// input unchanged when nothing was edited; [File.CommentOut] comments out
// rules, each preceded by a "# xenify: NOTE" line, and touches nothing else.
package udevnet

import (
	"fmt"
	"github.com/xenify/xenify/conf/confutil"
	"strings"
)

// ParseError reports a problem in a file at a 1-based line number.
type ParseError = confutil.ParseError

// File is a parsed udev rules file.
type File struct {
	name   string
	blocks []confutil.Line
	nl     string
}

// block is one logical line.

// Pair is one KEY OP "VALUE" of a rule.
type Pair struct {
	Key   string // "SUBSYSTEM", "ATTR{address}", ...
	Op    string // "==", "!=", "=", "+=", "-=", ":="
	Value string
}

// Rule is one udev rule.
type Rule struct {
	Pairs   []Pair
	MAC     string // value of ATTR{address}== (or SYSFS{address}==), as written
	Name    string // value of NAME= or NAME:=
	Driver  string // driver from the comment, or from DRIVERS== unless a pattern
	Comment string // the comment line right above the rule, without '#'
	Line    int
}

// Parse parses data read from the file name (used in errors only).
func Parse(name string, data []byte) (*File, error) {
	s := string(data)
	f := &File{name: name, nl: "\n"}
	if i := strings.IndexByte(s, '\n'); i > 0 && s[i-1] == '\r' {
		f.nl = "\r\n"
	}
	var err error
	if f.blocks, err = confutil.SplitLogical(name, s, confutil.ContinuedEnd(isComment)); err != nil {
		return nil, err
	}
	return f, nil
}

func isComment(s string) bool { return strings.HasPrefix(strings.TrimLeft(s, " \t"), "#") }

func isBlankLine(s string) bool { return strings.TrimSpace(s) == "" }

// Bytes renders the file.
func (f *File) Bytes() []byte { return confutil.JoinLines(f.blocks) }

// joined removes line continuations (backslash, line ending) from raw.
func joined(raw string) string {
	raw = strings.ReplaceAll(raw, "\\\n", "")
	return strings.TrimSuffix(raw, "\\")
}

// parsePairs splits a rule the way udev's get_key does.
func parsePairs(s string) ([]Pair, string) {
	var pairs []Pair
	i := 0
	for {
		for i < len(s) && (isSpace(s[i]) || s[i] == ',') {
			i++
		}
		if i >= len(s) {
			break
		}
		k := i
		for {
			i++
			if i >= len(s) {
				return nil, fmt.Sprintf("invalid rule: key %q without operator", s[k:])
			}
			if isSpace(s[i]) || s[i] == '=' || strings.IndexByte("+-!:", s[i]) >= 0 && i+1 < len(s) && s[i+1] == '=' {
				break
			}
		}
		key := s[k:i]
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		var op string
		switch {
		case strings.HasPrefix(s[i:], "=="), strings.HasPrefix(s[i:], "!="), strings.HasPrefix(s[i:], "+="),
			strings.HasPrefix(s[i:], "-="), strings.HasPrefix(s[i:], ":="):
			op = s[i : i+2]
		case strings.HasPrefix(s[i:], "="):
			op = "="
		default:
			return nil, fmt.Sprintf("invalid rule: no operator after key %q", key)
		}
		i += len(op)
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) || s[i] != '"' {
			return nil, fmt.Sprintf("invalid rule: value of %q is not quoted", key)
		}
		j := strings.IndexByte(s[i+1:], '"')
		if j < 0 {
			return nil, fmt.Sprintf("invalid rule: unterminated value of %q", key)
		}
		pairs = append(pairs, Pair{Key: key, Op: op, Value: s[i+1 : i+1+j]})
		i += j + 2
	}
	return pairs, ""
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

// driverFromComment extracts "e1000" from "PCI device 0x8086:0x100f
// (e1000)" or "... (bnx2) (custom name provided by external tool)".
func driverFromComment(c string) string {
	i := strings.IndexByte(c, '(')
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(c[i:], ')')
	if j < 0 {
		return ""
	}
	d := strings.TrimSpace(c[i+1 : i+j])
	if strings.ContainsAny(d, " \t") {
		return ""
	}
	return d
}

// each calls fn for every rule line, parsed or not.
func (f *File) each(fn func(i int, r Rule, msg string)) {
	line := 1
	comment := ""
	for i, b := range f.blocks {
		l := line
		line += strings.Count(b.Text, "\n") + 1
		switch {
		case isBlankLine(b.Text):
			comment = ""
			continue
		case isComment(b.Text):
			comment = strings.TrimSpace(strings.TrimPrefix(strings.TrimLeft(b.Text, " \t"), "#"))
			continue
		}
		pairs, msg := parsePairs(joined(b.Text))
		r := Rule{Pairs: pairs, Comment: comment, Line: l, Driver: driverFromComment(comment)}
		comment = ""
		for _, p := range pairs {
			switch {
			case (p.Key == "ATTR{address}" || p.Key == "SYSFS{address}") && p.Op == "==":
				r.MAC = p.Value
			case p.Key == "NAME" && (p.Op == "=" || p.Op == ":="):
				r.Name = p.Value
			case p.Key == "DRIVERS" && p.Op == "==" && r.Driver == "" && !strings.ContainsAny(p.Value, "*?["):
				r.Driver = p.Value
			}
		}
		fn(i, r, msg)
	}
}

// Rules lists the rules udev accepts, in file order.
func (f *File) Rules() []Rule {
	var out []Rule
	f.each(func(_ int, r Rule, msg string) {
		if msg == "" {
			out = append(out, r)
		}
	})
	return out
}

// Warnings lists the rule lines udev skips because it cannot parse them.
func (f *File) Warnings() []*ParseError {
	var out []*ParseError
	f.each(func(_ int, r Rule, msg string) {
		if msg != "" {
			out = append(out, &ParseError{File: f.name, Line: r.Line, Msg: msg})
		}
	})
	return out
}

// CommentOut comments out every valid rule for which match returns true:
// each of its physical lines gets a leading '#', and a "# xenify: NOTE"
// line is put right above it (below the rule's own comment). It returns
// the number of rules commented out.
func (f *File) CommentOut(match func(Rule) bool, note string) int {
	hit := map[int]bool{}
	f.each(func(i int, r Rule, msg string) {
		if msg == "" && match(r) {
			hit[i] = true
		}
	})
	var n int
	f.blocks, n = confutil.CommentOut(f.blocks, func(i int) bool { return hit[i] }, note, f.nl, false)
	return n
}
