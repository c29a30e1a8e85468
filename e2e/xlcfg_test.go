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
