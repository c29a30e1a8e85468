package pygrub

import (
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "configs", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseRealConfigs(t *testing.T) {
	tests := []struct {
		file        string
		kind        Kind
		wantEntries int
		wantDefault int
		wantTitle   string
		wantKernel  string
		wantInitrd  string
		wantArgs    string
	}{
		// Submenu entries are flattened; "0" is the first top-level entry.
		{"debian12.grub.cfg", Grub2, 4, 0, "Debian GNU/Linux", "/boot/vmlinuz-6.1.0-13-amd64", "/boot/initrd.img-6.1.0-13-amd64", "root=UUID=5b1e5a4c-4a53-4f6f-9e7b-0c9a0c3c9f7e ro  quiet"},
		// blscfg is ignored; the only menuentry pygrub sees is the
		// firmware-setup one inside an "if", which has no kernel. The
		// "set default=1" of 08_fallback_counting wins (pygrub ignores
		// "if"), and being out of range it falls back to entry 0.
		{"rocky9.grub.cfg", Grub2, 1, 1, "UEFI Firmware Settings", "", "", ""},
		{"centos4.grub.conf", Grub, 2, 0, "CentOS (2.6.9-103.ELxenU)", "/vmlinuz-2.6.9-103.ELxenU", "/initrd-2.6.9-103.ELxenU.img", "ro root=/dev/VolGroup00/LogVol00 console=xvc0"},
		// DEFAULT old matches LABEL old exactly; initrd= moves out of args.
		{"extlinux.conf", ExtLinux, 4, 1, "old", "/boot/vmlinuz-old", "/boot/initrd-old.img", "root=/dev/xvda1 ro  console=hvc0"},
	}
	for _, tt := range tests {
		c, err := Parse(tt.kind, mustRead(t, tt.file))
		if err != nil {
			t.Errorf("Parse(%s, %s) error %v", tt.kind, tt.file, err)
			continue
		}
		if len(c.Entries) != tt.wantEntries || c.Default != tt.wantDefault {
			t.Errorf("Parse(%s) = %d entries, default %d; want %d, %d", tt.file, len(c.Entries), c.Default, tt.wantEntries, tt.wantDefault)
			continue
		}
		d := c.Default
		if d >= len(c.Entries) {
			d = 0
		}
		e := c.Entries[d]
		got := []string{e.Title, e.Kernel, e.Initrd, e.Args}
		want := []string{tt.wantTitle, tt.wantKernel, tt.wantInitrd, tt.wantArgs}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Parse(%s) default entry mismatch (-want +got):\n%s", tt.file, diff)
		}
	}
}

func TestExtLinuxQuirks(t *testing.T) {
	c, err := ParseExtLinux(string(mustRead(t, "extlinux.conf")))
	if err != nil {
		t.Fatal(err)
	}
	// LINUX/INITRD directives are not understood.
	if e := c.Entries[2]; e.HasKernel || e.HasInitrd {
		t.Errorf("entry %q = kernel %v initrd %v, want neither (LINUX/INITRD unsupported)", e.Title, e.HasKernel, e.HasInitrd)
	}
	// mboot.c32: the second module is the kernel, the third the initrd.
	if e := c.Entries[3]; e.Kernel != "/boot/vmlinuz-new" || e.Initrd != "/boot/initrd-new.img" || e.Args != "root=/dev/sda1" {
		t.Errorf("mboot entry = %+v, want kernel /boot/vmlinuz-new initrd /boot/initrd-new.img args root=/dev/sda1", e)
	}
}

func TestDefaultHandling(t *testing.T) {
	entries := "menuentry 'a' {\nlinux /a\n}\nsubmenu 'S' {\nmenuentry 'b' {\nlinux /b\n}\nmenuentry 'c' {\nlinux /c\n}\n}\n"
	tests := []struct {
		head    string
		want    int
		wantErr bool
	}{
		{`set default="0"`, 0, false},
		{`set default="2"`, 2, false},
		{`set default="1>1"`, 0, false}, // submenu path: int() fails -> 0
		{`set default="${saved_entry}"`, 0, false},
		{`set default=saved`, 0, false},
		{`set default="c"`, 0, false}, // titles are not looked up
		{`set default=" 1 "`, 1, false},
		{`set default=1_0`, 10, false},
		{`set default=-1`, 0, true}, // ValueError: pygrub skips the partition
		{`set default=7`, 7, false},
	}
	for _, tt := range tests {
		c, err := ParseGrub2(tt.head + "\n" + entries)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseGrub2(%q) error = %v, want error %v", tt.head, err, tt.wantErr)
			continue
		}
		if err == nil && c.Default != tt.want {
			t.Errorf("ParseGrub2(%q).Default = %d, want %d", tt.head, c.Default, tt.want)
		}
	}
}

