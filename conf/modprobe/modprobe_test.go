package modprobe

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
		"", "\n", "alias eth0 e1000", "alias eth0 e1000\r\n", "install a b \\\n\tc\n",
		"# c \\\nalias x y\n", "\\", "a\\\r\nb\r\n", "\t \n",
	)
}

func TestEntries(t *testing.T) {
	in := "# comment\nalias eth0 e1000\n\n  options  e1000 debug=1 \\\n  foo=2\n# swallowed \\\nalias eth1 tg3\nalias\tsnd\\-card x\n"
	want := []Entry{
		{Command: "alias", Args: []string{"eth0", "e1000"}, Line: 2},
		{Command: "options", Args: []string{"e1000", "debug=1", "foo=2"}, Line: 4},
		{Command: "alias", Args: []string{"snd-card", "x"}, Line: 8},
	}
	if diff := cmp.Diff(want, mustParse(t, in).Entries()); diff != "" {
		t.Errorf("Entries() mismatch (-want +got):\n%s", diff)
	}
}

func TestWarnings(t *testing.T) {
	f, err := Parse("/etc/modprobe.conf", []byte("alias eth0\nfoo bar\nalias a b\nkeep\n"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range f.Warnings() {
		got = append(got, w.Error())
	}
	want := []string{
		"/etc/modprobe.conf:1: alias needs 2 arguments, has 1",
		`/etc/modprobe.conf:2: ignoring bad line starting with "foo"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Warnings() mismatch (-want +got):\n%s", diff)
	}
}

func TestParseNUL(t *testing.T) {
	_, err := Parse("m.conf", []byte("alias a b\nalias \\\nc\x00 d\n"))
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 3 {
		t.Errorf("Parse(NUL on line 3) error = %v, want *ParseError at line 3", err)
	}
}

func TestAlias(t *testing.T) {
	data, err := os.ReadFile("testdata/centos5-modprobe.conf")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse("centos5-modprobe.conf", data)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"eth0": "pcnet32", "scsi_hostadapter": "mptbase", "scsi_hostadapter2": "ata_piix",
		"scsi-hostadapter1": "mptspi", "snd_card_0": "snd-ens1371", "eth1": "",
	} {
		got, ok := f.Alias(name)
		if got != want || ok != (want != "") {
			t.Errorf("Alias(%q) = %q, %v, want %q", name, got, ok, want)
		}
	}
	wantFam := []Alias{
		{Name: "scsi_hostadapter", Module: "mptbase", Line: 2},
		{Name: "scsi_hostadapter1", Module: "mptspi", Line: 3},
		{Name: "scsi_hostadapter2", Module: "ata_piix", Line: 4},
	}
	if diff := cmp.Diff(wantFam, f.AliasFamily("scsi_hostadapter")); diff != "" {
		t.Errorf("AliasFamily(scsi_hostadapter) mismatch (-want +got):\n%s", diff)
	}
	if got := f.FreeAliasName("scsi_hostadapter"); got != "scsi_hostadapter3" {
		t.Errorf("FreeAliasName(scsi_hostadapter) = %q, want scsi_hostadapter3", got)
	}
	if got := f.FreeAliasName("eth"); got != "eth" {
		t.Errorf("FreeAliasName(eth) = %q, want eth", got)
	}
}

func TestSetAlias(t *testing.T) {
	tests := []struct {
		in, name, module, want string
		n                      int
	}{
		{"alias eth0 e1000\n", "eth0", "xennet", "alias eth0 xennet\n", 1},
		{"alias  eth0\te1000   # nic\r\n", "eth0", "xennet", "alias  eth0\txennet   # nic\r\n", 1},
		{"alias eth0 e1000\nalias eth0 tg3", "eth0", "xennet", "alias eth0 xennet\nalias eth0 xennet", 2},
		{"alias eth0 \\\n  e1000\n", "eth0", "xennet", "alias eth0 \\\n  xennet\n", 1},
		{"alias eth0 e10\\\n00\n", "eth0", "xennet", "alias eth0 xennet\n", 1},
		{"alias scsi-hostadapter ata_piix\n", "scsi_hostadapter", "xenblk", "alias scsi-hostadapter xenblk\n", 1},
		{"alias eth0 e1000\noptions e1000 x=1\n", "eth1", "xennet", "alias eth0 e1000\nalias eth1 xennet\noptions e1000 x=1\n", 1},
		{"options e1000 x=1", "eth1", "xennet", "options e1000 x=1\nalias eth1 xennet", 1},
		{"alias x y\\", "eth1", "xennet", "alias x y\\\n\nalias eth1 xennet", 1},
		{"", "eth0", "xennet", "alias eth0 xennet\n", 1},
		{"#alias eth0 e1000\n", "eth0", "xennet", "#alias eth0 e1000\nalias eth0 xennet\n", 1},
	}
	for _, tt := range tests {
		f := mustParse(t, tt.in)
		n, err := f.SetAlias(tt.name, tt.module)
		if err != nil || n != tt.n {
			t.Errorf("Parse(%q).SetAlias(%q, %q) = %d, %v, want %d, nil", tt.in, tt.name, tt.module, n, err, tt.n)
		}
		if got := string(f.Bytes()); got != tt.want {
			t.Errorf("Parse(%q).SetAlias(%q, %q); Bytes() = %q, want %q", tt.in, tt.name, tt.module, got, tt.want)
		}
		if got, ok := mustParse(t, tt.want).Alias(tt.name); !ok || got != tt.module {
			t.Errorf("Alias(%q) after SetAlias = %q, %v, want %q", tt.name, got, ok, tt.module)
		}
	}
	f := mustParse(t, "alias a b\n")
	for _, bad := range [][2]string{{"", "x"}, {"a b", "x"}, {"a", "#x"}, {"a", "x\ny"}, {"a", `x\`}} {
		if _, err := f.SetAlias(bad[0], bad[1]); !errors.Is(err, ErrInvalid) {
			t.Errorf("SetAlias(%q, %q) error = %v, want ErrInvalid", bad[0], bad[1], err)
		}
		if err := f.AddAlias(bad[0], bad[1]); !errors.Is(err, ErrInvalid) {
			t.Errorf("AddAlias(%q, %q) error = %v, want ErrInvalid", bad[0], bad[1], err)
		}
	}
}

func TestCommentOut(t *testing.T) {
	in := "alias eth0 e1000\ninstall e1000 /sbin/modprobe --ignore-install e1000 \\\n\t&& true\noptions e1000 x=1"
	f := mustParse(t, in)
	n := f.CommentOut(func(e Entry) bool { return len(e.Args) > 0 && e.Args[0] == "e1000" }, "no e1000 under Xen \\")
	if n != 2 {
		t.Errorf("CommentOut(e1000 entries) = %d, want 2", n)
	}
	want := "alias eth0 e1000\n# xenify: no e1000 under Xen\n#install e1000 /sbin/modprobe --ignore-install e1000 \\\n#\t&& true\n# xenify: no e1000 under Xen\n#options e1000 x=1"
	if got := string(f.Bytes()); got != want {
		t.Errorf("after CommentOut: %q, want %q", got, want)
	}
	if got := mustParse(t, want).Entries(); len(got) != 1 || got[0].Command != "alias" {
		t.Errorf("Entries() after CommentOut = %+v, want only the alias", got)
	}
	f = mustParse(t, "alias eth0 e1000\r\nalias eth1 e1000\r\n")
	if n := f.CommentOutAlias("eth1", ""); n != 1 {
		t.Errorf("CommentOutAlias(eth1) = %d, want 1", n)
	}
	if got, want := string(f.Bytes()), "alias eth0 e1000\r\n# xenify: disabled\r\n#alias eth1 e1000\r\n"; got != want {
		t.Errorf("after CommentOutAlias: %q, want %q", got, want)
	}
}

func TestGolden(t *testing.T) {
	xen := func(f *File) error {
		if _, err := f.SetAlias("eth0", "xennet"); err != nil {
			return err
		}
		return f.AddAlias(f.FreeAliasName("scsi_hostadapter"), "xenblk")
	}
	tests := []struct {
		file string
		edit func(*File) error
	}{
		{"centos4-modprobe.conf", xen},
		{"centos5-modprobe.conf", func(f *File) error {
			if err := xen(f); err != nil {
				return err
			}
			f.CommentOut(func(e Entry) bool { return e.Command == "alias" && e.Args[0] == "scsi_hostadapter1" }, "mptspi is not used under Xen")
			return nil
		}},
		{"rh9-modules.conf", xen},
		{"debian7-modprobe.d-aliases.conf", func(f *File) error {
			f.CommentOut(func(e Entry) bool { return len(e.Args) > 0 && e.Args[0] == "e1000e" }, "e1000e is replaced by xen-netfront")
			f.CommentOutAlias("eth1", "")
			_, err := f.SetAlias("eth0", "xen-netfront")
			return err
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
	for _, s := range []string{
		"alias eth0 e1000\n", "options a \\\n b\r\n", "# c \\\nalias x y", "alias eth0 e10\\\n00",
		"\\", "install x \\\\\nalias eth0 y\n",
	} {
		f.Add(s, "eth0", "xennet")
	}
	if entries, err := os.ReadDir("testdata"); err == nil {
		for _, e := range entries {
			if data, err := os.ReadFile(filepath.Join("testdata", e.Name())); err == nil {
				f.Add(string(data), "scsi_hostadapter", "xenblk")
			}
		}
	}
	f.Fuzz(func(t *testing.T, data, name, module string) {
		mf, err := Parse("fuzz", []byte(data))
		if err != nil {
			return
		}
		if got := string(mf.Bytes()); got != data {
			t.Fatalf("Parse(%q).Bytes() = %q, want input", data, got)
		}
		mf.Warnings()
		mf.AliasFamily(name)
		before := len(mf.Entries())
		if _, err := mf.SetAlias(name, module); err != nil {
			return
		}
		out := mf.Bytes()
		again, err := Parse("fuzz", out)
		if err != nil {
			t.Fatalf("Parse after SetAlias(%q, %q) on %q: %v", name, module, data, err)
		}
		if got, ok := again.Alias(name); !ok || got != module {
			t.Fatalf("after SetAlias(%q, %q) on %q: Alias = %q, %v; output %q", name, module, data, got, ok, out)
		}
		if n := len(again.Entries()); n < before {
			t.Fatalf("SetAlias(%q, %q) on %q lost entries: %d -> %d; output %q", name, module, data, before, n, out)
		}
		again.CommentOutAlias(name, "x\\")
		if _, ok := again.Alias(name); ok {
			t.Fatalf("after CommentOutAlias(%q) on %q: alias still present: %q", name, out, again.Bytes())
		}
	})
}
