package source_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xenify/xenify/disk/disktest"
	"github.com/xenify/xenify/disk/part"
	"github.com/xenify/xenify/source"
	"github.com/xenify/xenify/xerr"
)

// refused opens paths and checks the result is a refusal mentioning want,
// with the images unchanged and nothing left attached.
func refused(t *testing.T, runDir string, paths []string, mode source.Mode, want string) {
	t.Helper()
	before := sums(t, paths)
	o, err := source.Open(context.Background(), paths, mode)
	if err == nil {
		o.Close()
		t.Fatalf("Open(%v) = nil error, want a refusal about %q", paths, want)
	}
	var r *xerr.Refused
	if !errors.As(err, &r) || !strings.Contains(err.Error(), want) {
		t.Errorf("Open(%v) = %v, want *xerr.Refused mentioning %q", paths, err, want)
	}
	if code, _, errOut := runCLI(t, append([]string{"plan", "--hypervisor-caps", caps}, paths...)...); code != xerr.ExitRefused {
		t.Errorf("xenify plan %v = exit %d, want %d (refused)\nstderr:\n%s", paths, code, xerr.ExitRefused, errOut)
	}
	if diff := cmp.Diff(before, sums(t, paths)); diff != "" {
		t.Errorf("refused Open changed the images (-before +after):\n%s", diff)
	}
}

func TestIntegrationRefuseAttachedOrMounted(t *testing.T) {
	requireDisks(t)
	disktest.RequireTools(t, "mount", "umount")
	runDir := privateRunDir(t)
	img := cases[0].build(t)
	p1 := partition(t, img.paths[0], 1)
	dev := strings.TrimSpace(disktest.Run(t, nil, "losetup", "--find", "--show", "--read-only", "--offset", itoa(p1.Start), "--sizelimit", itoa(p1.Size), img.paths[0]))
	defer exec.Command("losetup", "-d", dev).Run()
	refused(t, runDir, img.paths, source.ReadOnly, "is attached as "+dev)

	mnt := t.TempDir()
	disktest.Run(t, nil, "mount", "-o", "ro,noload", dev, mnt)
	defer exec.Command("umount", mnt).Run()
	refused(t, runDir, img.paths, source.ReadWrite, "mounted at "+mnt)
	exec.Command("umount", mnt).Run()
	exec.Command("losetup", "-d", dev).Run()
	checkNoLeaks(t, runDir, img.paths)
}

func TestIntegrationRefuseOtherWriter(t *testing.T) {
	requireDisks(t)
	disktest.RequireTools(t, "sleep")
	runDir := privateRunDir(t)
	img := cases[0].build(t)
	f, err := os.OpenFile(img.paths[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "600")
	cmd.ExtraFiles = []*os.File{f}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	refused(t, runDir, img.paths, source.ReadOnly, "open for writing by process")
	checkNoLeaks(t, runDir, img.paths)
}

func TestIntegrationRefuseMultiSegmentLV(t *testing.T) {
	requireDisks(t)
	runDir := privateRunDir(t)
	l := disktest.Build(t, disktest.Spec{Size: 160 * mib, Label: "dos", Parts: []disktest.Part{
		{Type: "8e", Content: disktest.LVM{VG: "VolGroup00", LVs: []disktest.LV{
			{Name: "LogVol00", Size: 80 * mib},
			{Name: "LogVol02", Size: 8 * mib, ExtendBy: 8 * mib},
			{Name: "LogVol01", Size: 16 * mib, Content: disktest.Swap{}},
		}}},
	}})
	root, _ := tree(t, "/dev/VolGroup00/LogVol00 / ext3 defaults 1 1\n/dev/VolGroup00/LogVol02 /home ext3 defaults 1 2\n"+fstabTail+"/dev/VolGroup00/LogVol01 swap swap defaults 0 0\n", false)
	mkext(t, l.Path, l.Volume(t, "p1/VolGroup00/LogVol00"), "ext3", "", "", root)
	img := copyImage(t, image{paths: []string{l.Path}})
	refused(t, runDir, img.paths, source.ReadOnly, "/etc/fstab:2: /home (/dev/VolGroup00/LogVol02) is on VolGroup00/LogVol02")
	_, err := source.Open(context.Background(), img.paths, source.ReadOnly)
	if err == nil || !strings.Contains(err.Error(), "vgchange -ay VolGroup00") {
		t.Errorf("Open(multi-segment LV) = %v, want the fix to say to activate the VG with device-mapper", err)
	}
	checkNoLeaks(t, runDir, img.paths)
}

func TestIntegrationRefuseCorruptPartitionTable(t *testing.T) {
	requireDisks(t)
	runDir := privateRunDir(t)
	img := cases[0].build(t)
	// Make partition 2 start where partition 1 does: an overlap.
	f, err := os.OpenFile(img.paths[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	mbr := make([]byte, 512)
	if _, err := f.ReadAt(mbr, 0); err != nil {
		t.Fatal(err)
	}
	copy(mbr[446+16+8:446+16+12], mbr[446+8:446+12])
	if _, err := f.WriteAt(mbr, 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	refused(t, runDir, img.paths, source.ReadOnly, "cannot read its partition table")
	checkNoLeaks(t, runDir, img.paths)
}

func TestIntegrationRefuseCorruptLVMMetadata(t *testing.T) {
	requireDisks(t)
	runDir := privateRunDir(t)
	img := caseNamed(t, "centos-default-boot-lvm").build(t)
	data, err := os.ReadFile(img.paths[0])
	if err != nil {
		t.Fatal(err)
	}
	// Damage every copy of the metadata text (the text checksum fails).
	n := bytes.Count(data, []byte("VolGroup00 {"))
	if n == 0 {
		t.Fatal("no LVM metadata text found in the image")
	}
	data = bytes.ReplaceAll(data, []byte("VolGroup00 {"), []byte("VolGroup00 ["))
	if err := os.WriteFile(img.paths[0], data, 0o644); err != nil {
		t.Fatal(err)
	}
	refused(t, runDir, img.paths, source.ReadOnly, "cannot read the LVM physical volume")
	checkNoLeaks(t, runDir, img.paths)
}

// partition returns partition n of an image, read with package part.
func partition(t *testing.T, path string, n int) part.Partition {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	tab, err := part.Read(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	p, ok := tab.Partition(n)
	if !ok {
		t.Fatalf("%s has no partition %d", path, n)
	}
	return p
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
