package source_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xenify/xenify/disk/disktest"
	"github.com/xenify/xenify/source"
)

// buildBinaries builds xenify and the hold helper (static, so it runs
// chrooted in the guest).
func buildBinaries(t *testing.T) (xenify, hold string) {
	t.Helper()
	goTool := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		if goTool, err = exec.LookPath("go"); err != nil {
			goTool = "/usr/local/go/bin/go"
		}
	}
	dir := t.TempDir()
	xenify, hold = filepath.Join(dir, "xenify"), filepath.Join(dir, "hold")
	for _, b := range []struct{ out, pkg string }{{xenify, "github.com/xenify/xenify/cmd/xenify"}, {hold, "./testdata/hold"}} {
		cmd := exec.Command(goTool, "build", "-o", b.out, b.pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b.pkg, err, out)
		}
	}
	return xenify, hold
}

// TestIntegrationKilledConvert SIGKILLs xenify while convert runs a guest
// command, then proves 'xenify cleanup' releases every mount and loop
// device and rollback restores every file. With SIGTERM (and SIGINT,
// handled the same way), xenify itself must release everything.
func TestIntegrationKilledConvert(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			testInterruptedConvert(t, sig, caseNamed(t, "mbr-root-swap").build, "disk")
		})
	}
	// Killed after a separate /boot was merged into the root filesystem
	// and shown in its place: cleanup must release that mount too, and
	// rollback must restore the root filesystem's own /boot.
	t.Run("merged-boot", func(t *testing.T) {
		testInterruptedConvert(t, syscall.SIGKILL, bareSplitBoot, "partition")
	})
}

// bareSplitBoot is an installation on two images without partition
// tables: the root filesystem and a separate /boot, named by label as
// CentOS 4 does.
func bareSplitBoot(t testing.TB) image {
	dir := t.TempDir()
	root, boot := tree(t, "LABEL=/ / ext3 defaults 1 1\nLABEL=/boot /boot ext3 defaults 1 2\n"+fstabTail, true)
	img := image{}
	for _, f := range []struct {
		name, label, tree string
		size              int64
	}{{"root.img", "/", root, 96 * mib}, {"boot.img", "/boot", boot, 32 * mib}} {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, f.size); err != nil {
			t.Fatal(err)
		}
		img.paths = append(img.paths, p)
		img.exts = append(img.exts, mkext(t, p, disktest.Volume{Size: f.size}, "ext3", f.label, "", f.tree))
	}
	return img
}

func testInterruptedConvert(t *testing.T, sig syscall.Signal, build func(testing.TB) image, layout string) {
	requireDisks(t)
	runDir := privateRunDir(t)
	xenify, hold := buildBinaries(t)

	// The installation, with the guest commands convert runs replaced
	// by the hold helper. --initrd rebuild below makes convert run
	// mkinitrd in the guest (the default appends without guest code).
	img := build(t)
	{
		o, err := source.Open(t.Context(), img.paths, source.ReadWrite)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(hold)
		// Whichever guest command the plan runs first holds.
		for _, p := range []string{"bin/cp", "sbin/mkinitrd", "usr/bin/yum", "bin/rpm"} {
			if err == nil {
				err = os.WriteFile(filepath.Join(o.Root.Dir(), p), data, 0o755)
			}
		}
		if cerr := o.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	orig := listing(t, img.paths)

	cfg := filepath.Join(t.TempDir(), "guest.cfg")
	cmd := exec.Command(xenify, append([]string{"convert", "--initrd", "rebuild", "--hypervisor-caps", caps, "--config-out", cfg, "--layout", layout}, sourceArgs(img)...)...)
	cmd.Env = append(os.Environ(), "XENIFY_RUN_DIR="+runDir)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// Wait until the guest command runs: convert is then provably midway
	// (files journaled and changed, filesystems mounted read-write).
	holdPID, mountDir := 0, ""
	deadline := time.Now().Add(2 * time.Minute)
	for holdPID == 0 {
		select {
		case err := <-exited:
			t.Fatalf("xenify convert exited (%v) before the guest command ran:\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the guest command did not start; xenify output:\n%s", out.String())
		}
		states, _ := filepath.Glob(filepath.Join(runDir, "state", "*.json"))
		for _, s := range states {
			var st source.State
			if data, err := os.ReadFile(s); err == nil && json.Unmarshal(data, &st) == nil {
				if b, err := os.ReadFile(filepath.Join(st.MountDir, "root/tmp/xenify-hold.pid")); err == nil {
					holdPID, _ = strconv.Atoi(strings.TrimSpace(string(b)))
					mountDir = st.MountDir
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if layout != "disk" {
		// The separate /boot is merged by now: its files are in the
		// root filesystem's own /boot.
		if _, err := os.Stat(filepath.Join(mountDir, "rootonly/boot/grub/grub.conf")); err != nil {
			t.Errorf("convert holds in a guest command, but /boot is not merged into the root filesystem: %v\n%s", err, out.String())
		}
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	werr := <-exited
	if sig != syscall.SIGKILL {
		// xenify cancels the guest command, releases everything and
		// exits 130.
		if ee, ok := werr.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
			t.Errorf("xenify convert after %v = %v, want exit status 130\n%s", sig, werr, out.String())
		}
		checkNoLeaks(t, runDir, img.paths)
	}
	// The guest command is a child xenify started in its own process
	// group; a hard kill of xenify leaves it running, as it would in life.
	syscall.Kill(holdPID, syscall.SIGKILL)

	if sig == syscall.SIGKILL {
		checkCleanup(t, xenify, runDir, img)
	}
	if code, stdout, stderr := runCLI(t, append([]string{"rollback"}, sourceArgs(img)...)...); code != 0 {
		t.Fatalf("xenify rollback = %d\n%s\n%s", code, stdout, stderr)
	}
	after := listing(t, img.paths)
	// The helper's own marker is outside the trees the guest command
	// declares, so rollback rightly leaves it.
	delete(after, "/tmp/xenify-hold.pid")
	delete(after, "rootfs:/tmp/xenify-hold.pid")
	if diff := cmp.Diff(orig, after); diff != "" {
		t.Errorf("after an interrupted convert (%v) and rollback, files differ (-before +after):\n%s", sig, diff)
	}
	for _, r := range img.exts {
		fsck(t, r)
	}
	checkNoLeaks(t, runDir, img.paths)
}

// checkCleanup proves a hard kill left something behind and 'xenify
// cleanup' releases all of it.
func checkCleanup(t *testing.T, xenify, runDir string, img image) {
	t.Helper()
	// Something must have been left behind, or the test proves nothing.
	states, _ := filepath.Glob(filepath.Join(runDir, "state", "*.json"))
	if len(states) == 0 {
		t.Fatalf("no state file after SIGKILL")
	}
	if l, _ := exec.Command("losetup", "-j", img.paths[0]).Output(); len(strings.TrimSpace(string(l))) == 0 {
		t.Fatalf("no loop device left after SIGKILL: the kill came too late")
	}

	clean := exec.Command(xenify, "cleanup")
	clean.Env = append(os.Environ(), "XENIFY_RUN_DIR="+runDir)
	if b, err := clean.CombinedOutput(); err != nil || !strings.Contains(string(b), "detached") {
		t.Fatalf("xenify cleanup = %v:\n%s", err, b)
	}
	checkNoLeaks(t, runDir, img.paths)
}
