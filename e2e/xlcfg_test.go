package e2e

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRewriteDiskPath(t *testing.T) {
	const host, dom0 = "/var/tmp/w/deb12.img", "/dev/disk/by-id/virtio-xenify-guest"
	for _, tc := range []struct{ name, in, want string }{
		{"key=value",
			"name = \"g\"\ndisk = [ 'format=raw, vdev=xvda, access=rw, target=/var/tmp/w/deb12.img' ]\n",
			"name = \"g\"\ndisk = [ 'format=raw, vdev=xvda, access=rw, target=/dev/disk/by-id/virtio-xenify-guest' ]\n"},
		{"legacy phy prefix",
			"disk=['phy:/var/tmp/w/deb12.img,xvda,w']",
			"disk=['phy:/dev/disk/by-id/virtio-xenify-guest,xvda,w']"},
		{"positional, double quotes, multi-line",
			"disk = [\n  \"/var/tmp/w/deb12.img,raw,xvda,rw\", # the root disk\n  \"/other.img,raw,xvdb,rw\"\n]\n",
			"disk = [\n  \"/dev/disk/by-id/virtio-xenify-guest,raw,xvda,rw\", # the root disk\n  \"/other.img,raw,xvdb,rw\"\n]\n"},
		{"same path elsewhere is kept",
			"# disk was /var/tmp/w/deb12.img\nextra = \"/var/tmp/w/deb12.img\"\ndisk = ['target=/var/tmp/w/deb12.img']\n",
			"# disk was /var/tmp/w/deb12.img\nextra = \"/var/tmp/w/deb12.img\"\ndisk = ['target=/dev/disk/by-id/virtio-xenify-guest']\n"},
	} {
		got, err := RewriteDiskPath([]byte(tc.in), host, dom0)
		if err != nil {
			t.Errorf("%s: RewriteDiskPath() = %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, string(got)); diff != "" {
			t.Errorf("%s: RewriteDiskPath() mismatch (-want +got):\n%s", tc.name, diff)
		}
	}
	for _, bad := range []string{
		"disk = ['phy:/elsewhere.img,xvda,w']",
		"disk = ['phy:/var/tmp/w/deb12.img,xvda,w'",
		"disk = ['phy:/var/tmp/w/deb12.img,xvda,w]",
		"kernel = '/var/tmp/w/deb12.img'",
	} {
		if got, err := RewriteDiskPath([]byte(bad), host, dom0); err == nil {
			t.Errorf("RewriteDiskPath(%q) = %q, want error", bad, got)
		}
	}
}

func TestConfigFilesAndName(t *testing.T) {
	cfg := []byte("name = \"deb12-direct\"\nkernel = \"/w/vmlinuz\"\nramdisk = '/w/initrd.img'\nextra = \"root=/dev/xvda1 console=hvc0\"\nbootloader_args = [\"-q\"]\n")
	files, err := ConfigFiles(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/w/vmlinuz", "/w/initrd.img"}, files); diff != "" {
		t.Errorf("ConfigFiles() mismatch (-want +got):\n%s", diff)
	}
	if got, err := ConfigName(cfg); err != nil || got != "deb12-direct" {
		t.Errorf("ConfigName() = %q, %v, want deb12-direct", got, err)
	}
	if got, err := ConfigName([]byte("memory = 512\n")); err == nil {
		t.Errorf("ConfigName(no name) = %q, want error", got)
	}
}

func FuzzRewriteDiskPath(f *testing.F) {
	f.Add("disk = [ 'format=raw, vdev=xvda, access=rw, target=/i.img' ]\n")
	f.Add("disk=['phy:/i.img,xvda,w']")
	f.Add("disk = [\"/i.img,raw,xvda,rw\", # c\n]\nname='x'")
	f.Add("disk = ['tap:aio:/i.img,xvda,w']")
	f.Fuzz(func(t *testing.T, cfg string) {
		out, err := RewriteDiskPath([]byte(cfg), "/i.img", "/dev/d")
		if err != nil {
			return
		}
		// The rewrite touches disk targets only, so it must parse the same way.
		if _, err := xlStrings(out); err != nil {
			t.Errorf("RewriteDiskPath(%q) = %q, which does not parse: %v", cfg, out, err)
		}
		_, _ = ConfigFiles([]byte(cfg))
	})
}

// xenifyLV is what xenify convert --layout lv writes for the bootlvm
// image once /boot is merged into the root LV.
const xenifyLV = `name = "deb12-bootmerge"
bootloader = "pygrub"
bootloader_args = [ '-q' ]
disk = [
    # / (ext4), was /dev/mapper/vg0-root
    'format=raw, vdev=xvda1, access=rw, target=/dev/vg0/root',
    # none (swap), was /dev/mapper/vg0-swap
    'format=raw, vdev=xvda2, access=rw, target=/dev/vg0/swap',
]
vif = [
    'bridge=xenbr0',
]
`

func TestConfigDisks(t *testing.T) {
	for _, tc := range []struct {
		name, cfg string
		want      []Disk
	}{
		{"xenify lv", xenifyLV, []Disk{{"xvda1", "/dev/vg0/root"}, {"xvda2", "/dev/vg0/swap"}}},
		{"positional", "disk = ['phy:/dev/loop0p1,xvda1,w', \"/i.img,raw,xvda,rw\"]\n", []Disk{{"", "/dev/loop0p1"}, {"", "/i.img"}}},
		{"vdev after target=", "disk = ['format=raw,vdev=xvdb, target=/dev/vg0/lv,with,commas']", []Disk{{"xvdb", "/dev/vg0/lv,with,commas"}}},
		{"no disks", "name = 'g'\nextra = 'target=/x'\n", nil},
	} {
		got, err := ConfigDisks([]byte(tc.cfg))
		if err != nil {
			t.Errorf("%s: ConfigDisks() = %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: ConfigDisks() mismatch (-want +got):\n%s", tc.name, diff)
		}
	}
	if got, err := ConfigDisks([]byte("disk = ['target=/x'")); err == nil {
		t.Errorf("ConfigDisks(unterminated) = %v, want error", got)
	}
}

func TestVolumeGroups(t *testing.T) {
	disks := []Disk{
		{"xvda1", "/dev/vg0/root"}, {"xvda2", "/dev/vg0/swap"}, {"xvdb", "/dev/vg_data/srv"},
		{"xvdc", "/dev/disk/by-id/virtio-xenify-guest"}, {"xvdd", "/dev/mapper/vg1-x"}, {"xvde", "/dev/loop0p1"},
		{"xvdf", "/srv/img/web1.img"}, {"xvdg", "/dev/vg2/"}, {"xvdh", "/dev/md/root"},
	}
	if diff := cmp.Diff([]string{"vg0", "vg_data"}, VolumeGroups(disks)); diff != "" {
		t.Errorf("VolumeGroups() mismatch (-want +got):\n%s", diff)
	}
	if got := VolumeGroups(nil); got != nil {
		t.Errorf("VolumeGroups(nil) = %v, want none", got)
	}
}

func TestDiffDisks(t *testing.T) {
	want := []Disk{{"xvda1", "/dev/vg0/root"}, {"xvda2", "/dev/vg0/swap"}}
	if got := DiffDisks([]Disk{{"xvda1", "/dev/vg0/root"}, {"xvda2", "/dev/vg0/swap"}}, want); got != "" {
		t.Errorf("DiffDisks(same) = %q, want \"\"", got)
	}
	withBoot := []Disk{{"xvda1", "/dev/loop0p1"}, {"xvda2", "/dev/vg0/root"}, {"xvda3", "/dev/vg0/swap"}}
	wantWhy := "disks are [xvda1=/dev/loop0p1 xvda2=/dev/vg0/root xvda3=/dev/vg0/swap], want [xvda1=/dev/vg0/root xvda2=/dev/vg0/swap]"
	if got := DiffDisks(withBoot, want); got != wantWhy {
		t.Errorf("DiffDisks(kept /boot) = %q, want %q", got, wantWhy)
	}
	if got := DiffDisks(want[:1], want); got == "" {
		t.Errorf("DiffDisks(one missing) = \"\", want a reason")
	}
}

func TestConfigSettings(t *testing.T) {
	cfg := "# Xen domain, type = \"hvm\" in a comment\n\nname = \"deb12-pvhshim\"\ntype = \"pvh\"\npvshim = 1\n" +
		"pvshim_path = \"/usr/lib/xen-4.17/boot/xen-shim\"\nmemory=512\nbootloader_args = [ '-q', \"x = 1\" ]\n" +
		"disk = [\n    # / (ext4), was /dev/sda1\n    'format=raw, vdev=xvda, target=/w/g.img',\n]\non_crash = 'restart' # a comment\n"
	got, err := ConfigSettings([]byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"name": "deb12-pvhshim", "type": "pvh", "pvshim": "1",
		"pvshim_path": "/usr/lib/xen-4.17/boot/xen-shim", "memory": "512", "on_crash": "restart"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ConfigSettings() mismatch (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"name \"g\"\n", "memory =\n", "name = 'g\n", "disk = [ 'x'\n"} {
		if got, err := ConfigSettings([]byte(bad)); err == nil {
			t.Errorf("ConfigSettings(%q) = %v, want error", bad, got)
		}
	}
}

func TestDiffSettings(t *testing.T) {
	got := map[string]string{"type": "pvh", "pvshim": "0"}
	if why := DiffSettings(got, map[string]string{"type": "pvh"}); why != "" {
		t.Errorf("DiffSettings(same) = %q, want \"\"", why)
	}
	want := `pvshim is "0", want "1"; no pvshim_path (want "/s")`
	if why := DiffSettings(got, map[string]string{"pvshim": "1", "pvshim_path": "/s", "type": "pvh"}); why != want {
		t.Errorf("DiffSettings() = %q, want %q", why, want)
	}
}

func TestTypeAndBoot(t *testing.T) {
	for _, tc := range []struct {
		set       map[string]string
		typ, boot string
	}{
		{map[string]string{"bootloader": "pygrub"}, "pv", "pygrub"},
		{map[string]string{"type": "pvh", "pvshim": "1", "bootloader": "pygrub"}, "pvh+shim", "pygrub"},
		{map[string]string{"type": "pvh", "kernel": "/usr/lib/grub-xen/grub-i386-xen_pvh.bin"}, "pvh", "pvgrub"},
		{map[string]string{"kernel": "/var/lib/xen/kernels/d12/vmlinuz"}, "pv", "direct"},
	} {
		if typ, boot := TypeAndBoot(tc.set); typ != tc.typ || boot != tc.boot {
			t.Errorf("TypeAndBoot(%v) = %q, %q; want %q, %q", tc.set, typ, boot, tc.typ, tc.boot)
		}
	}
}
