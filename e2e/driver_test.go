package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xenify/xenify/internal/testenv"
)

// TestDriverGuests runs dom0's console driver, as the job ships it, on a
// job of several guests, with testdata/fakexl/xl standing in for xl, and
// reads its output as the host does: each guest's results land on its own
// row, a guest that hangs is stopped by its own timeout (retried) and the
// guests after it still boot. deb12-sda1 runs host-check's three cases
// (testdata/fakexl/xenify) before its boot, and their results land on its
// row too.
func TestDriverGuests(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		testenv.Skipf(t, "the dom0 driver is python3 (xen-utils-4.17 depends on it): %v", err)
	}
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o755); err != nil {
		t.Fatal(err)
	}
	fake, err := filepath.Abs("testdata/fakexl")
	if err != nil {
		t.Fatal(err)
	}
	disk := filepath.Join(dir, "disk")
	if err := os.WriteFile(disk, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var job Job
	missing := filepath.Join(dir, "missing-bridge.cfg")
	if err := os.WriteFile(missing, []byte("name='deb12-sda1'\nvif=['bridge="+MissingBridge+"']\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, g := range []struct {
		label, cfg string
		attempts   int
		disk       string
		timeout    int
	}{
		{"deb12-sda1", "name='deb12-sda1'\nextra='root=/dev/xvda1'\n", 1, disk, 60},
		{"deb12-hang", "name='hang'\n", 2, disk, 1},
		{"deb12-gone", "name='gone'\n", 1, filepath.Join(dir, "no-such-disk"), 60},
		{"deb12-nogrub", "name='nogrub' # fail\n", 1, disk, 60},
		// The control: the same domain name as deb12-sda1, another root.
		{"deb12-sda1-unconverted", "name='deb12-sda1'\nextra='root=/dev/sda1'\n", 1, disk, 60},
	} {
		cfg := filepath.Join(dir, g.label+".cfg")
		if err := os.WriteFile(cfg, []byte(g.cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		jg := JobGuest{Label: g.label, Name: strings.Split(g.cfg, "'")[1], Config: cfg,
			Disk: g.disk, Password: Password, Timeout: g.timeout, Attempts: g.attempts}
		if g.label == "deb12-sda1" {
			jg.HostChecks = []HostCheckCase{{Name: CaseGood, Config: cfg}, {Name: CaseMissingBridge, Config: missing},
				{Name: CaseAttached, Config: cfg, Attach: disk}}
		}
		job.Guests = append(job.Guests, jg)
	}
	js, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	jobPath := filepath.Join(dir, "job.json")
	if err := os.WriteFile(jobPath, js, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := driverCmd(py, fake, state, nil, jobPath, filepath.Join(fake, "xenify"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	t.Logf("driver output:\n%s", out.String())
	if err == nil {
		t.Errorf("driver exited 0 with failing guests; want its exit status to say so")
	}
	run, err := ParseRun(strings.NewReader("XENIFY-E2E: DOM0-UP 1\n" + out.String() + "XENIFY-E2E: END 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ label, verdict string }{
		{"deb12-sda1", ""},
		{"deb12-hang", "timeout after 1s waiting for the login prompt"},
		{"deb12-gone", "dom0: guest disk " + filepath.Join(dir, "no-such-disk") + " not found"},
		{"deb12-nogrub", "xl create exited 3: bootloader failed"},
		{"deb12-sda1-unconverted", "root is /dev/sda1, want /dev/xvda1"},
	} {
		rep := run.Report(tc.label)
		if got := rep.Verdict("/dev/xvda1", BootNotMounted); got != tc.verdict {
			t.Errorf("%s: Verdict = %q, want %q\ndriver output:\n%s", tc.label, got, tc.verdict, out.String())
		}
		if !rep.Done {
			t.Errorf("%s: no DONE marker", tc.label)
		}
	}
	if d := run.Report("deb12-sda1").Disks; strings.Join(d, " ") != "xvda" {
		t.Errorf("deb12-sda1: disks %q, want [xvda] (the stand-in's answer)", d)
	}
	cs, err := HostCheckCases([]byte(proofCfg), true)
	if err != nil {
		t.Fatal(err)
	}
	if why := run.Report("deb12-sda1").Proof.Verdict(cs, false); why != "" {
		t.Errorf("deb12-sda1: host-check verdict %q, want all three cases as required", why)
	}
	if p := run.Report("deb12-hang").Proof; p.HostChecks != nil {
		t.Errorf("deb12-hang: host-check results %v, want none (it has no cases)", p.HostChecks)
	}
	if rep := run.Report("deb12-hang"); rep.Attempt != 2 || len(rep.Retried) != 1 {
		t.Errorf("deb12-hang: attempt %d, retried %q; want attempt 2 after one failure", rep.Attempt, rep.Retried)
	}
	if rep := run.Report("deb12-sda1"); rep.LoginAfter <= 0 || len(rep.Guest) == 0 || !strings.Contains(strings.Join(rep.Guest, "\n"), "deb12-sda1 login:") {
		t.Errorf("deb12-sda1: login after %v, console %q; want its own console lines", rep.LoginAfter, rep.Guest)
	}
	if g := run.Report("deb12-sda1-unconverted").Guest; strings.Contains(strings.Join(g, "\n"), "/dev/xvda1") {
		t.Errorf("the control's console holds deb12-sda1's lines: %q", g)
	}
}

// driverCmd runs dom0's console driver with args, the stand-ins in fake
// (testdata/fakexl) first on PATH, their state in state, and env added.
func driverCmd(py, fake, state string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(py, append([]string{"dom0/driver/console-driver.py"}, args...)...)
	cmd.Env = append(append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1",
		"PATH="+fake+string(os.PathListSeparator)+os.Getenv("PATH"), "FAKEXL_STATE="+state), env...)
	return cmd
}
