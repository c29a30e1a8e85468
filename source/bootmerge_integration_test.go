package source_test

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xenify/xenify/disk/disktest"
	"github.com/xenify/xenify/internal/testenv"
	"github.com/xenify/xenify/source"
)

const pygrubBin = "/usr/lib/xen-4.17/bin/pygrub"

// TestIntegrationBootMerge converts the CentOS default layout (/boot on
// partition 1, root and swap as LVs on partition 2), given as a block
// device, with one virtual device per LV: by default the separate /boot
// is copied into the root filesystem. The real pygrub must boot the
// domU kernel from the root LV alone; a second convert changes nothing;
// rollback restores every file of both filesystems, including the root
// filesystem's own (hidden) /boot directory, and both pass e2fsck.
// With --keep-boot, /boot stays the first virtual device instead.
func TestIntegrationBootMerge(t *testing.T) {
	requireDisks(t)
	if _, err := os.Stat(pygrubBin); err != nil {
		testenv.Skipf(t, "skipping: %s not installed (xen-utils-4.17)", pygrubBin)
	}
	c := caseNamed(t, "centos-default-boot-lvm")
	for _, keep := range []bool{false, true} {
		name := "merge"
		if keep {
			name = "keep-boot"
		}
		t.Run(name, func(t *testing.T) {
			runDir := privateRunDir(t)
			img := c.build(t)
			dev := attachWhole(t, img.paths[0])
			orig := listing(t, []string{dev})
			cfg := filepath.Join(t.TempDir(), "c5.cfg")
			args := []string{"convert", "--skip-guest-commands", "--hypervisor-caps", caps, "--config-out", cfg, "--layout", "lv", "--name", "c5"}
			if keep {
				args = append(args, "--keep-boot")
			}
			code, out, errOut := runCLI(t, append(args, dev)...)
			if code != 0 {
				t.Fatalf("xenify %q = %d\nstdout:\n%s\nstderr:\n%s", args, code, out, errOut)
			}
			checkNoLeaks(t, runDir, nil)
			dom := mustRead(t, cfg)
			bootDisk := "vdev=sda1, access=rw, target=" + dev + "p1"
			rootDisk := "vdev=sda1, access=rw, target=/dev/VolGroup00/LogVol00"
			if keep {
				rootDisk = "vdev=sda2, access=rw, target=/dev/VolGroup00/LogVol00"
			}
			if !strings.Contains(dom, rootDisk) || strings.Contains(dom, bootDisk) != keep {
				t.Errorf("domain config (keep-boot %v) wants %q and /boot (%q) only when kept:\n%s", keep, rootDisk, bootDisk, dom)
			}

			// What the guest will see, and what pygrub reads from the
			// first disk.
			o, err := source.Open(context.Background(), []string{dev}, source.ReadOnly)
			if err != nil {
				t.Fatalf("reopening the converted guest: %v", err)
			}
			fstab, _ := o.Root.ReadFile("/etc/fstab")
			grubConf, _ := o.Root.ReadFile("/boot/grub/grub.conf")
			var first *source.Filesystem
			for i, f := range o.Filesystems {
				if f.Mount == map[bool]string{false: "/", true: "/boot"}[keep] {
					first = &o.Filesystems[i]
				}
			}
			if first == nil {
				t.Fatalf("the converted guest has no filesystem for pygrub: %+v", o.Filesystems)
			}
			fsImage := extract(t, first.Backing, first.Offset, first.Size)
			if err := o.Close(); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(fstab), "#LABEL=/boot") == keep {
				t.Errorf("fstab (keep-boot %v):\n%s", keep, fstab)
			}
			wantKernel := "/boot/vmlinuz-2.6.18-8.el5xen"
			if keep {
				wantKernel = "/vmlinuz-2.6.18-8.el5xen"
			}
			if !strings.Contains(string(grubConf), "kernel "+wantKernel+" ") {
				t.Errorf("grub.conf does not boot %s:\n%s", wantKernel, grubConf)
			}
			outDir := t.TempDir()
			pg, err := exec.Command(pygrubBin, "-q", "--output-format=simple", "--output-directory="+outDir, fsImage).CombinedOutput()
			if err != nil {
				t.Fatalf("pygrub on the first disk: %v\n%s", err, pg)
			}
			kernel := ""
			for _, l := range strings.Split(string(pg), "\n") {
				if k, v, _ := strings.Cut(l, " "); k == "kernel" {
					kernel = mustRead(t, v)
				}
			}
			if want := mustRead(t, filepath.Join(fixture, "boot/vmlinuz-2.6.18-8.el5xen")); kernel != want {
				t.Errorf("pygrub on the first disk loaded a %d-byte kernel, want the domU kernel (%d bytes)\n%s", len(kernel), len(want), pg)
			}

			// A second convert changes nothing: at most it lists again an
			// initrd rebuild left to the user (--skip-guest-commands); the
			// identical domain config is neither rewritten nor announced.
			code, out, errOut = runCLI(t, append(args, dev)...)
			checkSecondConvert(t, code, out, errOut)
			code, out, errOut = runCLI(t, "rollback", dev)
			if code != 0 {
				t.Fatalf("xenify rollback = %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			if diff := cmp.Diff(orig, listing(t, []string{dev})); diff != "" {
				t.Errorf("after convert and rollback, files differ (-before +after):\n%s", diff)
			}
			for _, r := range img.exts {
				fsck(t, r)
			}
			checkNoLeaks(t, runDir, nil)
		})
	}
}

