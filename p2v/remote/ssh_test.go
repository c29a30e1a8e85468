package remote

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xenify/xenify/run"
)

// TestPreferCiphers: with no Ciphers in the user's configuration, AES-GCM
// goes first and the client's other defaults follow (an old server picks
// one it knows); a configuration that sets Ciphers for the host wins.
func TestPreferCiphers(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	chosen := filepath.Join(dir, "chosen")
	if err := os.WriteFile(plain, []byte("Host oldbox\n  Port 2222\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(chosen, []byte("Host oldbox\n  Ciphers aes256-ctr\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pref := func(cfg string) string {
		c := &Conn{t: Target{Host: "oldbox", Device: "/dev/sda"}, env: os.Environ(),
			opt: Options{ConfigFile: cfg, Runner: run.Exec{}, Logger: slog.New(slog.DiscardHandler)}}
		return c.preferCiphers(context.Background())
	}
	got := strings.Split(pref(plain), ",")
	if got[0] != "aes128-gcm@openssh.com" || !strings.Contains(strings.Join(got, ","), "aes128-ctr") || !strings.Contains(strings.Join(got, ","), "chacha20-poly1305@openssh.com") {
		t.Errorf("ciphers without a configured choice = %q; want aes128-gcm first, aes128-ctr and the other defaults after", got)
	}
	if got := pref(chosen); got != "" {
		t.Errorf("ciphers with Ciphers in the configuration = %q; want none (the configuration wins)", got)
	}
	// The argv passes the preference before the host.
	c := &Conn{t: Target{Host: "oldbox", Device: "/dev/sda"}, ctl: "/x/ctl", ciphers: "aes128-ctr"}
	if a := strings.Join(c.argv("-N"), " "); !strings.Contains(a, "-o Ciphers=aes128-ctr") || !strings.HasSuffix(a, "-N -- oldbox") {
		t.Errorf("argv = %s", a)
	}
}

func TestDigestTools(t *testing.T) {
	for _, tc := range []struct{ have, want []string }{
		{[]string{"md5sum", "sha1sum", "cksum"}, []string{"md5sum", "sha1sum"}},
		{[]string{"sha1sum", "cksum"}, []string{"sha1sum"}},
		// A CRC only where no digest exists.
		{[]string{"cksum"}, []string{"cksum"}},
		{nil, nil},
	} {
		if got := digestTools(tc.have); !slices.Equal(got, tc.want) {
			t.Errorf("digestTools(%q) = %q, want %q", tc.have, got, tc.want)
		}
	}
}

func TestRemoteCPUs(t *testing.T) {
	for in, want := range map[string]int{
		"2\n":  2,
		" 16 ": 16,
		"":     1, // no /proc/cpuinfo
		"0\n":  1, // grep -c found no processor lines
		"x":    1,
	} {
		if got := remoteCPUs(in); got != want {
			t.Errorf("remoteCPUs(%q) = %d, want %d", in, got, want)
		}
	}
}
