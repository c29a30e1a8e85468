package pvgrub

import (
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

// TestEmbedded: the search orders read from Debian 12's images.
func TestEmbedded(t *testing.T) {
	cfgs := []Step{{Path: "/boot/grub/grub.cfg"}, {Path: "/grub/grub.cfg"}}
	for image, want := range map[string][]Step{
		"/usr/lib/grub-xen/grub-x86_64-xen.bin":   append([]Step{{"/boot/xen/pvboot-x86_64.elf", true}, {"/xen/pvboot-x86_64.elf", true}}, cfgs...),
		"/usr/lib/grub-xen/grub-i386-xen.bin":     append([]Step{{"/boot/xen/pvboot-i386.elf", true}, {"/xen/pvboot-i386.elf", true}}, cfgs...),
		"/usr/lib/grub-xen/grub-i386-xen_pvh.bin": cfgs,
	} {
		got, ok := Embedded(image)
		if !ok {
			t.Fatalf("Embedded(%s) = false", image)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Embedded(%s) mismatch (-want +got):\n%s", image, diff)
		}
	}
	if _, ok := Embedded("/boot/vmlinuz-6.1.0-18-amd64"); ok {
		t.Errorf("Embedded(a kernel) = true")
	}
}

// TestSearch: each path on every filesystem before the next path, so a
// separate /boot's /grub/grub.cfg loses to /boot/grub/grub.cfg on a
// later disk; unreadable filesystems are skipped and reported.
func TestSearch(t *testing.T) {
	boot := fstest.MapFS{"grub/grub.cfg": {Data: []byte("x")}}
	root := fstest.MapFS{"boot/grub/grub.cfg": {Data: []byte("y")}, "etc/fstab": {}}
	steps, _ := Embedded("grub-i386-xen_pvh.bin")
	fss := []Filesystem{{Name: "xvda1 (/boot)", FS: boot}, {Name: "xvda2 (LVM)", Unreadable: "LVM2_member"}, {Name: "xvdb1 (/)", FS: root}}
	res := Search(steps, fss)
	if !res.Found || res.Index != 2 || res.Step.Path != "/boot/grub/grub.cfg" {
		t.Errorf("Search(/boot first, root later) = %+v, want /boot/grub/grub.cfg on filesystem 2", res)
	}
	if len(res.Unreached) != 1 {
		t.Errorf("Search().Unreached = %q, want the LVM member", res.Unreached)
	}
	res = Search(steps, fss[:1])
	if !res.Found || res.Index != 0 || res.Step.Path != "/grub/grub.cfg" {
		t.Errorf("Search(/boot only) = %+v, want /grub/grub.cfg on filesystem 0", res)
	}
	if res := Search(steps, []Filesystem{{Name: "empty", FS: fstest.MapFS{}}}); res.Found {
		t.Errorf("Search(no config) = %+v, want not found", res)
	}
}
