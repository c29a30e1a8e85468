package plan

import (
	"strings"
	"testing"

	"github.com/xenify/xenify/inspect"
)

// TestChooseBoot: --boot auto picks pvgrub where pygrub cannot read the
// filesystem it would boot from (XFS as mkfs.xfs makes it, btrfs), or
// dom0 has no pygrub; pygrub otherwise. A kept ext4 /boot saves an XFS
// root from pvgrub.
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
		{"ext4 /boot merged into xfs root", "xfs", "ext4", Options{}, BootPvgrub, "/ (xfs"},
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
