package bootcode

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xenify/xenify/internal/testenv"
)

// TestIntegrationGrubInstall is the real oracle: grub-install for BIOS
// (grub2-common, grub-pc-bin) onto a loop device of a partitioned image,
// as an installer does, then Inspect on the image file. Before it, the
// same image has a partition table and no boot code.
func TestIntegrationGrubInstall(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTools(t, "grub-install", "sfdisk", "mkfs.ext4", "losetup", "partx")
	img := filepath.Join(t.TempDir(), "disk.img")
	run := func(stdin string, name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v: %s (Debian packages: scripts/install-deps.sh)", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
		return strings.TrimSpace(string(out))
	}
	run("", "truncate", "-s", "64M", img)
	run("label: dos\nstart=2048, type=83, bootable\n", "sfdisk", "-q", img)
	inspect := func() Result {
		f, err := os.Open(img)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		st, _ := f.Stat()
		return Inspect(f, st.Size())
	}
	if r := inspect(); r.OK || r.Loader != "" {
		t.Fatalf("Inspect before grub-install = %+v, want nothing to boot", r)
	}
	dev := run("", "losetup", "--partscan", "--find", "--show", img)
	defer run("", "losetup", "-d", dev)
	_ = exec.Command("partx", "-a", dev).Run() // the kernel's scan may have added it
	defer func() { _ = exec.Command("partx", "-d", dev).Run() }()
	run("", "mkfs.ext4", "-q", dev+"p1")
	mnt := t.TempDir()
	run("", "mount", dev+"p1", mnt)
	mounted := true
	defer func() {
		if mounted {
			run("", "umount", mnt)
		}
	}()
	run("", "grub-install", "--target=i386-pc", "--boot-directory="+filepath.Join(mnt, "boot"), dev)
	run("", "umount", mnt)
	mounted = false
	r := inspect()
	if !r.OK || r.Loader != Grub2 {
		t.Fatalf("Inspect after grub-install = %+v, want GRUB 2 OK", r)
	}
	t.Log(r.Detail)
}
