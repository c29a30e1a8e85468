package source_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xenify/xenify/disk/disktest"
	"github.com/xenify/xenify/source"
	"github.com/xenify/xenify/xerr"
)

// image is a test installation: its SOURCE paths and its ext
// filesystems (for e2fsck).
type image struct {
	paths []string
	exts  []fsRange
}

// caps is the hypervisor the tests plan for (there is none here).
const caps = "xen-3.0-x86_64 xen-3.0-x86_32p"

// imageCase is one disk layout of the same CentOS 5 guest.
type imageCase struct {
	name  string
	build func(t testing.TB) image
	// mounts are the guest mount points xenify must mount (root first).
	mounts []string
	// boot is true when /boot is a separate filesystem.
	boot bool
	// layouts convert is run with; wantSpecs are the converted fstab
	// specs by mount point, wantDisks substrings of the disk lines.
	layouts   []string
	wantSpecs map[string]string
	wantDisks int
}

const fstabTail = `tmpfs                   /dev/shm                tmpfs   defaults        0 0
devpts                  /dev/pts                devpts  gid=5,mode=620  0 0
sysfs                   /sys                    sysfs   defaults        0 0
proc                    /proc                   proc    defaults        0 0
`

var cases = []imageCase{
	{
		name: "mbr-root-swap",
		build: func(t testing.TB) image {
			l := disktest.Build(t, disktest.Spec{Size: 80 * mib, Label: "dos", Parts: []disktest.Part{
				{Size: 60 * mib, Type: "83", Bootable: true},
				{Type: "82", Content: disktest.Swap{}},
			}})
			root, _ := tree(t, "/dev/sda1 / ext3 defaults 1 1\n"+fstabTail+"/dev/sda2 swap swap defaults 0 0\n", false)
			return image{paths: []string{l.Path}, exts: []fsRange{mkext(t, l.Path, vol(l, 1), "ext3", "", "", root)}}
		},
		mounts:    []string{"/"},
		layouts:   []string{"disk"},
		wantSpecs: map[string]string{"/": "/dev/sda1", "swap": "/dev/sda2"},
		wantDisks: 1,
	},
	{
		name: "centos-default-boot-lvm",
		build: func(t testing.TB) image {
			l := disktest.Build(t, disktest.Spec{Size: 200 * mib, Label: "dos", Parts: []disktest.Part{
				{Size: 40 * mib, Type: "83", Bootable: true},
				{Type: "8e", Content: disktest.LVM{VG: "VolGroup00", ExtentSize: 4 * mib, LVs: []disktest.LV{
					{Name: "LogVol00", Size: 100 * mib},
					{Name: "LogVol01", Size: 32 * mib, Content: disktest.Swap{}},
				}}},
			}})
			root, boot := tree(t, mustRead(t, filepath.Join(fixture, "etc/fstab")), true)
			exts := []fsRange{
				mkext(t, l.Path, l.Volume(t, "p2/VolGroup00/LogVol00"), "ext3", "", "", root),
				mkext(t, l.Path, vol(l, 1), "ext3", "/boot", "", boot),
			}
			return copyImage(t, image{paths: []string{l.Path}, exts: exts})
		},
		mounts:    []string{"/", "/boot"},
		boot:      true,
		layouts:   []string{"disk"},
		wantSpecs: map[string]string{"/": "/dev/VolGroup00/LogVol00", "/boot": "LABEL=/boot", "swap": "/dev/VolGroup00/LogVol01"},
		wantDisks: 1,
	},
	{
		name: "gpt-uuid",
		build: func(t testing.TB) image {
			l := disktest.Build(t, disktest.Spec{Size: 100 * mib, Label: "gpt", Parts: []disktest.Part{
				{Size: 1 * mib, Type: "21686148-6449-6E6F-744E-656564454649"},
				{Size: 70 * mib, Type: "L"},
				{Type: "S", Content: disktest.Swap{UUID: "5f0c2a57-0b5d-4a8e-9d55-3d6a7b1c2e40"}},
			}})
			root, _ := tree(t, "UUID=0b0a6c1e-7d0e-4c62-9d4b-6f2d8e1b9a10 / ext4 defaults 1 1\n"+fstabTail+"UUID=5f0c2a57-0b5d-4a8e-9d55-3d6a7b1c2e40 swap swap defaults 0 0\n", false)
			return image{paths: []string{l.Path}, exts: []fsRange{mkext(t, l.Path, vol(l, 2), "ext4", "", "0b0a6c1e-7d0e-4c62-9d4b-6f2d8e1b9a10", root)}}
		},
		mounts:    []string{"/"},
		layouts:   []string{"disk"},
		wantSpecs: map[string]string{"/": "UUID=0b0a6c1e-7d0e-4c62-9d4b-6f2d8e1b9a10", "swap": "UUID=5f0c2a57-0b5d-4a8e-9d55-3d6a7b1c2e40"},
		wantDisks: 1,
	},
	{
		name: "mbr-logical-root",
		build: func(t testing.TB) image {
			l := disktest.Build(t, disktest.Spec{Size: 140 * mib, Label: "dos", Parts: []disktest.Part{
				{Size: 40 * mib, Type: "83", Bootable: true},
				{Type: "5"},
				{Number: 5, Size: 70 * mib, Type: "83"},
				{Number: 6, Type: "82", Content: disktest.Swap{}},
			}})
			root, boot := tree(t, "/dev/hda5 / ext3 defaults 1 1\n/dev/hda1 /boot ext3 defaults 1 2\n"+fstabTail+"/dev/hda6 swap swap defaults 0 0\n", true)
			return image{paths: []string{l.Path}, exts: []fsRange{
				mkext(t, l.Path, vol(l, 5), "ext3", "", "", root),
				mkext(t, l.Path, vol(l, 1), "ext3", "", "", boot),
			}}
		},
		mounts:    []string{"/", "/boot"},
		boot:      true,
		layouts:   []string{"disk"},
		wantSpecs: map[string]string{"/": "/dev/sda5", "/boot": "/dev/sda1", "swap": "/dev/sda6"},
		wantDisks: 1,
	},
	{
		name: "md-raid1-member",
		build: func(t testing.TB) image {
			l := disktest.Build(t, disktest.Spec{Size: 100 * mib, Label: "dos", Parts: []disktest.Part{
				{Size: 80 * mib, Type: "fd", Content: disktest.MD{Version: "0.90", Role: 0}},
				{Type: "82", Content: disktest.Swap{}},
			}})
			root, _ := tree(t, "/dev/md0 / ext3 defaults 1 1\n"+fstabTail+"/dev/sda2 swap swap defaults 0 0\n", false)
			p1 := vol(l, 1)
			// 0.90: the array data is the member up to its superblock.
			data := disktest.Volume{Offset: p1.Offset, Size: (p1.Size &^ (64*1024 - 1)) - 64*1024}
			return image{paths: []string{l.Path}, exts: []fsRange{mkext(t, l.Path, data, "ext3", "", "", root)}}
		},
		mounts:    []string{"/"},
		layouts:   []string{"disk"},
		wantSpecs: map[string]string{"/": "/dev/md0", "swap": "/dev/sda2"},
		wantDisks: 1,
	},
	{
		name: "two-disks",
		build: func(t testing.TB) image {
			a := disktest.Build(t, disktest.Spec{Size: 80 * mib, Label: "dos", Parts: []disktest.Part{{Type: "83", Bootable: true}}})
			b := disktest.Build(t, disktest.Spec{Size: 40 * mib, Label: "dos", Parts: []disktest.Part{{Type: "83"}}})
			root, _ := tree(t, "/dev/sda1 / ext3 defaults 1 1\n/dev/sdb1 /srv ext3 defaults 1 2\n"+fstabTail, false)
			if err := os.MkdirAll(filepath.Join(root, "srv"), 0o755); err != nil {
				t.Fatal(err)
			}
			srv := t.TempDir()
			if err := os.WriteFile(filepath.Join(srv, "index.html"), []byte("<h1>srv</h1>\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			return image{paths: []string{a.Path, b.Path}, exts: []fsRange{
				mkext(t, a.Path, vol(a, 1), "ext3", "", "", root),
				mkext(t, b.Path, vol(b, 1), "ext3", "", "", srv),
			}}
		},
		mounts:    []string{"/", "/srv"},
		layouts:   []string{"disk"},
		wantSpecs: map[string]string{"/": "/dev/sda1", "/srv": "/dev/sdb1"},
		wantDisks: 2,
	},
}

