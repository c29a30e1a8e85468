package udevnet

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

const rhel6Rule = `SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="00:0c:29:3a:7b:1c", ATTR{type}=="1", KERNEL=="eth*", NAME="eth0"`

func TestRoundTrip(t *testing.T) {
	conftest.RoundTrip(t, Parse,
		"", "\n", rhel6Rule, rhel6Rule+"\r\n", "# c \\\n"+rhel6Rule+"\n", "A==\"1\", \\\n  NAME=\"x\"\n", "\\", "garbage\n",
	)
	_, err := Parse("70.rules", []byte("# c\n\x00"))
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 2 {
		t.Errorf("Parse(NUL) error = %v, want ParseError at line 2", err)
	}
}

func TestRules(t *testing.T) {
	in := "# PCI device 0x8086:0x100f (e1000)\n" + rhel6Rule + "\n\n" +
		"SUBSYSTEM==\"net\",ACTION==\"add\" ,SYSFS{address}==\"00:16:3e:00:00:01\"  NAME:=\"eth1\", DRIVERS==\"tg3\"\n" +
		"# Xen virtual device\nKERNEL==\"eth*\", \\\n  NAME=\"eth2\"\n"
	f := mustParse(t, in)
	want := []Rule{
		{
			Pairs: []Pair{
				{"SUBSYSTEM", "==", "net"}, {"ACTION", "==", "add"}, {"DRIVERS", "==", "?*"},
				{"ATTR{address}", "==", "00:0c:29:3a:7b:1c"}, {"ATTR{type}", "==", "1"},
				{"KERNEL", "==", "eth*"}, {"NAME", "=", "eth0"},
			},
			MAC: "00:0c:29:3a:7b:1c", Name: "eth0", Driver: "e1000", Comment: "PCI device 0x8086:0x100f (e1000)", Line: 2,
		},
		{
			Pairs: []Pair{
				{"SUBSYSTEM", "==", "net"}, {"ACTION", "==", "add"}, {"SYSFS{address}", "==", "00:16:3e:00:00:01"},
				{"NAME", ":=", "eth1"}, {"DRIVERS", "==", "tg3"},
			},
			MAC: "00:16:3e:00:00:01", Name: "eth1", Driver: "tg3", Line: 4,
		},
		{
			Pairs:   []Pair{{"KERNEL", "==", "eth*"}, {"NAME", "=", "eth2"}},
			Name:    "eth2",
			Comment: "Xen virtual device",
			Line:    6,
		},
	}
	if diff := cmp.Diff(want, f.Rules()); diff != "" {
		t.Errorf("Rules() mismatch (-want +got):\n%s", diff)
	}
	if w := f.Warnings(); len(w) != 0 {
		t.Errorf("Warnings() = %v, want none", w)
	}
}

func TestWarnings(t *testing.T) {
	in := "NAME=\"ok\"\nNAME\nNAME=eth0\nNAME=\"eth0\nNAME ~ \"x\"\n"
	var got []string
	for _, w := range mustParse(t, in).Warnings() {
		got = append(got, w.Error())
	}
	want := []string{
		`test:2: invalid rule: key "NAME" without operator`,
		`test:3: invalid rule: value of "NAME" is not quoted`,
		`test:4: invalid rule: unterminated value of "NAME"`,
		`test:5: invalid rule: no operator after key "NAME"`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Warnings() mismatch (-want +got):\n%s", diff)
	}
}

func TestDriverFromComment(t *testing.T) {
	for c, want := range map[string]string{
		"PCI device 0x8086:0x100f (e1000)":                                        "e1000",
		"PCI device 0x14e4:0x1639 (bnx2) (custom name provided by external tool)": "bnx2",
		"USB device 0x0b95:0x772b (asix)":                                         "asix",
		"Xen virtual device":                                                      "",
		"net device ()":                                                           "",
		"(custom name provided by x)":                                             "",
		"broken (":                                                                "",
	} {
		if got := driverFromComment(c); got != want {
			t.Errorf("driverFromComment(%q) = %q, want %q", c, got, want)
		}
	}
}

