//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xenify/xenify/internal/testenv"
)

// imageBuilder builds a guest image that guest/build-guest.sh does not
// (a Variant names it in Image). It is cached like build-guest.sh's
// images, keyed by the contents of sources (paths relative to e2e/) and
// what key adds. build fills dir with disk.img and layout, as
// build-guest.sh does; args are the converter arguments the image needs,
// given the cache directory it was built in.
type imageBuilder struct {
	sources []string
	key     func(t *testing.T) string
	build   func(t *testing.T, dir string) error
	args    func(dir string) ([]string, error)
}

// imageBuilders are the builders Variant.Image names.
var imageBuilders = map[string]imageBuilder{
	"el6-standin": {
		// The stand-in is internal/cli's TestIntegrationConvertEL6Real's
		// guest: the same recipe, preparation and kernel package.
		sources: []string{"el6_test.go", "../internal/testenv/el6.go", "../internal/testenv/rpm.go", "../internal/testenv/testenv.go"},
		key: func(t *testing.T) string {
			return fmt.Sprintf("%v|%s|%s", testenv.RHELTools, filepath.Base(testenv.DebianKernelDeb(t)), Password)
		},
		build: buildEL6Standin,
		args: func(dir string) ([]string, error) {
			rpms, _ := filepath.Glob(filepath.Join(dir, "*.rpm"))
			if len(rpms) != 1 {
				return nil, fmt.Errorf("%s: want one kernel package, found %v", dir, rpms)
			}
			return testenv.EL6ConvertArgs(rpms[0]), nil
		},
	},
}

// buildEL6Standin writes the EL6 stand-in (testenv.PrepareEL6) onto an
// MBR disk as anaconda would lay out CentOS 6 with its fstab: sda1 the
// ext4 root (with /boot), sda2 swap. Beside it goes the kernel package
// the conversion installs (testenv.DebianKernelRPM). Only the root
// password is added, for the console login.
func buildEL6Standin(t *testing.T, dir string) error {
	root := testenv.Root(t, testenv.RHELTools)
	testenv.PrepareEL6(t, root)
	pkg, _ := testenv.DebianKernelRPM(t)
	data, err := os.ReadFile(pkg)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(pkg)), data, 0o644); err != nil {
		return err
	}
	chpasswd := exec.Command("chroot", root, "/usr/sbin/chpasswd")
	chpasswd.Stdin = strings.NewReader("root:" + Password + "\n")
	chpasswd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
	if out, err := chpasswd.CombinedOutput(); err != nil {
		return fmt.Errorf("chpasswd in the stand-in: %w: %s", err, out)
	}

	const mib = 1 << 20
	const rootStart, rootMiB, swapMiB = 1, 1279, 256
	swapStart := rootStart + rootMiB
	img := filepath.Join(dir, "disk.img")
	sh := func(stdin string, name string, args ...string) error {
		cmd := exec.Command(name, args...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, out)
		}
		return nil
	}
	swap := filepath.Join(t.TempDir(), "swap")
	for _, c := range []struct {
		stdin string
		argv  []string
	}{
		{"", []string{"truncate", "-s", fmt.Sprintf("%dM", swapStart+swapMiB), img}},
		{fmt.Sprintf("label: dos\nlabel-id: 0x5eed0006\nstart=%d, size=%d, type=83, bootable\nstart=%d, size=%d, type=82\n",
			rootStart*2048, rootMiB*2048, swapStart*2048, swapMiB*2048), []string{"sfdisk", "-q", img}},
		{"", []string{"mke2fs", "-q", "-F", "-t", "ext4", "-E", fmt.Sprintf("offset=%d", rootStart*mib), "-d", root, img, fmt.Sprintf("%dk", rootMiB*1024)}},
		{"", []string{"truncate", "-s", fmt.Sprintf("%dM", swapMiB), swap}},
		{"", []string{"mkswap", "-q", swap}},
		{"", []string{"dd", "if=" + swap, "of=" + img, "bs=1M", fmt.Sprintf("seek=%d", swapStart), "conv=notrunc,sparse", "status=none"}},
	} {
		if err := sh(c.stdin, c.argv[0], c.argv[1:]...); err != nil {
			return err
		}
	}
	layout := fmt.Sprintf("root_dev=/dev/sda1\nroot_offset=%d\nroot_size=%d\n", rootStart*mib, rootMiB*mib)
	return os.WriteFile(filepath.Join(dir, "layout"), []byte(layout), 0o644)
}

// buildImage builds (or finds) the image of v.Image in a subtest of its
// own, so that a failed build fails that subtest, not the tier.
func buildImage(t *testing.T, cache string, v Variant) *guestImage {
	g := &guestImage{}
	b, ok := imageBuilders[v.Image]
	if !ok {
		g.err = fmt.Errorf("variant %s: no image builder %q", v.Name, v.Image)
		return g
	}
	g.err = fmt.Errorf("building image %s failed (see the image-%s subtest)", v.Image, v.Image)
	t.Run("image-"+v.Image, func(t *testing.T) {
		key := RecipeKey(readAll(t, b.sources...), b.key(t))
		dir, built, err := Cached(cache, "guest-"+v.Image, key, func(dir string) error { return b.build(t, dir) })
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("guest image %s (built now: %v)", dir, built)
		l, err := os.ReadFile(filepath.Join(dir, "layout"))
		if err == nil {
			g.layout, err = ParseLayout(l)
		}
		if err == nil {
			g.args, err = b.args(dir)
		}
		if err != nil {
			t.Fatal(err)
		}
		g.image, g.err = filepath.Join(dir, "disk.img"), nil
	})
	return g
}