func vol(l *disktest.Layout, n int) disktest.Volume {
	for _, p := range l.Parts {
		if p.Number == n {
			return disktest.Volume{Offset: p.Start, Size: p.Size}
		}
	}
	panic("no partition")
}

func mustRead(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sourceArgs turns an image's paths into SOURCE plus --disk flags.
func sourceArgs(img image) []string {
	args := []string{img.paths[0]}
	for _, p := range img.paths[1:] {
		args = append(args, "--disk", p)
	}
	return args
}

func TestIntegrationOpenImages(t *testing.T) {
	requireDisks(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runDir := privateRunDir(t)
			img := c.build(t)
			before := sums(t, img.paths)

			o, err := source.Open(context.Background(), img.paths, source.ReadOnly)
			if err != nil {
				t.Fatalf("Open(%v) = %v", img.paths, err)
			}
			var got []string
			for _, f := range o.Filesystems {
				if f.HostDir != "" {
					got = append(got, f.Mount)
				}
			}
			if diff := cmp.Diff(c.mounts, got); diff != "" {
				t.Errorf("Open(%v) mounted (-want +got):\n%s\nwarnings: %q", img.paths, diff, o.Warnings)
			}
			if !o.Root.IsFile("/etc/redhat-release") {
				t.Errorf("Open(%v).Root has no /etc/redhat-release", img.paths)
			}
			if (o.Boot != nil) != c.boot {
				t.Errorf("Open(%v).Boot = %+v, want separate /boot %v", img.paths, o.Boot, c.boot)
			}
			if c.boot {
				if !o.Root.IsFile("/boot/grub/grub.conf") {
					t.Errorf("Open(%v).Root: /boot/grub/grub.conf missing: /boot not mounted", img.paths)
				}
				if o.RootOnly.Exists("/boot/grub") {
					t.Errorf("Open(%v).RootOnly shows /boot/grub, want the root filesystem's own empty /boot", img.paths)
				}
			}
			if o.RootFree <= 0 || o.RootFree > o.RootSize {
				t.Errorf("Open(%v).RootFree = %d of %d", img.paths, o.RootFree, o.RootSize)
			}
			if err := os.WriteFile(filepath.Join(o.Root.Dir(), "probe"), nil, 0o644); err == nil {
				t.Errorf("writing into a ReadOnly source succeeded")
			}
			if err := o.Close(); err != nil {
				t.Errorf("Close() = %v", err)
			}
			if err := o.Close(); err != nil {
				t.Errorf("second Close() = %v", err)
			}
			checkNoLeaks(t, runDir, img.paths)
			if diff := cmp.Diff(before, sums(t, img.paths)); diff != "" {
				t.Errorf("Open+Close(ReadOnly) changed the images (-before +after):\n%s", diff)
			}
		})
	}
}

