package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xenify/xenify/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files")

const fixtures = "../../testdata/guests"

// hostCaps is a Xen 3.x-era host that runs 64-bit and 32-bit PAE guests.
const hostCaps = "xen-3.0-x86_64 xen-3.0-x86_32p hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64"

func xenify(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = Run(context.Background(), args, strings.NewReader(""), &o, &e)
	return o.String(), e.String(), code
}

func fixtureNames(t *testing.T) []string {
	ents, err := os.ReadDir(fixtures)
	if err != nil {
		t.Fatalf("reading the fixtures: %v", err)
	}
	var names []string
	for _, e := range ents {
		if e.IsDir() && e.Name() != "gen" && e.Name() != "kernels" {
			names = append(names, e.Name())
		}
	}
	return names
}

// absTestdata is the absolute path of a file in testdata, for options
// that need one; golden files show it as $TESTDATA/NAME.
func absTestdata(t *testing.T, name string) string {
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if name == "" {
		p += "/"
	}
	return p
}

// noPV32Caps are the capabilities of Debian 12's Xen 4.17 on HVM-capable
// hardware: built without 32-bit PV.
const noPV32Caps = "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64"

// TestPlanGolden compares the plan of every fixture guest with its golden
// file. Run `go test ./internal/cli -update` after intended changes.
func TestPlanGolden(t *testing.T) {
	type variant struct {
		name, fixture string
		args          []string
	}
	var variants []variant
	for _, name := range fixtureNames(t) {
		variants = append(variants, variant{name, name, nil})
	}
	variants = append(variants,
		variant{"centos44-i386-kernel-package", "centos44-i386", []string{"--kernel-package", "../../pkgfile/testdata/kernel-xenU-2.6.9-42.0.3.EL.i686.rpm"}},
		variant{"centos5-x86_64-direct-xm", "centos5-x86_64", []string{"--boot", "direct", "--direct-dir", "/var/lib/xen/kernels/c5", "--toolstack", "xm", "--mac", "random"}},
		variant{"debian12-disk-layout", "debian12", []string{"--layout", "disk"}},
		variant{"debian12-disk-target", "debian12", []string{"--disk-target", "/=/dev/vg_xen/bookworm-root", "--disk-target", "/dev/sda5=/dev/vg_xen/bookworm-swap"}},
		variant{"centos44-i386-glibc", "centos44-i386", []string{"--kernel-package", "../../pkgfile/testdata/kernel-xenU-2.6.9-42.0.3.EL.i686.rpm", "--glibc-packages", "testdata/glibc-xen", "--no-ifup-local"}},
		variant{"centos5-x86_64-offline-relabel-map", "centos5-x86_64", []string{"--selinux-relabel", "offline", "--map", "/=sda1", "--map", "LABEL=/boot=sda2", "--vnc", "--memory", "1024", "--vcpus", "2", "--bridge", "br0"}},
		variant{"debian12-no-caps-32p", "debian12", []string{"--hypervisor-caps", "xen-3.0-x86_32p"}},
		// Debian's Xen 4.17: no 32-bit PV, but a PV shim that has it.
		variant{"centos44-i386-pvh-shim", "centos44-i386", []string{"--kernel-package", "../../pkgfile/testdata/kernel-xenU-2.6.9-42.0.3.EL.i686.rpm", "--hypervisor-caps", noPV32Caps, "--pvh-shim", absTestdata(t, "xen-shim")}},
		variant{"debian12-pvh-shim-always", "debian12", []string{"--guest-type", "pvh-shim", "--pvh-shim", absTestdata(t, "xen-shim")}},
		// The rebuild path: the guest's own mkinitrd and update-initramfs.
		variant{"centos5-x86_64-rebuild", "centos5-x86_64", []string{"--initrd", "rebuild"}},
		variant{"debian12-rebuild", "debian12", []string{"--initrd", "rebuild"}},
		variant{"centos44-i386-no-pv32", "centos44-i386", []string{"--kernel-package", "../../pkgfile/testdata/kernel-xenU-2.6.9-42.0.3.EL.i686.rpm", "--hypervisor-caps", noPV32Caps}},
		// Guest types and boot paths: auto picks PVH above (the host
		// offers hvm-3.0-x86_64); PV when asked, or on a PV-only host;
		// refusals name what is missing and what would work.
		variant{"debian12-pv", "debian12", []string{"--guest-type", "pv"}},
		variant{"debian12-auto-pv-only-host", "debian12", []string{"--hypervisor-caps", "xen-3.0-x86_64"}},
		variant{"debian12-pvh-no-hvm", "debian12", []string{"--guest-type", "pvh", "--hypervisor-caps", "xen-3.0-x86_64"}},
		variant{"debian12-pvh-xm", "debian12", []string{"--guest-type", "pvh", "--toolstack", "xm"}},
		variant{"debian12-pvgrub", "debian12", []string{"--boot", "pvgrub"}},
		variant{"debian12-pv-pvgrub", "debian12", []string{"--boot", "pvgrub", "--guest-type", "pv"}},
		variant{"centos5-x86_64-pvh", "centos5-x86_64", []string{"--guest-type", "pvh"}},
		variant{"centos5-x86_64-pvgrub", "centos5-x86_64", []string{"--boot", "pvgrub"}},
	)
	for _, v := range variants {
		name := v.name
		t.Run(name, func(t *testing.T) {
			checkPlanGolden(t, name, filepath.Join(fixtures, v.fixture), "", v.args)
		})
	}
}

