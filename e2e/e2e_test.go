//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xenify/xenify/internal/testenv"
)

const (
	guestTimeout = 5 * time.Minute  // xl create to findmnt result, inside dom0
	bootTimeout  = 12 * time.Minute // whole QEMU run, on the host
)

// result is one row of the summary table.
type result struct {
	name, typ, boot, want string
	login                 float64
	total                 time.Duration
	reason                string // "" = the guest booted as required
	note                  string // shown for a pass too (an earlier attempt failed)
	pass                  bool
	log                   []string
}

// TestIntegrationBoot builds the native images, converts each and boots it
// under Xen 4.17 in QEMU; the unconverted deb12-sda1 image must fail.
func TestIntegrationBoot(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Skipf(t, "e2e boot tier needs root (loop devices, mmdebstrap, mounts)")
	}
	for _, tool := range []string{"mmdebstrap", "qemu-system-x86_64", "sfdisk", "mke2fs", "mkfs.xfs", "mkswap", "lvm",
		"losetup", "mount", "apt-get", "dpkg-deb", "cp"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Skipf(t, "e2e boot tier needs %s: %v", tool, err)
		}
	}
	variants, err := SelectVariants(Variants, os.Getenv("XENIFY_E2E_VARIANTS"))
	if err != nil {
		t.Fatalf("$XENIFY_E2E_VARIANTS: %v", err)
	}
	ctx := context.Background()
	cache := CacheDir()
	accel, why := DetectAccel(ctx)
	t.Logf("accelerator: %s (%s)", accel, why)

	start := time.Now()
	dom0 := buildDom0(t, cache)
	t.Logf("dom0 ready after %s", time.Since(start).Round(time.Second))

	var bin Converter
	if p := os.Getenv("XENIFY_BIN"); p != "" {
		bin = XenifyBin{Path: p}
	} else {
		t.Logf("XENIFY_BIN is not set: converting with the HAND CONVERSION POSITIVE CONTROL; this proves the harness, not xenify")
	}

	var results []result
	defer func() { printTable(t, bin, accel, results, time.Since(start)) }()

	boot := func(t *testing.T, v Variant, image, cfgPath, label string) result {
		r := result{name: label, boot: "pygrub", want: v.WantRoot}
		if v.Direct {
			r.boot = "direct"
		}
		cfg, err := os.ReadFile(cfgPath)
		if err != nil {
			t.Fatalf("reading domain config: %v", err)
		}
		var vgs []string
		if v.XenifyLayout == "" {
			// The single edit to xenify's config: the disk path on the
			// conversion host becomes the virtio disk's path in dom0.
			cfg, err = RewriteDiskPath(cfg, image, Dom0GuestDisk)
			if err != nil {
				t.Fatalf("RewriteDiskPath(%s) = %v", cfgPath, err)
			}
		} else {
			// One virtual device per filesystem: the config names dom0's
			// own devices (/dev/VG/LV), which dom0 activates; no edit.
			disks, err := ConfigDisks(cfg)
			if err != nil {
				t.Fatalf("%s: %v", cfgPath, err)
			}
			vgs = VolumeGroups(disks)
		}
		name, err := ConfigName(cfg)
		if err != nil {
			t.Fatalf("%s: %v", cfgPath, err)
		}
		if set, err := ConfigSettings(cfg); err == nil {
			r.typ, r.boot = TypeAndBoot(set)
		}
		files, err := ConfigFiles(cfg)
		if err != nil {
			t.Fatalf("%s: %v", cfgPath, err)
		}
		dir := t.TempDir()
		jobPath := filepath.Join(dir, "job.tar")
		var job bytes.Buffer
		if err := WriteJob(&job, name, Password, guestTimeout, cfg, files, vgs); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(jobPath, job.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		m := Machine{
			Xen: filepath.Join(dom0, "xen"), Dom0Kernel: filepath.Join(dom0, "vmlinuz"),
			Dom0Initrd: filepath.Join(dom0, "initrd.img"), Dom0Root: filepath.Join(dom0, "dom0.img"),
			GuestDisk: image, JobTar: jobPath, SerialLog: filepath.Join(dir, "serial.log"), Accel: accel,
			CPU: v.QEMUCPU,
		}
		t.Logf("qemu-system-x86_64 %s", strings.Join(m.Args(), " "))
		t0 := time.Now()
		timedOut, err := m.Run(ctx, bootTimeout)
		r.total = time.Since(t0)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(m.SerialLog)
		if err != nil {
			t.Fatalf("reading serial log: %v", err)
		}
		rep, err := ParseReport(f)
		f.Close()
		if err != nil {
			t.Fatalf("reading serial log: %v", err)
		}
		r.login = rep.LoginAfter
		r.reason = rep.Verdict(v.WantRoot, v.WantBoot)
		t.Logf("xen_caps: %s", rep.XenCaps)
		if set, _ := ConfigSettings(cfg); r.reason != "" && set["type"] == "pvh" && rep.XenCaps != "" && !strings.Contains(rep.XenCaps, "hvm-") {
			r.reason += " (PVH needs HVM; Xen offers only " + rep.XenCaps + ")"
		}
		if timedOut && r.reason == "" || timedOut && !rep.Ended {
			r.reason = fmt.Sprintf("QEMU stopped after %s timeout (%s)", bootTimeout, r.reason)
		}
		if keep := os.Getenv("XENIFY_E2E_KEEP_LOGS"); keep != "" {
			_ = os.MkdirAll(keep, 0o755)
			_ = copyFile(m.SerialLog, filepath.Join(keep, label+".serial.log"))
		}
		r.log = rep.Guest
		return r
	}

	t0 := time.Now()
	images := buildGuests(t, cache, variants)
	t.Logf("guest images ready after %s", time.Since(t0).Round(time.Second))

	var nativeSda1 string
	cfgSda1 := filepath.Join(t.TempDir(), "native.cfg") // outlives the subtests
	for _, v := range variants {
		t.Run(v.Name, func(t *testing.T) {
			g := images[v.imageKey()]
			if g.err != nil {
				results = append(results, result{name: v.Name, reason: "image build: " + oneLine(g.err.Error())})
				t.Fatal(g.err)
			}
			img, layout := g.image, g.layout
			work := t.TempDir()
			image := filepath.Join(work, v.Name+".img")
			if out, err := exec.Command("cp", "--sparse=always", img, image).CombinedOutput(); err != nil {
				t.Fatalf("copying image: %v: %s", err, out)
			}
			conv := bin
			if conv == nil {
				if v.XenifyLayout != "" {
					testenv.Skipf(t, "--layout %s needs xenify (XENIFY_BIN); the hand conversion positive control converts whole disks only", v.XenifyLayout)
				}
				if args := append(g.args, v.XenifyArgs...); len(args) > 0 {
					testenv.Skipf(t, "%s needs xenify (XENIFY_BIN); the hand conversion positive control takes no xenify arguments", strings.Join(args, " "))
				}
				if v.NeedsXenify != "" {
					testenv.Skipf(t, "%s needs xenify (XENIFY_BIN): %s", v.Name, v.NeedsXenify)
				}
				conv = HandConvert{Layout: layout}
			}
			cfgPath := filepath.Join(work, v.Name+".cfg")
			opt := ConvertOptions{Direct: v.Direct, Layout: v.XenifyLayout, Extra: append(append([]string(nil), g.args...), v.XenifyArgs...)}
			src, detach := image, func() error { return nil }
			if v.XenifyLayout != "" {
				// Per-filesystem layouts need a block device: the whole
				// image as a loop device, detached again before the boot.
				src, detach = attachLoop(t, image)
			}
			err := conv.Convert(ctx, src, v.Name, cfgPath, opt)
			if derr := detach(); derr != nil && err == nil {
				err = derr
			}
			if err != nil {
				results = append(results, result{name: v.Name, reason: "convert: " + oneLine(err.Error())})
				t.Fatalf("%s: Convert(%s) = %v", conv, src, err)
			}
			if v.WantDisks != nil {
				if why := checkDisks(cfgPath, v.WantDisks); why != "" {
					results = append(results, result{name: v.Name, reason: "domain config: " + why})
					t.Fatalf("domain config %s: %s", cfgPath, why)
				}
			}
			if v.WantSettings != nil {
				if why := checkSettings(cfgPath, v.WantSettings); why != "" {
					results = append(results, result{name: v.Name, reason: "domain config: " + why})
					t.Fatalf("domain config %s: %s", cfgPath, why)
				}
			}
			r := boot(t, v, image, cfgPath, v.Name)
			for a := 2; r.reason != "" && a <= v.BootAttempts; a++ {
				// QEMU boots the image with snapshot=on: each attempt
				// starts from the same converted disk.
				t.Logf("%s: attempt %d of %d failed: %s\nguest console:\n%s", v.Name, a-1, v.BootAttempts, r.reason, tail(r.log, 60))
				failed := r.reason
				r = boot(t, v, image, cfgPath, v.Name)
				r.note = fmt.Sprintf("attempt %d; attempt %d failed: %s", a, a-1, failed)
			}
			r.pass = r.reason == ""
			results = append(results, r)
			if !r.pass {
				t.Errorf("converted %s did not boot: %s\nguest console:\n%s", v.Name, r.reason, tail(r.log, 60))
			}
			if v.Name == "deb12-sda1" {
				nativeSda1 = img
				// Keep the config: the negative check boots the pristine image with it.
				b, err := os.ReadFile(cfgPath)
				if err == nil {
					err = os.WriteFile(cfgSda1, bytes.ReplaceAll(b, []byte(image), []byte(img)), 0o644)
				}
				if err != nil {
					t.Fatalf("keeping the config for the negative check: %v", err)
				}
			}
		})
	}

	// The negative check: the unconverted image must not pass. Debian's
	// initramfs has xen-blkfront, so it fails on root=/dev/sda1, not drivers.
	t.Run("deb12-sda1-unconverted", func(t *testing.T) {
		if nativeSda1 == "" {
			t.Skip("deb12-sda1 was not converted; no domain config to boot the native image with")
		}
		r := boot(t, Variants[0], nativeSda1, cfgSda1, "deb12-sda1-unconverted")
		r.want = "must FAIL"
		r.pass = r.reason != ""
		results = append(results, r)
		if !r.pass {
			t.Errorf("the unconverted image booted with root %s: the tier cannot tell a converted guest from a native one", Variants[0].WantRoot)
		} else {
			t.Logf("unconverted image failed as it must: %s", r.reason)
		}
	})
}