func TestIntegrationCLIImages(t *testing.T) {
	requireDisks(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			runDir := privateRunDir(t)
			img := c.build(t)
			src := sourceArgs(img)
			before := sums(t, img.paths)
			orig := listing(t, img.paths)
			checkNoLeaks(t, runDir, img.paths)

			if code, out, errOut := runCLI(t, append([]string{"inspect"}, img.paths...)...); code != 0 || !strings.Contains(out, "CentOS release 5") {
				t.Fatalf("xenify inspect = %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			checkNoLeaks(t, runDir, img.paths)
			cfg := filepath.Join(t.TempDir(), "guest.cfg")
			planArgs := append([]string{"plan", "--hypervisor-caps", caps, "--config-out", cfg, "--layout", "disk"}, src...)
			if code, out, errOut := runCLI(t, planArgs...); code != 0 {
				t.Fatalf("xenify %q = %d\nstdout:\n%s\nstderr:\n%s", planArgs, code, out, errOut)
			}
			checkNoLeaks(t, runDir, img.paths)
			if diff := cmp.Diff(before, sums(t, img.paths)); diff != "" {
				t.Fatalf("inspect and plan changed the images (-before +after):\n%s", diff)
			}

			for _, layout := range c.layouts {
				args := append([]string{"convert", "--skip-guest-commands", "--hypervisor-caps", caps, "--config-out", cfg, "--layout", layout}, src...)
				code, out, errOut := runCLI(t, args...)
				if code != 0 {
					t.Fatalf("xenify %q = %d\nstdout:\n%s\nstderr:\n%s", args, code, out, errOut)
				}
				checkNoLeaks(t, runDir, img.paths)
				checkConverted(t, img, cfg, c)

				code, out, errOut = runCLI(t, append([]string{"rollback"}, img.paths...)...)
				if code != 0 {
					t.Fatalf("xenify rollback = %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
				}
				checkNoLeaks(t, runDir, img.paths)
				if diff := cmp.Diff(orig, listing(t, img.paths)); diff != "" {
					t.Errorf("after convert --layout %s and rollback, files differ (-before +after):\n%s", layout, diff)
				}
				for _, r := range img.exts {
					fsck(t, r)
				}
			}
			checkNoLeaks(t, runDir, img.paths)
		})
	}
}

// checkConverted compares the converted fstab and the domain config's
// disk lines with what the case expects.
func checkConverted(t *testing.T, img image, cfg string, c imageCase) {
	t.Helper()
	specs, data := convertedFstab(t, img.paths)
	got := map[string]string{}
	for mount, spec := range specs {
		if c.wantSpecs[mount] != "" {
			got[mount] = spec
		}
	}
	if diff := cmp.Diff(c.wantSpecs, got); diff != "" {
		t.Errorf("converted fstab specs (-want +got):\n%s\nfstab:\n%s", diff, data)
	}
	conf := mustRead(t, cfg)
	disks := diskLines(conf)
	if len(disks) != c.wantDisks {
		t.Errorf("domain config has %d disk lines, want %d:\n%s", len(disks), c.wantDisks, conf)
	}
	for i, p := range img.paths {
		want := "target=" + p
		if i < len(disks) && !strings.Contains(disks[i], want) {
			t.Errorf("disk line %d = %q, want %s (the whole image)", i, disks[i], want)
		}
	}
}

// convertedFstab opens the converted guest read-only and returns its
// fstab's active entries (spec by mount point) and the whole file.
func convertedFstab(t *testing.T, paths []string) (map[string]string, string) {
	t.Helper()
	o, err := source.Open(context.Background(), paths, source.ReadOnly)
	if err != nil {
		t.Fatalf("Open(%v) after convert = %v", paths, err)
	}
	data, err := o.Root.ReadFile("/etc/fstab")
	o.Close()
	if err != nil {
		t.Fatal(err)
	}
	specs := map[string]string{}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 3 && !strings.HasPrefix(f[0], "#") {
			specs[f[1]] = f[0]
		}
	}
	return specs, string(data)
}

