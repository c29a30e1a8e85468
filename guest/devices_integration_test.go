package guest

import (
	"errors"
	"os"
	"path/filepath"
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
		for _, p := range []string{"/etc/zero", "/etc/loop0", "/etc/modprobe.conf"} {
			for name, read := range readPaths {
				if err := read(r, p); !errors.Is(err, ErrNotRegular) {
					t.Errorf("%s(%s) = %v, want ErrNotRegular", name, p, err)
				}
			}
		}
	})
}
