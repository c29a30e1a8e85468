package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xenify/xenify/internal/testenv"
	"github.com/xenify/xenify/run"
)

// TestIntegrationConvertEL6Real converts a guest the redhat family
// handles with every binary of its kernel path real: the guest's own rpm
// installs a kernel RPM built with rpmbuild from Debian's Xen-capable
// kernel, and the guest's own dracut (through RHEL 6's mkinitrd wrapper
// when the plan calls mkinitrd) builds the initramfs, in the sandbox.
// verify must pass on the result, a second convert must change nothing,
// and rollback must restore the tree byte for byte.
func TestIntegrationConvertEL6Real(t *testing.T) {
	testenv.RequireRoot(t)
	root := testenv.Root(t, testenv.RHELTools)
	testenv.PrepareEL6(t, root)
	pkg, kver := testenv.DebianKernelRPM(t)
	before := treeState(t, root)

	cfg := filepath.Join(t.TempDir(), "el6.cfg")
	args := append(append([]string{"convert"}, testenv.EL6ConvertArgs(pkg)...), "--config-out", cfg, root)
	out, errOut, code := xenify(t, args...)
	if code != 0 {
		t.Fatalf("xenify convert = exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	t.Logf("convert:\n%s%s", out, errOut)

	// The guest's rpm installed the package: its database knows it.
	q := exec.Command("/usr/bin/rpm", "-q", "kernel")
	q.SysProcAttr = chrootAttr(root)
	q.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
	if qout, err := q.CombinedOutput(); err != nil || !strings.Contains(string(qout), "kernel-") {
		t.Errorf("rpm -q kernel in the converted guest = %q, %v; want the installed kernel package", qout, err)
	}
	// The guest's dracut built an initramfs for the new kernel with the
	// Xen frontends and the root filesystem's driver.
	initrd := filepath.Join(root, "boot/initramfs-"+kver+".img")
	for _, m := range []string{"xen-blkfront", "xen-netfront", "ext4"} {
		if !initrdHas(t, initrd, m) {
			t.Errorf("%s lacks %s", initrd, m)
		}
	}
	conf, _ := os.ReadFile(filepath.Join(root, "boot/grub/grub.conf"))
	if !strings.Contains(string(conf), "/boot/vmlinuz-"+kver) || !strings.Contains(string(conf), "root=/dev/xvda1") {
		t.Errorf("grub.conf after convert has no entry for %s with root=/dev/xvda1:\n%s", kver, conf)
	}
	if dst, err := os.Readlink(filepath.Join(root, "boot/grub/menu.lst")); err != nil || dst != "./grub.conf" {
		t.Errorf("menu.lst after convert = link to %q, %v; want the link to ./grub.conf kept", dst, err)
	}
	// The getty job for the Xen console runs a program the guest has:
	// RHEL 6 has agetty and mingetty, no getty.
	job, err := os.ReadFile(filepath.Join(root, "etc/init/hvc0.conf"))
	if err != nil {
		t.Errorf("no upstart job for the Xen console: %v", err)
	}
	for _, line := range strings.Split(string(job), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "exec" {
			if st, err := os.Stat(filepath.Join(root, f[1])); err != nil || st.Mode()&0o111 == 0 {
				t.Errorf("/etc/init/hvc0.conf runs %s, which the guest does not have: %v\n%s", f[1], err, job)
			}
		}
	}
	vout, verr, vcode := xenify(t, "verify", "--hypervisor-caps", testenv.EL6Caps, "--config", cfg, root)
	if vcode != 0 {
		t.Errorf("verify = exit %d\n%s%s", vcode, vout, verr)
	}

	// RHEL 6's mkinitrd wrapper, in the sandbox like every guest command,
	// turns mkinitrd's --preload and --with into dracut's --add-drivers:
	// what runs when the plan calls mkinitrd on an EL6 guest.
	wrapped := "/tmp/initrd-wrapper-" + kver + ".img"
	argv := []string{"/sbin/mkinitrd", "-f", "--preload", "xen-blkfront", "--with=xen-netfront", wrapped, kver}
	if out, err := (run.Exec{}).Run(context.Background(), run.Cmd{Argv: argv, Chroot: root}); err != nil {
		t.Fatalf("%s in the guest: %v\n%s", strings.Join(argv, " "), err, out)
	}
	for _, m := range []string{"xen-blkfront", "xen-netfront"} {
		if !initrdHas(t, filepath.Join(root, wrapped), m) {
			t.Errorf("the initramfs /sbin/mkinitrd built lacks %s", m)
		}
	}
	if err := os.Remove(filepath.Join(root, wrapped)); err != nil {
		t.Fatal(err)
	}

	againThenRollback(t, root, args, before)
}