func TestCommentOut(t *testing.T) {
	in := "# PCI device 0x8086:0x100f (e1000)\n" + rhel6Rule + "\r\nKERNEL==\"eth*\", \\\nNAME=\"eth1\" \\"
	f := mustParse(t, in)
	if n := f.CommentOut(func(r Rule) bool { return true }, "NIC names come from xen-netfront"); n != 2 {
		t.Errorf("CommentOut(all) = %d, want 2", n)
	}
	want := "# PCI device 0x8086:0x100f (e1000)\n# xenify: NIC names come from xen-netfront\r\n#" + rhel6Rule +
		"\r\n# xenify: NIC names come from xen-netfront\n#KERNEL==\"eth*\", \\\n#NAME=\"eth1\" "
	if got := string(f.Bytes()); got != want {
		t.Errorf("after CommentOut: %q, want %q", got, want)
	}
	if r := mustParse(t, want).Rules(); len(r) != 0 {
		t.Errorf("Rules() after CommentOut = %+v, want none", r)
	}
	if n := f.CommentOut(func(r Rule) bool { return true }, ""); n != 0 {
		t.Errorf("second CommentOut = %d, want 0", n)
	}
}

func TestGolden(t *testing.T) {
	all := func(f *File) error {
		f.CommentOut(func(Rule) bool { return true }, "xen-netfront NICs get their names from the kernel")
		return nil
	}
	tests := []struct {
		file string
		edit func(*File) error
	}{
		{"centos6-70-persistent-net.rules", func(f *File) error {
			f.CommentOut(func(r Rule) bool { return r.MAC == "00:0c:29:5e:01:9a" }, "stale rule for a NIC that is gone")
			return nil
		}},
		{"centos6-bnx2-70-persistent-net.rules", all},
		{"ubuntu1204-70-persistent-net.rules", all},
		{"debian7-70-persistent-net.rules", func(f *File) error {
			f.CommentOut(func(r Rule) bool { return r.Driver == "e1000" }, "e1000 is replaced by xen-netfront")
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f := conftest.Load(t, tt.file, Parse)
			if w := f.Warnings(); len(w) != 0 {
				t.Errorf("Parse(%s).Warnings() = %v, want none", tt.file, w)
			}
			for _, r := range f.Rules() {
				if r.MAC == "" || r.Name == "" || r.Driver == "" {
					t.Errorf("%s:%d: rule lacks MAC, NAME or driver: %+v", tt.file, r.Line, r)
				}
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
	for _, s := range []string{rhel6Rule + "\n", "# c\r\n" + rhel6Rule, "A==\"1\" \\\nB=\"2\" \\", "\\\n", "x"} {
		f.Add(s, "eth0")
	}
	if entries, err := os.ReadDir("testdata"); err == nil {
		for _, e := range entries {
			if data, err := os.ReadFile(filepath.Join("testdata", e.Name())); err == nil {
				f.Add(string(data), "eth1")
			}
		}
	}
	f.Fuzz(func(t *testing.T, data, name string) {
		uf, err := Parse("fuzz", []byte(data))
		if err != nil {
			return
		}
		if got := string(uf.Bytes()); got != data {
			t.Fatalf("Parse(%q).Bytes() = %q, want input", data, got)
		}
		uf.Warnings()
		rules := uf.Rules()
		n := uf.CommentOut(func(r Rule) bool { return r.Name == name }, "x")
		again, err := Parse("fuzz", uf.Bytes())
		if err != nil {
			t.Fatalf("Parse after CommentOut: %v", err)
		}
		var kept []Rule
		for _, r := range rules {
			if r.Name != name {
				kept = append(kept, r)
			}
		}
		if len(rules)-len(kept) != n {
			t.Fatalf("CommentOut(NAME=%q) = %d, want %d", name, n, len(rules)-len(kept))
		}
		got := again.Rules()
		if diff := cmp.Diff(kept, got, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(Rule{}, "Line", "Comment", "Driver")); diff != "" {
			t.Fatalf("rules after CommentOut(NAME=%q) of %q mismatch (-want +got):\n%s", name, data, diff)
		}
	})
}