// attachLoop attaches image as a whole-disk loop device (losetup --find
// --show). detach detaches it; it runs at most once and, should the test
// stop before calling it, at cleanup.
func attachLoop(t *testing.T, image string) (dev string, detach func() error) {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command("losetup", "--find", "--show", image)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	dev = strings.TrimSpace(string(out))
	if err != nil || !strings.HasPrefix(dev, "/dev/loop") {
		t.Fatalf("losetup --find --show %s = %q, %v: %s", image, dev, err, bytes.TrimSpace(stderr.Bytes()))
	}
	var once sync.Once
	var derr error
	detach = func() error {
		once.Do(func() {
			if out, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
				derr = fmt.Errorf("losetup -d %s: %w: %s", dev, err, bytes.TrimSpace(out))
			}
		})
		return derr
	}
	t.Cleanup(func() {
		if err := detach(); err != nil {
			t.Error(err)
		}
	})
	t.Logf("%s is %s", dev, image)
	return dev, detach
}

// checkDisks returns "" when the domain config at cfgPath hands the guest
// exactly the disks want, else why not.
func checkDisks(cfgPath string, want []Disk) string {
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		return err.Error()
	}
	got, err := ConfigDisks(cfg)
	if err != nil {
		return err.Error()
	}
	return DiffDisks(got, want)
}

