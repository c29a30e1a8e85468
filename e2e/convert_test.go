package e2e

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// grubCfg is an excerpt of what grub-mkconfig 2.06 writes for a native
// install with GRUB_DISABLE_LINUX_UUID=true.
const grubCfg = `menuentry 'Debian GNU/Linux' --class debian --class gnu-linux --class gnu --class os $menuentry_id_option 'gnulinux-simple-6f1c3c40' {
	load_video
	insmod ext2
	set root='hd0,msdos1'
	search --no-floppy --fs-uuid --set=root 6f1c3c40
	echo	'Loading Linux 6.1.0-56-amd64 ...'
	linux	/boot/vmlinuz-6.1.0-56-amd64 root=/dev/sda1 ro  quiet
	echo	'Loading initial ramdisk ...'
	initrd	/boot/initrd.img-6.1.0-56-amd64
}`

func TestHandConvertGrub(t *testing.T) {
	want := `menuentry 'Debian GNU/Linux' --class debian --class gnu-linux --class gnu --class os $menuentry_id_option 'gnulinux-simple-6f1c3c40' {
	load_video
	insmod ext2
	set root='hd0,msdos1'
	search --no-floppy --fs-uuid --set=root 6f1c3c40
	echo	'Loading Linux 6.1.0-56-amd64 ...'
	linux	/boot/vmlinuz-6.1.0-56-amd64 root=/dev/xvda1 ro  quiet console=hvc0
	echo	'Loading initial ramdisk ...'
	initrd	/boot/initrd.img-6.1.0-56-amd64
}`
	if diff := cmp.Diff(want, string(HandConvertGrub([]byte(grubCfg)))); diff != "" {
		t.Errorf("HandConvertGrub() mismatch (-want +got):\n%s", diff)
	}
	if got := string(HandConvertGrub([]byte(want))); got != want {
		t.Errorf("HandConvertGrub(converted) = %q, want it unchanged", got)
	}
}

func TestHandConvertFstab(t *testing.T) {
	in := "/dev/mapper/vg0-root / ext4 errors=remount-ro 0 1\n/dev/sda1 /boot ext4 defaults 0 2\nUUID=x none swap sw 0 0\n"
	want := "/dev/mapper/vg0-root / ext4 errors=remount-ro 0 1\n/dev/xvda1 /boot ext4 defaults 0 2\nUUID=x none swap sw 0 0\n"
	if got := string(HandConvertFstab([]byte(in))); got != want {
		t.Errorf("HandConvertFstab() = %q, want %q", got, want)
	}
}

func TestParseLayout(t *testing.T) {
	got, err := ParseLayout([]byte("root_dev=/dev/mapper/vg0-root\nroot_offset=420478976\nroot_size=2684354560\nboot_offset=1048576\nboot_size=419430400\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Layout{RootOffset: 420478976, RootSize: 2684354560, BootOffset: 1048576, BootSize: 419430400, RootDev: "/dev/mapper/vg0-root"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseLayout() mismatch (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"", "root_dev=/dev/sda1\n", "root_dev=/dev/sda1\nroot_size=-1\n", "root_size=12\n"} {
		if got, err := ParseLayout([]byte(bad)); err == nil {
			t.Errorf("ParseLayout(%q) = %+v, want error", bad, got)
		}
	}
}

func TestConvertArgs(t *testing.T) {
	for _, tc := range []struct {
		opt  ConvertOptions
		want []string
	}{
		{ConvertOptions{}, []string{"convert", "/w/g.img", "--name", "g", "--config-out", "/w/g.cfg"}},
		{ConvertOptions{Direct: true}, []string{"convert", "/w/g.img", "--name", "g", "--config-out", "/w/g.cfg", "--boot", "direct"}},
		{ConvertOptions{Layout: "lv"}, []string{"convert", "/w/g.img", "--name", "g", "--config-out", "/w/g.cfg", "--layout", "lv"}},
		{ConvertOptions{Direct: true, Extra: []string{"--guest-type", "pvh-shim"}},
			[]string{"convert", "/w/g.img", "--name", "g", "--config-out", "/w/g.cfg", "--boot", "direct", "--guest-type", "pvh-shim"}},
	} {
		if diff := cmp.Diff(tc.want, ConvertArgs("/w/g.img", "g", "/w/g.cfg", tc.opt)); diff != "" {
			t.Errorf("ConvertArgs(%+v) mismatch (-want +got):\n%s", tc.opt, diff)
		}
	}
}
