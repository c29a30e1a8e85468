package cli

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	rockyKernel  = "5.14.0-362.8.1.el9_3.x86_64"
	fedoraKernel = "6.5.6-300.fc39.x86_64"
)

// fedora39 turns a copy of the Rocky 9 fixture (same installer, BLS,
// dracut, XFS on LVM) into Fedora 39 Server: Fedora's os-release and
// release files, and the kernel renamed to a Fedora one whose
// /boot/config-* (and /lib/modules/VERSION/config) has CONFIG_XEN_PV=y,
// as every Fedora x86_64 kernel has. kernel says what the guest keeps:
// "boot-config" (/boot/config-* and /lib/modules/VERSION/config),
// "modules-config" (only the latter, as when kernel-install's hooks did
// not run), "notes" (no config at all: the image's Xen notes decide; the
// Debian 12 fixture's image, whose notes are a real 6.1 kernel's, stands
// in) or "none" (no kernel at all).
func fedora39(t *testing.T, kernel string) string {
	t.Helper()
	g := copyTree(t, filepath.Join(fixtures, "rocky9"))
	for _, p := range []string{"etc/rocky-release", "etc/redhat-release", "etc/system-release", "etc/os-release", "usr/lib/os-release"} {
		os.Remove(filepath.Join(g, p))
	}
	rel, err := os.ReadFile("testdata/fedora39/fedora-release")
	if err != nil {
		t.Fatal(err)
	}
	osr, err := os.ReadFile("testdata/fedora39/os-release")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile("testdata/fedora39/config-" + fedoraKernel)
	if err != nil {
		t.Fatal(err)
	}
	write := func(p string, data []byte) {
		if err := os.WriteFile(filepath.Join(g, p), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("etc/fedora-release", rel)
	os.Symlink("fedora-release", filepath.Join(g, "etc/redhat-release"))
	os.Symlink("fedora-release", filepath.Join(g, "etc/system-release"))
	write("usr/lib/os-release", osr)
	os.Symlink("../usr/lib/os-release", filepath.Join(g, "etc/os-release"))
	if kernel == "none" {
		for _, pat := range []string{"boot/vmlinuz-*", "boot/initramfs-*", "boot/config-*", "boot/System.map-*", "boot/loader/entries/*", "usr/lib/modules/*"} {
			ms, _ := filepath.Glob(filepath.Join(g, pat))
			for _, m := range ms {
				os.RemoveAll(m)
			}
		}
		return g
	}
	// Rename the kernel everywhere: file names and the text files that
	// name it (BLS entries, grubenv).
	var renames []string
	filepath.WalkDir(g, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.Contains(d.Name(), rockyKernel) {
			renames = append(renames, p)
		}
		if d.Type().IsRegular() && (strings.Contains(p, "/boot/loader/") || strings.Contains(p, "/boot/grub2/")) {
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.ReplaceAll(string(b), rockyKernel, fedoraKernel)), 0o644)
		}
		return nil
	})
	for i := len(renames) - 1; i >= 0; i-- {
		p := renames[i]
		if err := os.Rename(p, filepath.Join(filepath.Dir(p), strings.ReplaceAll(filepath.Base(p), rockyKernel, fedoraKernel))); err != nil {
			t.Fatal(err)
		}
	}
	switch kernel {
	case "boot-config":
		write("boot/config-"+fedoraKernel, cfg)
		write("usr/lib/modules/"+fedoraKernel+"/config", cfg)
	case "modules-config":
		os.Remove(filepath.Join(g, "boot/config-"+fedoraKernel))
		write("usr/lib/modules/"+fedoraKernel+"/config", cfg)
	case "notes":
		os.Remove(filepath.Join(g, "boot/config-"+fedoraKernel))
		os.Remove(filepath.Join(g, "usr/lib/modules/"+fedoraKernel+"/config"))
		img, err := os.ReadFile(filepath.Join(fixtures, "debian12/boot/vmlinuz-6.1.0-56-amd64"))
		if err != nil {
			t.Fatal(err)
		}
		write("boot/vmlinuz-"+fedoraKernel, img)
		write("usr/lib/modules/"+fedoraKernel+"/vmlinuz", img)
	default:
		t.Fatalf("fedora39(%q): unknown variant", kernel)
	}
	return g
}

