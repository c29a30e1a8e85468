package cmdline

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const centos = "ro root=/dev/VolGroup00/LogVol00 rhgb quiet console=tty0 console=ttyS0,115200"

func TestRoundTrip(t *testing.T) {
	for _, s := range []string{
		"",
		"   ",
		centos,
		"  ro\troot=LABEL=/  quiet ",
		`ro init="/bin/sh -x" "dyndbg=file foo.c +p" -- single  x`,
		`unterminated="a b`,
		"a\r\nb",
	} {
		if got := Parse(s).String(); got != s {
			t.Errorf("Parse(%q).String() = %q, want input", s, got)
		}
	}
}

func TestArgs(t *testing.T) {
	c := Parse(`ro root=LABEL=/ init="/bin/sh -x" "dyndbg=a b" -- single`)
	want := []Arg{
		{Key: "ro"},
		{Key: "root", Value: "LABEL=/", HasValue: true},
		{Key: "init", Value: "/bin/sh -x", HasValue: true},
		{Key: "dyndbg", Value: "a b", HasValue: true},
	}
	if diff := cmp.Diff(want, c.Args()); diff != "" {
		t.Errorf("Args() mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"single"}, c.InitArgs()); diff != "" {
		t.Errorf("InitArgs() mismatch (-want +got):\n%s", diff)
	}
}

func TestGet(t *testing.T) {
	c := Parse(centos + " -- console=foo")
	for _, tc := range []struct {
		key    string
		want   string
		wantOK bool
	}{
		{"console", "ttyS0,115200", true},
		{"root", "/dev/VolGroup00/LogVol00", true},
		{"quiet", "", true},
		{"rhgb", "", true},
		{"splash", "", false},
	} {
		got, ok := c.Get(tc.key)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("Get(%q) = %q, %v, want %q, %v", tc.key, got, ok, tc.want, tc.wantOK)
		}
	}
	if diff := cmp.Diff([]string{"tty0", "ttyS0,115200"}, c.GetAll("console")); diff != "" {
		t.Errorf("GetAll(console) mismatch (-want +got):\n%s", diff)
	}
}

func TestEdits(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		edit func(c *Cmdline)
		want string
	}{
		{"set in place keeps spacing", "ro  root=/dev/hda1\tquiet", func(c *Cmdline) { c.Set("root", "/dev/xvda1") }, "ro  root=/dev/xvda1\tquiet"},
		{"set drops later duplicates", centos, func(c *Cmdline) { c.Set("console", "hvc0") }, "ro root=/dev/VolGroup00/LogVol00 rhgb quiet console=hvc0"},
		{"set appends", "ro quiet", func(c *Cmdline) { c.Set("xencons", "tty") }, "ro quiet xencons=tty"},
		{"set appends before --", "ro -- single", func(c *Cmdline) { c.Set("console", "hvc0") }, "ro console=hvc0 -- single"},
		{"set quotes value with space", "ro", func(c *Cmdline) { c.Set("init", "/bin/sh -x") }, `ro init="/bin/sh -x"`},
		{"set on empty", "", func(c *Cmdline) { c.Set("root", "/dev/xvda") }, "root=/dev/xvda"},
		{"setflag", "ro quiet=1", func(c *Cmdline) { c.SetFlag("quiet") }, "ro quiet"},
		{"remove all", centos, func(c *Cmdline) { c.Remove("console") }, "ro root=/dev/VolGroup00/LogVol00 rhgb quiet"},
		{"remove first keeps trailing space", "rhgb quiet ", func(c *Cmdline) { c.Remove("rhgb") }, "quiet "},
		{"remove last", "ro rhgb", func(c *Cmdline) { c.Remove("rhgb") }, "ro"},
		{"remove only", " rhgb ", func(c *Cmdline) { c.Remove("rhgb") }, "  "},
		{"remove ignores init part", "rhgb -- rhgb", func(c *Cmdline) { c.Remove("rhgb") }, "-- rhgb"},
		{"removeif", centos, func(c *Cmdline) {
			c.RemoveIf("console", func(v string) bool { return strings.HasPrefix(v, "ttyS") })
		}, "ro root=/dev/VolGroup00/LogVol00 rhgb quiet console=tty0"},
		{"add absent", "ro", func(c *Cmdline) { c.Add("console=hvc0") }, "ro console=hvc0"},
		{"add present", "ro console=hvc0 quiet", func(c *Cmdline) { c.Add("console=hvc0") }, "ro console=hvc0 quiet"},
		{"add other value", "console=tty0", func(c *Cmdline) { c.Add("console=hvc0") }, "console=tty0 console=hvc0"},
		{"add flag present", "ro quiet", func(c *Cmdline) { c.Add("quiet") }, "ro quiet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Parse(tc.in)
			tc.edit(c)
			if got := c.String(); got != tc.want {
				t.Errorf("after edit of %q: String() = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzCmdline(f *testing.F) {
	for _, s := range []string{centos, "", " ", `a="b c" -- d`, `"x=y`, "a\tb\r\n", "--", "-- --"} {
		f.Add(s, "console", "hvc0")
	}
	f.Fuzz(func(t *testing.T, s, key, val string) {
		c := Parse(s)
		if got := c.String(); got != s {
			t.Fatalf("Parse(%q).String() = %q, want input", s, got)
		}
		c.Remove(key)
		c.Add(key)
		// Set must be visible to Get for simple keys and values.
		if key == "" || key == "--" || strings.ContainsAny(key, "=\" \t\n\r\v\f") || strings.Contains(val, `"`) || strings.Count(s, `"`)%2 == 1 {
			// An unterminated quote swallows everything after it, as in
			// the kernel, so appended arguments are not separate.
			return
		}
		c.Set(key, val)
		if got, ok := Parse(c.String()).Get(key); !ok || got != val {
			t.Fatalf("after Set(%q, %q) on %q: Get = %q, %v; rendered %q", key, val, s, got, ok, c.String())
		}
	})
}

func TestListItems(t *testing.T) {
	c := Parse("ro modprobe.blacklist=a,,b quiet modprobe.blacklist=c")
	if got := c.ListItems("modprobe.blacklist"); !cmp.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("ListItems = %q, want [a b c]", got)
	}
	if c.AddListItem("modprobe.blacklist", "b") || c.String() != "ro modprobe.blacklist=a,,b quiet modprobe.blacklist=c" {
		t.Errorf("AddListItem of a present item changed %q", c)
	}
	if !c.AddListItem("modprobe.blacklist", "ahci") || c.String() != "ro modprobe.blacklist=a,b,c,ahci quiet" {
		t.Errorf("AddListItem(ahci) = %q, want one argument a,b,c,ahci", c)
	}
}