// extract copies size bytes at off of a disk into a file of their own:
// what dom0 hands the guest as one virtual device.
func extract(t testing.TB, disk string, off, size int64) string {
	t.Helper()
	in, err := os.Open(disk)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	p := filepath.Join(t.TempDir(), "vdev.img")
	out, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := io.Copy(out, io.NewSectionReader(in, off, size)); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestIntegrationBootMergeDirectory is the classic procedure's own case:
// the sysadmin mounted the native root and its /boot under a directory
// and gives xenify that directory. /boot is a mount point there, so
// xenify binds the root filesystem alone and merges /boot into it; the
// second convert (which finds the user's /boot still mounted) and
// rollback must see the merged /boot, and rollback must restore both
// filesystems.
func TestIntegrationBootMergeDirectory(t *testing.T) {
	requireDisks(t)
	runDir := privateRunDir(t)
	img := bareSplitBoot(t)
	orig := listing(t, img.paths)

	mnt := t.TempDir()
	mounted := []string{}
	unmountAll := func() {
		for i := len(mounted) - 1; i >= 0; i-- {
			disktest.Run(t, nil, "umount", mounted[i])
		}
		mounted = nil
	}
	defer func() {
		for i := len(mounted) - 1; i >= 0; i-- {
			exec.Command("umount", mounted[i]).Run()
		}
	}()
	for i, where := range []string{mnt, filepath.Join(mnt, "boot")} {
		disktest.Run(t, nil, "mount", "-o", "loop", img.paths[i], where)
		mounted = append(mounted, where)
	}

	cfg := filepath.Join(t.TempDir(), "c4.cfg")
	args := []string{"--hypervisor-caps", caps, "--config-out", cfg, "--name", "c4", mnt}
	code, out, errOut := runCLI(t, append([]string{"plan"}, args...)...)
	if code != 0 || !strings.Contains(out, "boot-merge: copy the separate /boot") {
		t.Fatalf("xenify plan = %d, want the /boot merge planned\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	// --initrd rebuild with --skip-guest-commands leaves the rebuild to
	// the user, so verify below finds the initrd not yet fit.
	conv := append([]string{"convert", "--skip-guest-commands", "--initrd", "rebuild"}, args...)
	if code, out, errOut := runCLI(t, conv...); code != 0 {
		t.Fatalf("xenify convert = %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	checkNoLeaks(t, runDir, nil)
	if got := mustRead(t, filepath.Join(mnt, "etc/fstab")); !strings.Contains(got, "#LABEL=/boot") {
		t.Errorf("fstab does not comment out /boot:\n%s", got)
	}
	if strings.Contains(mustRead(t, cfg), "was LABEL=/boot") {
		t.Errorf("domain config hands /boot to the guest:\n%s", mustRead(t, cfg))
	}
	// The user's /boot mount still shows the old filesystem, unchanged.
	if got := mustRead(t, filepath.Join(mnt, "boot/grub/grub.conf")); strings.Contains(got, "Xen domU") {
		t.Errorf("the separate /boot was written:\n%s", got)
	}
	// verify reads the merged /boot, read-only.
	if code, out, errOut := runCLI(t, "verify", "--hypervisor-caps", caps, "--config", cfg, mnt); code != 3 || !strings.Contains(out, "kernel /boot/vmlinuz-2.6.18-8.el5xen") {
		t.Errorf("xenify verify = %d, want 3 (the initrd is not rebuilt yet) and pygrub booting the merged /boot\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	checkNoLeaks(t, runDir, nil)
	code, out, errOut = runCLI(t, conv...)
	checkSecondConvert(t, code, out, errOut)
	if code, out, errOut := runCLI(t, "rollback", mnt); code != 0 {
		t.Fatalf("xenify rollback = %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	checkNoLeaks(t, runDir, nil)
	unmountAll()
	if diff := cmp.Diff(orig, listing(t, img.paths)); diff != "" {
		t.Errorf("after convert and rollback, files differ (-before +after):\n%s", diff)
	}
	for _, r := range img.exts {
		fsck(t, r)
	}
}

// checkSecondConvert fails unless a second convert exited 0 and its only
// steps are initrd rebuilds left to the user (--skip-guest-commands).
func checkSecondConvert(t *testing.T, code int, out, errOut string) {
	t.Helper()
	for _, l := range strings.Split(strings.TrimSpace(errOut), "\n") {
		if code != 0 || l != "" && !(strings.HasPrefix(l, "[") && strings.Contains(l, "] initrd: run ")) {
			t.Errorf("second convert = %d, want no step but a manual initrd rebuild\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			return
		}
	}
}
