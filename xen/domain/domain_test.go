package domain

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func sample() *Config {
	return &Config{
		Name: "web1", Memory: 1024, VCPUs: 2, Bootloader: "pygrub", BootloaderArgs: []string{"-q"},
		Disks: []Disk{
			{Target: "/dev/VolGroup00/LogVol00", Vdev: "sda1", Comment: "root"},
			{Target: "/srv/img/web1.img", File: true, Vdev: "xvdb"},
		},
		Vifs: []Vif{{Bridge: "xenbr0", MAC: "00:0c:29:4f:8e:35"}},
	}
}

// Rendering and parsing back give the same model, in both syntaxes.
func TestRoundTrip(t *testing.T) {
	c := sample()
	for name, text := range map[string]string{"xl": c.XL(), "xm": c.XM()} {
		got, err := Parse(name, []byte(text))
		if err != nil {
			t.Fatalf("Parse(%s) = %v\n%s", name, err, text)
		}
		want := *c
		want.Disks = []Disk{{Target: "/dev/VolGroup00/LogVol00", Vdev: "sda1"}, {Target: "/srv/img/web1.img", File: true, Vdev: "xvdb"}}
		if name == "xm" {
			want.BootloaderArgs = nil
		}
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("Parse(%s rendering) (-want +got):\n%s\n%s", name, diff, text)
		}
	}
}

func TestXMDisks(t *testing.T) {
	want := "disk = [\n    # root\n    'phy:/dev/VolGroup00/LogVol00,sda1,w',\n    'file:/srv/img/web1.img,xvdb,w',\n]\n"
	if got := sample().XM(); !contains(got, want) {
		t.Errorf("XM() =\n%s\nwant it to contain\n%s", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{"name = 'x", "disk = [ 'a'", "= 3", "name 'x'"} {
		if _, err := Parse("bad.cfg", []byte(in)); err == nil {
			t.Errorf("Parse(%q) = nil error", in)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(sample().XL())
	f.Add(sample().XM())
	f.Add("disk=['phy:/dev/x,xvda,w',]\n# c\nmemory=5")
	f.Fuzz(func(t *testing.T, s string) {
		Parse("f.cfg", []byte(s))
	})
}

func contains(s, sub string) bool { return len(s) >= len(sub) && (s == sub || indexOf(s, sub) >= 0) }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// A 32-bit PV guest on a host without 32-bit PV runs under the PV shim.
func TestPVShimRoundTrip(t *testing.T) {
	c := sample()
	c.Type, c.PVShim, c.PVShimPath = "pvh", true, "/opt/xen/xen-shim"
	text := c.XL()
	for _, line := range []string{"type = \"pvh\"\n", "pvshim = 1\n", "pvshim_path = \"/opt/xen/xen-shim\"\n"} {
		if !strings.Contains(text, line) {
			t.Errorf("XL() lacks %q:\n%s", line, text)
		}
	}
	got, err := Parse("xl", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if got.Type != "pvh" || !got.PVShim || got.PVShimPath != "/opt/xen/xen-shim" {
		t.Errorf("Parse() = type %q pvshim %v path %q", got.Type, got.PVShim, got.PVShimPath)
	}
}

func TestVNCRendering(t *testing.T) {
	c := &Config{Name: "g", Memory: 256, VCPUs: 1, Bootloader: "pygrub", VNC: true, VNCListen: "0.0.0.0", VNCPassword: "pw"}
	for _, tc := range []struct{ got, want string }{
		{c.XL(), "vfb = [ 'vnc=1,vnclisten=0.0.0.0,vncpasswd=pw' ]\n"},
		{c.XM(), "vfb = [ 'type=vnc,vnclisten=0.0.0.0,vncpasswd=pw' ]\n"},
	} {
		if !strings.Contains(tc.got, tc.want) {
			t.Errorf("config = %s, want the line %q", tc.got, tc.want)
		}
	}
	back, err := Parse("g.cfg", []byte(c.XL()))
	if err != nil || !back.VNC || back.VNCListen != "0.0.0.0" || back.VNCPassword != "pw" {
		t.Errorf("Parse(XL()) = %+v, %v; want the VNC settings back", back, err)
	}
	hvm := &Config{Name: "h", Type: "hvm", Memory: 256, VCPUs: 1, VNC: true}
	if got := hvm.XL(); !strings.Contains(got, "vnc = 1\nvnclisten = \"127.0.0.1\"\n") || strings.Contains(got, "vfb") {
		t.Errorf("HVM XL() = %s, want vnc = 1 and vnclisten, no vfb", got)
	}
}

// udev names LABEL=/boot's link /dev/disk/by-label/\x2fboot. xl and
// Python both read backslash escapes inside single quotes, so the
// rendering must double the backslash; parsing it back gives the real
// path again, in both syntaxes.
func TestBackslashInTarget(t *testing.T) {
	c := sample()
	c.Disks = []Disk{{Target: `/dev/disk/by-label/\x2fboot`, Vdev: "sda1"}}
	for name, text := range map[string]string{"xl": c.XL(), "xm": c.XM()} {
		if !strings.Contains(text, `by-label/\\x2fboot`) {
			t.Errorf("%s rendering does not escape the backslash:\n%s", name, text)
		}
		got, err := Parse(name, []byte(text))
		if err != nil {
			t.Fatalf("Parse(%s) = %v", name, err)
		}
		if len(got.Disks) != 1 || got.Disks[0].Target != `/dev/disk/by-label/\x2fboot` {
			t.Errorf("Parse(%s) disks = %+v, want the by-label path back", name, got.Disks)
		}
	}
}

// An HVM guest's emulated disk controller: xl's hdtype, written only
// when it is not xl's default (IDE), read back by Parse, and never in
// the xm syntax (xm's qemu-dm emulates IDE only) nor for PV.
func TestHDType(t *testing.T) {
	hvm := &Config{Name: "h", Type: TypeHVM, Memory: 256, VCPUs: 1, HDType: "ahci",
		Disks: []Disk{{Target: "/dev/sda", Vdev: "hda"}}}
	xl := hvm.XL()
	if !strings.Contains(xl, "serial = 'pty'\nboot = 'c'\nhdtype = 'ahci'\n") {
		t.Errorf("XL() = %s, want hdtype = 'ahci' after the HVM settings", xl)
	}
	back, err := Parse("h.cfg", []byte(xl))
	if err != nil || back.HDType != "ahci" {
		t.Errorf("Parse(XL()).HDType = %q, %v; want ahci", back.HDType, err)
	}
	if xm := hvm.XM(); strings.Contains(xm, "hdtype") {
		t.Errorf("XM() = %s, want no hdtype", xm)
	}
	ide := *hvm
	ide.HDType = ""
	if got := ide.XL(); strings.Contains(got, "hdtype") {
		t.Errorf("XL() with IDE = %s, want no hdtype (xl's default)", got)
	}
	pv := sample()
	pv.HDType = "ahci"
	if got := pv.XL(); strings.Contains(got, "hdtype") {
		t.Errorf("PV XL() = %s, want no hdtype", got)
	}
}
