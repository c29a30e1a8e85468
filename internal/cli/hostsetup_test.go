package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xenify/xenify/xerr"
)

func debianHost(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range map[string]string{
		"sys/class/net/eth0/flags": "0x1003\n",
		"etc/network/interfaces":   "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n",
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestHostSetupDiffFirst: without --apply, host-setup prints the diff
// and writes nothing.
func TestHostSetupDiffFirst(t *testing.T) {
	root := debianHost(t)
	out, errOut, code := xenify(t, "host-setup", "bridge", "xenbr0", "--uplink", "eth0", "--root", root)
	if code != 0 || !strings.Contains(out, "+    bridge_ports eth0") || !strings.Contains(out, "-iface eth0 inet dhcp") {
		t.Fatalf("host-setup (no --apply) = %d\n%s%s, want the diff", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/network/interfaces.d")); err == nil {
		t.Errorf("host-setup without --apply wrote interfaces.d")
	}
}

// TestHostSetupRefusesOverSSH: --apply over SSH without a rollback
// timer is refused before anything is written.
func TestHostSetupRefusesOverSSH(t *testing.T) {
	root := debianHost(t)
	t.Setenv("SSH_CONNECTION", "10.0.0.9 50000 10.0.0.1 22")
	_, errOut, code := xenify(t, "host-setup", "bridge", "xenbr0", "--uplink", "eth0", "--root", root, "--apply")
	if code != xerr.ExitRefused || !strings.Contains(errOut, "--confirm-within") {
		t.Fatalf("host-setup --apply over SSH = %d %q, want exit %d naming --confirm-within", code, errOut, xerr.ExitRefused)
	}
	if _, err := os.Stat(filepath.Join(root, "var/lib/xenify")); err == nil {
		t.Errorf("refused host-setup left a journal")
	}
}

// TestHostSetupBadInput: hostile bridge names and a missing uplink are
// usage errors.
func TestHostSetupBadInput(t *testing.T) {
	root := debianHost(t)
	for _, args := range [][]string{
		{"bridge", "br0;rm -rf /", "--uplink", "eth0"},
		{"bridge", "../x", "--uplink", "eth0"},
		{"bridge", "xenbr0"},
		{"bogus"},
	} {
		_, errOut, code := xenify(t, append(append([]string{"host-setup"}, args...), "--root", root)...)
		if code != xerr.ExitUsage {
			t.Errorf("host-setup %q = %d %q, want exit %d", args, code, errOut, xerr.ExitUsage)
		}
	}
}
