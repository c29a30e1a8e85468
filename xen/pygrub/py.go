package pygrub

// Helpers that reproduce the Python 3 str operations pygrub's parsers use,
// so that the emulation splits, strips and converts exactly like CPython
// 3.11 (Debian 12) does on the same text.

import (
	"errors"
	"math/big"
	"strings"
	"unicode"
	"unicode/utf8"
)

// pySpace reports whether Python's str.isspace() is true for r. It differs
// from unicode.IsSpace by also treating the ASCII separators 0x1c-0x1f as
// white space.
func pySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// pyStrip is str.strip().
func pyStrip(s string) string { return strings.TrimFunc(s, pySpace) }

// pySplitWS is str.split(None, maxsplit) (maxsplit < 0: no limit).
func pySplitWS(s string, maxsplit int) []string {
	var out []string
	i := 0
	for {
		// skip white space
		for i < len(s) {
			r, n := utf8.DecodeRuneInString(s[i:])
			if !pySpace(r) {
				break
			}
			i += n
		}
		if i >= len(s) {
			return out
		}
		if maxsplit >= 0 && len(out) == maxsplit {
			return append(out, s[i:])
		}
		j := i
		for j < len(s) {
			r, n := utf8.DecodeRuneInString(s[j:])
			if pySpace(r) {
				break
			}
			j += n
		}
		out = append(out, s[i:j])
		i = j
	}
}

// pySplit is str.split(sep, maxsplit) for a non-empty sep.
func pySplit(s, sep string, maxsplit int) []string {
	if maxsplit < 0 {
		return strings.Split(s, sep)
	}
	return strings.SplitN(s, sep, maxsplit+1)
}

// pySlice is s[from:] counted in code points, like Python slicing.
func pySliceFrom(s string, from int) string {
	for i := range s {
		if from == 0 {
			return s[i:]
		}
		from--
	}
	return ""
}

// pySliceTo is s[:to] counted in code points.
func pySliceTo(s string, to int) string {
	for i := range s {
		if to == 0 {
			return s[:i]
		}
		to--
	}
	return s
}

// pyLower is str.lower() for the purpose of comparing with ASCII keywords.
// It applies the one unconditional special casing rule (U+0130 becomes
// "i\u0307") so that "İ" does not lowercase to a plain "i".
func pyLower(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == 0x130 {
			b.WriteString("i\u0307")
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// errPyValue stands for a Python ValueError.
var errPyValue = errors.New("ValueError")

// maxStrDigits is CPython's default int_max_str_digits (3.11+).
const maxStrDigits = 4300

// pyInt is int(s) for a str: surrounding white space, an optional sign,
// Unicode decimal digits and single underscores between digits.
func pyInt(s string) (*big.Int, error) {
	// int() keeps ASCII characters as they are and strips only C white
	// space among them; other Unicode white space counts too.
	s = strings.TrimFunc(s, func(r rune) bool {
		if r < 0x80 {
			return r == ' ' || (r >= '\t' && r <= '\r')
		}
		return pySpace(r)
	})
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return nil, errPyValue
	}
	var digits strings.Builder
	prevUnderscore := true // a leading underscore is invalid
	for _, r := range s {
		if r == '_' {
			if prevUnderscore {
				return nil, errPyValue
			}
			prevUnderscore = true
			continue
		}
		d, ok := digitValue(r)
		if !ok {
			return nil, errPyValue
		}
		digits.WriteByte(byte('0' + d))
		prevUnderscore = false
	}
	if prevUnderscore { // trailing underscore
		return nil, errPyValue
	}
	if digits.Len() > maxStrDigits {
		return nil, errPyValue
	}
	v, ok := new(big.Int).SetString(digits.String(), 10)
	if !ok {
		return nil, errPyValue
	}
	if neg {
		v.Neg(v)
	}
	return v, nil
}

// digitValue returns the value of a Unicode decimal digit (category Nd).
// Nd characters come in contiguous runs of ten starting at zero.
func digitValue(r rune) (int, bool) {
	if r >= '0' && r <= '9' {
		return int(r - '0'), true
	}
	if r < 0x80 || !unicode.Is(unicode.Nd, r) {
		return 0, false
	}
	for _, rg := range unicode.Nd.R16 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return int(r-rune(rg.Lo)) % 10, true
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if r >= rune(rg.Lo) && r <= rune(rg.Hi) {
			return int(r-rune(rg.Lo)) % 10, true
		}
	}
	return 0, false
}
