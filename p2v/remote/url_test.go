package remote

import (
	"errors"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	for in, want := range map[string]Target{
		"ssh://oldbox/dev/sda":                       {Host: "oldbox", Device: "/dev/sda"},
		"ssh://root@10.0.0.5:2222/dev/sda":           {User: "root", Host: "10.0.0.5", Port: 2222, Device: "/dev/sda"},
		"ssh://[fe80::1]/dev/mapper/vg-lv":           {Host: "fe80::1", Device: "/dev/mapper/vg-lv"},
		"ssh://a_b@web-1.example.com/dev/cciss/c0d0": {User: "a_b", Host: "web-1.example.com", Device: "/dev/cciss/c0d0"},
	} {
		got, err := ParseURL(in)
		if err != nil || got != want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", in, got, err, want)
		}
		if err == nil && got.String() != in {
			t.Errorf("ParseURL(%q).String() = %q, want it back", in, got.String())
		}
	}
	for _, in := range []string{
		"oldbox:/dev/sda",
		"ssh://oldbox/etc/shadow",
		"ssh://oldbox/dev/../etc/shadow",
		"ssh://oldbox/dev/sda;reboot",
		"ssh://oldbox/dev/sd'a",
		"ssh://oldbox/dev/$(id)",
		"ssh://oldbox/dev/sda b",
		"ssh://-oProxyCommand=x/dev/sda",
		"ssh://-l@oldbox/dev/sda",
		"ssh://root:pw@oldbox/dev/sda",
		"ssh://oldbox:99999/dev/sda",
		"ssh://oldbox/dev/sda?x=1",
		"ssh://oldbox/dev/-rf",
		"ssh://oldbox/dev//sda",
	} {
		if got, err := ParseURL(in); !errors.Is(err, ErrBadURL) {
			t.Errorf("ParseURL(%q) = %+v, %v; want %v", in, got, err, ErrBadURL)
		}
	}
}

func TestPieces(t *testing.T) {
	for _, tc := range []struct {
		off, n int64
		want   string
	}{
		{0, 3 << 20, " 1048576 0 3"},
		{4096, 4096, " 4096 1 1"},
		{1<<20 - 4096, 2<<20 + 4096 + 512, " 512 2040 4105"},
		{4096, 6 << 20, " 4096 1 1536"},
		{1<<20 + 100, 2<<20 + 28, ""}, // unaligned: several pieces
		{512, 1024, " 512 1 2"},
	} {
		var b strings.Builder
		pieces(&b, tc.off, tc.n)
		if tc.want != "" && b.String() != tc.want {
			t.Errorf("pieces(%d, %d) = %q, want %q", tc.off, tc.n, b.String(), tc.want)
		}
		// The pieces cover the range exactly, in order.
		f := strings.Fields(b.String())
		pos, total := tc.off, int64(0)
		for i := 0; i < len(f); i += 3 {
			bs, skip, cnt := atoi(f[i]), atoi(f[i+1]), atoi(f[i+2])
			if bs*skip != pos {
				t.Errorf("pieces(%d, %d): piece at %d, want %d", tc.off, tc.n, bs*skip, pos)
			}
			pos += bs * cnt
			total += bs * cnt
		}
		if total != tc.n {
			t.Errorf("pieces(%d, %d) cover %d bytes", tc.off, tc.n, total)
		}
	}
}

func atoi(s string) int64 {
	var n int64
	for _, c := range s {
		n = n*10 + int64(c-'0')
	}
	return n
}
