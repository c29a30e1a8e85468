//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/xenify/xenify/verify"
)

// proofExtras are a guest's extras (proof.go): with xenify under test
// (XENIFY_BIN), host-check's good case before every variant's first xl
// create, and its refusals where the variant asks (HostCheckRefusals);
// the framebuffer proof where it asks (VNC). cfg is the config as dom0
// boots it (its disk names the guest's disk in dom0). The negative check
// (mustFail) gets none.
func proofExtras(g bootGuest, cfg []byte) (Extras, error) {
	if g.mustFail {
		return Extras{}, nil
	}
	ex := Extras{VNC: g.v.VNC}
	bin := os.Getenv("XENIFY_BIN")
	// host-check runs for the variants that ask for the dom0 proofs
	// (deb12-vnc): each case costs dom0 time under TCG, and the good
	// case's verdict does not differ between guests of the same config
	// shape.
	if bin == "" || !g.v.VNC && !g.v.HostCheckRefusals {
		return ex, nil // the hand conversion positive control: no xenify to run
	}
	cases, err := HostCheckCases(cfg, g.v.HostCheckRefusals)
	if err != nil {
		return ex, fmt.Errorf("host-check cases: %w", err)
	}
	ex.Xenify, ex.HostChecks = bin, cases
	return ex, nil
}

// proofVerdict logs each host-check problem dom0 printed for a guest,
// keeps a captured frame as an artifact (ArtifactsDir, and
// XENIFY_E2E_KEEP_LOGS), and returns "" when the extras proved what they
// must, else why not.
func proofVerdict(t *testing.T, ex Extras, p Proof, label string) string {
	t.Helper()
	if ex.Empty() {
		return ""
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
			err := os.MkdirAll(d, 0o755)
			if err == nil {
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
