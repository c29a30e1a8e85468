package grub2

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xenify/xenify/conf/cmdline"
	"github.com/xenify/xenify/conf/confutil"
	"github.com/xenify/xenify/conf/confutil/conftest"
	"github.com/xenify/xenify/conf/confutil/pygrubtest"
)

var inputs = []string{"testdata/debian12.cfg", "testdata/ubuntu1204.cfg", "testdata/rhel7.cfg"}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func variants(b []byte) [][]byte {
	s := string(b)
	return [][]byte{b, []byte(strings.ReplaceAll(s, "\n", "\r\n")), []byte(strings.TrimSuffix(s, "\n"))}
}

func mustParse(t testing.TB, name string, data []byte) *File {
	t.Helper()
	f, err := Parse(name, data)
	if err != nil {
		t.Fatalf("Parse(%s) = %v", name, err)
	}
	return f
}

func TestRoundTrip(t *testing.T) {
	for _, p := range inputs {
		for _, v := range variants(readFile(t, p)) {
			if got := mustParse(t, p, v).Bytes(); string(got) != string(v) {
				t.Errorf("Parse(%s).Bytes() differs:\n%s", p, cmp.Diff(string(v), string(got)))
			}
		}
	}
}

const uuid = "0f1e8f4a-6b3c-4f5e-9d2a-3c4b5a6d7e8f"

func TestEntries(t *testing.T) {
	search := "--no-floppy --fs-uuid --set=root " + uuid
	adv := []string{"Advanced options for Debian GNU/Linux"}
	want := []Entry{
		{Title: "Debian GNU/Linux", Index: 0, Path: "0", KernelCmd: "linux", Kernel: "/boot/vmlinuz-6.1.0-13-amd64",
			Args: "root=UUID=" + uuid + " ro  quiet", Initrd: []string{"/boot/initrd.img-6.1.0-13-amd64"},
			Root: "hd0,msdos1", Search: search, Line: 120, EndLine: 136},
		{Title: "Debian GNU/Linux, with Linux 6.1.0-13-amd64", Submenus: adv, Index: 1, Path: "1>0", KernelCmd: "linux", Kernel: "/boot/vmlinuz-6.1.0-13-amd64",
			Args: "root=UUID=" + uuid + " ro  quiet", Initrd: []string{"/boot/initrd.img-6.1.0-13-amd64"},
			Root: "hd0,msdos1", Search: search, Line: 138, EndLine: 154},
		{Title: "Debian GNU/Linux, with Linux 6.1.0-13-amd64 (recovery mode)", Submenus: adv, Index: 2, Path: "1>1", KernelCmd: "linux", Kernel: "/boot/vmlinuz-6.1.0-13-amd64",
			Args: "root=UUID=" + uuid + " ro single", Initrd: []string{"/boot/initrd.img-6.1.0-13-amd64"},
			Root: "hd0,msdos1", Search: search, Line: 155, EndLine: 171},
	}
	f := mustParse(t, "grub.cfg", readFile(t, "testdata/debian12.cfg"))
	if diff := cmp.Diff(want, f.Entries()); diff != "" {
		t.Errorf("Entries() mismatch (-want +got):\n%s", diff)
	}

	type short struct{ Title, Path, KernelCmd, Kernel, Args string }
	f = mustParse(t, "grub.cfg", readFile(t, "testdata/ubuntu1204.cfg"))
	var got []short
	for _, e := range f.Entries() {
		got = append(got, short{e.Title, e.Path, e.KernelCmd, e.Kernel, e.Args})
	}
	wantShort := []short{
		{"Ubuntu, with Linux 3.2.0-23-generic-pae", "0", "linux", "/boot/vmlinuz-3.2.0-23-generic-pae", "root=UUID=7e2a4c1b-9d3f-4e5a-8b6c-1d2e3f4a5b6c ro   quiet splash $vt_handoff"},
		{"Ubuntu, with Linux 3.2.0-23-generic-pae (recovery mode)", "1", "linux", "/boot/vmlinuz-3.2.0-23-generic-pae", "root=UUID=7e2a4c1b-9d3f-4e5a-8b6c-1d2e3f4a5b6c ro recovery nomodeset"},
		{"Memory test (memtest86+)", "2", "linux16", "/boot/memtest86+.bin", ""},
		{"Memory test (memtest86+, serial console 115200)", "3", "linux16", "/boot/memtest86+.bin", "console=ttyS0,115200n8"},
	}
	if diff := cmp.Diff(wantShort, got); diff != "" {
		t.Errorf("ubuntu1204 Entries() mismatch (-want +got):\n%s", diff)
	}
}

