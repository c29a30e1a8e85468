package bls

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xenify/xenify/conf/cmdline"
)

func testdata(t testing.TB) map[string][]byte {
	t.Helper()
	ps, _ := filepath.Glob("testdata/*.conf")
	if len(ps) == 0 {
		t.Fatal("no testdata")
	}
	m := map[string][]byte{}
	for _, p := range ps {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m[p] = b
	}
	return m
}

func TestRoundTrip(t *testing.T) {
	for p, b := range testdata(t) {
		for _, v := range []string{string(b), strings.ReplaceAll(string(b), "\n", "\r\n"), strings.TrimSuffix(string(b), "\n")} {
			f, _ := Parse(p, []byte(v))
			if got := string(f.Bytes()); got != v {
				t.Errorf("Parse(%s).Bytes() differs:\n%s", p, cmp.Diff(v, got))
			}
		}
	}
}

func TestFields(t *testing.T) {
	b, err := os.ReadFile("testdata/rhel8.conf")
	if err != nil {
		t.Fatal(err)
	}
	f, _ := Parse("rhel8.conf", b)
	got := []any{f.Title(), f.Version(), f.Linux(), f.Initrds(), f.Options(), f.UsesVariables()}
	want := []any{
		"Red Hat Enterprise Linux (4.18.0-513.5.1.el8_9.x86_64) 8.9 (Ootpa)",
		"4.18.0-513.5.1.el8_9.x86_64",
		"/vmlinuz-4.18.0-513.5.1.el8_9.x86_64",
		[]string{"/initramfs-4.18.0-513.5.1.el8_9.x86_64.img", "$tuned_initrd"},
		"$kernelopts $tuned_params",
		true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fields mismatch (-want +got):\n%s", diff)
	}
}

func TestEditOptions(t *testing.T) {
	b, err := os.ReadFile("testdata/rocky9.conf")
	if err != nil {
		t.Fatal(err)
	}
	f, _ := Parse("rocky9.conf", b)
	f.EditOptions(func(c *cmdline.Cmdline) {
		c.Set("root", "/dev/xvda2")
		c.Remove("rhgb")
		c.Add("console=hvc0")
	})
	want := strings.Replace(string(b),
		"options root=/dev/mapper/rl-root ro crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M resume=/dev/mapper/rl-swap rd.lvm.lv=rl/root rd.lvm.lv=rl/swap rhgb quiet",
		"options root=/dev/xvda2 ro crashkernel=1G-4G:192M,4G-64G:256M,64G-:512M resume=/dev/mapper/rl-swap rd.lvm.lv=rl/root rd.lvm.lv=rl/swap quiet console=hvc0", 1)
	if diff := cmp.Diff(want, string(f.Bytes())); diff != "" {
		t.Errorf("Bytes() after EditOptions mismatch (-want +got):\n%s", diff)
	}

	for _, tc := range []struct{ in, want string }{
		{"title x\noptions  ro\noptions quiet\n", "title x\noptions  ro quiet console=hvc0\n"},
		{"title x", "title x\noptions console=hvc0"},
		{"options\tro\r\n", "options\tro console=hvc0\r\n"},
		{"options\r\n", "options console=hvc0\r\n"},
	} {
		f, _ := Parse("x.conf", []byte(tc.in))
		f.EditOptions(func(c *cmdline.Cmdline) { c.Add("console=hvc0") })
		if got := string(f.Bytes()); got != tc.want {
			t.Errorf("EditOptions(Add console=hvc0) on %q = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, b := range testdata(f) {
		f.Add(b, "root=/dev/xvda1 ro")
	}
	f.Add([]byte("options\n  options  a \n#options b"), "")
	f.Fuzz(func(t *testing.T, data []byte, opts string) {
		bf, _ := Parse("fuzz", data)
		if got := bf.Bytes(); string(got) != string(data) {
			t.Fatalf("Bytes() = %q, want input %q", got, data)
		}
		opts = strings.TrimSpace(opts)
		if strings.ContainsAny(opts, "\r\n") {
			return
		}
		bf.SetOptions(opts)
		b2, _ := Parse("fuzz", bf.Bytes())
		if got := b2.Options(); got != strings.TrimRight(opts, " \t") {
			t.Fatalf("after SetOptions(%q) on %q: Options() = %q (file %q)", opts, data, got, bf.Bytes())
		}
	})
}