// trickyConfigs exercise the corners of pygrub's parsers.
var trickyConfigs = []struct {
	kind Kind
	text string
}{
	{Grub, "default saved\ntitle A\nkernel /a\ntitle B\nkernel /b\n"},
	{Grub, "default=1\ntitle A\nroot (hd0,0)\nkernel (hd0,0)/vmlinuz ro\tquiet\ninitrd (hd0,0)/initrd\ntitle B\n"},
	{Grub, "title A\nkernel /vmlinuz\tro quiet\ntitle B\nkernel=/x a=b\ntitleC\n"},
	{Grub, "title A\nroot (hd0,1,a)\nkernel /a\n"},
	{Grub, "title A\nroot (hdX,1)\nkernel /a\n"},
	{Grub, "title A\nkernel (hd0,0/a\n"},
	{Grub, "splashimage=(hd0,0/grub/splash.xpm.gz\ntitle A\nkernel /a\n"},
	{Grub, "default -1\ntitle A\nkernel /a\n"},
	{Grub, "default = 1\ntitle A\nkernel /a\ntitle B\nkernel /b\n"},
	{Grub, "title   \u00e9t\u00e9  \nroot (/dev/xvda,msdos2)\nkernel /a\n"},
	{Grub, "password --md5 $1$x\ntitle A\nrootnoverify (hd0)\nkernel /a\nchainloader +1\n"},
	{Grub, "default \u0661\ntitle A\nkernel /a\ntitle B\nkernel /b\n"},
	{Grub, "\x1ctitle A\x1f\nkernel /a\n"},
	{Grub2, "set default=1\nmenuentry \"x\" {\nlinux /x\n}\nmenuentry 'y' --id y {\n  linux16 /y a b\n  initrd16 /i1 /i2\n}\n"},
	{Grub2, "menuentry 'a' {\nmenuentry 'b' {\n}\n}\n"},
	{Grub2, "}\n"},
	{Grub2, "menuentry 'a' {\nlinux /a\n"},
	{Grub2, "set\nmenuentry 'a' {\nlinux /a\n}\n"},
	{Grub2, "set a=b=c\n"},
	{Grub2, "menuentry 'a' {\nset root=''\nlinux /a\n}\n"},
	{Grub2, "menuentry 'a' {\nset root='lvmid/abc/def'\nlinux /a\n}\n"},
	{Grub2, "menuentry 'a' {\nset root='hd0,gpt2'\nlinux /a\ninitrd /i\n}\n"},
	{Grub2, "menuentry 'a' {\nlinuxefi /a\ninitrdefi /i\n}\n"},
	{Grub2, "menuentry 'it's' {\nlinux /a\n}\nmenuentry \"q\" x{\nlinux\n}\n"},
	{Grub2, "function f {\nmenuentry 'hidden' {\n}\nmenuentry 'a' {\nlinux /a\n}\n"},
	{Grub2, "set default='Advanced>Debian, with Linux'\nmenuentry 'a' {\nlinux /a\n}\n"},
	{Grub2, "set default=\"'1'\"\nset timeout=${saved_entry}\nmenuentry 'a' {\nlinux /a\n}\n"},
	{Grub2, "menuentry 'a'{\nlinux /a\n}\n"},
	{Grub2, "set default=99999999999999999999999\nmenuentry 'a' {\nlinux /a\n}\n"},
	{Grub2, "set default=" + strings.Repeat("1", 4301) + "\nmenuentry 'a' {\nlinux /a\n}\n"},
	{Grub2, "submenu 'x' {\n}\n}\n"},
	{ExtLinux, "default b\nlabel a\nkernel /a\nappend initrd=/i root=/dev/x\nlabel b\nappend root=y\nkernel /b\n"},
	{ExtLinux, "DEFAULT \"a\"\nLABEL \"a\"\nKERNEL \"/a b\"\nAPPEND INITRD=/i initrd=/j,/k quiet initrd=/l\n"},
	{ExtLinux, "labelx\nkernel /x\nlabel\nkernel /y mem=1G\nappend\n"},
	{ExtLinux, "label a\nkernel /boot/mboot.c32\nappend xen --- k\n"},
	{ExtLinux, "label a\nkernel /boot/mboot.c32\nappend a --- b --- c --- d\n"},
	{ExtLinux, "label a\nkernel mboot.c32\nappend  --- /k x=1 --- \n"},
	{ExtLinux, "default a\n\u212aERNEL /x\nlabel a\n\u212aernel /k\nappend initrd=/i\n"},
	{ExtLinux, "label \u0130x\nkernel /k\n"},
}

