package shellvars

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
		"", "\n", "A=1", "A=1\n", "A=1\r\nB=2\r\n", "A=1\r\nB=2",
		"  export A='x y'  # c\n", "A=\"multi\nline\"\nB=2\n", "A=a\\\nb\n",
		"if [ -f x ]; then\n  . x\nfi\n", "\t# comment\n\n\n", "\r\n", "A=1\r",
	)
}

func TestGet(t *testing.T) {
	tests := []struct {
		in, name, want string
		ok             bool
	}{
		{"SELINUX=enforcing\n", "SELINUX", "enforcing", true},
		{"A=1\nA=2\n", "A", "2", true},
		{"A='single $x'\n", "A", "single $x", true},
		{`A="dq \"q\" \$ \\ \n"` + "\n", "A", `dq "q" $ \ \n`, true},
		{"export A=exported\n", "A", "exported", true},
		{"A=x=y=z\n", "A", "x=y=z", true},
		{"A=foo # comment\n", "A", "foo", true},
		{"A=foo#bar\n", "A", "foo#bar", true},
		{"A=\"one\ntwo\"\n", "A", "one\ntwo", true},
		{"A=one\\\ntwo\n", "A", "onetwo", true},
		{"A=\"one\\\ntwo\"\n", "A", "onetwo", true},
		{"A=\n", "A", "", true},
		{"A=\"\"\n", "A", "", true},
		{"A=a'b c'\"d\"\n", "A", "ab cd", true},
		{"A=a\\ b\n", "A", "a b", true},
		{"A=yes\r\n", "A", "yes", true},
		{"  A=indented\n", "A", "indented", true},
		{"A=$B\n", "A", "", false},
		{"A=\"${B}x\"\n", "A", "", false},
		{"A=`cmd`\n", "A", "", false},
		{"A=~/x\n", "A", "", false},
		{"A=1\nA=$B\n", "A", "", false},
		{"A=1 B=2\n", "A", "", false},
		{"A=1; B=2\n", "A", "", false},
		{"A=1 cmd\n", "A", "", false},
		{"if x; then\nA=1\nfi\n", "A", "", false},
		{"if x; then A=2; fi\nA=1\n", "A", "1", true},
		{"case $x in\n a) A=2 ;;\nesac\nA=1\n", "A", "1", true},
		{"A=\"$(sed 's, release .*$,,g' /etc/system-release)\"\n", "A", "", false},
		{"A=${B:-x y}\n", "A", "", false},
		{"#A=1\n", "A", "", false},
		{"B=1\n", "A", "", false},
		{"export A\n", "A", "", false},
		{"AB=1\n", "A", "", false},
		{"1A=1\n", "1A", "", false},
	}
	for _, tt := range tests {
		f := mustParse(t, tt.in)
		got, ok := f.Get(tt.name)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Parse(%q).Get(%q) = %q, %v, want %q, %v", tt.in, tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestVarsAndOpaque(t *testing.T) {
	in := "# c\nA=1\nexport B=\"x\ny\"\nif true; then\n  C=$(echo \"a)\")\nfi\nD=`x`\n. /etc/rc.d/init.d/functions\nE=1 F=2\n"
	f := mustParse(t, in)
	wantVars := []Var{
		{Name: "A", Value: "1", Raw: "1", Literal: true, Line: 2},
		{Name: "B", Value: "x\ny", Raw: "\"x\ny\"", Literal: true, Exported: true, Line: 3},
		{Name: "D", Value: "`x`", Raw: "`x`", Line: 8},
	}
	if diff := cmp.Diff(wantVars, f.Vars()); diff != "" {
		t.Errorf("Vars() mismatch (-want +got):\n%s", diff)
	}
	wantOpaque := []Opaque{
		{Line: 5, Text: "if true; then"},
		{Line: 6, Text: "  C=$(echo \"a)\")"},
		{Line: 7, Text: "fi"},
		{Line: 9, Text: ". /etc/rc.d/init.d/functions"},
		{Line: 10, Text: "E=1 F=2"},
	}
	if diff := cmp.Diff(wantOpaque, f.Opaque()); diff != "" {
		t.Errorf("Opaque() mismatch (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in   string
		line int
	}{
		{"A=1\nB=\"open\n\nC=3\n", 2},
		{"A='open\n", 1},
		{"A=`open\n", 1},
		{"A=$(open\n", 1},
		{"A=1\nB=2\x00\n", 2},
		{"A=\"x\ny\"\nB=\"\n", 3},
	}
	for _, tt := range tests {
		_, err := Parse("/etc/sysconfig/x", []byte(tt.in))
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != tt.line || pe.File != "/etc/sysconfig/x" {
			t.Errorf("Parse(%q) error = %v, want *ParseError at line %d", tt.in, err, tt.line)
		}
	}
}

func TestSet(t *testing.T) {
	tests := []struct {
		in, name, value, want string
	}{
		{"A=1\n", "A", "2", "A=2\n"},
		{"A=1", "A", "2", "A=2"},
		{"A=1\r\nB=2\r\n", "B", "3", "A=1\r\nB=3\r\n"},
		{"A=1\nA=2\n", "A", "3", "A=1\nA=3\n"},
		{"A='x'\n", "A", "y z", "A='y z'\n"},
		{"A='x'\n", "A", "it's", "A=\"it's\"\n"},
		{"A=\"x\"\n", "A", "quiet", "A=\"quiet\"\n"},
		{"A=\"x\"\n", "A", `a"$b`, `A="a\"\$b"` + "\n"},
		{"A=x\n", "A", "console=hvc0 quiet", "A=\"console=hvc0 quiet\"\n"},
		{"A=x\n", "A", "/dev/xvda", "A=/dev/xvda\n"},
		{"A=x\n", "A", "", "A=\n"},
		{"  export A=x   # keep me\n", "A", "y", "  export A=y   # keep me\n"},
		{"A=\"multi\nline\"  # c\nB=1\n", "A", "one", "A=\"one\"  # c\nB=1\n"},
		{"A=`lsb_release -s`\n", "A", "Debian", "A=Debian\n"},
		{"A=1\n", "B", "2", "A=1\nB=2\n"},
		{"A=1", "B", "2 3", "A=1\nB=\"2 3\""},
		{"A=1\r\n", "B", "2", "A=1\r\nB=2\r\n"},
		{"", "B", "2", "B=2\n"},
		{"#A=1\n", "A", "2", "#A=1\nA=2\n"},
		{"#A=1", "A", "2", "#A=1\nA=2"},
		{"# A=1\nB=1\n", "A", "2", "# A=1\nA=2\nB=1\n"},
		{"# A=1\r\nB=1\r\n", "A", "2", "# A=1\r\nA=2\r\nB=1\r\n"},
		{"# AB=1\nB=1\n", "A", "2", "# AB=1\nB=1\nA=2\n"},
		{"A=1 B=2\n", "A", "3", "A=1 B=2\nA=3\n"},
	}
	for _, tt := range tests {
		f := mustParse(t, tt.in)
		if err := f.Set(tt.name, tt.value); err != nil {
			t.Errorf("Parse(%q).Set(%q, %q) error: %v", tt.in, tt.name, tt.value, err)
			continue
		}
		if got := string(f.Bytes()); got != tt.want {
			t.Errorf("Parse(%q).Set(%q, %q); Bytes() = %q, want %q", tt.in, tt.name, tt.value, got, tt.want)
		}
		if got, ok := mustParse(t, tt.want).Get(tt.name); !ok || got != tt.value {
			t.Errorf("Get(%q) after Set = %q, %v, want %q, true", tt.name, got, ok, tt.value)
		}
	}
}

func TestSetInvalid(t *testing.T) {
	f := mustParse(t, "A=1\n")
	for _, kv := range [][2]string{{"", "x"}, {"1A", "x"}, {"A-B", "x"}, {"A B", "x"}, {"A", "nul\x00"}} {
		if err := f.Set(kv[0], kv[1]); !errors.Is(err, ErrInvalid) {
			t.Errorf("Set(%q, %q) error = %v, want ErrInvalid", kv[0], kv[1], err)
		}
	}
	if got := string(f.Bytes()); got != "A=1\n" {
		t.Errorf("invalid Set calls changed the file to %q", got)
	}
}

func TestSetOpenCompound(t *testing.T) {
	f := mustParse(t, "A=1\nif [ -f /x ]; then\n  B=2\n")
	if err := f.Set("B", "3"); !errors.Is(err, ErrOpenCompound) {
		t.Errorf("Set(B) in an unterminated if error = %v, want ErrOpenCompound", err)
	}
	if err := f.Set("A", "3"); err != nil {
		t.Errorf("Set(A) before the if error: %v", err)
	}
	if got, want := string(f.Bytes()), "A=3\nif [ -f /x ]; then\n  B=2\n"; got != want {
		t.Errorf("Bytes() = %q, want %q", got, want)
	}
}

func TestDeleteCommentOut(t *testing.T) {
	in := "DEVICE=eth0\nHWADDR=00:0C:29:3A:7B:1C\nONBOOT=yes\nHWADDR=\"a\nb\""
	f := mustParse(t, in)
	if n := f.Delete("HWADDR"); n != 2 {
		t.Errorf("Delete(HWADDR) = %d, want 2", n)
	}
	if got, want := string(f.Bytes()), "DEVICE=eth0\nONBOOT=yes"; got != want {
		t.Errorf("after Delete: %q, want %q", got, want)
	}

	f = mustParse(t, in)
	if n := f.CommentOut("HWADDR", "MAC changes\nunder Xen"); n != 2 {
		t.Errorf("CommentOut(HWADDR) = %d, want 2", n)
	}
	want := "DEVICE=eth0\n# xenify: MAC changes under Xen\n#HWADDR=00:0C:29:3A:7B:1C\nONBOOT=yes\n# xenify: MAC changes under Xen\n#HWADDR=\"a\n#b\""
	if got := string(f.Bytes()); got != want {
		t.Errorf("after CommentOut: %q, want %q", got, want)
	}
	if _, found := mustParse(t, want).Lookup("HWADDR"); found {
		t.Errorf("Lookup(HWADDR) found after CommentOut")
	}
}

func TestGolden(t *testing.T) {
	set := func(kv ...string) func(*File) error {
		return func(f *File) error {
			for i := 0; i < len(kv); i += 2 {
				if err := f.Set(kv[i], kv[i+1]); err != nil {
					return err
				}
			}
			return nil
		}
	}
	tests := []struct {
		file string
		edit func(*File) error
	}{
		{"centos4-ifcfg-eth0", func(f *File) error { f.Delete("HWADDR"); return nil }},
		{"centos5-ifcfg-eth0", func(f *File) error { f.CommentOut("HWADDR", "the MAC address changes under Xen"); return nil }},
		{"centos5-network", set("NETWORKING_IPV6", "no", "GATEWAYDEV", "eth0")},
		{"centos5-sysconfig-kernel", set("DEFAULTKERNEL", "kernel-xen")},
		{"centos5-sysconfig-grub", set("boot", "/dev/xvda")},
		{"centos5-selinux-config", set("SELINUX", "permissive")},
		{"centos6-sysconfig-init", set("ACTIVE_CONSOLES", "/dev/tty[1-6] /dev/hvc0")},
		{"centos7-default-grub", set("GRUB_CMDLINE_LINUX", "crashkernel=auto rd.lvm.lv=centos/root rd.lvm.lv=centos/swap console=hvc0", "GRUB_TERMINAL_OUTPUT", "console")},
		{"debian7-default-grub", set("GRUB_CMDLINE_LINUX_DEFAULT", "console=hvc0", "GRUB_TERMINAL", "console")},
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

// TestRealFiles checks values read from the shipped files.
func TestRealFiles(t *testing.T) {
	tests := []struct{ file, name, want string }{
		{"centos5-ifcfg-eth0", "HWADDR", "00:0C:29:3A:7B:1C"},
		{"centos5-selinux-config", "SELINUXTYPE", "targeted"},
		{"centos5-sysconfig-kernel", "DEFAULTKERNEL", "kernel"},
		{"centos6-sysconfig-init", "SETCOLOR_NORMAL", `echo -en \033[0;39m`},
		{"centos7-default-grub", "GRUB_CMDLINE_LINUX", "crashkernel=auto rd.lvm.lv=centos/root rd.lvm.lv=centos/swap rhgb quiet"},
		{"debian7-default-grub", "GRUB_CMDLINE_LINUX_DEFAULT", "quiet"},
	}
	for _, tt := range tests {
		data, err := os.ReadFile(filepath.Join("testdata", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse(tt.file, data)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := f.Get(tt.name); !ok || got != tt.want {
			t.Errorf("%s: Get(%q) = %q, %v, want %q, true", tt.file, tt.name, got, ok, tt.want)
		}
	}
	data, _ := os.ReadFile("testdata/debian7-default-grub")
	f, _ := Parse("debian7-default-grub", data)
	want := Var{Name: "GRUB_DISTRIBUTOR", Value: "`lsb_release -i -s 2> /dev/null || echo Debian`", Raw: "`lsb_release -i -s 2> /dev/null || echo Debian`", Line: 8}
	if v, found := f.Lookup("GRUB_DISTRIBUTOR"); !found || v != want {
		t.Errorf("Lookup(GRUB_DISTRIBUTOR) = %+v, %v; want %+v, true", v, found, want)
	}
	if got := f.Opaque(); len(got) != 0 {
		t.Errorf("Opaque() = %+v, want none", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"A=1\n", "export A='x' # c\r\n", "A=\"a\nb\"", "A=$(x \"y)\" # z\n)\n", "A=`x`\n",
		"if x; then\nfi\n", "A=a\\\nb", "A=\"", "A=~/x:~/y\n",
	} {
		f.Add(s, "A", "new value")
	}
	if entries, err := os.ReadDir("testdata"); err == nil {
		for _, e := range entries {
			if data, err := os.ReadFile(filepath.Join("testdata", e.Name())); err == nil {
				f.Add(string(data), "GRUB_CMDLINE_LINUX", "console=hvc0")
			}
		}
	}
	f.Fuzz(func(t *testing.T, data, name, value string) {
		sf, err := Parse("fuzz", []byte(data))
		if err != nil {
			return
		}
		if got := string(sf.Bytes()); got != data {
			t.Fatalf("Parse(%q).Bytes() = %q, want input", data, got)
		}
		sf.Vars()
		sf.Opaque()
		if err := sf.Set(name, value); err != nil {
			return
		}
		out := sf.Bytes()
		again, err := Parse("fuzz", out)
		if err != nil {
			t.Fatalf("Parse(%q) after Set(%q, %q) of %q: %v", out, name, value, data, err)
		}
		if got, ok := again.Get(name); !ok || got != value {
			t.Fatalf("after Set(%q, %q) on %q: Get = %q, %v; output %q", name, value, data, got, ok, out)
		}
		again.CommentOut(name, "x")
		if _, err := Parse("fuzz", again.Bytes()); err != nil {
			t.Fatalf("Parse after CommentOut(%q): %v", name, err)
		}
	})
}
