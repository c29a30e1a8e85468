package convert_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xenify/xenify/convert"
	"github.com/xenify/xenify/host/check"
	"github.com/xenify/xenify/plan"
	"github.com/xenify/xenify/verify"
	"github.com/xenify/xenify/xen/caps"
	"github.com/xenify/xenify/xerr"
)

const fixtures = "../testdata/guests"

// hostCaps is a Xen 3.x-era host that runs 64-bit and 32-bit PAE guests.
var hostCaps = caps.Parse("xen-3.0-x86_64 xen-3.0-x86_32p")

// copyGuest is a scratch copy of a fixture guest.
func copyGuest(t *testing.T, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "guest")
	if out, err := exec.Command("cp", "-a", filepath.Join(fixtures, name), dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a %s: %v\n%s", name, err, out)
	}
	return dst
}

// TestPlanDirectDirFollowsName: without --direct-dir, a direct-boot
// guest's kernel goes to a directory named after its domain (here the
// guest's hostname, c5), not one that every such guest shares.
func TestPlanDirectDirFollowsName(t *testing.T) {
	p, err := convert.Plan(context.Background(), convert.Options{
		Sources: []string{filepath.Join(fixtures, "centos5-x86_64")},
		Plan:    plan.Options{Boot: "direct", Caps: hostCaps},
	})
	if err != nil {
		t.Fatalf("Plan(--boot direct) = %v", err)
	}
	if p.Domain.Name != "c5" {
		t.Fatalf("Plan(--boot direct).Domain.Name = %q, want c5 (the guest's hostname)", p.Domain.Name)
	}
	copied := 0
	for _, op := range p.Ops {
		if op.Kind != plan.CopyOut {
			continue
		}
		copied++
		if want := "/var/lib/xen/kernels/c5/"; !strings.HasPrefix(op.HostPath, want) {
			t.Errorf("Plan(--boot direct) copies %s to %s, want it below %s", op.Path, op.HostPath, want)
		}
	}
	if copied == 0 {
		t.Errorf("Plan(--boot direct) copies no kernel out:\n%v", p.Ops)
	}
	if !strings.HasPrefix(p.Domain.Kernel, "/var/lib/xen/kernels/c5/") {
		t.Errorf("Plan(--boot direct).Domain.Kernel = %q, want it below /var/lib/xen/kernels/c5/", p.Domain.Kernel)
	}
}

// TestOptionsCheckedBeforeTheGuest: a bad option is a usage error even
// when the guest itself would be refused (an empty directory).
func TestOptionsCheckedBeforeTheGuest(t *testing.T) {
	_, err := convert.Plan(context.Background(), convert.Options{Sources: []string{t.TempDir()}, Plan: plan.Options{Layout: "bogus"}})
	if xerr.Code(err) != xerr.ExitUsage {
		t.Errorf("Plan(--layout bogus, empty dir) = %v (exit %d), want a usage error (exit %d)", err, xerr.Code(err), xerr.ExitUsage)
	}
}

// TestRunThroughTheLibrary converts a guest, converts it again (no
// change), and rolls it back, through the library alone.
func TestRunThroughTheLibrary(t *testing.T) {
	guest := copyGuest(t, "centos5-x86_64")
	fstab := filepath.Join(guest, "etc/fstab")
	before, err := os.ReadFile(fstab)
	if err != nil {
		t.Fatal(err)
	}
	var steps []convert.Step
	o := convert.Options{
		Sources: []string{guest},
		Plan:    plan.Options{Name: "web1", Caps: hostCaps, SkipGuestCmds: true, Initrd: "rebuild", ConfigOut: filepath.Join(t.TempDir(), "web1.cfg")},
		Progress: func(ev convert.Event) {
			if ev.Step != nil {
				steps = append(steps, *ev.Step)
			}
		},
	}
	ctx := context.Background()
	res, err := convert.Run(ctx, o)
	if err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if res.Applied == 0 || len(steps) < res.Applied {
		t.Errorf("Run() applied %d changes in %d step events; want changes, each announced", res.Applied, len(steps))
	}
	if len(res.Manual) == 0 {
		t.Errorf("Run(SkipGuestCmds).Manual is empty; want the initrd rebuild left to the user")
	}
	if _, err := os.Stat(res.ConfigPath); err != nil || res.ConfigPath != o.Plan.ConfigOut {
		t.Errorf("Run().ConfigPath = %q (%v), want %s written", res.ConfigPath, err, o.Plan.ConfigOut)
	}
	if after, _ := os.ReadFile(fstab); string(after) == string(before) {
		t.Errorf("Run() left /etc/fstab unchanged")
	}
	converted, _ := os.ReadFile(fstab)
	steps = nil
	again, err := convert.Run(ctx, o)
	for _, st := range steps {
		if st.Step == "domain" {
			t.Errorf("second Run() announces %q although the domain config is unchanged", st.What)
		}
	}
	// The guest commands left to the user are left again; nothing else.
	if err != nil || again.Applied != len(again.Manual) {
		t.Errorf("second Run() = %d changes (%d left to the user), %v; want only those, nil", again.Applied, len(again.Manual), err)
	}
	if now, _ := os.ReadFile(fstab); string(now) != string(converted) {
		t.Errorf("second Run() changed /etc/fstab")
	}
	n, err := convert.Rollback(ctx, convert.Options{Sources: []string{guest}})
	if err != nil || n == 0 {
		t.Fatalf("Rollback() = %d, %v; want records restored", n, err)
	}
	if after, _ := os.ReadFile(fstab); string(after) != string(before) {
		t.Errorf("after Rollback() /etc/fstab = %q, want %q", after, before)
	}
}

