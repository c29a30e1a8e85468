package grub2

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLexLine(t *testing.T) {
	vals := func(s string) [][]string {
		var out [][]string
		for _, c := range lexLine(s) {
			var ws []string
			for _, w := range c {
				ws = append(ws, w.val)
				if w.start < 0 || w.end > len(s) || w.start > w.end {
					t.Fatalf("lexLine(%q): word %q span [%d,%d) out of range", s, w.val, w.start, w.end)
				}
			}
			out = append(out, ws)
		}
		return out
	}
	for _, tc := range []struct {
		in   string
		want [][]string
	}{
		{"menuentry 'Debian GNU/Linux' --class debian {", [][]string{{"menuentry", "Debian GNU/Linux", "--class", "debian", "{"}}},
		{`set default="${next_entry}"`, [][]string{{"set", "default=${next_entry}"}}},
		{`echo "a \"b\" \$c \x"`, [][]string{{"echo", `a "b" $c \x`}}},
		{`menuentry 'it'\''s' {`, [][]string{{"menuentry", "it's", "{"}}},
		{"if [ x ]; then insmod xzio; fi", [][]string{{"if", "[", "x", "]"}, {"then", "insmod", "xzio"}, {"fi"}}},
		{"  linux /vmlinuz ro # comment", [][]string{{"linux", "/vmlinuz", "ro"}}},
		{"echo a#b", [][]string{{"echo", "a#b"}}},
		{"'unterminated", [][]string{{"unterminated"}}},
		{`trailing\`, [][]string{{"trailing"}}},
	} {
		if diff := cmp.Diff(tc.want, vals(tc.in)); diff != "" {
			t.Errorf("lexLine(%q) mismatch (-want +got):\n%s", tc.in, diff)
		}
	}
}
