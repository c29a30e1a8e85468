package confutil

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseError(t *testing.T) {
	for _, tc := range []struct {
		err  *ParseError
		want string
	}{
		{Errorf("/etc/fstab", 3, "bad %s", "line"), "/etc/fstab:3: bad line"},
		{&ParseError{File: "grub.cfg", Msg: "empty"}, "grub.cfg: empty"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestSplitLines(t *testing.T) {
	got := SplitLines([]byte("a\r\nb\n\nc"))
	want := []Line{{"a", "\r\n"}, {"b", "\n"}, {"", "\n"}, {"c", ""}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SplitLines mismatch (-want +got):\n%s", diff)
	}
	if got := SplitLines(nil); len(got) != 0 {
		t.Errorf("SplitLines(nil) = %v, want none", got)
	}
}

func TestInsertDelete(t *testing.T) {
	for _, tc := range []struct {
		in   string
		op   func([]Line) []Line
		want string
	}{
		{"a\r\nb", func(l []Line) []Line { return InsertLines(l, 2, "c") }, "a\r\nb\r\nc"},
		{"a\nb\n", func(l []Line) []Line { return InsertLines(l, 1, "x", "y") }, "a\nx\ny\nb\n"},
		{"", func(l []Line) []Line { return InsertLines(l, 0, "x") }, "x\n"},
		{"a\nb", func(l []Line) []Line { return DeleteLines(l, 1, 2) }, "a"},
		{"a\nb\n", func(l []Line) []Line { return DeleteLines(l, 0, 1) }, "b\n"},
		{"a", func(l []Line) []Line { return DeleteLines(l, 0, 1) }, ""},
	} {
		if got := string(JoinLines(tc.op(SplitLines([]byte(tc.in))))); got != tc.want {
			t.Errorf("edit of %q = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTokensSet(t *testing.T) {
	for _, tc := range []struct {
		in   string
		i    int
		v    string
		want string
	}{
		{"abc     def  g", 0, "x", "x       def  g"},
		{"abc def", 0, "xxxxxx", "xxxxxx def"},
		{"a\tb", 0, "xyz", "xyz\tb"},
		{"  a b  ", 1, "c", "  a c  "},
	} {
		tok := Tokenize(tc.in, IsSpace)
		tok.Set(tc.i, tc.v)
		if got := tok.String(); got != tc.want {
			t.Errorf("Tokenize(%q).Set(%d, %q) = %q, want %q", tc.in, tc.i, tc.v, got, tc.want)
		}
	}
}

func TestSplitKV(t *testing.T) {
	isSep := func(c byte) bool { return IsSpace(c) || c == '=' }
	for _, tc := range []struct {
		in   string
		want KV
	}{
		{"default=0", KV{Key: "default", Sep: "=", Value: "0"}},
		{"\ttimeout = 5 ", KV{Lead: "\t", Key: "timeout", Sep: " = ", Value: "5", Trail: " "}},
		{"hiddenmenu", KV{Key: "hiddenmenu"}},
		{"timeout= ", KV{Key: "timeout", Sep: "= "}},
		{"kernel /vmlinuz ro root=/dev/hda1", KV{Key: "kernel", Sep: " ", Value: "/vmlinuz ro root=/dev/hda1"}},
	} {
		got := SplitKV(tc.in, isSep)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("SplitKV(%q) mismatch (-want +got):\n%s", tc.in, diff)
		}
	}
}

func FuzzRoundTrip(f *testing.F) {
	f.Add("a\r\n b\tc = d \n\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		if got := string(JoinLines(SplitLines([]byte(s)))); got != s {
			t.Fatalf("JoinLines(SplitLines(%q)) = %q", s, got)
		}
		for _, l := range SplitLines([]byte(s)) {
			if got := Tokenize(l.Text, IsSpace).String(); got != l.Text {
				t.Fatalf("Tokenize(%q).String() = %q", l.Text, got)
			}
			if got := SplitKV(l.Text, func(c byte) bool { return IsSpace(c) || c == '=' }).String(); got != l.Text {
				t.Fatalf("SplitKV(%q).String() = %q", l.Text, got)
			}
		}
	})
}

func TestNote(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"the Xen vif has a new MAC address", "# xenify: the Xen vif has a new MAC address"},
		{"two  blanks\nand a line", "# xenify: two blanks and a line"},
		{"ends in a continuation \\", "# xenify: ends in a continuation"},
		{" ", "# xenify: disabled"},
	} {
		if got := Note(tc.in); got != tc.want {
			t.Errorf("Note(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestInsertLine(t *testing.T) {
	odd := func(s string) bool { return OddBackslashes(s) }
	for _, tc := range []struct {
		in, text string
		i        int
		cont     func(string) bool
		want     string
	}{
		{"a\nb\n", "x", 1, nil, "a\nx\nb\n"},
		{"a\r\nb", "x", 2, nil, "a\r\nb\r\nx"},
		{"a \\", "x", 1, odd, "a \\\n\nx"},
		{"a \\\\", "x", 1, odd, "a \\\\\nx"},
		{"", "x", 0, nil, "x\n"},
	} {
		lines, err := SplitLogical("f", tc.in, PhysicalEnd)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(JoinLines(InsertLine(lines, tc.i, tc.text, EOL(lines), tc.cont))); got != tc.want {
			t.Errorf("InsertLine(%q, %d, %q) = %q, want %q", tc.in, tc.i, tc.text, got, tc.want)
		}
	}
}

func TestCommentOut(t *testing.T) {
	for _, tc := range []struct {
		name       string
		in         []Line // logical lines: a continued one holds "\n"
		hit        int
		keepIndent bool
		want       string
	}{
		{"plain", []Line{{"a", "\n"}, {"b", "\n"}}, 1, false, "a\n# xenify: why\n#b\n"},
		{"crlf", []Line{{"a", "\r\n"}, {"b", "\r\n"}}, 0, false, "# xenify: why\r\n#a\r\nb\r\n"},
		{"continued", []Line{{"x \\\n  y", "\n"}, {"z", "\n"}}, 0, false, "# xenify: why\n#x \\\n#  y\nz\n"},
		{"indented", []Line{{"iface e", "\n"}, {"  a 1 \\\n   2", "\n"}}, 1, true, "iface e\n  # xenify: why\n  #a 1 \\\n  #2\n"},
		// The last line has no newline: the note takes the file's, and a
		// trailing backslash goes so nothing appended later continues it.
		{"last", []Line{{"a", "\n"}, {"b \\", ""}}, 1, false, "a\n# xenify: why\n#b "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, n := CommentOut(tc.in, func(i int) bool { return i == tc.hit }, "why", EOL(tc.in), tc.keepIndent)
			if got := string(JoinLines(out)); got != tc.want || n != 1 {
				t.Errorf("CommentOut(%q) = %q, %d; want %q, 1", tc.in, got, n, tc.want)
			}
		})
	}
}
