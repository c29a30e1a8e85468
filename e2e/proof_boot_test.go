//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/xenify/xenify/verify"
)

// proofExtras are the extras of a boot's job (proof.go): with xenify
// under test (XENIFY_BIN), host-check's good case before every variant's
// xl create, and its refusals where the variant asks
// (HostCheckRefusals); the framebuffer proof where it asks (VNC). The
// negative check (label is not the variant's name) gets none.
func proofExtras(t *testing.T, v Variant, cfg []byte, label string) Extras {
	t.Helper()
	if label != v.Name {
		return Extras{}
	}
	ex := Extras{VNC: v.VNC}
	bin := os.Getenv("XENIFY_BIN")
	if bin == "" {
		return ex // the hand conversion positive control: no xenify to run
	}
	cases, err := HostCheckCases(cfg, v.HostCheckRefusals)
	if err != nil {
		t.Fatalf("host-check cases: %v", err)
	}
	ex.Xenify, ex.HostChecks = bin, cases
	return ex
}

// proofVerdict reads what dom0 printed for the extras from the serial
// log, logs each host-check problem, keeps a captured frame as an
// artifact (ArtifactsDir, and XENIFY_E2E_KEEP_LOGS), and returns "" when
// the extras proved what they must, else why not.
func proofVerdict(t *testing.T, ex Extras, serialLog, label string) string {
	t.Helper()
	if !ex.VNC && len(ex.HostChecks) == 0 {
		return ""
	}
	f, err := os.Open(serialLog)
	if err != nil {
		return "reading serial log: " + err.Error()
	}
	p, err := ParseProof(f)
	f.Close()
	if err != nil {
		return "reading serial log: " + err.Error()
	}
	for _, c := range ex.HostChecks {
		run, ok := p.HostChecks[c.Name]
		if !ok || run.Report == nil {
			continue
		}
		t.Logf("%s: host-check %s: exit %d, ok=%v, %d checks", label, c.Name, run.Exit, run.Report.OK, len(run.Report.Checks))
		for _, ch := range run.Report.Checks {
			if ch.Status != verify.Pass {
				t.Logf("  %s %s: %s (fix: %s)", ch.Status, ch.Name, ch.Detail, ch.Fix)
			}
		}
	}
	if p.PNG != nil {
		dirs := []string{ArtifactsDir()}
		if keep := os.Getenv("XENIFY_E2E_KEEP_LOGS"); keep != "" {
			dirs = append(dirs, keep)
		}
		for _, d := range dirs {
			out := filepath.Join(d, label+".vnc.png")
			if err := os.MkdirAll(d, 0o755); err == nil {
				err = os.WriteFile(out, p.PNG, 0o644)
			}
			if err != nil {
				t.Errorf("keeping the VNC frame: %v", err)
				continue
			}
			t.Logf("%s: VNC frame (%d bytes, fb0 driver %s, /proc/fb %s): %s", label, len(p.PNG), p.FB0Driver, p.FB0, out)
		}
	}
	return p.Verdict(ex.HostChecks, ex.VNC)
}
