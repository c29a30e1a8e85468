package pvgrub

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xenify/xenify/internal/testenv"
)

// TestIntegrationGrubReads checks Readable against GRUB itself:
// grub-fstest (grub-common) reads a filesystem image with GRUB's own
// drivers. Each filesystem is made with its mkfs defaults (XFS v5 with
// bigtime and inobtcount on Debian 12), given /boot/grub/grub.cfg, and
// GRUB must find that file exactly when Readable says it can. A swap
// area is the negative control.
func TestIntegrationGrubReads(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTools(t, "grub-fstest", "mkfs.ext4", "mkfs.xfs", "mkfs.btrfs", "mkswap", "mount")
	for _, tc := range []struct {
		typ  string
		mkfs []string
	}{
		{"ext4", []string{"mkfs.ext4", "-q", "-F"}},
		{"xfs", []string{"mkfs.xfs", "-q", "-f"}},
		{"btrfs", []string{"mkfs.btrfs", "-q", "-f"}},
		{"swap", []string{"mkswap"}},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			dir := t.TempDir()
			img := filepath.Join(dir, "fs.img")
			if err := os.WriteFile(img, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(img, 320<<20); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(tc.mkfs[0], append(tc.mkfs[1:], img)...).CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", strings.Join(tc.mkfs, " "), err, out)
			}
			if tc.typ != "swap" {
				mnt := filepath.Join(dir, "mnt")
				os.Mkdir(mnt, 0o755)
				if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
					t.Fatalf("mount %s: %v\n%s", img, err, out)
				}
				os.MkdirAll(filepath.Join(mnt, "boot/grub"), 0o755)
				werr := os.WriteFile(filepath.Join(mnt, "boot/grub/grub.cfg"), []byte("set default=0\n"), 0o644)
				if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
					t.Fatalf("umount %s: %v\n%s", mnt, err, out)
				}
				if werr != nil {
					t.Fatal(werr)
				}
			}
			out, err := exec.Command("grub-fstest", img, "cat", "/boot/grub/grub.cfg").CombinedOutput()
			grubReads := err == nil && strings.Contains(string(out), "set default=0")
			if ok, why := Readable(tc.typ); ok != grubReads {
				t.Errorf("Readable(%s) = %v (%q), but grub-fstest %s cat /boot/grub/grub.cfg: %v\n%s", tc.typ, ok, why, tc.typ, err, out)
			}
		})
	}
}

// TestIntegrationEmbeddedMatchesPackage: the embedded configurations in
// testdata are the ones in the installed grub-xen-host images: each image
// carries its config as the grub.cfg member of a tar memdisk.
func TestIntegrationEmbeddedMatchesPackage(t *testing.T) {
	for name, want := range map[string]string{"grub-x86_64-xen": cfgPV64, "grub-i386-xen": cfgPV32, "grub-i386-xen_pvh": cfgPVH} {
		img := "/usr/lib/grub-xen/" + name + ".bin"
		data, err := os.ReadFile(img)
		if err != nil {
			t.Fatalf("%v (install grub-xen-host; scripts/install-deps.sh does)", err)
		}
		got, ok := memdiskConfig(data)
		if !ok {
			t.Fatalf("%s: no grub.cfg member in a tar memdisk", img)
		}
		if got != want {
			t.Errorf("%s embeds\n%s\nwant testdata/%s.cfg:\n%s", img, got, name, want)
		}
	}
}

// memdiskConfig finds the tar header of a member named grub.cfg and
// returns its content.
func memdiskConfig(data []byte) (string, bool) {
	for off := 0; ; {
		i := strings.Index(string(data[off:]), "grub.cfg\x00")
		if i < 0 {
			return "", false
		}
		h := off + i
		off = h + 1
		if h+512 > len(data) || string(data[h+257:h+262]) != "ustar" {
			continue
		}
		var size int
		for _, c := range strings.TrimRight(strings.TrimSpace(string(data[h+124:h+136])), "\x00") {
			size = size*8 + int(c-'0')
		}
		if h+512+size > len(data) {
			return "", false
		}
		return string(data[h+512 : h+512+size]), true
	}
}