// checkPlanGolden runs `xenify plan` on dir as domain name, with the
// test host's capabilities, a config path under /etc/xen and extra, and
// compares its exit code and output with testdata/golden/NAME.plan
// (rewritten with -update). guestAs, when set, is what dir is shown as
// (a temporary copy's path changes every run).
func checkPlanGolden(t *testing.T, name, dir, guestAs string, extra []string) {
	t.Helper()
	args := append([]string{"plan", "--hypervisor-caps", hostCaps, "--config-out", "/etc/xen/" + name + ".cfg", "--name", name}, extra...)
	out, errOut, code := xenify(t, append(args, dir)...)
	got := fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", code, out, errOut)
	if guestAs != "" {
		got = strings.ReplaceAll(got, dir, guestAs)
	}
	got = strings.ReplaceAll(got, absTestdata(t, ""), "$TESTDATA/")
	golden := filepath.Join("testdata/golden", name+".plan")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("no golden file (run with -update): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("xenify plan %s differs from %s (-want +got):\n%s", name, golden, diff)
	}
}

// treeState records every path's type, mode, owner and content hash (a
// device node's numbers; a file is opened only if regular).
func treeState(t *testing.T, root string) map[string]string {
	t.Helper()
	st := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		sys := info.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%v uid=%d gid=%d", info.Mode(), sys.Uid, sys.Gid)
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			tgt, _ := os.Readlink(p)
			desc += " -> " + tgt
		case info.Mode().IsRegular() && info.Size() > 64<<20:
			// The hostile tests' 10 GiB sparse grub.cfg; fixture files
			// are all far smaller.
			desc += fmt.Sprintf(" %d bytes", info.Size())
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h := sha256.Sum256(b)
			desc += " " + hex.EncodeToString(h[:8])
		case info.Mode()&fs.ModeDevice != 0:
			desc += fmt.Sprintf(" rdev=%d", sys.Rdev)
		}
		st[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func copyTree(t testing.TB, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "guest")
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a %s: %v\n%s", src, err, out)
	}
	return dst
}

// el4KernelPackage is a kernel-xenU RPM (EL4's domU kernel): what makes
// CentOS 4.4, whose repositories have none, convertible.
const el4KernelPackage = "../../pkgfile/testdata/kernel-xenU-2.6.9-42.0.3.EL.i686.rpm"

// convertCase is one convert of a fixture, with the exit code it must end
// in.
type convertCase struct {
	fixture string
	args    []string
	code    int
}

