package guest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/xenify/xenify/internal/testenv"
)

// Device nodes in the guest (made with mknod: root) are refused on every
// read path without being opened: no driver is called, /dev/zero's
// endless stream is never read.
func TestIntegrationReadRefusesDeviceNodes(t *testing.T) {
	testenv.RequireRoot(t)
	forEachResolver(t, func(t *testing.T) {
		dir, _ := hostileTree(t)
		must(t, unix.Mknod(filepath.Join(dir, "etc/zero"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 5))))
		must(t, unix.Mknod(filepath.Join(dir, "etc/loop0"), unix.S_IFBLK|0o660, int(unix.Mkdev(7, 0))))
		must(t, os.Symlink("zero", filepath.Join(dir, "etc/modprobe.conf")))
		r, err := Open(dir)
		must(t, err)
		defer r.Close()
		refusedOnEveryPath(t, r, "/etc/zero", "/etc/loop0", "/etc/modprobe.conf")
	})
}

// While guest commands run, the host's /proc is mounted in the guest. A
// guest link to /proc/self/environ must not read xenify's environment on
// any read path: OpenFile and FS().Open skipped the procfs check.
func TestIntegrationReadRefusesProcfs(t *testing.T) {
	testenv.RequireRoot(t)
	dir, _ := hostileTree(t)
	must(t, os.Mkdir(filepath.Join(dir, "proc"), 0o755))
	must(t, unix.Mount("proc", filepath.Join(dir, "proc"), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""))
	defer unix.Unmount(filepath.Join(dir, "proc"), unix.MNT_DETACH)
	must(t, os.Symlink("/proc/self/environ", filepath.Join(dir, "etc/modprobe.conf")))
	r, err := Open(dir)
	must(t, err)
	defer r.Close()
	for name, read := range readPaths {
		if name == "SetMeta" {
			continue
		}
		if err := read(r, "/etc/modprobe.conf"); err == nil || !strings.Contains(err.Error(), "pseudo-file") {
			t.Errorf("%s(/etc/modprobe.conf -> /proc/self/environ) = %v, want a pseudo-file refusal", name, err)
		}
	}
}
