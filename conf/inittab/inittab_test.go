package inittab

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/xenify/xenify/conf/confutil/conftest"
)

func mustParse(t *testing.T, data string) *File {
	t.Helper()
	return conftest.MustParse(t, Parse, data)
}

func readTestdata(t *testing.T, name string) *File {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(name, data)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestRoundTrip(t *testing.T) {
	conftest.RoundTrip(t, Parse,
		"", "\n", "id:5:initdefault:", "id:5:initdefault:\r\n", "  x:5:respawn:/a\tb  \n#c\n\n", "bad line\n", "\r",
	)
}

func TestEntries(t *testing.T) {
	in := "# c\nid:5:initdefault:\n  si::sysinit:/etc/rc.d/rc.sysinit\npf::powerfail:/sbin/shutdown -f -h +2 \"Power: Failure\"\nbroken\nxx:1:nosuch:/x\nid:3:initdefault:\n"
	f := mustParse(t, in)
	want := []Entry{
		{ID: "id", Runlevels: "5", Action: "initdefault", Line: 2},
		{ID: "si", Action: "sysinit", Process: "/etc/rc.d/rc.sysinit", Line: 3},
		{ID: "pf", Action: "powerfail", Process: `/sbin/shutdown -f -h +2 "Power: Failure"`, Line: 4},
	}
	if diff := cmp.Diff(want, f.Entries()); diff != "" {
		t.Errorf("Entries() mismatch (-want +got):\n%s", diff)
	}
	var warn []string
	for _, w := range f.Warnings() {
		warn = append(warn, w.Error())
	}
	wantWarn := []string{
		"test:5: missing runlevel field",
		`test:6: no such action "nosuch"`,
		`test:7: duplicate ID field "id"`,
	}
	if diff := cmp.Diff(wantWarn, warn); diff != "" {
		t.Errorf("Warnings() mismatch (-want +got):\n%s", diff)
	}
	if lvl, ok := f.InitDefault(); lvl != "5" || !ok {
		t.Errorf("InitDefault() = %q, %v, want 5, true", lvl, ok)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct {
		in  string
		msg string
	}{
		{"a:b\n", "missing action field"},
		{"a:b:respawn\n", "missing process field"},
		{":1:respawn:/x\n", "missing id field"},
		{"abcde:1:respawn:/x\n", "id field too long (max 4 characters)"},
		{"a:123456789012:respawn:/x\n", "rlevel field too long (max 11 characters)"},
	} {
		w := mustParse(t, tt.in).Warnings()
		if len(w) != 1 || w[0].Msg != tt.msg || w[0].Line != 1 {
			t.Errorf("Parse(%q).Warnings() = %v, want [%s at line 1]", tt.in, w, tt.msg)
		}
	}
	_, err := Parse("/etc/inittab", []byte("id:3:initdefault:\n\x00\n"))
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 2 || pe.Error() != "/etc/inittab:2: NUL byte: not a text file" {
		t.Errorf("Parse(NUL) error = %v, want /etc/inittab:2 ParseError", err)
	}
}

func TestParseGetty(t *testing.T) {
	tests := []struct {
		process string
		want    Getty
		ok      bool
	}{
		{"/sbin/mingetty tty1", Getty{Program: "mingetty", TTY: "tty1"}, true},
		{"/sbin/mingetty --noclear tty1", Getty{Program: "mingetty", TTY: "tty1"}, true},
		{"/sbin/mingetty --autologin root --nice 5 /dev/tty2", Getty{Program: "mingetty", TTY: "tty2"}, true},
		{"/sbin/mingetty --autologin=root tty3", Getty{Program: "mingetty", TTY: "tty3"}, true},
		{"/sbin/agetty xvc0 9600 vt100-nav", Getty{Program: "agetty", TTY: "xvc0", Baud: "9600", Term: "vt100-nav"}, true},
		{"/sbin/agetty -L 38400 ttyS0 vt100", Getty{Program: "agetty", TTY: "ttyS0", Baud: "38400", Term: "vt100"}, true},
		{"/sbin/agetty -h -t 60 ttyS1 115200,38400,9600 vt102", Getty{Program: "agetty", TTY: "ttyS1", Baud: "115200,38400,9600", Term: "vt102"}, true},
		{"/sbin/agetty -I '' -f /etc/issue.serial hvc0 9600", Getty{Program: "agetty", TTY: "hvc0", Baud: "9600"}, true},
		{"/sbin/agetty --noclear tty1 linux", Getty{Program: "agetty", TTY: "tty1", Baud: "linux"}, true},
		{"/sbin/getty 38400 tty1", Getty{Program: "getty", TTY: "tty1", Baud: "38400"}, true},
		{"/sbin/getty -L ttyS0 9600 vt100", Getty{Program: "getty", TTY: "ttyS0", Baud: "9600", Term: "vt100"}, true},
		{"/sbin/getty -8 38400 hvc0", Getty{Program: "getty", TTY: "hvc0", Baud: "38400"}, true},
		{"/sbin/getty -nl /sbin/sulogin 38400 tty1", Getty{Program: "getty", TTY: "tty1", Baud: "38400"}, true},
		{"/sbin/mgetty -x0 -s 57600 ttyS3", Getty{Program: "mgetty", TTY: "ttyS3", Baud: "57600"}, true},
		{"/sbin/mgetty -s57600 -r ttyS3", Getty{Program: "mgetty", TTY: "ttyS3", Baud: "57600"}, true},
		{"+/sbin/mingetty tty4", Getty{Program: "mingetty", TTY: "tty4"}, true},
		{"exec /sbin/agetty -- tty5 38400", Getty{Program: "agetty", TTY: "tty5", Baud: "38400"}, true},
		{"/sbin/mingetty", Getty{Program: "mingetty"}, false},
		{"/sbin/mingetty --nice", Getty{Program: "mingetty"}, false},
		{"/etc/X11/prefdm -nodaemon", Getty{Program: "prefdm"}, false},
		{"", Getty{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseGetty(tt.process)
		if ok != tt.ok || !cmp.Equal(got, tt.want) {
			t.Errorf("ParseGetty(%q) = %+v, %v, want %+v, %v", tt.process, got, ok, tt.want, tt.ok)
		}
	}
}

func TestGettys(t *testing.T) {
	f := readTestdata(t, "debian6-inittab")
	var ttys []string
	for _, g := range f.Gettys() {
		ttys = append(ttys, g.ID+"="+g.TTY)
	}
	want := []string{"1=tty1", "2=tty2", "3=tty3", "4=tty4", "5=tty5", "6=tty6"}
	if diff := cmp.Diff(want, ttys); diff != "" {
		t.Errorf("Gettys() mismatch (-want +got):\n%s", diff)
	}
	g := readTestdata(t, "centos4-inittab").Gettys()
	last := g[len(g)-1]
	wantLast := Getty{Entry: Entry{ID: "S0", Runlevels: "2345", Action: "respawn", Process: "/sbin/agetty -L 38400 ttyS0 vt100", Line: 54},
		Program: "agetty", TTY: "ttyS0", Baud: "38400", Term: "vt100"}
	if diff := cmp.Diff(wantLast, last); diff != "" {
		t.Errorf("last getty mismatch (-want +got):\n%s", diff)
	}
}

func TestAppend(t *testing.T) {
	co := Entry{ID: "co", Runlevels: "2345", Action: "respawn", Process: "/sbin/agetty xvc0 9600 vt100-nav"}
	for _, tt := range []struct{ in, want string }{
		{"id:3:initdefault:\n", "id:3:initdefault:\nco:2345:respawn:/sbin/agetty xvc0 9600 vt100-nav\n"},
		{"id:3:initdefault:", "id:3:initdefault:\nco:2345:respawn:/sbin/agetty xvc0 9600 vt100-nav"},
		{"id:3:initdefault:\r\n", "id:3:initdefault:\r\nco:2345:respawn:/sbin/agetty xvc0 9600 vt100-nav\r\n"},
		{"#co:2345:respawn:/x\n", "#co:2345:respawn:/x\nco:2345:respawn:/sbin/agetty xvc0 9600 vt100-nav\n"},
		{"", "co:2345:respawn:/sbin/agetty xvc0 9600 vt100-nav\n"},
	} {
		f := mustParse(t, tt.in)
		if err := f.Append(co); err != nil {
			t.Errorf("Parse(%q).Append(co) error: %v", tt.in, err)
		}
		if got := string(f.Bytes()); got != tt.want {
			t.Errorf("Parse(%q).Append(co); Bytes() = %q, want %q", tt.in, got, tt.want)
		}
	}
	f := mustParse(t, "co:2345:respawn:/sbin/mingetty tty1\n")
	if err := f.Append(co); !errors.Is(err, ErrDuplicateID) {
		t.Errorf("Append(duplicate id) error = %v, want ErrDuplicateID", err)
	}
	for _, e := range []Entry{
		{ID: "", Action: "respawn"},
		{ID: "toolong", Action: "respawn"},
		{ID: "a:b", Action: "respawn"},
		{ID: "#c", Action: "respawn"},
		{ID: " c", Action: "respawn"},
		{ID: "c", Action: "nosuch"},
		{ID: "c", Action: "respawn", Process: "a\nb"},
		{ID: "c", Runlevels: "2:3", Action: "respawn"},
	} {
		if err := f.Append(e); !errors.Is(err, ErrInvalid) {
			t.Errorf("Append(%+v) error = %v, want ErrInvalid", e, err)
		}
	}
	if got := string(f.Bytes()); got != "co:2345:respawn:/sbin/mingetty tty1\n" {
		t.Errorf("failed Appends changed the file to %q", got)
	}
}

func TestCommentOut(t *testing.T) {
	f := mustParse(t, "1:2345:respawn:/sbin/mingetty tty1\n  2:2345:respawn:/sbin/mingetty tty2\r\n")
	if err := f.CommentOut("2", "no tty2 on Xen"); err != nil {
		t.Fatalf("CommentOut(2) error: %v", err)
	}
	want := "1:2345:respawn:/sbin/mingetty tty1\n# xenify: no tty2 on Xen\r\n#  2:2345:respawn:/sbin/mingetty tty2\r\n"
	if got := string(f.Bytes()); got != want {
		t.Errorf("after CommentOut(2): %q, want %q", got, want)
	}
	if _, ok := mustParse(t, want).Entry("2"); ok {
		t.Errorf("Entry(2) still present after CommentOut")
	}
	if err := f.CommentOut("2", ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("CommentOut(2) again error = %v, want ErrNotFound", err)
	}
}

func TestSetInitDefault(t *testing.T) {
	for _, tt := range []struct{ in, lvl, want string }{
		{"id:5:initdefault:\n", "3", "id:3:initdefault:\n"},
		{" id:5:initdefault:\r\n", "3", " id:3:initdefault:\r\n"},
		{"# c\nsi::sysinit:/x\n", "3", "# c\nid:3:initdefault:\nsi::sysinit:/x\n"},
		{"id::sysinit:/x", "2", "d0:2:initdefault:\nid::sysinit:/x"},
		{"", "S", "id:S:initdefault:\n"},
		{"id::sysinit:/x\nd0::wait:/y\n", "2", "d1:2:initdefault:\nid::sysinit:/x\nd0::wait:/y\n"},
	} {
		f := mustParse(t, tt.in)
		if err := f.SetInitDefault(tt.lvl); err != nil {
			t.Errorf("Parse(%q).SetInitDefault(%q) error: %v", tt.in, tt.lvl, err)
		}
		if got := string(f.Bytes()); got != tt.want {
			t.Errorf("Parse(%q).SetInitDefault(%q); Bytes() = %q, want %q", tt.in, tt.lvl, got, tt.want)
		}
		if got, _ := mustParse(t, tt.want).InitDefault(); got != tt.lvl {
			t.Errorf("InitDefault() after SetInitDefault(%q) = %q", tt.lvl, got)
		}
	}
	for _, bad := range []string{"", "35", "x", ":"} {
		if err := mustParse(t, "").SetInitDefault(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("SetInitDefault(%q) error = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestGolden(t *testing.T) {
	tests := []struct {
		file string
		edit func(*File) error
	}{
		{"centos5-inittab", func(f *File) error {
			if err := f.SetInitDefault("3"); err != nil {
				return err
			}
			return f.Append(Entry{ID: "co", Runlevels: "2345", Action: "respawn", Process: "/sbin/agetty xvc0 9600 vt100-nav"})
		}},
		{"centos4-inittab", func(f *File) error {
			if err := f.CommentOut("S0", "ttyS0 does not exist in a Xen guest"); err != nil {
				return err
			}
			return f.Append(Entry{ID: "co", Runlevels: "2345", Action: "respawn", Process: "/sbin/agetty xvc0 9600 vt100-nav"})
		}},
		{"debian6-inittab", func(f *File) error {
			return f.Append(Entry{ID: "hvc0", Runlevels: "2345", Action: "respawn", Process: "/sbin/getty 38400 hvc0"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f := conftest.Load(t, tt.file, Parse)
			if w := f.Warnings(); len(w) != 0 {
				t.Errorf("Parse(%s).Warnings() = %v, want none", tt.file, w)
			}
			if err := tt.edit(f); err != nil {
				t.Fatalf("editing %s: %v", tt.file, err)
			}
			got := f.Bytes()
			conftest.Golden(t, tt.file, got)
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"id:5:initdefault:\n", "1:2345:respawn:/sbin/mingetty tty1\r\n", "x", ":::", "a:b:c:d:e"} {
		f.Add(s, "co", "/sbin/agetty -L 9600 xvc0 vt100")
	}
	if entries, err := os.ReadDir("testdata"); err == nil {
		for _, e := range entries {
			if data, err := os.ReadFile(filepath.Join("testdata", e.Name())); err == nil {
				f.Add(string(data), "1", "/sbin/getty 38400 hvc0")
			}
		}
	}
	f.Fuzz(func(t *testing.T, data, id, process string) {
		it, err := Parse("fuzz", []byte(data))
		if err != nil {
			return
		}
		if got := string(it.Bytes()); got != data {
			t.Fatalf("Parse(%q).Bytes() = %q, want input", data, got)
		}
		it.Warnings()
		for _, g := range it.Gettys() {
			if g.TTY == "" {
				t.Fatalf("Gettys() returned %+v with empty TTY", g)
			}
		}
		ParseGetty(process)
		before := it.Entries()
		e := Entry{ID: id, Runlevels: "2345", Action: "respawn", Process: process}
		if err := it.Append(e); err == nil {
			again := mustParse(t, string(it.Bytes()))
			got, ok := again.Entry(id)
			if !ok || got.Process != process {
				t.Fatalf("after Append(%+v) on %q: Entry = %+v, %v", e, data, got, ok)
			}
			if diff := cmp.Diff(before, again.Entries()[:len(before)], cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("Append changed existing entries:\n%s", diff)
			}
		}
		if it.CommentOut(id, "x") == nil {
			if _, ok := mustParse(t, string(it.Bytes())).Entry(id); ok {
				t.Fatalf("Entry(%q) present after CommentOut on %q", id, data)
			}
		}
		if it.SetInitDefault("3") == nil {
			if lvl, _ := mustParse(t, string(it.Bytes())).InitDefault(); lvl != "3" {
				t.Fatalf("InitDefault() = %q after SetInitDefault(3) on %q", lvl, data)
			}
		}
	})
}