// convertCases gives every fixture in testdata/guests the options that
// make it convertible, and also the refusals a user meets without them.
// A fixture missing here fails TestConvertRollback.
func convertCases(t *testing.T) map[string]convertCase {
	return map[string]convertCase{
		"centos44-i386":           {"centos44-i386", []string{"--kernel-package", el4KernelPackage, "--hypervisor-caps", "xen-3.0-x86_32p"}, 0},
		"centos44-i386-no-kernel": {"centos44-i386", []string{"--hypervisor-caps", "xen-3.0-x86_32p"}, 3},
		"centos44-i386-host-caps": {"centos44-i386", []string{"--kernel-package", el4KernelPackage, "--hypervisor-caps", hostCaps}, 0},
		"centos45-x86_64":         {"centos45-x86_64", []string{"--hypervisor-caps", hostCaps}, 0},
		"centos5-x86_64":          {"centos5-x86_64", []string{"--hypervisor-caps", hostCaps}, 0},
		"debian12":                {"debian12", []string{"--hypervisor-caps", hostCaps}, 0},
		"debian12-uuid":           {"debian12-uuid", []string{"--hypervisor-caps", hostCaps}, 0},
		"debian12-dracut":         {"debian12-dracut", []string{"--hypervisor-caps", hostCaps}, 0},
		"ubuntu2510":              {"ubuntu2510", []string{"--hypervisor-caps", hostCaps}, 0},
		"ubuntu1204":              {"ubuntu1204", []string{"--hypervisor-caps", hostCaps}, 0},
		"rocky9":                  {"rocky9", []string{"--kernel-package", kernelMLPackage(t), "--hypervisor-caps", hostCaps}, 0},
		"rocky9-no-kernel":        {"rocky9", []string{"--hypervisor-caps", hostCaps}, 3},
		"debian12-disk-layout":    {"debian12", []string{"--layout", "disk", "--hypervisor-caps", hostCaps}, 0},
		"debian12-hvm":            {"debian12", []string{"--guest-type", "hvm", "--layout", "disk", "--hypervisor-caps", hostCaps}, 0},
		// HVM, as auto picks it for Rocky 9's own kernel (no PV, no PVH).
		"rocky9-hvm-direct": {"rocky9", []string{"--boot", "direct", "--direct-dir", "$TMP", "--hypervisor-caps", hostCaps}, 0},
		"hostile":           {"hostile", []string{"--hypervisor-caps", hostCaps}, 3},
	}
}

// kernelMLPackage builds, once per test binary, an EL9 kernel-ml RPM
// (a pvops kernel with CONFIG_XEN_PV=y, as ELRepo ships) with rpmbuild:
// what makes rocky9, whose own kernels have no PV support, convertible.
// Only its header is read: convert runs with --skip-guest-commands.
func kernelMLPackage(t *testing.T) string {
	t.Helper()
	kernelMLOnce.Do(func() { kernelML, kernelMLErr = buildKernelML() })
	if kernelMLErr != nil {
		t.Fatalf("building the kernel-ml RPM (Debian package rpm, see scripts/install-deps.sh): %v", kernelMLErr)
	}
	return kernelML
}

var (
	kernelMLOnce sync.Once
	kernelML     string
	kernelMLErr  error
)

func buildKernelML() (string, error) {
	dir, err := os.MkdirTemp("", "xenify-kernel-ml-")
	if err != nil {
		return "", err
	}
	const kver = "6.6.8-1.el9.elrepo.x86_64"
	spec := `%define debug_package %{nil}
%define __os_install_post %{nil}
%define _build_id_links none
Name: kernel-ml
Version: 6.6.8
Release: 1.el9.elrepo
Summary: xenify test stand-in for ELRepo's kernel-ml
License: GPL
%description
Test stand-in: only the header is read.
%install
mkdir -p %{buildroot}/boot %{buildroot}/lib/modules/` + kver + `
echo kernel > %{buildroot}/boot/vmlinuz-` + kver + `
echo modules > %{buildroot}/lib/modules/` + kver + `/modules.dep
%files
/boot/vmlinuz-` + kver + `
/lib/modules/` + kver + `
`
	return testenv.RPMBuild(dir, spec, "x86_64")
}

