package linelist

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xenify/xenify/conf/confutil/conftest"
)

func mustParse(t *testing.T, data string) *File {
	t.Helper()
	return conftest.MustParse(t, Parse, data)
}

func TestRoundTrip(t *testing.T) {
	conftest.RoundTrip(t, Parse,
		"", "\n", "console", "console\n", "console\r\ntty1\r\n", "a\r\nb",
		"  tty1  \n\t# comment\n\n", "tty1\n\n\n", "\r", "x\r", "a\n\rb",
	)
}

func TestParseNUL(t *testing.T) {
	_, err := Parse("/etc/securetty", []byte("tty1\ntty\x002\n"))
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 2 || pe.File != "/etc/securetty" {
		t.Fatalf("Parse(NUL on line 2) error = %v, want *ParseError at /etc/securetty:2", err)
	}
	if got, want := err.Error(), "/etc/securetty:2: NUL byte: not a text file"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestItemsHas(t *testing.T) {
	f := mustParse(t, "# header\n\n loop \ne1000 debug=1\n#tty2\n")
	want := []Item{{Key: "loop", Text: "loop", Line: 3}, {Key: "e1000", Text: "e1000 debug=1", Line: 4}}
	if diff := cmp.Diff(want, f.Items()); diff != "" {
		t.Errorf("Items() mismatch (-want +got):\n%s", diff)
	}
	for item, want := range map[string]bool{"loop": true, "e1000": true, "tty2": false, "#tty2": false, "header": false, "": false} {
		if got := f.Has(item); got != want {
			t.Errorf("Has(%q) = %v, want %v", item, got, want)
		}
	}
}

func TestAdd(t *testing.T) {
	tests := []struct {
		in, item, want string
		added          bool
	}{
		{"tty1\n", "hvc0", "tty1\nhvc0\n", true},
		{"tty1", "hvc0", "tty1\nhvc0", true},
		{"tty1\r\ntty2\r\n", "hvc0", "tty1\r\ntty2\r\nhvc0\r\n", true},
		{"tty1\r\ntty2", "hvc0", "tty1\r\ntty2\r\nhvc0", true},
		{"", "hvc0", "hvc0\n", true},
		{"tty1\nhvc0\n", "hvc0", "tty1\nhvc0\n", false},
		{"#hvc0\n", "hvc0", "#hvc0\nhvc0\n", true},
		{"loop\n", "e1000 debug=1", "loop\ne1000 debug=1\n", true},
		{"e1000\n", "e1000 debug=1", "e1000\n", false},
	}
	for _, tt := range tests {
		f := mustParse(t, tt.in)
		added, err := f.Add(tt.item)
		if err != nil || added != tt.added {
			t.Errorf("Parse(%q).Add(%q) = %v, %v, want %v, nil", tt.in, tt.item, added, err, tt.added)
		}
		if got := string(f.Bytes()); got != tt.want {
			t.Errorf("Parse(%q).Add(%q); Bytes() = %q, want %q", tt.in, tt.item, got, tt.want)
		}
	}
}

func TestAddInvalid(t *testing.T) {
	for _, item := range []string{"", " ", "#x", "a\nb", " tty1", "tty1 ", "a\rb"} {
		f := mustParse(t, "tty1\n")
		if _, err := f.Add(item); !errors.Is(err, ErrInvalidItem) {
			t.Errorf("Add(%q) error = %v, want ErrInvalidItem", item, err)
		}
		if got := string(f.Bytes()); got != "tty1\n" {
			t.Errorf("Add(%q) changed file to %q", item, got)
		}
	}
}

func TestRemove(t *testing.T) {
	tests := []struct {
		in, item, want string
		n              int
	}{
		{"tty1\nhvc0\ntty2\n", "hvc0", "tty1\ntty2\n", 1},
		{"tty1\nhvc0", "hvc0", "tty1", 1},
		{"tty1\r\nhvc0\r\n", "hvc0", "tty1\r\n", 1},
		{"hvc0\n# hvc0\nhvc0 \n", "hvc0", "# hvc0\n", 2},
		{"tty1\n", "hvc0", "tty1\n", 0},
		{"hvc0", "hvc0", "", 1},
		{"e1000 debug=1\nloop\n", "e1000", "loop\n", 1},
	}
	for _, tt := range tests {
		f := mustParse(t, tt.in)
		if n := f.Remove(tt.item); n != tt.n {
			t.Errorf("Parse(%q).Remove(%q) = %d, want %d", tt.in, tt.item, n, tt.n)
		}
		if got := string(f.Bytes()); got != tt.want {
			t.Errorf("Parse(%q).Remove(%q); Bytes() = %q, want %q", tt.in, tt.item, got, tt.want)
		}
	}
}

// TestGolden applies the edits xenify makes to files as shipped by real
// releases and compares the result with testdata/*.golden.
func TestGolden(t *testing.T) {
	tests := []struct {
		file string
		edit func(*File) error
	}{
		{"centos5-securetty", func(f *File) error {
			for _, it := range []string{"xvc0", "hvc0", "tty1"} {
				if _, err := f.Add(it); err != nil {
					return err
				}
			}
			return nil
		}},
		{"debian6-modules", func(f *File) error {
			f.Remove("loop")
			_, err := f.Add("xen-blkfront")
			return err
		}},
		{"ubuntu1204-initramfs-modules", func(f *File) error {
			for _, it := range []string{"xen-blkfront", "xen-netfront"} {
				if _, err := f.Add(it); err != nil {
					return err
				}
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f := conftest.Load(t, tt.file, Parse)
			if err := tt.edit(f); err != nil {
				t.Fatalf("editing %s: %v", tt.file, err)
			}
			got := f.Bytes()
			conftest.Golden(t, tt.file, got)
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "tty1\n", "a\r\nb", "# c\n\n e1000 x=1 \n", "\x00"} {
		f.Add(s, "hvc0")
	}
	if entries, err := os.ReadDir("testdata"); err == nil {
		for _, e := range entries {
			if data, err := os.ReadFile(filepath.Join("testdata", e.Name())); err == nil {
				f.Add(string(data), "xvc0")
			}
		}
	}
	f.Fuzz(func(t *testing.T, data, item string) {
		lf, err := Parse("fuzz", []byte(data))
		if err != nil {
			return
		}
		if got := string(lf.Bytes()); got != data {
			t.Fatalf("Parse(%q).Bytes() = %q, want input", data, got)
		}
		lf.Items()
		added, err := lf.Add(item)
		if err != nil {
			return
		}
		k := key(item)
		if !lf.Has(k) {
			t.Fatalf("after Add(%q) = %v, Has(%q) = false", item, added, k)
		}
		again, err := Parse("fuzz", lf.Bytes())
		if err != nil {
			t.Fatalf("reparsing after Add(%q): %v", item, err)
		}
		if !again.Has(k) {
			t.Fatalf("reparsed file lost item %q: %q", k, lf.Bytes())
		}
		if n := again.Remove(k); n == 0 || again.Has(k) {
			t.Fatalf("Remove(%q) = %d, Has after = %v", k, n, again.Has(k))
		}
	})
}
