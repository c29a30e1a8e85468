package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xenify/xenify/disk/disktest"
)

func fileHash(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil))
}

// fixtureFiles reads a fixture tree into disktest's file map (links to
// files become files: mke2fs -d is not used here).
func fixtureFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil // dangling or directory link
		}
		rel, _ := filepath.Rel(dir, p)
		files[rel] = string(b)
		return nil
	})
	return files
}

// TestIntegrationConvertCopyTo is the P2V path end to end on a real disk
// image: copy the native disk, convert the copy, leave the source as it
// was.
func TestIntegrationConvertCopyTo(t *testing.T) {
	disktest.RequireRoot(t)
	src := disktest.Build(t, disktest.Spec{
		Size:  96 << 20,
		Label: "dos",
		Parts: []disktest.Part{{Type: "83", Bootable: true, Content: disktest.Ext{
			Type: "ext4", UUID: "3e1a6b9c-2f4d-4c8e-9a7b-5d6e0f1a2b3c",
			Files: fixtureFiles(t, filepath.Join(fixtures, "ubuntu1204")),
		}}},
	}).Path
	before := fileHash(t, src)
	dst := filepath.Join(t.TempDir(), "copy.img")
	cfg := filepath.Join(t.TempDir(), "u.cfg")
	out, errOut, code := xenify(t, "convert", "--copy-to", dst, "--skip-guest-commands", "--hypervisor-caps", hostCaps, "--config-out", cfg, "--name", "precise", src)
	if code != 0 {
		t.Fatalf("convert --copy-to = exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if got := fileHash(t, src); got != before {
		t.Errorf("convert --copy-to changed the source image")
	}
	dom, _ := os.ReadFile(cfg)
	if !strings.Contains(string(dom), "target="+dst) || !strings.Contains(string(dom), "vdev=xvda,") {
		t.Errorf("domain config does not hand the copy to the guest as xvda:\n%s", dom)
	}
	if !strings.Contains(errOut, "verified") {
		t.Errorf("copy summary does not say verified:\n%s", errOut)
	}
	// The copy is a converted guest: a second convert changes nothing,
	// rollback restores it.
	if out, errOut, code := xenify(t, "convert", "--skip-guest-commands", "--hypervisor-caps", hostCaps, "--config-out", cfg, "--name", "precise", dst); code != 0 || !strings.Contains(out, "nothing changed") {
		t.Errorf("second convert of the copy = exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := xenify(t, "rollback", dst); code != 0 {
		t.Errorf("rollback of the copy = exit %d\n%s%s", code, out, errOut)
	}
}

// TestIntegrationBlockDeviceReopen converts a whole block device with
// per-filesystem layout where the virtual names swap the partitions
// (root on sda1 and /boot on sda2 become xvda2 and xvda1, /boot first),
// then rolls back: reopening the converted guest must map its virtual
// names back to the right partitions. --keep-boot keeps /boot as its own
// first device (by default it would be merged into root; see
// source.TestIntegrationBootMerge).
func TestIntegrationBlockDeviceReopen(t *testing.T) {
	disktest.RequireRoot(t)
	all := fixtureFiles(t, filepath.Join(fixtures, "ubuntu1204"))
	rootFiles, bootFiles := map[string]string{}, map[string]string{}
	for p, c := range all {
		if rest, ok := strings.CutPrefix(p, "boot/"); ok {
			// On its own filesystem, /boot's files are named from its root.
			bootFiles[rest] = strings.ReplaceAll(c, "/boot/", "/")
		} else {
			rootFiles[p] = c
		}
	}
	nativeFstab := "/dev/sda1 / ext4 errors=remount-ro 0 1\n/dev/sda2 /boot ext4 defaults 0 2\n"
	rootFiles["etc/fstab"] = nativeFstab
	rootFiles["boot/.mountpoint"] = "" // the directory /boot mounts on
	img := disktest.Build(t, disktest.Spec{
		Size:  160 << 20,
		Label: "dos",
		Parts: []disktest.Part{
			{Type: "83", Size: 96 << 20, Content: disktest.Ext{Type: "ext4", Files: rootFiles}},
			{Type: "83", Content: disktest.Ext{Type: "ext4", Files: bootFiles}},
		},
	}).Path
	st, err := os.Stat(img)
	if err != nil {
		t.Fatal(err)
	}
	dev := disktest.Losetup(t, img, 0, st.Size())
	inspectFstab := func() string {
		out, errOut, code := xenify(t, "inspect", "--json", dev)
		if code != 0 {
			t.Fatalf("inspect %s = exit %d\n%s", dev, code, errOut)
		}
		return out[strings.Index(out, `"fstab"`):strings.Index(out, `"nics"`)]
	}
	before := inspectFstab()
	cfg := filepath.Join(t.TempDir(), "p.cfg")
	out, errOut, code := xenify(t, "convert", "--keep-boot", "--skip-guest-commands", "--hypervisor-caps", hostCaps, "--config-out", cfg, dev)
	if code != 0 {
		t.Fatalf("convert %s = exit %d\n%s%s", dev, code, out, errOut)
	}
	t.Logf("convert:\n%s", out)
	dom, _ := os.ReadFile(cfg)
	if !strings.Contains(string(dom), "vdev=xvda1, access=rw, target="+dev+"p2") {
		t.Errorf("domain config should hand /boot (%sp2) to the guest first as xvda1:\n%s", dev, dom)
	}
	// Reopening the converted guest finds / on partition 1 again.
	if out, errOut, code := xenify(t, "convert", "--keep-boot", "--skip-guest-commands", "--hypervisor-caps", hostCaps, "--config-out", cfg, dev); code != 0 || !strings.Contains(out, "nothing changed") || strings.Contains(errOut, "warning") {
		t.Errorf("second convert = exit %d\n%s%s", code, out, errOut)
	}
	if out, errOut, code := xenify(t, "rollback", dev); code != 0 {
		t.Fatalf("rollback = exit %d\n%s%s", code, out, errOut)
	}
	if after := inspectFstab(); after != before {
		t.Errorf("fstab after rollback =\n%s\nwant\n%s", after, before)
	}
}
