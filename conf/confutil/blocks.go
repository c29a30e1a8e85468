package confutil

import "strings"

// SplitLogical splits s into logical lines, for formats where a line
// continues on the next (a backslash before the line ending): each Line's
// Text keeps the interior line endings. end(s, pos) returns the index of
// the newline that ends the logical line starting at pos, or len(s); an
// error it returns is reported as a ParseError at that line. Input with
// a NUL byte is refused with a ParseError naming its line. JoinLines
// gives s back.
func SplitLogical(name, s string, end func(s string, pos int) (int, error)) ([]Line, error) {
	var out []Line
	line := 1
	for pos := 0; pos < len(s); {
		e, err := end(s, pos)
		if err != nil {
			return nil, &ParseError{File: name, Line: line, Msg: err.Error()}
		}
		b := Line{Text: s[pos:e]}
		if e < len(s) {
			b.EOL = "\n"
			if strings.HasSuffix(b.Text, "\r") {
				b.Text, b.EOL = b.Text[:len(b.Text)-1], "\r\n"
			}
			e++
		}
		if i := strings.IndexByte(b.Text, 0); i >= 0 {
			return nil, &ParseError{File: name, Line: line + strings.Count(b.Text[:i], "\n"), Msg: "NUL byte: not a text file"}
		}
		out = append(out, b)
		line += strings.Count(b.Text, "\n") + 1
		pos = e
	}
	return out, nil
}

// PhysicalEnd is an end function for SplitLogical that never continues a
// line: the lines it splits are physical lines, as SplitLines splits
// them, but checked for NUL bytes.
func PhysicalEnd(s string, pos int) (int, error) {
	if i := strings.IndexByte(s[pos:], '\n'); i >= 0 {
		return pos + i, nil
	}
	return len(s), nil
}

// ContinuedEnd is an end function for SplitLogical: a physical line
// ending in a backslash continues on the next, except a line that
// isComment says is a comment when it starts the logical line.
func ContinuedEnd(isComment func(string) bool) func(s string, pos int) (int, error) {
	return func(s string, pos int) (int, error) {
		end := pos
		for {
			i := strings.IndexByte(s[end:], '\n')
			if i < 0 {
				return len(s), nil
			}
			end += i
			phys := s[pos:end]
			if j := strings.LastIndexByte(phys, '\n'); j >= 0 {
				phys = phys[j+1:]
			}
			if (end-len(phys) == pos && isComment(phys)) || !strings.HasSuffix(phys, "\\") {
				return end, nil
			}
			end++ // continuation: include the newline and go on
		}
	}
}

// Note is the comment line xenify puts above a line it comments out:
// "# xenify: NOTE", on one line, with the note's blanks collapsed, and
// without a trailing backslash that would continue the comment onto the
// next line in formats with continuations.
func Note(note string) string {
	note = strings.Join(strings.Fields(note), " ")
	note = strings.TrimRight(note, "\\ ")
	if note == "" {
		note = "disabled"
	}
	return "# xenify: " + note
}

// InsertLine inserts text as a new line, terminated by nl, before index
// i (0 <= i <= len(lines)) and returns the new slice. Appended after a
// last line without terminator, that line gets nl and the new one goes
// without, so the file keeps "no newline at end of file". If continues
// (nil: never) says the last line's text would then continue onto the
// new one (a trailing backslash), an empty line goes between them.
func InsertLine(lines []Line, i int, text, nl string, continues func(string) bool) []Line {
	eol := nl
	if n := len(lines); i == n && n > 0 && lines[n-1].EOL == "" {
		lines[n-1].EOL, eol = nl, ""
		if continues != nil && continues(lines[n-1].Text) {
			lines = append(lines, Line{EOL: nl})
			i++
		}
	}
	lines = append(lines, Line{})
	copy(lines[i+1:], lines[i:])
	lines[i] = Line{Text: text, EOL: eol}
	return lines
}

// OddBackslashes reports whether s ends in an odd number of backslashes:
// an escaped line ending, were one to follow.
func OddBackslashes(s string) bool {
	n := len(s) - len(strings.TrimRight(s, "\\"))
	return n%2 == 1
}

// CommentOut returns lines with every line i for which hit(i) holds
// turned into a comment, and how many were. Each physical line of a hit
// line gets a '#' (after the line's indent where keepIndent is set,
// which the note then shares), and a [Note] line goes right above it,
// ended as the line is (nl where the line has no ending, the last line
// of a file without a final newline). Such a last line also loses a
// trailing backslash, so no later line can continue it.
func CommentOut(lines []Line, hit func(int) bool, note, nl string, keepIndent bool) ([]Line, int) {
	n := 0
	out := make([]Line, 0, len(lines)+1)
	for i, l := range lines {
		if !hit(i) {
			out = append(out, l)
			continue
		}
		n++
		indent := ""
		if keepIndent {
			indent = l.Text[:len(l.Text)-len(strings.TrimLeft(l.Text, " \t"))]
		}
		eol := l.EOL
		if eol == "" {
			eol = nl
		}
		out = append(out, Line{Text: indent + Note(note), EOL: eol})
		phys := strings.Split(l.Text, "\n")
		for j, p := range phys {
			if keepIndent {
				p = strings.TrimLeft(p, " \t")
			}
			phys[j] = indent + "#" + p
		}
		if last := &phys[len(phys)-1]; l.EOL == "" {
			*last = strings.TrimSuffix(*last, "\\")
		}
		l.Text = strings.Join(phys, "\n")
		out = append(out, l)
	}
	return out, n
}