// TestFedoraByInstalledKernel: Fedora is decided by the kernel it has.
// Fedora 39 with its own kernel (CONFIG_XEN_PV=y) plans a conversion
// with that kernel; it used to be refused because Fedora 39 >= 8 (a
// RHEL rule). Without any kernel the plan installs Fedora's kernel and
// says the guest has none.
func TestFedoraByInstalledKernel(t *testing.T) {
	for _, variant := range []string{"boot-config", "modules-config", "notes"} {
		t.Run(variant, func(t *testing.T) {
			g := fedora39(t, variant)
			out, errOut, code := xenify(t, "inspect", "--json", g)
			if code != 0 {
				t.Fatalf("xenify inspect = %d\n%s", code, errOut)
			}
			var in struct {
				OS      struct{ Distro, Version string }
				Kernels []struct {
					Version  string
					PV       bool
					Evidence string
				}
			}
			if err := json.Unmarshal([]byte(out), &in); err != nil {
				t.Fatal(err)
			}
			var pv []string
			for _, k := range in.Kernels {
				if k.PV {
					pv = append(pv, k.Version)
				}
			}
			if in.OS.Distro != "fedora" || in.OS.Version != "39" || len(pv) != 1 || pv[0] != fedoraKernel {
				t.Errorf("xenify inspect = %s %s with PV kernels %q, want fedora 39 with %s\n%s", in.OS.Distro, in.OS.Version, pv, fedoraKernel, out)
			}
			out, errOut, code = xenify(t, "plan", "--hypervisor-caps", hostCaps, "--boot", "direct", "--direct-dir", "/var/lib/xen/kernels/f39", "--config-out", filepath.Join(t.TempDir(), "g.cfg"), g)
			if code != 0 {
				t.Fatalf("xenify plan (Fedora 39 with %s) = %d, want 0\n%s\n%s", fedoraKernel, code, out, errOut)
			}
			if !strings.Contains(out, "vmlinuz-"+fedoraKernel) {
				t.Errorf("xenify plan does not boot %s:\n%s", fedoraKernel, out)
			}
		})
	}
	g := fedora39(t, "none")
	out, errOut, code := xenify(t, "plan", "--hypervisor-caps", hostCaps, "--config-out", filepath.Join(t.TempDir(), "g.cfg"), g)
	if code != 0 || !strings.Contains(out, "no kernel installed") || !strings.Contains(out, "/usr/bin/dnf -y install kernel\n") {
		t.Errorf("xenify plan (Fedora 39 without a kernel) = %d, want 0, saying there is no kernel and installing Fedora's with dnf\n%s\n%s", code, out, errOut)
	}
}

// TestELKernelRefusal: Rocky 9 is refused for what it has, and says so
// when it has no kernel at all.
func TestELKernelRefusal(t *testing.T) {
	g := copyTree(t, filepath.Join(fixtures, "rocky9"))
	for _, pat := range []string{"boot/vmlinuz-*", "usr/lib/modules/*"} {
		ms, _ := filepath.Glob(filepath.Join(g, pat))
		for _, m := range ms {
			os.RemoveAll(m)
		}
	}
	_, errOut, code := xenify(t, "plan", "--hypervisor-caps", hostCaps, "--config-out", filepath.Join(t.TempDir(), "g.cfg"), g)
	if code != 3 || !strings.Contains(errOut, "no kernel installed") {
		t.Errorf("xenify plan (Rocky 9 without a kernel) = %d, want 3 saying it has no kernel installed\n%s", code, errOut)
	}
}
