package source_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xenify/xenify/source"
)

// blockWant is what convert must produce for one case and layout when
// the images are given as block devices. DEVn in disks stands for the
// loop device of image n.
type blockWant struct {
	specs map[string]string // converted fstab spec by mount point ("swap")
	disks []string          // the domain config's disk lines, in order
}

// blockLayouts are the expected results of each applicable --layout per
// case: the level of the block device stack handed to the guest.
var blockLayouts = map[string]map[string]blockWant{
	"mbr-root-swap": {
		"partition": {map[string]string{"/": "/dev/sda1", "swap": "/dev/sda2"},
			[]string{"vdev=sda1, access=rw, target=DEV0p1", "vdev=sda2, access=rw, target=DEV0p2"}},
	},
	"centos-default-boot-lvm": {
		// LVM stays in the guest: the PV partition is one device, both
		// LVs keep their names; /boot stays first (pygrub cannot read
		// a root inside LVM).
		"partition": {map[string]string{"/": "/dev/VolGroup00/LogVol00", "/boot": "LABEL=/boot", "swap": "/dev/VolGroup00/LogVol01"},
			[]string{"vdev=sda1, access=rw, target=DEV0p1", "vdev=sda2, access=rw, target=DEV0p2"}},
		"raid": {map[string]string{"/": "/dev/VolGroup00/LogVol00", "/boot": "LABEL=/boot", "swap": "/dev/VolGroup00/LogVol01"},
			[]string{"vdev=sda1, access=rw, target=DEV0p1", "vdev=sda2, access=rw, target=DEV0p2"}},
		// All layering on dom0: each LV bare, /boot merged into root.
		"lv": {map[string]string{"/": "/dev/sda1", "swap": "/dev/sda2"},
			[]string{"vdev=sda1, access=rw, target=/dev/VolGroup00/LogVol00", "vdev=sda2, access=rw, target=/dev/VolGroup00/LogVol01"}},
	},
	"gpt-uuid": {
		"partition": {map[string]string{"/": "UUID=0b0a6c1e-7d0e-4c62-9d4b-6f2d8e1b9a10", "swap": "UUID=5f0c2a57-0b5d-4a8e-9d55-3d6a7b1c2e40"},
			[]string{"vdev=sda1, access=rw, target=DEV0p2", "vdev=sda2, access=rw, target=DEV0p3"}},
	},
	"mbr-logical-root": {
		// Root is a plain partition: /boot is merged into it.
		"partition": {map[string]string{"/": "/dev/sda1", "swap": "/dev/sda2"},
			[]string{"vdev=sda1, access=rw, target=DEV0p5", "vdev=sda2, access=rw, target=DEV0p6"}},
	},
	"md-raid1-member": {
		// The guest assembles the array from its member partition.
		"partition": {map[string]string{"/": "/dev/md0", "swap": "/dev/sda2"},
			[]string{"vdev=sda1, access=rw, target=DEV0p1", "vdev=sda2, access=rw, target=DEV0p2"}},
		// dom0 assembles it and hands over the array.
		"raid": {map[string]string{"/": "/dev/sda1", "swap": "/dev/sda2"},
			[]string{"vdev=sda1, access=rw, target=/dev/md0", "vdev=sda2, access=rw, target=DEV0p2"}},
	},
	"two-disks": {
		"partition": {map[string]string{"/": "/dev/sda1", "/srv": "/dev/sda2"},
			[]string{"vdev=sda1, access=rw, target=DEV0p1", "vdev=sda2, access=rw, target=DEV1p1"}},
	},
}

