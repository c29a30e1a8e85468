package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ubuntuLucid turns a copy of the Ubuntu 12.04 fixture into what the
// 10.04 installer leaves: no os-release (it came with 12.04), the release
// named only in /etc/lsb-release, debian_version "squeeze/sid". The
// kernel is removed so the plan must install one.
func ubuntuLucid(t *testing.T) string {
	t.Helper()
	g := copyTree(t, filepath.Join(fixtures, "ubuntu1204"))
	for _, p := range []string{"etc/os-release", "boot/vmlinuz-3.2.0-23-generic", "boot/initrd.img-3.2.0-23-generic", "boot/config-3.2.0-23-generic"} {
		if err := os.Remove(filepath.Join(g, p)); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"etc/lsb-release":    "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=10.04\nDISTRIB_CODENAME=lucid\nDISTRIB_DESCRIPTION=\"Ubuntu 10.04.4 LTS\"\n",
		"etc/debian_version": "squeeze/sid\n",
		// The fixture has no apt; a stand-in is enough to plan with.
		"usr/bin/apt-get": "#!/bin/sh\n# (fixture: stand-in for apt-get)\n",
	}
	for p, c := range files {
		if err := os.WriteFile(filepath.Join(g, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

// TestUbuntuBefore1204 checks that an Ubuntu 10.04 guest is taken for
// Ubuntu (not "Debian squeeze/sid") and reaches the family's
// before-12.04 kernel: linux-image-server, not Debian's
// linux-image-amd64.
func TestUbuntuBefore1204(t *testing.T) {
	g := ubuntuLucid(t)
	out, errOut, code := xenify(t, "inspect", "--json", g)
	if code != 0 {
		t.Fatalf("xenify inspect = %d\n%s", code, errOut)
	}
	var in struct {
		OS struct{ Distro, Version, Name, Source string }
	}
	if err := json.Unmarshal([]byte(out), &in); err != nil {
		t.Fatal(err)
	}
	if in.OS.Distro != "ubuntu" || in.OS.Version != "10.04" || in.OS.Source != "/etc/lsb-release" {
		t.Errorf("xenify inspect os = %+v, want ubuntu 10.04 from /etc/lsb-release", in.OS)
	}
	out, errOut, code = xenify(t, "plan", "--hypervisor-caps", hostCaps, "--config-out", filepath.Join(t.TempDir(), "g.cfg"), g)
	if code != 0 {
		t.Fatalf("xenify plan = %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "apt-get -y install linux-image-server") {
		t.Errorf("xenify plan does not install linux-image-server:\n%s", out)
	}
	if strings.Contains(out, "linux-image-amd64") || !strings.Contains(out, "Ubuntu 10.04.4 LTS") {
		t.Errorf("xenify plan = Debian's kernel or no Ubuntu title, want Ubuntu 10.04.4 LTS with linux-image-server:\n%s", out)
	}
}

// TestInspectEmptyLists checks that a guest without kernels, NICs or
// gettys gives [] in JSON (jq '.kernels[]' works) and "none" in text.
func TestInspectEmptyLists(t *testing.T) {
	g := ubuntuLucid(t)
	for _, p := range []string{"etc/network/interfaces", "etc/udev/rules.d/70-persistent-net.rules"} {
		os.Remove(filepath.Join(g, p))
	}
	os.RemoveAll(filepath.Join(g, "etc/init"))
	out, errOut, code := xenify(t, "inspect", "--json", g)
	if code != 0 {
		t.Fatalf("xenify inspect --json = %d\n%s", code, errOut)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"kernels", "nics", "gettys", "notes"} {
		if string(raw[k]) != "[]" {
			t.Errorf("xenify inspect --json: %q = %s, want []", k, raw[k])
		}
	}
	out, _, _ = xenify(t, "inspect", g)
	for _, want := range []string{"Kernels: none\n", "Network: none\n", "Gettys:       none\n", "Hostname:     precise64 (/etc/hostname)\n", "Packages:     deb, managed by apt\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("xenify inspect output lacks %q:\n%s", want, out)
		}
	}
}
