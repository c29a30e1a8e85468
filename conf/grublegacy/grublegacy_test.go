package grublegacy

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

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var inputs = []string{"testdata/centos4.conf", "testdata/centos5-xen.conf", "testdata/debian-squeeze.lst"}

func variants(b []byte) [][]byte {
	s := string(b)
	return [][]byte{b, []byte(strings.ReplaceAll(s, "\n", "\r\n")), []byte(strings.TrimSuffix(s, "\n")), []byte(strings.ReplaceAll(s, "\t", "    "))}
}

func TestRoundTrip(t *testing.T) {
	for _, p := range inputs {
		for _, v := range variants(readFile(t, p)) {
			f, err := Parse(p, v)
			if err != nil {
				t.Fatalf("Parse(%s) = %v", p, err)
			}
			if got := f.Bytes(); string(got) != string(v) {
				t.Errorf("Parse(%s).Bytes() differs:\n%s", p, cmp.Diff(string(v), string(got)))
			}
		}
	}
}

func summary(es []Entry) []Entry {
	for i := range es {
		es[i].Commands = nil
	}
	return es
}

func TestEntries(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []Entry
	}{
		{"testdata/centos4.conf", []Entry{
			{Title: "CentOS-4 i386 (2.6.9-42.EL)", Root: "(hd0,0)", Kernel: "/vmlinuz-2.6.9-42.EL", Args: "ro root=/dev/VolGroup00/LogVol00 rhgb quiet", Initrd: "/initrd-2.6.9-42.EL.img", Line: 14, EndLine: 17},
			{Title: "CentOS-4 i386-smp (2.6.9-42.ELsmp)", Root: "(hd0,0)", Kernel: "/vmlinuz-2.6.9-42.ELsmp", Args: "ro root=/dev/VolGroup00/LogVol00 rhgb quiet", Initrd: "/initrd-2.6.9-42.ELsmp.img", Line: 18, EndLine: 21},
		}},
		{"testdata/centos5-xen.conf", []Entry{
			{Title: "CentOS (2.6.18-8.el5xen)", Root: "(hd0,0)", Kernel: "/xen.gz-2.6.18-8.el5", Modules: []Module{
				{Path: "/vmlinuz-2.6.18-8.el5xen", Args: "ro root=/dev/VolGroup00/LogVol00 rhgb quiet"},
				{Path: "/initrd-2.6.18-8.el5xen.img"},
			}, Line: 14, EndLine: 18},
			{Title: "CentOS (2.6.18-8.el5)", Root: "(hd0,0)", Kernel: "/vmlinuz-2.6.18-8.el5", Args: "ro root=/dev/VolGroup00/LogVol00 rhgb quiet", Initrd: "/initrd-2.6.18-8.el5.img", Line: 19, EndLine: 22},
		}},
		{"testdata/debian-squeeze.lst", []Entry{
			{Title: "Debian GNU/Linux, kernel 2.6.32-5-686", Root: "(hd0,0)", Kernel: "/boot/vmlinuz-2.6.32-5-686", Args: "root=UUID=3c9e1f1a-2b7a-4a3e-9f0e-1b2c3d4e5f60 ro quiet", Initrd: "/boot/initrd.img-2.6.32-5-686", Line: 129, EndLine: 133},
			{Title: "Debian GNU/Linux, kernel 2.6.32-5-686 (single-user mode)", Root: "(hd0,0)", Kernel: "/boot/vmlinuz-2.6.32-5-686", Args: "root=UUID=3c9e1f1a-2b7a-4a3e-9f0e-1b2c3d4e5f60 ro single", Initrd: "/boot/initrd.img-2.6.32-5-686", Line: 134, EndLine: 139},
		}},
	} {
		f, err := Parse(tc.file, readFile(t, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, summary(f.Entries())); diff != "" {
			t.Errorf("Parse(%s).Entries() mismatch (-want +got):\n%s", tc.file, diff)
		}
	}
}