// checkSettings returns "" when the domain config at cfgPath has every
// setting in want, else why not.
func checkSettings(cfgPath string, want map[string]string) string {
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		return err.Error()
	}
	got, err := ConfigSettings(cfg)
	if err != nil {
		return err.Error()
	}
	return DiffSettings(got, want)
}

func buildDom0(t *testing.T, cache string) string {
	t.Helper()
	deb, err := hypervisorDeb(cache)
	if err != nil {
		t.Fatal(err)
	}
	script := readAll(t, "dom0/build-dom0.sh", "dom0/xenify-e2e.service", "dom0/xenify-e2e-boot")
	key := RecipeKey(script, filepath.Base(deb))
	dir, built, err := Cached(cache, "dom0", key, func(dir string) error {
		return runLogged(t, "", "bash", "dom0/build-dom0.sh", dir, deb)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("dom0 %s (built now: %v)", dir, built)
	return dir
}

// hypervisorDeb downloads xen-hypervisor-4.17-amd64 into the cache once.
func hypervisorDeb(cache string) (string, error) {
	dl := filepath.Join(cache, "dl")
	if m, _ := filepath.Glob(filepath.Join(dl, "xen-hypervisor-4.17-amd64_*.deb")); len(m) > 0 {
		return m[len(m)-1], nil
	}
	if err := os.MkdirAll(dl, 0o755); err != nil {
		return "", err
	}
	cmd := exec.Command("apt-get", "download", "xen-hypervisor-4.17-amd64")
	cmd.Dir = dl
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("apt-get download xen-hypervisor-4.17-amd64: %w: %s", err, out)
	}
	m, _ := filepath.Glob(filepath.Join(dl, "xen-hypervisor-4.17-amd64_*.deb"))
	if len(m) == 0 {
		return "", fmt.Errorf("apt-get download left no xen-hypervisor .deb in %s", dl)
	}
	return m[len(m)-1], nil
}

// guestImage is a built native image, or why it could not be built.
type guestImage struct {
	image  string
	layout Layout
	args   []string // converter arguments the image needs (imageBuilder.args)
	err    error
}

// buildGuests builds the distinct guest recipes concurrently (mmdebstrap
// waits on the network and on dpkg much of the time).
func buildGuests(t *testing.T, cache string, vs []Variant) map[string]*guestImage {
	script := readAll(t, "guest/build-guest.sh", "guest/grub-probe-shim")
	out := map[string]*guestImage{}
	var wg sync.WaitGroup
	for _, v := range vs {
		env := v.imageKey()
		if _, ok := out[env]; ok || v.Image != "" {
			continue
		}
		g := &guestImage{}
		out[env] = g
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := v.imageName()
			dir, built, err := Cached(cache, name, RecipeKey(script, env), func(dir string) error {
				return runLogged(t, env, "bash", "guest/build-guest.sh", dir)
			})
			if err != nil {
				g.err = err
				return
			}
			t.Logf("guest image %s (built now: %v)", dir, built)
			b, err := os.ReadFile(filepath.Join(dir, "layout"))
			if err == nil {
				g.layout, err = ParseLayout(b)
			}
			if err != nil {
				g.err = fmt.Errorf("%s/layout: %w", dir, err)
				return
			}
			g.image = filepath.Join(dir, "disk.img")
		}()
	}
	wg.Wait()
	for _, v := range vs {
		if _, ok := out[v.imageKey()]; !ok && v.Image != "" {
			out[v.imageKey()] = buildImage(t, cache, v)
		}
	}
	return out
}

