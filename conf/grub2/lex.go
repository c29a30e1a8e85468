package grub2

import "strings"

// word is one GRUB script word of a line.
type word struct {
	val        string // value with quotes and escapes removed
	start, end int    // byte span of the raw word in the line
	quoted     bool   // some part was quoted or escaped
}

// lexLine splits one line into commands (separated by ';') made of words,
// following GRUB script quoting: '...' is literal, "..." allows \ escapes
// of \ " $ and newline, a backslash outside quotes escapes the next
// character, and an unquoted '#' at the start of a word starts a comment.
// An unterminated quote runs to the end of the line (GRUB would continue on
// the next line; grub-mkconfig does not write such lines).
func lexLine(s string) [][]word {
	var cmds [][]word
	var cur []word
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			i++
			continue
		case c == ';':
			cmds = append(cmds, cur)
			cur = nil
			i++
			continue
		case c == '#':
			i = len(s)
			continue
		}
		w := word{start: i}
		// Fast path: a plain word without quotes or escapes.
		j := i
		for j < len(s) && !strings.ContainsRune(" \t\r;\\'\"", rune(s[j])) {
			j++
		}
		if j == len(s) || strings.IndexByte(" \t\r;", s[j]) >= 0 {
			w.end, w.val = j, s[i:j]
			cur = append(cur, w)
			i = j
			continue
		}
		val := []byte(s[i:j])
		i = j
	loop:
		for i < len(s) {
			c := s[i]
			switch c {
			case ' ', '\t', '\r', ';':
				break loop
			case '\\':
				w.quoted = true
				if i+1 < len(s) {
					val = append(val, s[i+1])
					i += 2
				} else {
					i++
				}
			case '\'':
				w.quoted = true
				i++
				for i < len(s) && s[i] != '\'' {
					val = append(val, s[i])
					i++
				}
				i++ // closing quote (or past the end)
			case '"':
				w.quoted = true
				i++
				for i < len(s) && s[i] != '"' {
					if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\' || s[i+1] == '$') {
						i++
					}
					val = append(val, s[i])
					i++
				}
				i++
			default:
				val = append(val, c)
				i++
			}
		}
		if i > len(s) {
			i = len(s)
		}
		w.end = i
		w.val = string(val)
		cur = append(cur, w)
	}
	cmds = append(cmds, cur)
	return cmds
}

// singleQuote quotes s for GRUB script with single quotes, writing an
// embedded ' as '\” like grub-mkconfig does.
func singleQuote(s string) string {
	out := []byte{'\''}
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, `'\''`...)
			continue
		}
		out = append(out, s[i])
	}
	return string(append(out, '\''))
}

// doubleQuote quotes s with double quotes, escaping \ " and $.
func doubleQuote(s string) string {
	out := []byte{'"'}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\', '"', '$':
			out = append(out, '\\')
		}
		out = append(out, s[i])
	}
	return string(append(out, '"'))
}
