package source_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xenify/xenify/disk/disktest"
	"github.com/xenify/xenify/source"
)

// mkbtrfsSubvols makes a btrfs filesystem at v of img as Fedora 33+'s
// installer does: subvolumes "root" and "home" in the top level, filled
// from rootDir and homeDir. It returns the filesystem's UUID.
func mkbtrfsSubvols(t *testing.T, img string, v disktest.Volume, rootDir, homeDir string) string {
	t.Helper()
	dev := strings.TrimSpace(disktest.Run(t, nil, "losetup", "--find", "--show", "--offset", fmt.Sprint(v.Offset), "--sizelimit", fmt.Sprint(v.Size), img))
	defer disktest.Run(t, nil, "losetup", "--detach", dev)
	disktest.Run(t, nil, "mkfs.btrfs", "-q", "-f", "-L", "fedora", dev)
	mnt := t.TempDir()
	disktest.Run(t, nil, "mount", "-t", "btrfs", dev, mnt)
	defer disktest.Run(t, nil, "umount", mnt)
	for sub, from := range map[string]string{"root": rootDir, "home": homeDir} {
		disktest.Run(t, nil, "btrfs", "-q", "subvolume", "create", filepath.Join(mnt, sub))
		disktest.Run(t, nil, "cp", "-a", from+"/.", filepath.Join(mnt, sub))
	}
	return strings.TrimSpace(disktest.Run(t, nil, "blkid", "-o", "value", "-s", "UUID", dev))
}

// TestIntegrationBtrfsSubvolumes: root on subvol=root and /home on
// subvol=home of one btrfs filesystem (Fedora 33+) are both found and
// mounted; the top level alone has no /etc/fstab and was refused with a
// false hint to give more disks.
func TestIntegrationBtrfsSubvolumes(t *testing.T) {
	requireDisks(t)
	disktest.RequireTools(t, "mkfs.btrfs", "btrfs", "blkid", "mount")
	runDir := privateRunDir(t)
	l := disktest.Build(t, disktest.Spec{Size: 200 * mib, Label: "dos", Parts: []disktest.Part{
		{Size: 40 * mib, Type: "83", Bootable: true},
		{Type: "83"},
	}})
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "alice"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "alice/.bashrc"), []byte("# .bashrc\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rootDir, bootDir := tree(t, "", true)
	if err := os.MkdirAll(filepath.Join(rootDir, "home"), 0o755); err != nil {
		t.Fatal(err)
	}
	bootUUID := "6b1d4c2e-0f3a-4e8b-9d7c-5a4b3c2d1e0f"
	mkext(t, l.Path, vol(l, 1), "ext4", "", bootUUID, bootDir)
	// The fstab anaconda writes, once the filesystem UUID is known.
	write := func(uuid string) {
		fstab := "UUID=" + uuid + " /                       btrfs   subvol=root,compress=zstd:1 0 0\n" +
			"UUID=" + bootUUID + " /boot                   ext4    defaults        1 2\n" +
			"UUID=" + uuid + " /home                   btrfs   subvol=home,compress=zstd:1 0 0\n"
		if err := os.WriteFile(filepath.Join(rootDir, "etc/fstab"), []byte(fstab), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fsUUID := mkbtrfsSubvols(t, l.Path, vol(l, 2), rootDir, home)
	// Rewrite fstab inside the root subvolume with the real UUID.
	dev := strings.TrimSpace(disktest.Run(t, nil, "losetup", "--find", "--show", "--offset", fmt.Sprint(vol(l, 2).Offset), "--sizelimit", fmt.Sprint(vol(l, 2).Size), l.Path))
	mnt := t.TempDir()
	disktest.Run(t, nil, "mount", "-o", "subvol=root", dev, mnt)
	rootDir = mnt
	write(fsUUID)
	disktest.Run(t, nil, "umount", mnt)
	disktest.Run(t, nil, "losetup", "--detach", dev)

	o, err := source.Open(context.Background(), []string{l.Path}, source.ReadOnly)
	if err != nil {
		t.Fatalf("Open(%s) = %v", l.Path, err)
	}
	var got []string
	for _, f := range o.Filesystems {
		if f.HostDir != "" {
			got = append(got, f.Mount+" "+f.Where)
		}
	}
	want := []string{
		"/ " + l.Path + " partition 2 (btrfs subvol=root)",
		"/boot " + l.Path + " partition 1",
		"/home " + l.Path + " partition 2 (btrfs subvol=home)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Open(%s) mounted:\n%s\nwant:\n%s\nwarnings: %q", l.Path, strings.Join(got, "\n"), strings.Join(want, "\n"), o.Warnings)
	}
	if !o.Root.IsFile("/etc/redhat-release") || !o.Root.IsFile("/home/alice/.bashrc") || !o.Root.IsFile("/boot/grub/grub.conf") {
		t.Errorf("Open(%s): root, /home or /boot content missing", l.Path)
	}
	if err := o.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	checkNoLeaks(t, runDir, []string{l.Path})

	// --layout lv would merge /boot into the root filesystem; pygrub
	// cannot read btrfs, so /boot stays on ext4 of its own.
	dev = attachWhole(t, l.Path)
	code, out, errOut := runCLI(t, "plan", "--hypervisor-caps", caps, "--layout", "lv", dev)
	if code != 0 || !strings.Contains(out, "/boot stays a filesystem of its own") || !strings.Contains(out, "the root filesystem is btrfs") || strings.Contains(out, "boot-merge") {
		t.Errorf("xenify plan --layout lv (btrfs root, ext4 /boot) = %d, want 0 keeping /boot separate with a warning\n%s\n%s", code, out, errOut)
	}
	// / and /home are one btrfs filesystem: one virtual device.
	if n := strings.Count(out, "target="+dev+"p2'"); n != 1 {
		t.Errorf("xenify plan --layout lv hands the btrfs partition to the guest %d times, want once:\n%s", n, out)
	}
	checkNoLeaks(t, runDir, nil)
}