// runLogged runs a build script; its output goes to a log file that is
// shown when it fails. env holds extra "K=V" lines.
func runLogged(t *testing.T, env string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Env = os.Environ()
	if env != "" {
		cmd.Env = append(cmd.Env, strings.Split(env, "\n")...)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	err := cmd.Run()
	t.Logf("%s %s: %s", name, strings.Join(args, " "), time.Since(t0).Round(time.Second))
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tailString(out.String(), 40))
	}
	return nil
}

func readAll(t *testing.T, files ...string) string {
	t.Helper()
	var b strings.Builder
	for _, f := range files {
		c, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s\n%d\n%s", f, len(c), c)
	}
	return b.String()
}

func printTable(t *testing.T, conv Converter, accel string, rs []result, total time.Duration) {
	convName := "hand-conversion (positive control)"
	if conv != nil {
		convName = conv.String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\ne2e boot results (converter: %s, accel: %s, total %s)\n", convName, accel, total.Round(time.Second))
	fmt.Fprintf(&b, "%-24s %-9s %-7s %-22s %-6s %9s %9s  %s\n", "VARIANT", "TYPE", "BOOT", "EXPECT ROOT", "RESULT", "LOGIN", "RUN", "REASON")
	for _, r := range rs {
		res := "FAIL"
		if r.pass {
			res = "PASS"
		}
		login := "-"
		if r.login > 0 {
			login = fmt.Sprintf("%.1fs", r.login)
		}
		why := r.reason
		if r.note != "" {
			why = strings.TrimSpace(why + " (" + r.note + ")")
		}
		fmt.Fprintf(&b, "%-24s %-9s %-7s %-22s %-6s %9s %9s  %s\n", r.name, orDash(r.typ), r.boot, r.want, res, login, r.total.Round(time.Second), why)
	}
	t.Log(b.String())
	fmt.Print(b.String())
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func tail(lines []string, n int) string {
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func tailString(s string, n int) string { return tail(strings.Split(s, "\n"), n) }

// imageKey tells apart the images variants boot: an image builder's
// name, or guest/build-guest.sh's recipe.
func (v Variant) imageKey() string {
	if v.Image != "" {
		return "image=" + v.Image
	}
	return strings.Join(v.recipeEnv(), "\n")
}

// recipeEnv is the environment guest/build-guest.sh reads.
func (v Variant) recipeEnv() []string {
	env := []string{
		"SUITE=" + v.Suite, "LAYOUT=" + v.Layout, "NAMES=" + v.Names,
		"PASSWORD=" + Password, "GUEST_HOSTNAME=native-" + v.Suite,
	}
	if v.Init != "" {
		env = append(env, "INIT="+v.Init)
	}
	if v.Initrd != "" {
		env = append(env, "INITRD="+v.Initrd)
	}
	if v.FS != "" {
		env = append(env, "FS="+v.FS)
	}
	return env
}

// imageName names a recipe's image in the cache.
func (v Variant) imageName() string {
	name := "guest-" + v.Suite + "-" + v.Layout + "-" + v.Names
	for _, s := range []string{v.Init, v.Initrd, v.FS} {
		if s != "" {
			name += "-" + s
		}
	}
	return name
}
