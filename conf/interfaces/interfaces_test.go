package interfaces

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
		"", "\n", "auto lo", "auto lo\r\niface lo inet loopback\r\n", "# c \\\nauto lo\n",
		"iface eth0 inet static\n  address 1.2.3.4 \\\n   \n", "\\", "auto lo \\\r\nauto eth0\r\n",
	)
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct {
		in   string
		line int
		msg  string
	}{
		{"# c\naddress 1.2.3.4\n", 2, `misplaced option "address"`},
		{"iface eth0 inet dhcp\nauto eth0\n  address 1.2.3.4\n", 3, `misplaced option "address"`},
		{"iface eth0 inet static\n  address\n", 2, `option with empty value "address"`},
		{"iface\n", 1, "too few parameters for iface line"},
		{"iface eth0 inet static x\n", 1, "too many parameters for iface line"},
		{"mapping\n", 1, "too few parameters for mapping line"},
		{"auto lo\n\x00\n", 2, "NUL byte: not a text file"},
		{"auto lo\nauto \\\neth0\nfoo bar\n", 4, `misplaced option "foo"`},
		{"auto lo\r\nauto eth0 \\\r\nfoo bar\r\n", 3, `misplaced option "foo"`},
	} {
		_, err := Parse("/etc/network/interfaces", []byte(tt.in))
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != tt.line || pe.Msg != tt.msg || pe.File != "/etc/network/interfaces" {
			t.Errorf("Parse(%q) error = %v, want /etc/network/interfaces:%d: %s", tt.in, err, tt.line, tt.msg)
		}
	}
}

