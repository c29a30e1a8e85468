package plan_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/plan"
	"github.com/xenify/xenify/xerr"
)

// TestInitrdGeneratorRefusals: a guest with several initrd generators, or
// none that builds for its kernel, is refused (exit 3) naming what was
// found, before anything is planned.
func TestInitrdGeneratorRefusals(t *testing.T) {
	tests := []struct {
		name, fixture string
		edit          func(*inspect.Inspection)
		want          []string
	}{
		{"two generators", "debian12-dracut", func(in *inspect.Inspection) {
			in.Tools["update-initramfs"] = "/usr/sbin/update-initramfs"
			in.InitrdTools = []string{inspect.Dracut, inspect.InitramfsTools}
		}, []string{"2 initrd generators", "dracut (/usr/bin/dracut)", "update-initramfs (/usr/sbin/update-initramfs)", "6.1.0-56-amd64"}},
		{"none", "debian12", func(in *inspect.Inspection) {
			delete(in.Tools, "update-initramfs")
			in.InitrdTools = nil
		}, []string{"found none of update-initramfs, dracut, mkinitrd", "6.1.0-56-amd64"}},
		{"nash mkinitrd for a pvops kernel", "debian12", func(in *inspect.Inspection) {
			in.Tools["mkinitrd"] = "/sbin/mkinitrd"
			in.InitrdTools = []string{inspect.Mkinitrd}
		}, []string{"only initrd generator, mkinitrd (/sbin/mkinitrd)", "kernel 6.1.0-56-amd64"}},
		{"dracut for a XenLinux kernel", "centos5-x86_64", func(in *inspect.Inspection) {
			in.Tools["dracut"] = "/sbin/dracut"
			in.InitrdTools = []string{inspect.Dracut}
		}, []string{"only initrd generator, dracut (/sbin/dracut)", "2.6.18-8.el5xen", "2.6.32 and later"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := buildWith(t, tt.fixture, plan.Options{}, tt.edit)
			var ref *xerr.Refused
			if !errors.As(err, &ref) {
				t.Fatalf("Build(%s) = %v, want a refusal (exit 3)", tt.fixture, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Build(%s) = %q, want it to name %q", tt.fixture, err, w)
				}
			}
		})
	}
}

// TestDracutNeverHostonly: whatever the family, a dracut guest's rebuild
// passes the frontends and the root filesystem's driver explicitly,
// disables hostonly, and persists them in dracut.conf.d.
func TestDracutNeverHostonly(t *testing.T) {
	p, err := buildFixture(t, "debian12-dracut", plan.Options{Initrd: "rebuild"})
	if err != nil {
		t.Fatal(err)
	}
	var argv []string
	for _, op := range p.Ops {
		if op.Kind == plan.RunInGuest && op.Step == "initrd" {
			argv = op.Argv
		}
	}
	want := "/usr/bin/dracut --force --no-hostonly --add-drivers xen-blkfront xen-netfront ext4 /boot/initrd.img-6.1.0-56-amd64 6.1.0-56-amd64"
	if got := strings.Join(argv, " "); got != want {
		t.Errorf("initrd rebuild = %q, want %q", got, want)
	}
	conf, ok := opWriting(p, plan.DracutConf)
	if !ok || !strings.Contains(conf.Content, `add_drivers+=" xen-blkfront xen-netfront ext4 "`) {
		t.Errorf("%s = %+v, want add_drivers+= with the frontends and ext4", plan.DracutConf, conf)
	}
}
