package source_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xenify/xenify/disk/disktest"
	"github.com/xenify/xenify/source"
)

// anacondaMDConf is what anaconda (CentOS 6/7) writes for /boot on md0
// and / on md1. The arrays' 1.2 superblocks are named "boot" and "root"
// and carry no preferred minor: only this file says which is md0.
const anacondaMDConf = `# mdadm.conf written out by anaconda
MAILADDR root
AUTO +imsm +1.x -all
ARRAY /dev/md0 level=raid1 num-devices=2 UUID=3a3b0b5e:1d6e4f2a:9c8b7a6d:5e4f3a2b
ARRAY /dev/md1 level=raid1 num-devices=2 UUID=c17e5208:941f4b3d:a6027d11:8e90445f
`

// mdTwoArrays builds one disk of a two-disk RAID1 install: partition 1
// a member of md0 (/boot), partition 2 of md1 (/), both 1.2 metadata,
// with the guest's mdadm.conf naming them by UUID.
func mdTwoArrays(t *testing.T) string {
	t.Helper()
	boot := disktest.MD{Version: "1.2", Name: "boot", UUID: [16]byte{0x3a, 0x3b, 0x0b, 0x5e, 0x1d, 0x6e, 0x4f, 0x2a, 0x9c, 0x8b, 0x7a, 0x6d, 0x5e, 0x4f, 0x3a, 0x2b}}
	root := disktest.MD{Version: "1.2", Name: "root", UUID: [16]byte{0xc1, 0x7e, 0x52, 0x08, 0x94, 0x1f, 0x4b, 0x3d, 0xa6, 0x02, 0x7d, 0x11, 0x8e, 0x90, 0x44, 0x5f}}
	l := disktest.Build(t, disktest.Spec{Size: 140 * mib, Label: "dos", Parts: []disktest.Part{
		{Size: 40 * mib, Type: "fd", Bootable: true, Content: boot},
		{Type: "fd", Content: root},
	}})
	rootDir, bootDir := tree(t, "/dev/md1 / ext3 defaults 1 1\n/dev/md0 /boot ext3 defaults 1 2\n"+fstabTail, true)
	if err := os.WriteFile(filepath.Join(rootDir, "etc/mdadm.conf"), []byte(anacondaMDConf), 0o644); err != nil {
		t.Fatal(err)
	}
	for i, md := range []disktest.MD{boot, root} {
		p := vol(l, i+1)
		_, _, dataOff, dataSize, err := disktest.MDSuperblock(md, p.Size)
		if err != nil {
			t.Fatal(err)
		}
		dir := []string{bootDir, rootDir}[i]
		mkext(t, l.Path, disktest.Volume{Offset: p.Offset + dataOff, Size: dataSize}, "ext3", "", "", dir)
	}
	return l.Path
}

// TestIntegrationMDConfNames: /boot on /dev/md0 is found through the
// guest's mdadm.conf and mounted (so grub.conf is seen, and convert
// would not edit the root filesystem's own hidden /boot); inspect shows
// each fstab line's device, and warns that only half of each mirror was
// given.
func TestIntegrationMDConfNames(t *testing.T) {
	requireDisks(t)
	runDir := privateRunDir(t)
	img := mdTwoArrays(t)
	o, err := source.Open(context.Background(), []string{img}, source.ReadOnly)
	if err != nil {
		t.Fatalf("Open(%s) = %v", img, err)
	}
	if o.Boot == nil || !o.Root.IsFile("/boot/grub/grub.conf") {
		t.Errorf("Open(%s): /boot on /dev/md0 not mounted (Boot %+v); warnings: %q", img, o.Boot, o.Warnings)
	}
	if err := o.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	checkNoLeaks(t, runDir, []string{img})

	code, out, errOut := runCLI(t, "inspect", img)
	if code != 0 {
		t.Fatalf("xenify inspect = %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"Boot loader:  grub-legacy", "= md array 3a3b0b5e:1d6e4f2a:9c8b7a6d:5e4f3a2b on " + img + " partition 1", "= md array c17e5208:941f4b3d:a6027d11:8e90445f on " + img + " partition 2"} {
		if !strings.Contains(out, want) {
			t.Errorf("xenify inspect output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(errOut, "is incomplete: 1 of its 2 members given") != 2 {
		t.Errorf("xenify inspect does not warn about each half mirror:\n%s", errOut)
	}
	checkNoLeaks(t, runDir, []string{img})
}