// sortedKeys returns m's keys in order, for subtests in a stable order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestConvertRollback converts every fixture with the options of its
// case (file changes only: the fixtures' binaries are not real, so guest
// commands are skipped), checks that a second convert changes nothing,
// and that rollback restores the tree exactly. A case that must be
// refused must change nothing. Any other exit code fails.
func TestConvertRollback(t *testing.T) {
	cases := convertCases(t)
	converted := map[string]bool{}
	for _, c := range cases {
		if c.code == 0 {
			converted[c.fixture] = true
		}
	}
	for _, name := range fixtureNames(t) {
		if !converted[name] && cases[name].code == 0 {
			t.Errorf("fixture %s has no case in convertCases: give it the options that convert it, or the exit code of its refusal", name)
		}
	}
	for _, name := range sortedKeys(cases) {
		c := cases[name]
		t.Run(name, func(t *testing.T) {
			guest := copyTree(t, filepath.Join(fixtures, c.fixture))
			before := treeState(t, guest)
			cfg := filepath.Join(t.TempDir(), name+".cfg")
			var extra []string
			for _, a := range c.args {
				extra = append(extra, strings.ReplaceAll(a, "$TMP", filepath.Join(t.TempDir(), "direct")))
			}
			args := append(append([]string{"convert", "--skip-guest-commands", "--config-out", cfg}, extra...), guest)
			out, errOut, code := xenify(t, args...)
			if code != c.code {
				t.Fatalf("xenify %s = exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, c.code, out, errOut)
			}
			if code != 0 {
				// Refused before writing: nothing may have changed.
				if diff := cmp.Diff(before, treeState(t, guest)); diff != "" {
					t.Fatalf("refused convert changed the guest:\n%s", diff)
				}
				if _, err := os.Stat(cfg); err == nil {
					t.Errorf("refused convert wrote the domain config %s", cfg)
				}
				return
			}
			converted := treeState(t, guest)
			if cmp.Equal(before, converted) {
				t.Fatalf("convert changed nothing")
			}
			if _, err := os.Stat(cfg); err != nil {
				t.Errorf("domain config not written: %v", err)
			}
			out2, errOut2, code := xenify(t, args...)
			if code != 0 {
				t.Fatalf("second convert = exit %d\n%s%s", code, out2, errOut2)
			}
			// Guest commands left to the user are printed again; files
			// must not change.
			if diff := cmp.Diff(converted, treeState(t, guest)); diff != "" {
				t.Errorf("second convert changed the guest (-first +second):\n%s", diff)
			}
			if out, errOut, code := xenify(t, "rollback", guest); code != 0 {
				t.Fatalf("rollback = exit %d\n%s%s", code, out, errOut)
			}
			// Type, mode, owner, content and link targets of every path.
			if diff := cmp.Diff(before, treeState(t, guest)); diff != "" {
				t.Errorf("rollback did not restore the guest (-before +after):\n%s", diff)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	empty := t.TempDir()
	if _, errOut, code := xenify(t, "plan", empty); code != 3 || !strings.Contains(errOut, "/etc") {
		t.Errorf("plan on an empty dir = exit %d, %q; want 3 naming the missing file", code, errOut)
	}
	if _, _, code := xenify(t, "plan", "--layout", "bogus", filepath.Join(fixtures, "centos5-x86_64")); code != 2 {
		t.Errorf("plan --layout bogus = exit %d, want 2", code)
	}
	if _, errOut, code := xenify(t, "plan", "--hypervisor-caps", hostCaps, "--map", "/=xvda1", "--map", "/boot=xvda1", filepath.Join(fixtures, "centos5-x86_64")); code != 2 || !strings.Contains(errOut, "xvda1") {
		t.Errorf("conflicting --map = exit %d, %q; want 2 naming the device", code, errOut)
	}
	// An unreadable boot configuration names the file and changes nothing.
	broken := copyTree(t, filepath.Join(fixtures, "centos5-x86_64"))
	if err := os.WriteFile(filepath.Join(broken, "boot/grub/grub.conf"), []byte("default=0\ntitle x\x00\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := treeState(t, broken)
	if _, errOut, code := xenify(t, "convert", "--hypervisor-caps", hostCaps, "--config-out", filepath.Join(t.TempDir(), "x.cfg"), broken); code != 3 || !strings.Contains(errOut, "/boot/grub/grub.conf") {
		t.Errorf("convert with a broken grub.conf = exit %d, %q; want 3 naming /boot/grub/grub.conf", code, errOut)
	}
	if diff := cmp.Diff(before, treeState(t, broken)); diff != "" {
		t.Errorf("refused convert changed the guest:\n%s", diff)
	}
	if _, _, code := xenify(t, "frobnicate"); code != 2 {
		t.Errorf("unknown command = exit %d, want 2", code)
	}
	// A 64-bit guest on a host with only 32-bit PV is refused.
	if _, errOut, code := xenify(t, "plan", "--hypervisor-caps", "xen-3.0-x86_32p", filepath.Join(fixtures, "centos5-x86_64")); code != 3 || !strings.Contains(errOut, "xen-3.0-x86_64") {
		t.Errorf("ABI mismatch = exit %d, %q; want 3 naming xen-3.0-x86_64", code, errOut)
	}
}

func TestHostileGuestStaysInside(t *testing.T) {
	dir := filepath.Join(fixtures, "hostile")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the hostile fixture is missing: %v", err)
	}
	guest := copyTree(t, dir)
	hostFiles := []string{"/etc/passwd", "/etc/shadow", "/etc/fstab"}
	before := map[string][]byte{}
	for _, f := range hostFiles {
		before[f], _ = os.ReadFile(f)
	}
	for _, verb := range []string{"inspect", "plan"} {
		xenify(t, verb, "--hypervisor-caps", hostCaps, guest)
	}
	xenify(t, "convert", "--skip-guest-commands", "--hypervisor-caps", hostCaps, "--config-out", filepath.Join(t.TempDir(), "h.cfg"), guest)
	for _, f := range hostFiles {
		now, _ := os.ReadFile(f)
		if !bytes.Equal(now, before[f]) {
			t.Errorf("host file %s changed", f)
		}
	}
	var keys []string
	for k := range before {
		keys = append(keys, k)
	}
	sort.Strings(keys)
}

// TestHostileSymlinksInConvertibleGuest plants escaping links in a guest
// that is otherwise convertible, so that inspect, plan and convert really
// follow them, and checks nothing outside the guest is read or written.
func TestHostileSymlinksInConvertibleGuest(t *testing.T) {
	guest := copyTree(t, filepath.Join(fixtures, "centos5-x86_64"))
	outside := filepath.Join(filepath.Dir(guest), "outside")
	if err := os.WriteFile(outside, []byte("HOST\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"etc/securetty":       "../../../../../../../" + outside, // relative escape
		"etc/modprobe.conf":   "/proc/self/environ",
		"etc/sysconfig/grub":  outside, // absolute host path
		"etc/blkid/blkid.tab": "/../../../" + outside,
	}
	for name, target := range links {
		p := filepath.Join(guest, name)
		os.Remove(p)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(t.TempDir(), "h.cfg")
	for _, args := range [][]string{
		{"inspect", guest},
		{"plan", "--hypervisor-caps", hostCaps, guest},
		{"convert", "--skip-guest-commands", "--hypervisor-caps", hostCaps, "--config-out", cfg, guest},
		{"rollback", guest},
	} {
		_, errOut, code := xenify(t, args...)
		if code != 0 && code != 3 {
			t.Errorf("xenify %s = exit %d: %s", args[0], code, errOut)
		}
	}
	if b, _ := os.ReadFile(outside); string(b) != "HOST\n" {
		t.Errorf("file outside the guest changed to %q", b)
	}
	// The links themselves are still links after convert and rollback.
	for name, target := range links {
		if got, err := os.Readlink(filepath.Join(guest, name)); err != nil || got != target {
			t.Errorf("link %s = %q, %v; want %q kept", name, got, err, target)
		}
	}
}

func TestJournalRefusesSymlinkedDirectory(t *testing.T) {
	guest := copyTree(t, filepath.Join(fixtures, "centos5-x86_64"))
	os.MkdirAll(filepath.Join(guest, "var/lib"), 0o755)
	if err := os.Symlink("/tmp", filepath.Join(guest, "var/lib/xenify")); err != nil {
		t.Fatal(err)
	}
	before := treeState(t, guest)
	_, errOut, code := xenify(t, "convert", "--skip-guest-commands", "--hypervisor-caps", hostCaps, "--config-out", filepath.Join(t.TempDir(), "c.cfg"), guest)
	if code != 3 || !strings.Contains(errOut, "symlink") || strings.Contains(errOut, "[1/") || strings.Contains(errOut, "records every change") {
		t.Errorf("convert with /var/lib/xenify -> /tmp = exit %d, %q; want 3, a refusal naming the symlink before the first step", code, errOut)
	}
	if diff := cmp.Diff(before, treeState(t, guest)); diff != "" {
		t.Errorf("refused convert changed the guest:\n%s", diff)
	}
}
