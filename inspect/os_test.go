package inspect

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xenify/xenify/guest"
)

func treeWith(t *testing.T, files map[string]string) *guest.Root {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := guest.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestDetectOS(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  OS
	}{
		{"centos 4.4", map[string]string{"etc/redhat-release": "CentOS release 4.4 (Final)\n"},
			OS{Family: "redhat", Distro: "centos", Version: "4.4", Major: 4, Minor: 4, Name: "CentOS release 4.4 (Final)", Source: "/etc/redhat-release"}},
		{"rhel 4 update naming", map[string]string{"etc/redhat-release": "Red Hat Enterprise Linux AS release 4 (Nahant Update 5)\n"},
			OS{Family: "redhat", Distro: "rhel", Version: "4.5", Major: 4, Minor: 5, Name: "Red Hat Enterprise Linux AS release 4 (Nahant Update 5)", Source: "/etc/redhat-release"}},
		{"scientific 5", map[string]string{"etc/redhat-release": "Scientific Linux SL release 5.3 (Boron)\n"},
			OS{Family: "redhat", Distro: "scientific", Version: "5.3", Major: 5, Minor: 3, Name: "Scientific Linux SL release 5.3 (Boron)", Source: "/etc/redhat-release"}},
		{"debian os-release", map[string]string{"etc/os-release": "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n", "etc/debian_version": "12.15\n"},
			OS{Family: "debian", Distro: "debian", Version: "12", Major: 12, Name: "Debian GNU/Linux 12 (bookworm)", Source: "/etc/os-release"}},
		// Ubuntu before 12.04 has no os-release; its debian_version
		// names the Debian it branched from.
		{"ubuntu 10.04 lsb-release", map[string]string{"etc/lsb-release": "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=10.04\nDISTRIB_CODENAME=lucid\nDISTRIB_DESCRIPTION=\"Ubuntu 10.04.4 LTS\"\n", "etc/debian_version": "squeeze/sid\n"},
			OS{Family: "debian", Distro: "ubuntu", Version: "10.04", Major: 10, Minor: 4, Name: "Ubuntu 10.04.4 LTS", Source: "/etc/lsb-release"}},
		{"ubuntu 10.10 lsb-release", map[string]string{"etc/lsb-release": "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=10.10\nDISTRIB_CODENAME=maverick\nDISTRIB_DESCRIPTION=\"Ubuntu 10.10\"\n", "etc/debian_version": "squeeze/sid\n"},
			OS{Family: "debian", Distro: "ubuntu", Version: "10.10", Major: 10, Minor: 10, Name: "Ubuntu 10.10", Source: "/etc/lsb-release"}},
		{"ubuntu 9.04 over debian_version 5.0", map[string]string{"etc/lsb-release": "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=9.04\nDISTRIB_CODENAME=jaunty\nDISTRIB_DESCRIPTION=\"Ubuntu 9.04\"\n", "etc/debian_version": "5.0\n"},
			OS{Family: "debian", Distro: "ubuntu", Version: "9.04", Major: 9, Minor: 4, Name: "Ubuntu 9.04", Source: "/etc/lsb-release"}},
		// os-release comes first; the release file refines the version.
		{"centos 7 os-release and centos-release", map[string]string{"etc/os-release": "NAME=\"CentOS Linux\"\nVERSION=\"7 (Core)\"\nID=\"centos\"\nID_LIKE=\"rhel fedora\"\nVERSION_ID=\"7\"\nPRETTY_NAME=\"CentOS Linux 7 (Core)\"\n", "etc/centos-release": "CentOS Linux release 7.9.2009 (Core)\n", "etc/redhat-release": "CentOS Linux release 7.9.2009 (Core)\n"},
			OS{Family: "redhat", Distro: "centos", Version: "7.9", Major: 7, Minor: 9, Name: "CentOS Linux release 7.9.2009 (Core)", Source: "/etc/centos-release"}},
		{"fedora os-release", map[string]string{"etc/os-release": "NAME=\"Fedora Linux\"\nVERSION=\"39 (Server Edition)\"\nID=fedora\nVERSION_ID=39\nPRETTY_NAME=\"Fedora Linux 39 (Server Edition)\"\n", "etc/fedora-release": "Fedora release 39 (Thirty Nine)\n"},
			OS{Family: "redhat", Distro: "fedora", Version: "39", Major: 39, Name: "Fedora release 39 (Thirty Nine)", Source: "/etc/fedora-release"}},
		// A Debian lsb-release is not Ubuntu.
		{"linuxmint lsb-release falls through", map[string]string{"etc/lsb-release": "DISTRIB_ID=LinuxMint\nDISTRIB_RELEASE=9\n", "etc/debian_version": "squeeze/sid\n"},
			OS{Family: "debian", Distro: "debian", Version: "squeeze/sid", Name: "Debian squeeze/sid", Source: "/etc/debian_version"}},
		{"old debian without os-release", map[string]string{"etc/debian_version": "5.0.10\n"},
			OS{Family: "debian", Distro: "debian", Version: "5.0.10", Major: 5, Minor: 0, Name: "Debian 5.0.10", Source: "/etc/debian_version"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := detectOS(treeWith(t, tc.files))
			if err != nil {
				t.Fatalf("detectOS() error: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("detectOS() (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := detectOS(treeWith(t, map[string]string{"etc/hostname": "x\n"})); err == nil {
		t.Errorf("detectOS(no release files) = nil error, want a refusal")
	}
	if _, err := detectOS(treeWith(t, map[string]string{"etc/redhat-release": "Some Distro\n"})); err == nil {
		t.Errorf("detectOS(release without version) = nil error, want a refusal naming the line")
	}
}

func TestElfArch(t *testing.T) {
	h := make([]byte, 64)
	copy(h, "\x7fELF")
	h[4], h[5], h[18] = 2, 1, 62 // ELFCLASS64, little endian, EM_X86_64
	if a, ok := elfArch(h); !ok || a.Name != "x86_64" {
		t.Errorf("elfArch(x86_64 header) = %v, %v", a, ok)
	}
	h[4], h[18] = 1, 3 // ELFCLASS32, EM_386
	if a, ok := elfArch(h); !ok || a.Name != "i386" || a.Bits != 32 {
		t.Errorf("elfArch(i386 header) = %v, %v", a, ok)
	}
	h[18] = 40 // ARM
	if _, ok := elfArch(h); ok {
		t.Errorf("elfArch(ARM header) ok, want not x86")
	}
	if _, ok := elfArch([]byte("#!/bin/sh\n")); ok {
		t.Errorf("elfArch(script) ok")
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"2.6.9-42.EL", "2.6.9-55.EL", -1},
		{"2.6.18-8.el5xen", "2.6.18-8.el5", 1},
		{"6.1.0-18-amd64", "6.1.0-9-amd64", 1},
		{"4.14", "4.3", 1},
		{"3.2.0-23-generic", "3.2.0-23-generic", 0},
	} {
		if got := CompareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