// TestRunRefusesBeforeWriting: a guest the host cannot run is refused
// with an error the caller can tell apart, and left unchanged.
func TestRunRefusesBeforeWriting(t *testing.T) {
	guest := copyGuest(t, "centos5-x86_64")
	before, _ := os.ReadFile(filepath.Join(guest, "etc/fstab"))
	// A host with only 32-bit PV cannot run this 64-bit guest; the plan
	// refuses before writing.
	_, err := convert.Run(context.Background(), convert.Options{Sources: []string{guest},
		Plan: plan.Options{Caps: caps.Parse("xen-3.0-x86_32p"), ConfigOut: filepath.Join(t.TempDir(), "x.cfg")}})
	var r *xerr.Refused
	if !errors.As(err, &r) {
		t.Errorf("Run(64-bit guest, 32-bit host) = %v, want *xerr.Refused", err)
	}
	if after, _ := os.ReadFile(filepath.Join(guest, "etc/fstab")); string(after) != string(before) {
		t.Errorf("refused Run() changed /etc/fstab")
	}
	if _, err := os.Stat(filepath.Join(guest, "var/lib/xenify")); err == nil {
		t.Errorf("refused Run() left a journal in the guest")
	}
}

// TestRunChecksTheHost: on a dom0 (here a fake one), Run ends with
// host-check of the config it wrote; a missing bridge is reported, with
// its fix, and does not fail the conversion. Off a dom0 there is none.
func TestRunChecksTheHost(t *testing.T) {
	guest := copyGuest(t, "centos5-x86_64")
	dom0 := t.TempDir()
	for p, c := range map[string]string{"proc/xen/capabilities": "control_d\n", "sys/hypervisor/properties/capabilities": "xen-3.0-x86_64\n"} {
		if err := os.MkdirAll(filepath.Join(dom0, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dom0, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	o := convert.Options{Sources: []string{guest}, Host: &check.Host{Root: dom0},
		Plan: plan.Options{Name: "web1", Bridge: "br7", Caps: hostCaps, SkipGuestCmds: true, ConfigOut: filepath.Join(t.TempDir(), "web1.cfg")}}
	res, err := convert.Run(context.Background(), o)
	if err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if res.Host == nil || res.Host.OK {
		t.Fatalf("Run(on a dom0 without br7).Host = %+v, want a failed host check", res.Host)
	}
	found := false
	for _, c := range res.Host.Checks {
		if c.Name == "bridge[0]" && c.Status == verify.Fail && strings.Contains(c.Fix, "host-setup bridge br7") {
			found = true
		}
	}
	if !found {
		t.Errorf("Run().Host.Checks = %+v, want bridge br7 failing with its fix", res.Host.Checks)
	}
	if !check.Live(nil).IsDom0() {
		o.Host = nil
		if res, err := convert.Run(context.Background(), o); err != nil || res.Host != nil {
			t.Errorf("Run(off a dom0) = Host %+v, %v; want no host check", res.Host, err)
		}
	}
}
