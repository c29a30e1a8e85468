package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// RPMBuild builds the binary package of spec with rpmbuild in dir (which
// it uses as _topdir and build root) and returns the path of the one
// .rpm it produced for arch.
func RPMBuild(dir, spec, arch string, defines ...string) (string, error) {
	rpmbuild, err := exec.LookPath("rpmbuild")
	if err != nil {
		return "", fmt.Errorf("%w (Debian package rpm, see scripts/install-deps.sh)", err)
	}
	specPath := filepath.Join(dir, "package.spec")
	if err := os.WriteFile(specPath, []byte(spec), 0o644); err != nil {
		return "", err
	}
	args := []string{"-bb", "--quiet", "--target", arch,
		"--define", "_topdir " + filepath.Join(dir, "top"),
		"--buildroot", filepath.Join(dir, "buildroot")}
	for _, d := range defines {
		args = append(args, "--define", d)
	}
	cmd := exec.Command(rpmbuild, append(args, specPath)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("rpmbuild: %v\n%s", err, tail(string(out), 40))
	}
	rpms, _ := filepath.Glob(filepath.Join(dir, "top/RPMS", arch, "*.rpm"))
	if len(rpms) != 1 {
		return "", fmt.Errorf("rpmbuild produced %v in %s, want one package", rpms, filepath.Join(dir, "top/RPMS", arch))
	}
	return rpms[0], nil
}

// kernelRPMModules are the modules of Debian's kernel the kernel RPM
// carries: the Xen frontends and what the ext4 root needs. A real RHEL
// kernel package carries them all; these are the ones a Xen PV boot from
// ext4 loads, and what keeps the package small enough to build in a test.
var kernelRPMModules = []string{
	"kernel/drivers/block/xen-blkfront.ko*",
	"kernel/drivers/net/xen-netfront.ko*",
	"kernel/fs/ext4/*", "kernel/fs/jbd2/*", "kernel/fs/mbcache.ko*",
	"kernel/lib/crc16.ko*", "kernel/lib/libcrc32c.ko*",
	"kernel/crypto/crc32c_generic.ko*", "kernel/arch/x86/crypto/crc32c-intel.ko*",
	"modules.order", "modules.builtin", "modules.builtin.modinfo",
}

// DebianKernelRPM builds, with rpmbuild, a RHEL-style kernel package from
// Debian 12's kernel (DebianKernelDeb): it installs
// /boot/vmlinuz-KVER, config-KVER, System.map-KVER and /lib/modules/KVER
// with xen-blkfront, as a RHEL kernel RPM does. Its modules.dep is built
// at package time (RHEL's %post runs new-kernel-pkg --depmod; a package
// without scriptlets needs no /bin/sh in a guest whose rpm database is
// empty). It returns the package and KVER.
func DebianKernelRPM(tb testing.TB) (rpm, kver string) {
	tb.Helper()
	RequireTools(tb, "rpmbuild", "dpkg-deb", "tar", "depmod")
	deb := DebianKernelDeb(tb)
	dir := tb.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		tb.Fatal(err)
	}
	pats := []string{"./boot/*"}
	for _, m := range kernelRPMModules {
		pats = append(pats, "./lib/modules/*/"+m)
	}
	sh := `deb=$1 dst=$2; shift 2; dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dst" --wildcards "$@"`
	if out, err := exec.Command("sh", append([]string{"-c", sh, "sh", deb, src}, pats...)...).CombinedOutput(); err != nil {
		tb.Fatalf("extracting %s: %v\n%s", deb, err, out)
	}
	mods, _ := filepath.Glob(filepath.Join(src, "lib/modules/*"))
	if len(mods) != 1 {
		tb.Fatalf("%s: want one /lib/modules/KVER, found %v", deb, mods)
	}
	kver = filepath.Base(mods[0])
	if out, err := exec.Command("depmod", "-b", src, kver).CombinedOutput(); err != nil {
		tb.Fatalf("depmod -b %s %s: %v\n%s", src, kver, err, out)
	}
	// RHEL names the kernel VERSION-RELEASE.ARCH; Debian's 6.1.0-57-amd64
	// becomes Version 6.1.0, Release 57.
	version, release, _ := strings.Cut(strings.TrimSuffix(kver, "-amd64"), "-")
	spec := fmt.Sprintf(`%%define debug_package %%{nil}
%%define __os_install_post %%{nil}
%%define _build_id_links none
%%define _binary_payload w1.gzdio
Name: kernel
Version: %[1]s
Release: %[2]s
Summary: Debian's Xen-capable kernel %[3]s, packaged as RHEL packages its kernels
License: GPLv2
AutoReqProv: no
%%description
xenify test package: Debian 12's kernel with the files a RHEL kernel RPM installs.
%%install
mkdir -p %%{buildroot}/boot %%{buildroot}/lib/modules
cp -a %[4]s/boot/vmlinuz-%[3]s %[4]s/boot/config-%[3]s %[4]s/boot/System.map-%[3]s %%{buildroot}/boot/
cp -a %[4]s/lib/modules/%[3]s %%{buildroot}/lib/modules/
%%files
/boot/vmlinuz-%[3]s
/boot/config-%[3]s
/boot/System.map-%[3]s
/lib/modules/%[3]s
`, version, release, kver, src)
	p, err := RPMBuild(dir, spec, "x86_64")
	if err != nil {
		tb.Fatalf("building the kernel RPM: %v", err)
	}
	return p, kver
}
