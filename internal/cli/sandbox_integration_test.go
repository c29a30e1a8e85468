package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xenify/xenify/internal/testenv"
)

// TestIntegrationConvertHostileMkinitrd converts a CentOS 5 guest whose
// /sbin/mkinitrd is a hostile script: convert runs it as the initrd step,
// and every attempt it makes on the host's disks, processes and kernel
// must fail, while the convert itself goes through.
func TestIntegrationConvertHostileMkinitrd(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTools(t, "losetup", "sleep")
	root := copyTree(t, filepath.Join(fixtures, "centos5-x86_64"))
	testenv.InstallBusybox(t, root)
	const marker = "HOST-DISK-MARKER"
	disk := testenv.HostDisk(t, marker)
	sleep := testenv.HostSleeper(t)
	if err := os.WriteFile(filepath.Join(root, "sbin/mkinitrd"), []byte(testenv.HostileScript(disk, marker, sleep.Process.Pid)), 0o755); err != nil {
		t.Fatal(err)
	}
	// --initrd rebuild: the guest's mkinitrd must run (auto would append).
	out, errOut, code := xenify(t, "convert", "--initrd", "rebuild", "--hypervisor-caps", hostCaps, "--config-out", filepath.Join(t.TempDir(), "c5.cfg"), root)
	// The script builds no initrd, so verify fails after the convert;
	// every step must still have run.
	if code != 0 && !strings.Contains(errOut, "converted, but verify says") {
		t.Fatalf("xenify convert = exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "ready") {
		t.Fatalf("the guest's mkinitrd did not run (no report in its output):\n%s", errOut)
	}
	got := testenv.ParseReport(errOut)
	for _, k := range testenv.HostileAttempts {
		if got[k] != "blocked" {
			t.Errorf("guest mkinitrd attempt %s: %q, want blocked", k, got[k])
		}
	}
	if !testenv.Alive(t, sleep) {
		t.Errorf("host process %d was killed by the guest's mkinitrd", sleep.Process.Pid)
	}
	if h := testenv.ReadHead(t, disk, len(marker)); h != marker {
		t.Errorf("host disk %s starts %q after convert, want %q", disk, h, marker)
	}
}