// diskLines are the disk specs of an xl domain config, unquoted.
func diskLines(conf string) []string {
	var disks []string
	for _, l := range strings.Split(conf, "\n") {
		if strings.Contains(l, "target=") {
			disks = append(disks, strings.Trim(strings.TrimSpace(l), "',"))
		}
	}
	return disks
}

// TestIntegrationLayoutPartitionRefusedForImages: a per-filesystem layout
// cannot point a domain config at a partition inside an image file.
func TestIntegrationLayoutPartitionRefusedForImages(t *testing.T) {
	requireDisks(t)
	runDir := privateRunDir(t)
	img := cases[0].build(t)
	before := sums(t, img.paths)
	o, err := source.Open(context.Background(), img.paths, source.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if got := o.DefaultLayout(); got != "disk" {
		t.Errorf("DefaultLayout() = %q, want disk", got)
	}
	_, err = o.HostDisks("partition")
	var r *xerr.Refused
	if !errors.As(err, &r) || !strings.Contains(err.Error(), "--layout disk") {
		t.Errorf("HostDisks(partition) = %v, want a refusal pointing to --layout disk", err)
	}
	o.Close()
	checkNoLeaks(t, runDir, img.paths)
	if diff := cmp.Diff(before, sums(t, img.paths)); diff != "" {
		t.Errorf("image changed (-before +after):\n%s", diff)
	}
}
