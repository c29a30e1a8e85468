package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	hostcheck "github.com/xenify/xenify/host/check"
	"github.com/xenify/xenify/xerr"
)

// TestHostCheckCLI: host-check reads a domain config, prints JSON with
// a fix for every failed check and exits 3 on a failure (this test
// machine is no dom0); a config it cannot parse is a usage error
// naming the file and line.
func TestHostCheckCLI(t *testing.T) {
	if hostcheck.Live(nil).IsDom0() {
		t.Fatal("the fast tier runs on a machine that is not a Xen dom0")
	}
	cfg := filepath.Join(t.TempDir(), "web1.cfg")
	if err := os.WriteFile(cfg, []byte("name = 'web1'\nmemory = 256\nbootloader = 'pygrub'\nvif = [ 'bridge=xenbrNOPE' ]\ndisk = [ 'format=raw, vdev=xvda, access=rw, target=/nonexistent/web1.img' ]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := xenify(t, "host-check", "--json", cfg)
	if code != xerr.ExitRefused {
		t.Fatalf("host-check = exit %d %q, want %d", code, errOut, xerr.ExitRefused)
	}
	var r hostcheck.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("host-check --json printed %q: %v", out, err)
	}
	failed := map[string]bool{}
	for _, c := range r.Checks {
		if c.Status == "fail" {
			failed[c.Name] = true
			if c.Fix == "" {
				t.Errorf("failed check %s has no fix", c.Name)
			}
		}
	}
	for _, want := range []string{"dom0", "bridge[0]", "disk xvda"} {
		if !failed[want] {
			t.Errorf("host-check --json: %s did not fail: %+v", want, r.Checks)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.cfg")
	if err := os.WriteFile(bad, []byte("name = 'x'\nmemory = \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := xenify(t, "host-check", bad); code != xerr.ExitUsage || !strings.Contains(errOut, "bad.cfg:2") {
		t.Errorf("host-check on a broken config = exit %d %q, want %d naming bad.cfg:2", code, errOut, xerr.ExitUsage)
	}
}
