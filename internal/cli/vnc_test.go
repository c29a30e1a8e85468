package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/xenify/xenify/xerr"
)

// vncGuest is a scratch copy of a fixture with extra files (a user,
// an installed VNC server).
func vncGuest(t *testing.T, fixture string, extra map[string]string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), fixture)
	if out, err := exec.Command("cp", "-a", filepath.Join(fixtures, fixture), dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v\n%s", err, out)
	}
	for p, c := range extra {
		full := filepath.Join(dst, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

const passwd = "root:x:0:0:root:/root:/bin/bash\nalice:x:500:500::/home/alice:/bin/bash\n"

// TestPlanGoldenVNC: --vnc's framebuffer in the domain config and the
// frontends' module config and tty1 getty in the guest, per init
// system and kernel flavour; --guest-vnc's Xvnc setup, or its warning.
func TestPlanGoldenVNC(t *testing.T) {
	for _, v := range []struct {
		name, fixture string
		extra         map[string]string
		args          []string
	}{
		// XenLinux kernel: xenfb/xenkbd; EL4 has no /etc/sysconfig/modules.
		{"centos44-i386-vnc", "centos44-i386", nil, []string{"--kernel-package", el4KernelPackage, "--vnc"}},
		// EL5, Xen 3: vncservers, listen address and password.
		{"centos5-x86_64-vnc-guest-vnc", "centos5-x86_64", map[string]string{"etc/passwd": passwd, "etc/sysconfig/vncservers": "# VNCSERVERS=\"2:myusername\"\n", "etc/sysconfig/modules/udev-stw.modules": "#!/bin/sh\n"},
			[]string{"--vnc=0.0.0.0", "--vnc-password", "s3cret", "--guest-vnc", "alice", "--toolstack", "xm"}},
		// systemd: modules-load.d; TigerVNC's vncserver.users.
		{"debian12-vnc-guest-vnc", "debian12", map[string]string{"etc/passwd": passwd, "bin/systemctl": "", "usr/lib/systemd/system/vncserver@.service": "[Service]\nExecStart=/usr/libexec/vncsession-start %i\n"},
			[]string{"--vnc", "--guest-vnc", "alice"}},
		// No VNC server in the guest: a warning, nothing written for it.
		{"debian12-vnc-no-vncserver", "debian12", map[string]string{"etc/passwd": passwd}, []string{"--vnc", "--guest-vnc", "alice"}},
	} {
		t.Run(v.name, func(t *testing.T) {
			checkPlanGolden(t, v.name, vncGuest(t, v.fixture, v.extra), "$GUEST", v.args)
		})
	}
}

func TestVNCBadInput(t *testing.T) {
	dir := vncGuest(t, "debian12", map[string]string{"etc/passwd": passwd})
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"--vnc=not-an-ip"}, xerr.ExitUsage},
		{[]string{"--vnc", "--vnc-password", "way-too-long"}, xerr.ExitUsage},
		{[]string{"--vnc-password", "abc"}, xerr.ExitUsage},
		{[]string{"--guest-vnc", "bob;rm"}, xerr.ExitUsage},
		{[]string{"--guest-vnc", "bob"}, xerr.ExitRefused},
	} {
		_, errOut, code := xenify(t, append(append([]string{"plan", "--hypervisor-caps", hostCaps}, tc.args...), dir)...)
		if code != tc.code {
			t.Errorf("plan %q = exit %d %q, want %d", tc.args, code, errOut, tc.code)
		}
	}
}
