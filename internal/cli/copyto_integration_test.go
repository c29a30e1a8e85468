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
