package testenv

import "testing"

// TestIntegrationDebian12Tree builds (or finds) the cached Debian 12 tree
// and checks it holds what the guest-command tests rely on.
func TestIntegrationDebian12Tree(t *testing.T) {
	root := Root(t, Debian12)
	for _, p := range []string{"/usr/sbin/update-initramfs", "/etc/debian_version", "/usr/bin/apt-get"} {
		if _, err := lstat(root + p); err != nil {
			t.Errorf("Debian 12 tree lacks %s: %v", p, err)
		}
	}
}

// TestIntegrationRHELToolsTree builds (or finds) the cached tree the RHEL
// 6 guest is made from and checks it holds the binaries the redhat family
// runs.
func TestIntegrationRHELToolsTree(t *testing.T) {
	root := Root(t, RHELTools)
	for _, p := range []string{"/usr/bin/rpm", "/usr/bin/dracut", "/usr/bin/cpio", "/sbin/depmod", "/bin/mount"} {
		if _, err := lstat(root + p); err != nil {
			t.Errorf("RHEL tools tree lacks %s: %v", p, err)
		}
	}
}