func TestDefault(t *testing.T) {
	for _, tc := range []struct {
		file    string
		want    string
		line    int
		n       int
		numeric bool
	}{
		{"testdata/debian12.cfg", "0", 19, 0, true},
		{"testdata/ubuntu1204.cfg", "0", 13, 0, true},
		{"testdata/rhel7.cfg", "${saved_entry}", 20, 0, false},
	} {
		f := mustParse(t, tc.file, readFile(t, tc.file))
		got, ok := f.Default()
		n, numeric := f.DefaultIndex()
		if got != tc.want || !ok || f.DefaultLine() != tc.line || n != tc.n || numeric != tc.numeric {
			t.Errorf("%s: Default() = %q, %v, line %d, index %d, %v; want %q, true, line %d, index %d, %v",
				tc.file, got, ok, f.DefaultLine(), n, numeric, tc.want, tc.line, tc.n, tc.numeric)
		}
	}
}

func TestSmallEdits(t *testing.T) {
	entry := FormatEntry(NewEntry{Title: "x", Kernel: "/vmlinuz"})
	for _, tc := range []struct {
		name string
		in   string
		edit func(f *File) error
		want string
	}{
		{"set default in place", "if [ x ]; then\n set default=\"${next_entry}\"\nelse\n   set default=\"0\"  # c\nfi\n",
			func(f *File) error { return f.SetDefault("2") },
			"if [ x ]; then\n set default=\"${next_entry}\"\nelse\n   set default=\"2\"  # c\nfi\n"},
		{"set default unquoted", "set default=0\r\nset timeout=5\r\n", func(f *File) error { return f.SetDefault("Debian GNU/Linux") },
			"set default=\"Debian GNU/Linux\"\r\nset timeout=5\r\n"},
		{"set default escapes $", "set default=0", func(f *File) error { return f.SetDefault("a$b") }, "set default=\"a\\$b\""},
		{"set default inserted before entry", "set timeout=5\nmenuentry 'a' {\n}\n", func(f *File) error { return f.SetDefault("0") },
			"set timeout=5\nset default=\"0\"\nmenuentry 'a' {\n}\n"},
		{"set default ignores entry-local", "menuentry 'a' {\nset default=1\n}", func(f *File) error { return f.SetDefault("0") },
			"set default=\"0\"\nmenuentry 'a' {\nset default=1\n}"},
		{"set default appended", "insmod ext2", func(f *File) error { return f.SetDefault("0") }, "insmod ext2\nset default=\"0\""},
		{"edit args", "menuentry 'a' {\n\tlinux\t/vmlinuz root=/dev/sda1 ro  quiet ; echo x\n}\n", func(f *File) error {
			return f.EditKernelArgs(0, func(c *cmdline.Cmdline) { c.Set("root", "/dev/xvda1"); c.Add("console=hvc0") })
		}, "menuentry 'a' {\n\tlinux\t/vmlinuz root=/dev/xvda1 ro  quiet console=hvc0 ; echo x\n}\n"},
		{"edit args no args", "menuentry 'a' {\n  linux16 /vmlinuz\n}\n", func(f *File) error {
			return f.EditKernelArgs(0, func(c *cmdline.Cmdline) { c.Add("ro") })
		}, "menuentry 'a' {\n  linux16 /vmlinuz ro\n}\n"},
		{"edit args remove all", "menuentry 'a' {\n  linux /vmlinuz quiet\n}\n", func(f *File) error {
			return f.EditKernelArgs(0, func(c *cmdline.Cmdline) { c.Remove("quiet") })
		}, "menuentry 'a' {\n  linux /vmlinuz\n}\n"},
		{"insert before first top-level", "if [ a ]; then\nmenuentry 'in-if' {\n}\nfi\nmenuentry 'b' {\n}", func(f *File) error { return f.InsertEntry(entry) },
			"if [ a ]; then\nmenuentry 'in-if' {\n}\nfi\n" + entry + "menuentry 'b' {\n}"},
		{"insert appends without entries", "insmod blscfg\nblscfg", func(f *File) error { return f.InsertEntry(entry) },
			"insmod blscfg\nblscfg\n" + strings.TrimSuffix(entry, "\n")},
		{"commands before first entry", "terminal_output gfxterm\nmenuentry 'a' {\n}\n", func(f *File) error { return f.InsertCommands("serial --unit=0", "terminal_output serial console") },
			"terminal_output gfxterm\nserial --unit=0\nterminal_output serial console\nmenuentry 'a' {\n}\n"},
		{"commands appended without entries", "insmod ext2", func(f *File) error { return f.InsertCommands("terminal_output serial") },
			"insmod ext2\nterminal_output serial"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := mustParse(t, "grub.cfg", []byte(tc.in))
			if err := tc.edit(f); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(f.Bytes())); diff != "" {
				t.Errorf("Bytes() after edit of %q mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestTerminalOutput(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"terminal_output serial console\n", true},
		{"if [ x ]; then\n  terminal_output   'serial'\nfi\n", true},
		{"serial; terminal_input serial; terminal_output console\n", false},
		{"terminal_output gfxterm\n# terminal_output serial\n", false},
		{"menuentry 'a' {\n\tlinux /vmlinuz console=serial\n}\n", false},
	} {
		if got := mustParse(t, "grub.cfg", []byte(tc.in)).HasTerminalOutput("serial"); got != tc.want {
			t.Errorf("HasTerminalOutput(serial) of %q = %v, want %v", tc.in, got, tc.want)
		}
	}
	f := mustParse(t, "grub.cfg", []byte("menuentry 'a' {\n}\n"))
	if err := f.InsertCommands("menuentry 'b' {", "}"); err == nil {
		t.Errorf("InsertCommands took a menu entry")
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		line int
	}{
		{"menuentry 'a' {\n}\n}\n", 3},
		{"set a=1\nsubmenu 'x' {\n menuentry 'a' {\n }\n", 2},
		{"menuentry 'a' {\n\x00", 2},
	} {
		_, err := Parse("grub.cfg", []byte(tc.in))
		var pe *confutil.ParseError
		if !errors.As(err, &pe) || pe.Line != tc.line || pe.File != "grub.cfg" {
			t.Errorf("Parse(%q) error = %v, want *ParseError at grub.cfg:%d", tc.in, err, tc.line)
		}
	}
	f := mustParse(t, "grub.cfg", []byte("menuentry 'a' {\n}\n"))
	for _, text := range []string{
		"",
		"menuentry 'a' {\n",
		"menuentry 'a' {\n}\nmenuentry 'b' {\n}\n",
		"menuentry a {\n}\n", // pygrub needs a quoted title
		"set x=1\nmenuentry 'a' {\n}\n",
	} {
		if err := f.InsertEntry(text); err == nil {
			t.Errorf("InsertEntry(%q) = nil, want error", text)
		}
	}
	if err := f.EditKernelArgs(0, func(*cmdline.Cmdline) {}); err == nil || !strings.Contains(err.Error(), "grub.cfg:1:") {
		t.Errorf("EditKernelArgs(entry without linux) = %v, want error naming grub.cfg:1", err)
	}
	if err := f.EditKernelArgs(1, func(*cmdline.Cmdline) {}); err == nil {
		t.Errorf("EditKernelArgs(1) with one entry = nil, want error")
	}
}

func TestFormatEntry(t *testing.T) {
	got := FormatEntry(NewEntry{
		Title: "Debian GNU/Linux (Xen domU)", Class: []string{"debian", "gnu-linux"}, Root: "hd0,msdos1",
		Search: "--no-floppy --fs-uuid --set=root " + uuid, Kernel: "/boot/vmlinuz-6.1.0-13-amd64",
		Args: "root=/dev/xvda1 ro console=hvc0", Initrd: []string{"/boot/initrd.img-6.1.0-13-amd64"},
	})
	want := "menuentry 'Debian GNU/Linux (Xen domU)' --class debian --class gnu-linux {\n" +
		"\tset root='hd0,msdos1'\n" +
		"\tsearch --no-floppy --fs-uuid --set=root " + uuid + "\n" +
		"\tlinux\t/boot/vmlinuz-6.1.0-13-amd64 root=/dev/xvda1 ro console=hvc0\n" +
		"\tinitrd\t/boot/initrd.img-6.1.0-13-amd64\n" +
		"}\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FormatEntry mismatch (-want +got):\n%s", diff)
	}
	if got := FormatEntry(NewEntry{Title: "it's", Kernel: "/a b"}); !strings.HasPrefix(got, `menuentry 'it'\''s' {`) || !strings.Contains(got, "linux\t'/a b'\n") {
		t.Errorf("FormatEntry(quotes) = %q, want escaped title and quoted path", got)
	}
}

