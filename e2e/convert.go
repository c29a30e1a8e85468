package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// A Converter turns the native disk at image (an image file or a block
// device) into a Xen guest in place and writes the xl domain config to
// cfgOut.
type Converter interface {
	Convert(ctx context.Context, image, name, cfgOut string, opt ConvertOptions) error
	String() string
}

// ConvertOptions are the conversion choices a variant makes.
type ConvertOptions struct {
	Direct bool   // direct kernel boot instead of pygrub (--boot direct)
	Layout string // how disks are handed to the guest (--layout); "": xenify's default
	// Extra are further xenify convert arguments, appended last.
	Extra []string
}

// XenifyBin converts with the xenify binary, exactly as a user would:
//
//	xenify convert IMAGE --name NAME --config-out PATH [--boot direct] [--layout LAYOUT] [EXTRA...]
type XenifyBin struct{ Path string }

func (x XenifyBin) String() string { return x.Path }

// ConvertArgs is xenify's argv (without the program name) for one conversion.
func ConvertArgs(image, name, cfgOut string, opt ConvertOptions) []string {
	args := []string{"convert", image, "--name", name, "--config-out", cfgOut}
	if opt.Direct {
		args = append(args, "--boot", "direct")
	}
	if opt.Layout != "" {
		args = append(args, "--layout", opt.Layout)
	}
	return append(args, opt.Extra...)
}

// Convert runs xenify and folds its output into the error.
func (x XenifyBin) Convert(ctx context.Context, image, name, cfgOut string, opt ConvertOptions) error {
	args := ConvertArgs(image, name, cfgOut, opt)
	out, err := exec.CommandContext(ctx, x.Path, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", x.Path, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// Layout says where the filesystems of a guest image built by
// guest/build-guest.sh are; the build writes it next to the image.
type Layout struct {
	RootOffset, RootSize int64 // bytes
	BootOffset, BootSize int64 // 0 when /boot is on the root filesystem
	RootDev              string
}

// ParseLayout reads the "key=value" lines of a layout file.
func ParseLayout(b []byte) (Layout, error) {
	var l Layout
	for i, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		var dst *int64
		switch k {
		case "root_offset":
			dst = &l.RootOffset
		case "root_size":
			dst = &l.RootSize
		case "boot_offset":
			dst = &l.BootOffset
		case "boot_size":
			dst = &l.BootSize
		case "root_dev":
			l.RootDev = v
			continue
		default:
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return Layout{}, fmt.Errorf("line %d: bad %s %q", i+1, k, v)
		}
		*dst = n
	}
	if l.RootSize == 0 || l.RootDev == "" {
		return Layout{}, fmt.Errorf("layout has no root filesystem")
	}
	return l, nil
}

// HandConvert is a POSITIVE CONTROL ONLY, not a converter: a minimal hand
// conversion used while the xenify CLI cannot convert disk images yet, to
// prove that the harness can pass. It rewrites /dev/sdX to /dev/xvdX in
// fstab and on grub.cfg's linux lines, adds console=hvc0 and writes a
// minimal xl config. It knows only this package's guest images (Layout).
type HandConvert struct{ Layout Layout }

func (HandConvert) String() string { return "hand-conversion (positive control)" }

var sdName = regexp.MustCompile(`/dev/sd([a-z])`)

// HandConvertFstab rewrites native disk names in an fstab.
func HandConvertFstab(b []byte) []byte { return sdName.ReplaceAll(b, []byte("/dev/xvd$1")) }

// HandConvertGrub rewrites the kernel command lines in a grub.cfg: native
// disk names become xvd names and console=hvc0 is added.
func HandConvertGrub(b []byte) []byte {
	lines := strings.Split(string(b), "\n")
	for i, ln := range lines {
		if f := strings.Fields(ln); len(f) > 0 && f[0] == "linux" {
			ln = sdName.ReplaceAllString(ln, "/dev/xvd$1")
			if !strings.Contains(ln, "console=hvc0") {
				ln += " console=hvc0"
			}
			lines[i] = ln
		}
	}
	return []byte(strings.Join(lines, "\n"))
}

// Convert edits the image through loop mounts (root required). It knows
// only the whole-disk layout.
func (h HandConvert) Convert(ctx context.Context, image, name, cfgOut string, opt ConvertOptions) error {
	if opt.Layout != "" && opt.Layout != "disk" {
		return fmt.Errorf("the hand conversion positive control cannot convert with --layout %s", opt.Layout)
	}
	if len(opt.Extra) > 0 {
		return fmt.Errorf("the hand conversion positive control cannot convert with %s", strings.Join(opt.Extra, " "))
	}
	direct := opt.Direct
	l := h.Layout
	mnt, err := os.MkdirTemp("", "xenify-e2e-mnt")
	if err != nil {
		return err
	}
	defer os.Remove(mnt)
	mount := func(off, size int64) (func() error, error) {
		opts := fmt.Sprintf("loop,offset=%d,sizelimit=%d", off, size)
		if out, err := exec.CommandContext(ctx, "mount", "-o", opts, image, mnt).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("mount -o %s %s: %w: %s", opts, image, err, bytes.TrimSpace(out))
		}
		return func() error {
			if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
				return fmt.Errorf("umount %s: %w: %s", mnt, err, bytes.TrimSpace(out))
			}
			return nil
		}, nil
	}
	edit := func(p string, f func([]byte) []byte) error {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(p, f(b), 0o644)
	}
	umount, err := mount(l.RootOffset, l.RootSize)
	if err != nil {
		return err
	}
	if err := edit(filepath.Join(mnt, "etc/fstab"), HandConvertFstab); err != nil {
		umount()
		return fmt.Errorf("editing fstab: %w", err)
	}
	bootDir := filepath.Join(mnt, "boot")
	if l.BootSize != 0 {
		if err := umount(); err != nil {
			return err
		}
		if umount, err = mount(l.BootOffset, l.BootSize); err != nil {
			return err
		}
		bootDir = mnt
	}
	err = edit(filepath.Join(bootDir, "grub/grub.cfg"), HandConvertGrub)
	cfg := fmt.Sprintf("name = %q\nmemory = 512\nvcpus = 1\n", name)
	rootDev := sdName.ReplaceAllString(l.RootDev, "/dev/xvd$1")
	if err == nil && direct {
		var k, i []string
		k, _ = filepath.Glob(filepath.Join(bootDir, "vmlinuz-*"))
		i, _ = filepath.Glob(filepath.Join(bootDir, "initrd.img-*"))
		if len(k) != 1 || len(i) != 1 {
			err = fmt.Errorf("want one kernel and one initrd in /boot, found %v %v", k, i)
		} else {
			dir := filepath.Dir(cfgOut)
			if err = copyFile(k[0], filepath.Join(dir, "vmlinuz")); err == nil {
				err = copyFile(i[0], filepath.Join(dir, "initrd.img"))
			}
			cfg += fmt.Sprintf("kernel = %q\nramdisk = %q\nextra = \"root=%s ro quiet console=hvc0\"\n",
				filepath.Join(dir, "vmlinuz"), filepath.Join(dir, "initrd.img"), rootDev)
		}
	} else {
		cfg += "bootloader = \"pygrub\"\nbootloader_args = [\"-q\"]\n"
	}
	if uerr := umount(); err == nil {
		err = uerr
	}
	if err != nil {
		return err
	}
	cfg += fmt.Sprintf("disk = [ 'format=raw, vdev=xvda, access=rw, target=%s' ]\nvif = [ 'bridge=xenbr0' ]\n", image)
	return os.WriteFile(cfgOut, []byte(cfg), 0o644)
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