func TestParsersMatchPygrub(t *testing.T) {
	o := startOracle(t)
	for _, name := range []string{"debian12.grub.cfg", "rocky9.grub.cfg", "centos4.grub.conf", "extlinux.conf"} {
		kind := Grub2
		switch {
		case strings.HasSuffix(name, ".conf") && strings.HasPrefix(name, "centos"):
			kind = Grub
		case strings.HasPrefix(name, "extlinux"):
			kind = ExtLinux
		}
		compareWithOracle(t, o, kind, mustRead(t, name))
	}
	for _, tc := range trickyConfigs {
		compareWithOracle(t, o, tc.kind, []byte(tc.text))
	}
	// Invalid UTF-8 makes pygrub's decode() fail.
	compareWithOracle(t, o, Grub, []byte("title \xff\nkernel /a\n"))
}

func compareWithOracle(t *testing.T, o *oracle, kind Kind, data []byte) {
	t.Helper()
	want := o.parse(t, kind, data)
	got := asOracle(Parse(kind, data))
	want.Err = ""
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse(%s, %q) differs from pygrub (-pygrub +emulation):\n%s", kind, trim(data), diff)
	}
}

func trim(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

// mutate derives a random variant of a config, keeping it line-based.
func mutate(r *rand.Rand, base string) string {
	pieces := []string{" ", "\t", "=", "'", "\"", "{", "}", "(", ")", ",", "\n", "#", "menuentry ", "submenu ",
		"title ", "label ", "kernel ", "linux ", "initrd ", "append ", "initrd=", "set ", "default ", "root ",
		"(hd0,1)", "hd0,msdos1", "saved", "${saved_entry}", "-1", "1>2", "function ", "mboot.c32", "---",
		"\u00a0", "\x1c", "\u3000", "\u0661", "_", "/dev/xvd", "\r", "\\"}
	b := []byte(base)
	for n := r.Intn(6) + 1; n > 0; n-- {
		pos := 0
		if len(b) > 0 {
			pos = r.Intn(len(b) + 1)
		}
		for pos > 0 && pos < len(b) && (b[pos]&0xc0) == 0x80 {
			pos-- // keep UTF-8 intact
		}
		switch r.Intn(3) {
		case 0: // insert a piece
			p := pieces[r.Intn(len(pieces))]
			b = append(b[:pos], append([]byte(p), b[pos:]...)...)
		case 1: // delete a few bytes
			end := pos + r.Intn(8)
			if end > len(b) {
				end = len(b)
			}
			for end < len(b) && (b[end]&0xc0) == 0x80 {
				end++
			}
			b = append(b[:pos], b[end:]...)
		case 2: // duplicate a line
			lines := strings.Split(string(b), "\n")
			i := r.Intn(len(lines))
			lines = append(lines[:i], append([]string{lines[i]}, lines[i:]...)...)
			b = []byte(strings.Join(lines, "\n"))
		}
	}
	return string(b)
}

// TestParsersMatchPygrubRandom compares the parsers with pygrub's on a few
// thousand deterministic random mutations of real and tricky configs.
func TestParsersMatchPygrubRandom(t *testing.T) {
	if testing.Short() {
		t.Skip("slow differential test")
	}
	o := startOracle(t)
	r := rand.New(rand.NewSource(1))
	var bases []struct {
		kind Kind
		text string
	}
	bases = append(bases, trickyConfigs...)
	bases = append(bases,
		struct {
			kind Kind
			text string
		}{Grub2, string(mustRead(t, "debian12.grub.cfg"))},
		struct {
			kind Kind
			text string
		}{Grub, string(mustRead(t, "centos4.grub.conf"))},
		struct {
			kind Kind
			text string
		}{ExtLinux, string(mustRead(t, "extlinux.conf"))})
	fails := 0
	for i := 0; i < 20000 && fails < 10; i++ {
		b := bases[r.Intn(len(bases))]
		text := mutate(r, b.text)
		want := o.parse(t, b.kind, []byte(text))
		got := asOracle(Parse(b.kind, []byte(text)))
		werr := want.Err
		want.Err = ""
		if diff := cmp.Diff(want, got); diff != "" {
			t.Logf("pygrub error: %s", werr)
			fails++
			t.Errorf("Parse(%s, %q) differs from pygrub (-pygrub +emulation):\n%s", b.kind, trim([]byte(text)), diff)
		}
	}
}
