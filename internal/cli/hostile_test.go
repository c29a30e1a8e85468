package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// A FIFO where the debian12 fixture has /etc/fstab: inspect, plan and
// convert used to block in openat2 forever (the test hung). Now each is
// a clean refusal naming the file, and nothing changes.
func TestFIFOInGuestIsRefused(t *testing.T) {
	guest := copyTree(t, filepath.Join(fixtures, "debian12"))
	fstab := filepath.Join(guest, "etc/fstab")
	if err := os.Remove(fstab); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(fstab, 0o644); err != nil {
		t.Fatal(err)
	}
	before := treeState(t, guest)
	for _, args := range [][]string{
		{"inspect", guest},
		{"plan", "--hypervisor-caps", hostCaps, guest},
		{"convert", "--skip-guest-commands", "--hypervisor-caps", hostCaps, "--config-out", filepath.Join(t.TempDir(), "c.cfg"), guest},
	} {
		_, errOut, code := xenify(t, args...)
		if code != 3 || !strings.Contains(errOut, "/etc/fstab") || !strings.Contains(errOut, "FIFO") {
			t.Errorf("xenify %s with /etc/fstab a FIFO = exit %d, %q; want 3 naming /etc/fstab and the FIFO", args[0], code, errOut)
		}
	}
	if diff := cmp.Diff(before, treeState(t, guest)); diff != "" {
		t.Errorf("refused convert changed the guest:\n%s", diff)
	}
}
