package plan

import (
	"strings"
	"testing"

	"github.com/xenify/xenify/inspect"
)

// TestChooseBoot: --boot auto picks pvgrub where pygrub cannot read the
// filesystem it would boot from (XFS as mkfs.xfs makes it, btrfs), or
// dom0 has no pygrub; pygrub otherwise. An ext4 /boot, which stays a
// filesystem of its own when the root filesystem is one pygrub cannot
// read, saves an XFS or btrfs root from pvgrub.
func TestChooseBoot(t *testing.T) {
	fstab := func(rootType, bootType string) *inspect.Inspection {
		in := &inspect.Inspection{}
		in.Fstab.Entries = append(in.Fstab.Entries, inspect.FstabEntry{Line: 1, Spec: "/dev/sda2", Mount: "/", Type: rootType})
		if bootType != "" {
			in.Fstab.Entries = append(in.Fstab.Entries, inspect.FstabEntry{Line: 2, Spec: "/dev/sda1", Mount: "/boot", Type: bootType})
		}
		return in
	}
	for _, tc := range []struct {
		name, root, boot string
		opts             Options
		want, why        string
	}{
		{"ext4", "ext4", "", Options{}, BootPygrub, "pygrub reads"},
		{"xfs root", "xfs", "", Options{}, BootPvgrub, "XFS"},
		{"btrfs root", "btrfs", "", Options{}, BootPvgrub, "btrfs"},
		{"xfs /boot", "ext4", "xfs", Options{}, BootPvgrub, "/boot (xfs"},
		// Merging /boot into XFS would lose pygrub: /boot stays, and
		// pygrub reads it.
		{"ext4 /boot, xfs root", "xfs", "ext4", Options{}, BootPygrub, "pygrub reads"},
		{"ext4 /boot, btrfs root", "btrfs", "ext4", Options{}, BootPygrub, "pygrub reads"},
		{"ext4 /boot, xfs root, whole disks", "xfs", "ext4", Options{Layout: "disk"}, BootPygrub, "pygrub reads"},
		{"ext4 /boot kept, xfs root", "xfs", "ext4", Options{KeepBoot: true}, BootPygrub, "pygrub reads"},
		{"no pygrub on dom0", "ext4", "", Options{NoPygrub: true}, BootPvgrub, "no pygrub"},
		{"asked for", "xfs", "", Options{Boot: BootPygrub}, BootPygrub, "--boot pygrub"},
	} {
		got, why, err := chooseBoot(fstab(tc.root, tc.boot), tc.opts)
		if err != nil || got != tc.want || !strings.Contains(why, tc.why) {
			t.Errorf("chooseBoot(%s) = %q, %q, %v; want %q with a reason containing %q", tc.name, got, why, err, tc.want, tc.why)
		}
	}
}
