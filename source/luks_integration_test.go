package source_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xenify/xenify/disk/disktest"
)

// luksFormat formats a LUKS2 volume with the real cryptsetup in a
// scratch file (no device-mapper needed) and copies it into the image
// at v, as the installer's partitioner leaves it. It returns its UUID.
func luksFormat(t *testing.T, img string, v disktest.Volume) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "luks.img")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(f, 18*mib); err != nil {
		t.Fatal(err)
	}
	disktest.Run(t, []byte("secret"), "cryptsetup", "luksFormat", "--batch-mode", "--type", "luks2", "--key-file=-", "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", f)
	hdr, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	disktest.WriteAt(t, img, hdr[:16*mib], v.Offset)
	return strings.TrimSpace(disktest.Run(t, nil, "cryptsetup", "luksUUID", f))
}

// TestIntegrationLUKS: a guest whose root is encrypted is refused (exit
// 3) naming the encrypted partition; one whose /home is encrypted
// (crypttab) is refused naming /home, the crypttab line and the
// partition. Nothing is written to the image.
func TestIntegrationLUKS(t *testing.T) {
	requireDisks(t)
	runDir := privateRunDir(t)

	// Fedora/Ubuntu "encrypt my data": /boot plain, root in LUKS2.
	l := disktest.Build(t, disktest.Spec{Size: 80 * mib, Label: "dos", Parts: []disktest.Part{
		{Size: 40 * mib, Type: "83", Bootable: true},
		{Type: "83"},
	}})
	_, boot := tree(t, "/dev/mapper/luks-x / ext4 defaults 1 1\n", true)
	mkext(t, l.Path, vol(l, 1), "ext3", "", "", boot)
	uuid := luksFormat(t, l.Path, vol(l, 2))
	before := sums(t, []string{l.Path})
	code, out, errOut := runCLI(t, "inspect", l.Path)
	if code != 3 || !strings.Contains(errOut, "the root filesystem is encrypted: "+l.Path+" partition 2 (LUKS2, UUID="+uuid+")") || !strings.Contains(errOut, "cryptsetup open") {
		t.Errorf("xenify inspect (root in LUKS2) = %d, want 3 naming partition 2 as LUKS2 %s and cryptsetup open\n%s\n%s", code, uuid, out, errOut)
	}
	checkNoLeaks(t, runDir, []string{l.Path})
	if got := sums(t, []string{l.Path}); got[0] != before[0] {
		t.Errorf("xenify inspect changed the image")
	}

	// Plain root, /home in LUKS2 opened by crypttab.
	l = disktest.Build(t, disktest.Spec{Size: 100 * mib, Label: "dos", Parts: []disktest.Part{
		{Size: 60 * mib, Type: "83", Bootable: true},
		{Type: "83"},
	}})
	uuid = luksFormat(t, l.Path, vol(l, 2))
	root, _ := tree(t, "/dev/sda1 / ext3 defaults 1 1\n/dev/mapper/luks-"+uuid+" /home ext4 defaults 1 2\n"+fstabTail, false)
	crypttab := "luks-" + uuid + " UUID=" + uuid + " none discard\n"
	if err := os.WriteFile(filepath.Join(root, "etc/crypttab"), []byte(crypttab), 0o600); err != nil {
		t.Fatal(err)
	}
	mkext(t, l.Path, vol(l, 1), "ext3", "", "", root)
	before = sums(t, []string{l.Path})
	code, out, errOut = runCLI(t, "plan", "--hypervisor-caps", caps, l.Path)
	want := "/etc/fstab:2: /home (/dev/mapper/luks-" + uuid + "): it is encrypted: /etc/crypttab line 1 opens luks-" + uuid + " from " + l.Path + " partition 2 (LUKS2, UUID=" + uuid + ")"
	if code != 3 || !strings.Contains(errOut, want) {
		t.Errorf("xenify plan (/home in LUKS2) = %d, want 3 with %q\n%s\n%s", code, want, out, errOut)
	}
	checkNoLeaks(t, runDir, []string{l.Path})
	if got := sums(t, []string{l.Path}); got[0] != before[0] {
		t.Errorf("xenify plan changed the image")
	}
}