func TestGlobals(t *testing.T) {
	f, err := Parse("grub.conf", readFile(t, "testdata/centos4.conf"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Command{
		{"default", "0", 10}, {"timeout", "5", 11}, {"splashimage", "(hd0,0)/grub/splash.xpm.gz", 12}, {"hiddenmenu", "", 13},
	}
	if diff := cmp.Diff(want, f.Globals()); diff != "" {
		t.Errorf("Globals() mismatch (-want +got):\n%s", diff)
	}
}

func TestDefault(t *testing.T) {
	for _, tc := range []struct {
		in      string
		raw     string
		n       int
		numeric bool
	}{
		{"default=1\ntitle a\nkernel /a\ntitle b\nkernel /b\n", "1", 1, true},
		{"default 1\n", "1", 1, true},
		{"  default = 2 \n", "2", 2, true},
		{"default saved\n", "saved", 0, false},
		{"default=1\ndefault=3\n", "3", 3, true},
		{"timeout 5\n", "", 0, false},
		{"title x\ndefault 1\n", "", 0, false}, // inside an entry: not global
		{"default -1\n", "-1", 0, false},
	} {
		f, err := Parse("menu.lst", []byte(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := f.Default()
		n, numeric := f.DefaultIndex()
		if raw != tc.raw || n != tc.n || numeric != tc.numeric {
			t.Errorf("Parse(%q): Default() = %q, DefaultIndex() = %d, %v; want %q, %d, %v", tc.in, raw, n, numeric, tc.raw, tc.n, tc.numeric)
		}
	}
}

func TestSmallEdits(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		edit func(t *testing.T, f *File)
		want string
	}{
		{"set default keeps =", "default=1\r\ntimeout=5\r\n", func(t *testing.T, f *File) { f.SetDefault(0) }, "default=0\r\ntimeout=5\r\n"},
		{"set default drops duplicates", "default 1\ndefault 2\ntitle a\n", func(t *testing.T, f *File) { f.SetDefault(0) }, "default 0\ntitle a\n"},
		{"set default adds in style", "timeout=5\nhiddenmenu\ntitle a\n", func(t *testing.T, f *File) { f.SetDefault(0) }, "timeout=5\nhiddenmenu\ndefault=0\ntitle a\n"},
		{"set default no globals", "# c\ntitle a\n\tkernel /a", func(t *testing.T, f *File) { f.SetDefault(0) }, "# c\ndefault 0\ntitle a\n\tkernel /a"},
		{"set default empty file", "", func(t *testing.T, f *File) { f.SetDefault(0) }, "default 0\n"},
		{"set default no newline", "timeout 5", func(t *testing.T, f *File) { f.SetDefault(1) }, "timeout 5\ndefault 1"},
		{"set flag value", "hiddenmenu\n", func(t *testing.T, f *File) { f.SetGlobal("hiddenmenu", "") }, "hiddenmenu\n"},
		{"set timeout on bare", "timeout\n", func(t *testing.T, f *File) { f.SetGlobal("timeout", "3") }, "timeout 3\n"},
		{"set timeout on bare =", "timeout=\n", func(t *testing.T, f *File) { f.SetGlobal("timeout", "3") }, "timeout=3\n"},
		{"remove globals", "splashimage=(hd0,0)/grub/splash.xpm.gz\nhiddenmenu\ntitle x\nhiddenmenu\n", func(t *testing.T, f *File) {
			if n := f.RemoveGlobal("splashimage") + f.RemoveGlobal("hiddenmenu"); n != 2 {
				t.Errorf("RemoveGlobal(splashimage)+RemoveGlobal(hiddenmenu) = %d, want 2", n)
			}
		}, "title x\nhiddenmenu\n"},
		{"remove last line without newline", "default 0\r\nhiddenmenu", func(t *testing.T, f *File) { f.RemoveGlobal("hiddenmenu") }, "default 0"},
		{"edit args keeps spacing", "title a\n  kernel  /vmlinuz ro   root=/dev/hda1  rhgb quiet \n", func(t *testing.T, f *File) {
			if err := f.EditKernelArgs(0, func(c *cmdline.Cmdline) { c.Set("root", "/dev/xvda1"); c.Remove("rhgb") }); err != nil {
				t.Fatal(err)
			}
		}, "title a\n  kernel  /vmlinuz ro   root=/dev/xvda1  quiet \n"},
		{"edit args adds to bare kernel", "title a\nkernel=(hd0,0)/vmlinuz\n", func(t *testing.T, f *File) {
			if err := f.EditKernelArgs(0, func(c *cmdline.Cmdline) { c.Add("console=xvc0") }); err != nil {
				t.Fatal(err)
			}
		}, "title a\nkernel=(hd0,0)/vmlinuz console=xvc0\n"},
		{"edit args type option", "title a\nkernel --type=linux /vmlinuz ro\n", func(t *testing.T, f *File) {
			if err := f.EditKernelArgs(0, func(c *cmdline.Cmdline) { c.Remove("ro") }); err != nil {
				t.Fatal(err)
			}
			if got := f.Entries()[0].Kernel; got != "/vmlinuz" {
				t.Errorf("Kernel = %q, want /vmlinuz", got)
			}
		}, "title a\nkernel --type=linux /vmlinuz\n"},
		{"insert into empty", "default 0\n", func(t *testing.T, f *File) {
			if err := f.InsertEntry(0, Entry{Title: "x", Kernel: "/vmlinuz", Args: "ro"}); err != nil {
				t.Fatal(err)
			}
		}, "default 0\ntitle x\n\tkernel /vmlinuz ro\n"},
		{"append after last entry", "title a\nkernel /a\n# trailing comment\n", func(t *testing.T, f *File) {
			if err := f.InsertEntry(1, Entry{Title: "b", Root: "(hd0,0)", Kernel: "/b"}); err != nil {
				t.Fatal(err)
			}
		}, "title a\nkernel /a\ntitle b\nroot (hd0,0)\nkernel /b\n# trailing comment\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("grub.conf", []byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(t, f)
			if diff := cmp.Diff(tc.want, string(f.Bytes())); diff != "" {
				t.Errorf("Bytes() after edit of %q mismatch (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestEditErrors(t *testing.T) {
	f, err := Parse("grub.conf", []byte("title a\nroot (hd0,0)\n"))
	if err != nil {
		t.Fatal(err)
	}
	noop := func(*cmdline.Cmdline) {}
	if err := f.EditKernelArgs(0, noop); err == nil || !strings.Contains(err.Error(), "grub.conf:1:") {
		t.Errorf("EditKernelArgs(entry without kernel) = %v, want error naming grub.conf:1", err)
	}
	if err := f.EditKernelArgs(1, noop); err == nil {
		t.Errorf("EditKernelArgs(1) with 1 entry = nil, want error")
	}
	if err := f.EditModuleArgs(0, 0, noop); err == nil {
		t.Errorf("EditModuleArgs(0, 0) without modules = nil, want error")
	}
	if err := f.InsertEntry(2, Entry{Title: "x", Kernel: "/x"}); err == nil {
		t.Errorf("InsertEntry(2) with 1 entry = nil, want error")
	}
	if err := f.InsertEntry(0, Entry{Title: "x\ny", Kernel: "/x"}); err == nil {
		t.Errorf("InsertEntry(title with newline) = nil, want error")
	}
	_, err = Parse("grub.conf", []byte("default 0\ntitle \x00\n"))
	var pe *confutil.ParseError
	if !errors.As(err, &pe) || pe.Line != 2 {
		t.Errorf("Parse(NUL on line 2) error = %v, want *ParseError at line 2", err)
	}
}

func TestMagic(t *testing.T) {
	f, err := Parse("menu.lst", readFile(t, "testdata/debian-squeeze.lst"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ key, want string }{
		{"kopt", "root=UUID=3c9e1f1a-2b7a-4a3e-9f0e-1b2c3d4e5f60 ro"},
		{"xenhopt", ""},
		{"xenkopt", "console=tty0"},
		{"indomU", "detect"},
	} {
		if got, ok := f.Magic(tc.key); got != tc.want || !ok {
			t.Errorf("Magic(%q) = %q, %v, want %q, true", tc.key, got, ok, tc.want)
		}
	}
	if _, ok := f.Magic("kopt_2_6_8"); ok {
		t.Errorf("Magic(kopt_2_6_8) found a documentation (##) line, want not found")
	}
	if err := f.SetMagic("nosuch", "x"); err == nil {
		t.Errorf("SetMagic(nosuch) = nil, want error")
	}
}

// goldenEdits are whole-file conversions as xenify performs them.
var goldenEdits = map[string]func(t *testing.T, f *File){
	"centos4.conf": func(t *testing.T, f *File) {
		f.RemoveGlobal("splashimage")
		f.RemoveGlobal("hiddenmenu")
		check(t, f.InsertEntry(0, Entry{
			Title: "CentOS-4 i386-xenU (2.6.9-42.0.3.ELxenU)", Root: "(hd0,0)",
			Kernel: "/vmlinuz-2.6.9-42.0.3.ELxenU", Args: "ro root=/dev/VolGroup00/LogVol00 console=xvc0",
			Initrd: "/initrd-2.6.9-42.0.3.ELxenU.img",
		}))
		f.SetDefault(0)
		for i := 1; i < len(f.Entries()); i++ {
			check(t, f.EditKernelArgs(i, func(c *cmdline.Cmdline) { c.Remove("rhgb") }))
		}
	},
	"centos5-xen.conf": func(t *testing.T, f *File) {
		dom0 := f.Entries()[0]
		check(t, f.InsertEntry(0, Entry{
			Title: "CentOS domU (2.6.18-8.el5xen)", Root: dom0.Root,
			Kernel: dom0.Modules[0].Path, Args: dom0.Modules[0].Args,
			Initrd: dom0.Modules[1].Path,
		}))
		check(t, f.EditKernelArgs(0, func(c *cmdline.Cmdline) {
			c.Remove("rhgb")
			c.Add("console=xvc0")
		}))
		check(t, f.EditModuleArgs(1, 0, func(c *cmdline.Cmdline) { c.Remove("quiet") }))
		f.SetDefault(0)
		f.SetGlobal("timeout", "1")
		f.RemoveGlobal("splashimage")
	},
	"debian-squeeze.lst": func(t *testing.T, f *File) {
		check(t, f.InsertEntry(0, Entry{
			Title: "Debian GNU/Linux, kernel 2.6.32-5-xen-686", Root: "(hd0,0)",
			Kernel: "/boot/vmlinuz-2.6.32-5-xen-686", Args: "root=/dev/xvda1 ro console=hvc0",
			Initrd: "/boot/initrd.img-2.6.32-5-xen-686",
		}))
		check(t, f.InsertEntry(len(f.Entries()), Entry{Title: "last", Kernel: "/boot/vmlinuz"}))
		check(t, f.SetMagic("kopt", "root=/dev/xvda1 ro"))
		check(t, f.SetMagic("indomU", "true"))
		f.SetGlobal("hiddenmenu", "")
		f.SetDefault(0)
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
			f, err := Parse(name, readFile(t, filepath.Join("testdata", name)))
			if err != nil {
				t.Fatal(err)
			}
			edit(t, f)
			got := f.Bytes()
			conftest.Golden(t, name, got)
			// The rendered file parses back to what the model says.
			f2, err := Parse(name, got)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(f.Entries(), f2.Entries()); diff != "" {
				t.Errorf("re-parsed entries differ (-model +reparsed):\n%s", diff)
			}
			comparePygrub(t, "grub", got, f2)
		})
	}
}

// TestPygrubAgrees checks the unedited inputs against pygrub's parser.
func TestPygrubAgrees(t *testing.T) {
	for _, p := range inputs {
		b := readFile(t, p)
		f, err := Parse(p, b)
		if err != nil {
			t.Fatal(err)
		}
		comparePygrub(t, "grub", b, f)
	}
}

func comparePygrub(t *testing.T, kind string, data []byte, f *File) {
	t.Helper()
	r := pygrubtest.Parse(t, kind, data)
	var want []pygrubtest.Image
	for _, e := range f.Entries() {
		want = append(want, pygrubtest.Image{Title: e.Title, Kernel: e.Kernel, Args: e.Args, Initrd: e.Initrd})
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
	f.Add([]byte("title\ntitle=\n=\ndefault=\nkernel --x\n\tkernel\t--\n"))
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
			_ = g.EditKernelArgs(i, func(c *cmdline.Cmdline) { c.Set("root", "/dev/xvda1"); c.Remove("rhgb") })
		}
		g.SetDefault(0)
		g.RemoveGlobal("hiddenmenu")
		if err := g.InsertEntry(0, Entry{Title: "xen", Root: "(hd0,0)", Kernel: "/vmlinuz", Args: "ro", Initrd: "/initrd"}); err != nil {
			t.Fatalf("InsertEntry(0) = %v", err)
		}
		g2, err := Parse("fuzz", g.Bytes())
		if err != nil {
			t.Fatalf("re-Parse after edits: %v", err)
		}
		es := g2.Entries()
		if len(es) != n+1 || es[0].Title != "xen" || es[0].Kernel != "/vmlinuz" || es[0].Initrd != "/initrd" {
			t.Fatalf("after InsertEntry(0) on %q: entries = %+v (file %q)", data, es, g.Bytes())
		}
		if d, ok := g2.DefaultIndex(); d != 0 || !ok {
			t.Fatalf("after SetDefault(0): DefaultIndex() = %d, %v (file %q)", d, ok, g.Bytes())
		}
	})
}