func TestModel(t *testing.T) {
	data, err := os.ReadFile("testdata/debian10-bridge-interfaces")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse("interfaces", data)
	if err != nil {
		t.Fatal(err)
	}
	want := []Iface{
		{Name: "lo", Family: "inet", Method: "loopback", Line: 3},
		{Name: "enp3s0", Family: "inet", Method: "manual", Line: 6, Options: []Option{
			{Name: "hwaddress", Value: "ether 00:0c:29:3a:7b:1c", Line: 7},
		}},
		{Name: "enp3s0:1", Family: "inet", Method: "static", Line: 10, Options: []Option{
			{Name: "address", Value: "10.0.0.2", Line: 11},
			{Name: "netmask", Value: "255.255.255.0", Line: 12},
		}},
		{Name: "br0", Family: "inet", Method: "static", Line: 15, Options: []Option{
			{Name: "address", Value: "192.0.2.10/24", Line: 16},
			{Name: "gateway", Value: "192.0.2.1", Line: 17},
			{Name: "bridge_ports", Value: "enp3s0", Line: 18},
			{Name: "bridge_stp", Value: "off", Line: 19},
			{Name: "pre-up", Value: "/sbin/ip link set dev enp3s0 up         && /sbin/ethtool -K enp3s0 tso off", Line: 20},
		}},
		{Name: "enp3s0.100", Family: "inet", Method: "static", Line: 24, Options: []Option{
			{Name: "address", Value: "198.51.100.2/24", Line: 25},
			{Name: "vlan-raw-device", Value: "enp3s0", Line: 26},
		}},
	}
	if diff := cmp.Diff(want, f.Interfaces()); diff != "" {
		t.Errorf("Interfaces() mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"lo", "enp3s0", "enp3s0:1", "br0", "enp3s0.100"}, f.Auto()); diff != "" {
		t.Errorf("Auto() mismatch (-want +got):\n%s", diff)
	}
	wantMap := []Mapping{{Patterns: []string{"enp4s0"}, Line: 28, Options: []Option{
		{Name: "script", Value: "/usr/local/sbin/map-scheme", Line: 29},
		{Name: "map", Value: "HOME enp4s0-home", Line: 30},
	}}}
	if diff := cmp.Diff(wantMap, f.Mappings()); diff != "" {
		t.Errorf("Mappings() mismatch (-want +got):\n%s", diff)
	}

	d9, err := os.ReadFile("testdata/debian9-interfaces")
	if err != nil {
		t.Fatal(err)
	}
	f = mustParse(t, string(d9))
	if diff := cmp.Diff([]string{"ens33"}, f.Allowed("allow-hotplug")); diff != "" {
		t.Errorf("Allowed(allow-hotplug) mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Source{{Keyword: "source", Paths: []string{"/etc/network/interfaces.d/*"}, Line: 4}}, f.Sources()); diff != "" {
		t.Errorf("Sources() mismatch (-want +got):\n%s", diff)
	}
}

func TestRename(t *testing.T) {
	tests := []struct {
		in, old, new, want string
		n                  int
	}{
		{"allow-hotplug ens33\niface ens33 inet dhcp\n", "ens33", "eth0", "allow-hotplug eth0\niface eth0 inet dhcp\n", 2},
		{"auto  lo ens33\tens330\r\niface ens33 inet6 auto\r\n", "ens33", "eth0", "auto  lo eth0\tens330\r\niface eth0 inet6 auto\r\n", 2},
		{"auto eth0:1\niface eth0:1 inet static\n address 1.2.3.4\n", "eth0", "eth1", "auto eth1:1\niface eth1:1 inet static\n address 1.2.3.4\n", 2},
		{"iface br0 inet dhcp\n bridge_ports eth0 eth1\n up ip link set eth0 up\n", "eth0", "xeth", "iface br0 inet dhcp\n bridge_ports xeth eth1\n up ip link set eth0 up\n", 1},
		{"auto \\\n  ens33\n", "ens33", "eth0", "auto \\\n  eth0\n", 1},
		{"auto ens\\\n33 lo\n", "ens33", "eth0", "auto eth0 lo\n", 1},
		{"mapping eth0 eth1\n script x\n", "eth1", "eth2", "mapping eth0 eth2\n script x\n", 1},
		{"iface eth0 inet dhcp\n address eth0\n", "eth0", "eth1", "iface eth1 inet dhcp\n address eth0\n", 1},
		{"auto lo\n", "eth0", "eth1", "auto lo\n", 0},
	}
	for _, tt := range tests {
		f := mustParse(t, tt.in)
		n, err := f.Rename(tt.old, tt.new)
		if err != nil || n != tt.n {
			t.Errorf("Parse(%q).Rename(%q, %q) = %d, %v, want %d, nil", tt.in, tt.old, tt.new, n, err, tt.n)
		}
		if got := string(f.Bytes()); got != tt.want {
			t.Errorf("Parse(%q).Rename(%q, %q); Bytes() = %q, want %q", tt.in, tt.old, tt.new, got, tt.want)
		}
	}
	f := mustParse(t, "auto eth0\n")
	for _, bad := range [][2]string{{"eth0", ""}, {"eth0", "a b"}, {"", "eth1"}, {"eth0", "#x"}, {"eth0", "a:1"}, {"eth0", "abcdefghijklmnop"}} {
		if _, err := f.Rename(bad[0], bad[1]); !errors.Is(err, ErrInvalid) {
			t.Errorf("Rename(%q, %q) error = %v, want ErrInvalid", bad[0], bad[1], err)
		}
	}
}

func TestMentions(t *testing.T) {
	data, err := os.ReadFile("testdata/debian10-bridge-interfaces")
	if err != nil {
		t.Fatal(err)
	}
	f := mustParse(t, string(data))
	want := []Option{{Name: "pre-up", Value: "/sbin/ip link set dev enp3s0 up         && /sbin/ethtool -K enp3s0 tso off", Line: 20}}
	if diff := cmp.Diff(want, f.Mentions("enp3s0")); diff != "" {
		t.Errorf("Mentions(enp3s0) mismatch (-want +got):\n%s", diff)
	}
	if got := f.Mentions("enp3s"); len(got) != 0 {
		t.Errorf("Mentions(enp3s) = %+v, want none", got)
	}
	// "enp4s0-home" is a logical interface name, not enp4s0.
	if got := f.Mentions("enp4s0"); len(got) != 0 {
		t.Errorf("Mentions(enp4s0) = %+v, want none", got)
	}
	got := mustParse(t, "mapping eth0\n map HOME eth0 x\n").Mentions("eth0")
	if want := []Option{{Name: "map", Value: "HOME eth0 x", Line: 2}}; !cmp.Equal(want, got) {
		t.Errorf("Mentions(eth0) in a mapping = %+v, want %+v", got, want)
	}
}

func TestCommentOutOption(t *testing.T) {
	in := "iface eth0 inet manual\n    hwaddress ether 00:0c:29:3a:7b:1c\n    up true \\\n      && true\niface eth1 inet manual\n    hwaddress ether 00:0c:29:3a:7b:1d"
	f := mustParse(t, in)
	n, err := f.CommentOutOption("eth0", "hwaddress", "MAC changes under Xen")
	if n != 1 || err != nil {
		t.Errorf("CommentOutOption(eth0, hwaddress) = %d, %v, want 1, nil", n, err)
	}
	n, err = f.CommentOutOption("eth0", "up", "")
	if n != 1 || err != nil {
		t.Errorf("CommentOutOption(eth0, up) = %d, %v, want 1, nil", n, err)
	}
	want := "iface eth0 inet manual\n    # xenify: MAC changes under Xen\n    #hwaddress ether 00:0c:29:3a:7b:1c\n    # xenify: disabled\n    #up true \\\n    #&& true\niface eth1 inet manual\n    hwaddress ether 00:0c:29:3a:7b:1d"
	if got := string(f.Bytes()); got != want {
		t.Errorf("after CommentOutOption: %q, want %q", got, want)
	}
	ifs := mustParse(t, want).Interfaces()
	if len(ifs) != 2 || len(ifs[0].Options) != 0 || len(ifs[1].Options) != 1 {
		t.Errorf("Interfaces() after CommentOutOption = %+v", ifs)
	}
}

func TestGolden(t *testing.T) {
	rename := func(old, new string) func(*File) error {
		return func(f *File) error { _, err := f.Rename(old, new); return err }
	}
	tests := []struct {
		file string
		edit func(*File) error
	}{
		{"debian7-interfaces", rename("eth0", "eth0")},
		{"debian9-interfaces", rename("ens33", "eth0")},
		{"ubuntu1204-interfaces", rename("eth0", "eth1")},
		{"debian10-bridge-interfaces", func(f *File) error {
			if _, err := f.CommentOutOption("enp3s0", "hwaddress", "the MAC address changes under Xen"); err != nil {
				return err
			}
			_, err := f.Rename("enp3s0", "eth0")
			return err
		}},
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

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"auto lo\niface lo inet loopback\n", "iface eth0 inet static\n address 1 \\\n 2\r\n", "auto eth0:1 eth0.2\n",
		"mapping eth*\n map x\n", "\\", "iface a b c\n x \\",
	} {
		f.Add(s, "eth0", "eth1")
	}
	if entries, err := os.ReadDir("testdata"); err == nil {
		for _, e := range entries {
			if data, err := os.ReadFile(filepath.Join("testdata", e.Name())); err == nil {
				f.Add(string(data), "enp3s0", "eth0")
			}
		}
	}
	f.Fuzz(func(t *testing.T, data, old, new string) {
		nf, err := Parse("fuzz", []byte(data))
		if err != nil {
			return
		}
		if got := string(nf.Bytes()); got != data {
			t.Fatalf("Parse(%q).Bytes() = %q, want input", data, got)
		}
		before := nf.Interfaces()
		nf.Mappings()
		nf.Sources()
		nf.Auto()
		nf.Mentions(old)
		if _, err := nf.Rename(old, new); err == nil {
			again, err := Parse("fuzz", nf.Bytes())
			if err != nil {
				t.Fatalf("Parse after Rename(%q, %q) of %q: %v", old, new, data, err)
			}
			after := again.Interfaces()
			if len(after) != len(before) {
				t.Fatalf("Rename(%q, %q) changed the number of interfaces: %d -> %d", old, new, len(before), len(after))
			}
			for i := range after {
				if before[i].Name == old && after[i].Name != new {
					t.Fatalf("Rename(%q, %q): iface %d is %q", old, new, i, after[i].Name)
				}
			}
		}
		for _, ifc := range nf.Interfaces() {
			for _, o := range ifc.Options {
				if _, err := nf.CommentOutOption(ifc.Name, o.Name, "x"); err != nil {
					t.Fatalf("CommentOutOption(%q, %q) on %q: %v", ifc.Name, o.Name, nf.Bytes(), err)
				}
			}
		}
	})
}
