package confutil

import "strings"

// Block is one logical line: physical lines joined by continuations
// (interior line endings kept in Raw), and the line ending that closes it
// ("\n", "\r\n", or "" at the end of a file without a final newline).
type Block struct {
	Raw string
	EOL string
}

// SplitBlocks splits s into logical lines. end(s, pos) returns the index
// of the newline that ends the logical line starting at pos, or len(s).
// Input with a NUL byte is refused with a ParseError naming its line.
// Joining every Raw+EOL gives s back.
func SplitBlocks(name, s string, end func(s string, pos int) int) ([]Block, error) {
	var out []Block
	line := 1
	for pos := 0; pos < len(s); {
		e := end(s, pos)
		b := Block{Raw: s[pos:e]}
		if e < len(s) {
			b.EOL = "\n"
			if strings.HasSuffix(b.Raw, "\r") {
				b.Raw, b.EOL = b.Raw[:len(b.Raw)-1], "\r\n"
			}
			e++
		}
		if i := strings.IndexByte(b.Raw, 0); i >= 0 {
			return nil, &ParseError{File: name, Line: line + strings.Count(b.Raw[:i], "\n"), Msg: "NUL byte: not a text file"}
		}
		out = append(out, b)
		line += strings.Count(b.Raw, "\n") + 1
		pos = e
	}
	return out, nil
}

// ContinuedEnd is an end function for SplitBlocks: a physical line ending
// in a backslash continues on the next, except a line that isComment
// says is a comment when it starts the logical line.
func ContinuedEnd(isComment func(string) bool) func(s string, pos int) int {
	return func(s string, pos int) int {
		end := pos
		for {
			i := strings.IndexByte(s[end:], '\n')
			if i < 0 {
				return len(s)
			}
			end += i
			phys := s[pos:end]
			if j := strings.LastIndexByte(phys, '\n'); j >= 0 {
				phys = phys[j+1:]
			}
			if (end-len(phys) == pos && isComment(phys)) || !strings.HasSuffix(phys, "\\") {
				return end
			}
			end++ // continuation: include the newline and go on
		}
	}
}
