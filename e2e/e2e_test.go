//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xenify/xenify/internal/testenv"
)

const guestTimeout = 5 * time.Minute // one attempt, xl create to findmnt result, inside dom0

// result is one row of the summary table: one guest.
type result struct {
	name, typ, boot, want string
	login                 float64
	guest                 time.Duration // dom0's time on the guest, every attempt
	run                   int           // the dom0 run that booted it, from 1
	reason                string        // "" = the guest booted as required
	note                  string        // shown for a pass too (an earlier attempt failed)
	pass                  bool
	log                   []string
}

// runResult is one dom0 run (one QEMU) of the summary.
type runResult struct {
	cpu       string
	labels    []string
	dom0Ready float64
	wall      time.Duration
	timedOut  bool
}

// bootGuest is a converted guest waiting for its dom0 run.
type bootGuest struct {
	v        Variant
	label    string
	image    string // the disk image QEMU hands dom0
	cfg      []byte // xenify's domain config, as written
	cfgPath  string
	mustFail bool
}

// TestIntegrationBoot builds the native images, converts each and boots
// them under Xen 4.17 in QEMU, several guests in turn per dom0 run and
// $XENIFY_E2E_PARALLEL runs at a time; the unconverted deb12-sda1 image
// must fail.
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
	parallel, err := ParseCount("XENIFY_E2E_PARALLEL", os.Getenv("XENIFY_E2E_PARALLEL"), min(2, runtime.NumCPU()))
	if err != nil {
		t.Fatal(err)
	}
	perRun, err := ParseCount("XENIFY_E2E_PER_RUN", os.Getenv("XENIFY_E2E_PER_RUN"), 0)
	if err != nil {
		t.Fatal(err)
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
	var runs []runResult
	defer func() { printTable(t, bin, accel, results, runs, time.Since(start)) }()

	t0 := time.Now()
	images := buildGuests(t, cache, variants)
	t.Logf("guest images ready after %s", time.Since(t0).Round(time.Second))

	var guests []bootGuest
	var control *bootGuest
	works := t.TempDir() // the converted images outlive their subtests: they boot after all converts
	for _, v := range variants {
		t.Run(v.Name, func(t *testing.T) {
			g := images[v.imageKey()]
			if g.err != nil {
				results = append(results, result{name: v.Name, reason: "image build: " + oneLine(g.err.Error())})
				t.Fatal(g.err)
			}
			img, layout := g.image, g.layout
			work := filepath.Join(works, v.Name)
			if err := os.Mkdir(work, 0o755); err != nil {
				t.Fatal(err)
			}
			image := filepath.Join(work, v.Name+".img")
			if out, err := exec.Command("cp", "--sparse=always", img, image).CombinedOutput(); err != nil {
				t.Fatalf("copying image: %v: %s", err, out)
			}
			if v.GrubMBR {
				installGrubMBR(t, image)
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
			cfg, err := os.ReadFile(cfgPath)
			if err != nil {
				t.Fatalf("reading domain config: %v", err)
			}
			guests = append(guests, bootGuest{v: v, label: v.Name, image: image, cfg: cfg, cfgPath: cfgPath})
			if v.Name == "deb12-sda1" {
				// The negative check boots the pristine image with this config.
				control = &bootGuest{v: v, label: "deb12-sda1-unconverted", image: img,
					cfg: bytes.ReplaceAll(cfg, []byte(image), []byte(img)), cfgPath: cfgPath, mustFail: true}
				control.v.BootAttempts = 1 // a failure is its verdict
			}
		})
	}
	// The negative check: the unconverted image must not pass. Debian's
	// initramfs has xen-blkfront, so it fails on root=/dev/sda1, not drivers.
	if control != nil {
		guests = append(guests, *control)
	} else {
		t.Run("deb12-sda1-unconverted", func(t *testing.T) {
			t.Skip("deb12-sda1 was not converted; no domain config to boot the native image with")
		})
	}

	cpus := make([]string, len(guests))
	for i, g := range guests {
		cpus[i] = g.v.CPU()
	}
	plan := PlanRuns(cpus, parallel, perRun)
	t.Logf("%d guests in %d dom0 runs, %d at a time", len(guests), len(plan), parallel)
	byRun := make([][]result, len(plan))
	runs = make([]runResult, len(plan))
	var wg sync.WaitGroup
	slots := make(chan struct{}, max(parallel, 1))
	for k, idx := range plan {
		var gs []bootGuest
		for _, i := range idx {
			gs = append(gs, guests[i])
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			byRun[k], runs[k] = bootRun(t, ctx, k+1, gs, dom0, accel)
		}()
	}
	wg.Wait()
	for _, rs := range byRun {
		results = append(results, rs...)
	}
	for _, r := range results {
		if r.run == 0 {
			continue // failed before its boot, already reported
		}
		t.Run("boot/"+r.name, func(t *testing.T) {
			switch {
			case r.want == "must FAIL" && !r.pass && r.reason == "":
				t.Errorf("the unconverted image booted with root %s: the tier cannot tell a converted guest from a native one", Variants[0].WantRoot)
			case r.want == "must FAIL" && !r.pass:
				t.Errorf("the unconverted image never ran, so its failure proves nothing: %s", r.reason)
			case r.want == "must FAIL":
				t.Logf("unconverted image failed as it must: %s", r.reason)
			case !r.pass:
				t.Errorf("converted %s did not boot: %s\nguest console:\n%s", r.name, r.reason, tail(r.log, 60))
			case r.note != "":
				t.Logf("%s: %s", r.name, r.note)
			}
		})
	}
}

// bootRun boots guests in turn in one dom0 run (QEMU) and returns each
// one's row, in order, and the run's own figures. It runs beside other
// runs: it reports its troubles in the rows, never with t.Fatal.
func bootRun(t *testing.T, ctx context.Context, n int, gs []bootGuest, dom0, accel string) ([]result, runResult) {
	rr := runResult{cpu: gs[0].v.CPU()}
	rows := make([]result, len(gs))
	var job []Guest
	var disks []string
	fail := func(why string) ([]result, runResult) {
		for i := range rows {
			rows[i].reason, rows[i].pass = why, false // no verdict, not even the control's
		}
		return rows, rr
	}
	for i, g := range gs {
		rr.labels = append(rr.labels, g.label)
		r := result{name: g.label, boot: "pygrub", want: g.v.WantRoot, run: n}
		if g.v.Direct {
			r.boot = "direct"
		}
		if g.mustFail {
			r.want = "must FAIL"
		}
		if set, err := ConfigSettings(g.cfg); err == nil {
			r.typ, r.boot = TypeAndBoot(set)
		}
		rows[i] = r
		cfg := g.cfg
		var vgs []string
		var err error
		if g.v.XenifyLayout == "" {
			// The single edit to xenify's config: the disk path on the
			// conversion host becomes this guest's virtio disk in dom0.
			cfg, err = RewriteDiskPath(cfg, g.image, GuestDiskPath(i))
		} else {
			// One virtual device per filesystem: the config names dom0's
			// own devices (/dev/VG/LV), which dom0 activates from this
			// guest's disk only; no edit.
			var ds []Disk
			ds, err = ConfigDisks(cfg)
			vgs = VolumeGroups(ds)
		}
		var files []string
		if err == nil {
			files, err = ConfigFiles(cfg)
		}
		if err != nil {
			return fail(fmt.Sprintf("domain config %s: %v", g.cfgPath, err))
		}
		timeout := guestTimeout
		if g.v.GuestTimeout > 0 {
			timeout = g.v.GuestTimeout
		}
		ex, err := proofExtras(g, cfg)
		if err != nil {
			return fail(fmt.Sprintf("%s: %v", g.label, err))
		}
		job = append(job, Guest{Label: g.label, Config: cfg, Password: Password, Timeout: timeout,
			Attempts: g.v.BootAttempts, VGs: vgs, Files: files, Extras: ex})
		disks = append(disks, g.image)
	}
	dir := t.TempDir()
	var buf bytes.Buffer
	if err := WriteJob(&buf, job); err != nil {
		return fail("job: " + err.Error())
	}
	jobPath := filepath.Join(dir, "job.tar")
	if err := os.WriteFile(jobPath, buf.Bytes(), 0o644); err != nil {
		return fail("job: " + err.Error())
	}
	m := Machine{
		Xen: filepath.Join(dom0, "xen"), Dom0Kernel: filepath.Join(dom0, "vmlinuz"),
		Dom0Initrd: filepath.Join(dom0, "initrd.img"), Dom0Root: filepath.Join(dom0, "dom0.img"),
		GuestDisks: disks, JobTar: jobPath, SerialLog: filepath.Join(dir, "serial.log"), Accel: accel,
		CPU: rr.cpu,
	}
	timeout := RunTimeout(job)
	t.Logf("run %d (%s, timeout %s): qemu-system-x86_64 %s", n, strings.Join(rr.labels, " "), timeout, strings.Join(m.Args(), " "))
	t0 := time.Now()
	timedOut, err := m.Run(ctx, timeout)
	rr.wall, rr.timedOut = time.Since(t0), timedOut
	if keep := os.Getenv("XENIFY_E2E_KEEP_LOGS"); keep != "" {
		_ = os.MkdirAll(keep, 0o755)
		_ = copyFile(m.SerialLog, filepath.Join(keep, fmt.Sprintf("run%d-%s.serial.log", n, gs[0].label)))
	}
	if err != nil {
		return fail(oneLine(err.Error()))
	}
	f, err := os.Open(m.SerialLog)
	if err != nil {
		return fail("reading serial log: " + err.Error())
	}
	run, err := ParseRun(f)
	f.Close()
	if err != nil {
		return fail("reading serial log: " + err.Error())
	}
	rr.dom0Ready = run.Dom0Ready
	t.Logf("run %d: xen_caps %s, dom0 ready at %.1fs, %s", n, run.XenCaps, run.Dom0Ready, rr.wall.Round(time.Second))
	for i, g := range gs {
		rep := run.Report(g.label)
		r := &rows[i]
		r.login = rep.LoginAfter
		r.guest = time.Duration(rep.Elapsed * float64(time.Second))
		r.reason = rep.Verdict(g.v.WantRoot, g.v.WantBoot)
		if why := proofVerdict(t, job[i].Extras, rep.Proof, g.label); r.reason == "" {
			r.reason = why
		}
		if set, _ := ConfigSettings(g.cfg); r.reason != "" && set["type"] == "pvh" && rep.XenCaps != "" && !strings.Contains(rep.XenCaps, "hvm-") {
			r.reason += " (PVH needs HVM; Xen offers only " + rep.XenCaps + ")"
		}
		if timedOut && !rep.Done {
			r.reason = fmt.Sprintf("QEMU stopped after %s timeout (%s)", timeout, r.reason)
		}
		if len(rep.Retried) > 0 {
			r.note = fmt.Sprintf("attempt %d; attempt %d failed: %s", rep.Attempt, rep.Attempt-1, rep.Retried[len(rep.Retried)-1])
		}
		r.pass = r.reason == ""
		if g.mustFail {
			// The control fails as it must only when it ran: its own
			// boot failed, not dom0 or the run before it.
			r.pass = r.reason != "" && rep.Created
		}
		r.log = rep.Guest
	}
	return rows, rr
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

// installGrubMBR installs GRUB 2 for BIOS in image's MBR and post-MBR
// gap, with its modules in the first partition's /boot/grub, as the
// native installer would (grub-install, grub-pc-bin and grub2-common;
// the guest's own grub.cfg stays). The partition gets its device node
// from partx: the tier's machines may have no udev.
func installGrubMBR(t *testing.T, image string) {
	t.Helper()
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
		return strings.TrimSpace(string(out))
	}
	dev := run("losetup", "--partscan", "--find", "--show", image)
	defer run("losetup", "-d", dev)
	// partx adds the partitions the kernel's scan has not (yet) added;
	// it fails for those already there, which is fine.
	_ = exec.Command("partx", "-a", dev).Run()
	defer func() { _ = exec.Command("partx", "-d", dev).Run() }()
	if _, err := os.Stat(dev + "p1"); err != nil {
		t.Fatalf("partition 1 of %s (%s): %v", image, dev, err)
	}
	mnt := t.TempDir()
	run("mount", dev+"p1", mnt)
	defer run("umount", mnt)
	run("grub-install", "--target=i386-pc", "--boot-directory="+filepath.Join(mnt, "boot"), dev)
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

func printTable(t *testing.T, conv Converter, accel string, rs []result, runs []runResult, total time.Duration) {
	convName := "hand-conversion (positive control)"
	if conv != nil {
		convName = conv.String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\ne2e boot results (converter: %s, accel: %s, total %s)\n", convName, accel, total.Round(time.Second))
	fmt.Fprintf(&b, "%-24s %-9s %-7s %-22s %-6s %8s %8s %4s  %s\n", "VARIANT", "TYPE", "BOOT", "EXPECT ROOT", "RESULT", "LOGIN", "GUEST", "RUN", "REASON")
	for _, r := range rs {
		res := "FAIL"
		if r.pass {
			res = "PASS"
		}
		login := "-"
		if r.login > 0 {
			login = fmt.Sprintf("%.1fs", r.login)
		}
		guest, run := "-", "-"
		if r.guest > 0 {
			guest = r.guest.Round(time.Second).String()
		}
		if r.run > 0 {
			run = fmt.Sprint(r.run)
		}
		why := r.reason
		if r.note != "" {
			why = strings.TrimSpace(why + " (" + r.note + ")")
		}
		fmt.Fprintf(&b, "%-24s %-9s %-7s %-22s %-6s %8s %8s %4s  %s\n", r.name, orDash(r.typ), orDash(r.boot), r.want, res, login, guest, run, why)
	}
	for k, r := range runs {
		to := ""
		if r.timedOut {
			to = ", TIMED OUT"
		}
		fmt.Fprintf(&b, "run %d: %s, cpu %s, dom0 ready at %.0fs, QEMU %s%s: %s\n", k+1, plural(len(r.labels), "guest"), r.cpu, r.dom0Ready, r.wall.Round(time.Second), to, strings.Join(r.labels, " "))
	}
	t.Log(b.String())
	fmt.Print(b.String())
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
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