// TestIntegrationBlockLayouts converts every case given as block devices
// (loop devices of its images) with each applicable per-filesystem
// layout, checks the converted fstab and the domain config's disk lines,
// and rolls back: every file of every filesystem (and the root
// filesystem's own /boot) must be restored, and each passes e2fsck.
func TestIntegrationBlockLayouts(t *testing.T) {
	requireDisks(t)
	for _, c := range cases {
		layouts := blockLayouts[c.name]
		if len(layouts) == 0 {
			t.Errorf("case %s has no block-device layouts to test", c.name)
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			runDir := privateRunDir(t)
			img := c.build(t)
			var devs []string
			for _, p := range img.paths {
				devs = append(devs, attachWhole(t, p))
			}
			src := sourceArgs(image{paths: devs})
			orig := listing(t, devs)
			for layout, want := range layouts {
				cfg := filepath.Join(t.TempDir(), "guest.cfg")
				args := append([]string{"convert", "--skip-guest-commands", "--hypervisor-caps", caps, "--config-out", cfg, "--layout", layout}, src...)
				code, out, errOut := runCLI(t, args...)
				if code != 0 {
					t.Fatalf("xenify %q = %d\nstdout:\n%s\nstderr:\n%s", args, code, out, errOut)
				}
				checkNoLeaks(t, runDir, nil)
				checkBlockConverted(t, devs, cfg, layout, want)
				if code, out, errOut := runCLI(t, append([]string{"rollback"}, src...)...); code != 0 {
					t.Fatalf("xenify rollback = %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
				}
				checkNoLeaks(t, runDir, nil)
				if diff := cmp.Diff(orig, listing(t, devs)); diff != "" {
					t.Errorf("after convert --layout %s and rollback, files differ (-before +after):\n%s", layout, diff)
				}
				for _, r := range img.exts {
					fsck(t, r)
				}
			}
		})
	}
}

func checkBlockConverted(t *testing.T, devs []string, cfg, layout string, want blockWant) {
	t.Helper()
	specs, data := convertedFstab(t, devs)
	got := map[string]string{}
	for _, mount := range []string{"/", "/boot", "/srv", "swap"} {
		if spec, ok := specs[mount]; ok {
			got[mount] = spec
		}
	}
	if diff := cmp.Diff(want.specs, got); diff != "" {
		t.Errorf("--layout %s: converted fstab specs (-want +got):\n%s\nfstab:\n%s", layout, diff, data)
	}
	conf := mustRead(t, cfg)
	disks := diskLines(conf)
	var wantDisks []string
	for _, d := range want.disks {
		for i := len(devs) - 1; i >= 0; i-- {
			d = strings.ReplaceAll(d, "DEV"+string(rune('0'+i)), devs[i])
		}
		wantDisks = append(wantDisks, "format=raw, "+d)
	}
	if diff := cmp.Diff(wantDisks, disks); diff != "" {
		t.Errorf("--layout %s: domain config disks (-want +got):\n%s\n%s", layout, diff, conf)
	}
}

// TestIntegrationVGNameClash: with --layout lv, a host volume group with
// the guest's VG name (CentOS calls both VolGroup00) is a warning that
// names the way out; other layouts keep LVM in the guest and need none.
func TestIntegrationVGNameClash(t *testing.T) {
	requireDisks(t)
	privateRunDir(t)
	img := caseNamed(t, "centos-default-boot-lvm").build(t)
	dev := attachWhole(t, img.paths[0])
	o, err := source.Open(context.Background(), []string{dev}, source.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	host := t.TempDir()
	defer source.SetHostLVMDirs([]string{host})()
	if w := o.LayoutWarnings("lv"); len(w) != 0 {
		t.Errorf("LayoutWarnings(lv) without a host VG = %q, want none", w)
	}
	if err := os.Mkdir(filepath.Join(host, "VolGroup00"), 0o755); err != nil {
		t.Fatal(err)
	}
	w := o.LayoutWarnings("lv")
	if len(w) != 1 || !strings.Contains(w[0], "VolGroup00") || !strings.Contains(w[0], "--layout partition") {
		t.Errorf("LayoutWarnings(lv) with a host VolGroup00 = %q, want one warning naming it and --layout partition", w)
	}
	if w := o.LayoutWarnings("partition"); len(w) != 0 {
		t.Errorf("LayoutWarnings(partition) = %q, want none: the guest activates its own VG", w)
	}
}