var goldenEdits = map[string]func(t *testing.T, f *File){
	"debian12.cfg": func(t *testing.T, f *File) {
		check(t, f.InsertEntry(FormatEntry(NewEntry{
			Title: "Debian GNU/Linux (xenify domU)", Class: []string{"debian", "gnu-linux", "gnu", "os"},
			Root: "hd0,msdos1", Kernel: "/boot/vmlinuz-6.1.0-13-amd64",
			Args: "root=/dev/xvda1 ro console=hvc0", Initrd: []string{"/boot/initrd.img-6.1.0-13-amd64"},
		})))
		check(t, f.SetDefault("0"))
		for i := 1; i < len(f.Entries()); i++ {
			check(t, f.EditKernelArgs(i, func(c *cmdline.Cmdline) { c.Add("console=hvc0") }))
		}
	},
	"rhel7.cfg": func(t *testing.T, f *File) {
		e := f.Entries()[0]
		check(t, f.InsertEntry(FormatEntry(NewEntry{
			Title: e.Title + " (xenify domU)", Root: e.Root, Kernel: e.Kernel,
			Args: e.Args, Initrd: e.Initrd,
		})))
		check(t, f.EditKernelArgs(0, func(c *cmdline.Cmdline) {
			c.Remove("rhgb")
			c.Set("console", "hvc0")
		}))
		check(t, f.SetDefault("0"))
	},
	"ubuntu1204.cfg": func(t *testing.T, f *File) {
		check(t, f.EditKernelArgs(0, func(c *cmdline.Cmdline) {
			c.Remove("splash")
			c.Set("root", "/dev/xvda1")
		}))
		check(t, f.SetDefault("1"))
	},
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestGolden(t *testing.T) {
	for name, edit := range goldenEdits {
		t.Run(name, func(t *testing.T) {
			f := mustParse(t, name, readFile(t, filepath.Join("testdata", name)))
			edit(t, f)
			got := f.Bytes()
			conftest.Golden(t, name, got)
			f2 := mustParse(t, name, got)
			if diff := cmp.Diff(f.Entries(), f2.Entries()); diff != "" {
				t.Errorf("re-parsed entries differ (-model +reparsed):\n%s", diff)
			}
			comparePygrub(t, got, f2)
		})
	}
}

func TestPygrubAgrees(t *testing.T) {
	for _, p := range inputs {
		b := readFile(t, p)
		comparePygrub(t, b, mustParse(t, p, b))
	}
}

func comparePygrub(t *testing.T, data []byte, f *File) {
	t.Helper()
	r := pygrubtest.Parse(t, "grub2", data)
	var want []pygrubtest.Image
	for _, e := range f.Entries() {
		want = append(want, pygrubtest.Image{Title: e.Title, Kernel: e.Kernel, Args: e.Args, Initrd: strings.Join(e.Initrd, " ")})
	}
	if diff := cmp.Diff(want, r.Images); diff != "" {
		t.Errorf("pygrub sees different entries (-ours +pygrub):\n%s", diff)
	}
	if n, _ := f.DefaultIndex(); n != r.Default {
		t.Errorf("DefaultIndex() = %d, pygrub default = %d", n, r.Default)
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range inputs {
		for _, v := range variants(readFile(f, p)) {
			f.Add(v)
		}
	}
	f.Add([]byte("menuentry 'a' { linux /x; }\nsubmenu \"b\" {\nmenuentry c {\n}\n}\nfunction f { menuentry 'd' {\n}\n}\n"))
	f.Add([]byte("set default='x\\'\n\"unterminated {\n}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Parse("fuzz", data)
		if err != nil {
			var pe *confutil.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse error %v is not a *ParseError", err)
			}
			return
		}
		if got := g.Bytes(); string(got) != string(data) {
			t.Fatalf("Bytes() = %q, want input %q", got, data)
		}
		n := len(g.Entries())
		for i := 0; i < n; i++ {
			_ = g.EditKernelArgs(i, func(c *cmdline.Cmdline) { c.Set("root", "/dev/xvda1"); c.Remove("quiet") })
		}
		if err := g.SetDefault("0"); err != nil {
			t.Fatalf("SetDefault(0) = %v (file %q)", err, g.Bytes())
		}
		if err := g.InsertEntry(FormatEntry(NewEntry{Title: "xen", Kernel: "/vmlinuz", Args: "ro", Initrd: []string{"/initrd"}})); err != nil {
			t.Fatalf("InsertEntry = %v", err)
		}
		g2, err := Parse("fuzz", g.Bytes())
		if err != nil {
			t.Fatalf("re-Parse after edits of %q: %v (file %q)", data, err, g.Bytes())
		}
		if len(g2.Entries()) != n+1 {
			t.Fatalf("after InsertEntry: %d entries, want %d (file %q)", len(g2.Entries()), n+1, g.Bytes())
		}
		if d, ok := g2.Default(); d != "0" || !ok {
			t.Fatalf("after SetDefault(0): Default() = %q, %v (file %q)", d, ok, g.Bytes())
		}
	})
}
