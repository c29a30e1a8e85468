package cli

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestUsage: what a user meets before any guest is read.
func TestUsage(t *testing.T) {
	centos5 := filepath.Join(fixtures, "centos5-x86_64")
	for _, tc := range []struct {
		args      []string
		code      int
		want, not string // in stdout+stderr
	}{
		{[]string{"help", "plan"}, 0, "\n  --layout string\n", "\n  -layout"},
		{[]string{"help", "convert"}, 0, "\n  --verbose\n", ""},
		{[]string{"help", "frobnicate"}, 2, `unknown command "frobnicate"`, ""},
		{[]string{"plan", "--frobnicate", centos5}, 2, "--frobnicate (see 'xenify help plan')", ""},
		{[]string{"plan", "--layout", "bogus", t.TempDir()}, 2, `--layout "bogus"`, ""},
		{[]string{"verify", "--copy-to", filepath.Join(t.TempDir(), "x.img"), centos5}, 2, "--copy-to belongs to convert", ""},
		{[]string{"copy", "/nonexistent", filepath.Join(t.TempDir(), "out.img")}, 2, "/nonexistent", "resume"},
		{[]string{"version"}, 0, "xenify ", ""},
	} {
		out, errOut, code := xenify(t, tc.args...)
		all := out + errOut
		if code != tc.code || !strings.Contains(all, tc.want) || (tc.not != "" && strings.Contains(all, tc.not)) {
			t.Errorf("xenify %s = exit %d\n%s\nwant exit %d, with %q, without %q", strings.Join(tc.args, " "), code, all, tc.code, tc.want, tc.not)
		}
	}
}

// TestVerboseShowsTheCommandLog: --verbose lets the command log through.
func TestVerboseShowsTheCommandLog(t *testing.T) {
	for _, verbose := range []bool{false, true} {
		e := &env{level: new(slog.LevelVar)}
		e.level.Set(slog.LevelWarn)
		fs := flagBuilders["inspect"]()
		args := []string{"/mnt/guest"}
		if verbose {
			args = append(args, "--verbose")
		}
		if err := e.parse(fs, args); err != nil {
			t.Fatal(err)
		}
		if got := e.level.Level() <= slog.LevelInfo; got != verbose {
			t.Errorf("parse(%q): command log shown = %v, want %v", args, got, verbose)
		}
	}
}

// TestConvertJSONIsNDJSON: convert --json prints one JSON object per
// line, the result last.
func TestConvertJSONIsNDJSON(t *testing.T) {
	guest := copyTree(t, filepath.Join(fixtures, "centos5-x86_64"))
	out, errOut, code := xenify(t, "convert", "--json", "--skip-guest-commands", "--hypervisor-caps", hostCaps, "--config-out", filepath.Join(t.TempDir(), "c5.cfg"), guest)
	if code != 0 {
		t.Fatalf("convert --json = exit %d\n%s%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	steps := 0
	for i, l := range lines {
		var ev map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &ev); err != nil || len(ev) != 1 {
			t.Fatalf("convert --json line %d = %q (%v), want one JSON object with one key", i+1, l, err)
		}
		if _, ok := ev["step"]; ok {
			steps++
		}
		if _, ok := ev["result"]; ok != (i == len(lines)-1) {
			t.Errorf("convert --json line %d/%d: result = %v, want the result last and only there", i+1, len(lines), ok)
		}
	}
	var last struct {
		Result struct {
			Applied    int    `json:"applied"`
			ConfigPath string `json:"config_path"`
		} `json:"result"`
	}
	json.Unmarshal([]byte(lines[len(lines)-1]), &last)
	if steps == 0 || last.Result.Applied == 0 || last.Result.ConfigPath == "" {
		t.Errorf("convert --json: %d steps, result %+v; want steps and a result naming the changes and config", steps, last.Result)
	}
}

// TestConvertKeepsAForeignDomainConfig: a domain config xenify did not
// write for this guest is not replaced without --force, and the guest is
// left unchanged; converting again replaces xenify's own config.
func TestConvertKeepsAForeignDomainConfig(t *testing.T) {
	guest := copyTree(t, filepath.Join(fixtures, "centos5-x86_64"))
	cfg := filepath.Join(t.TempDir(), "c5.cfg")
	foreign := "name = 'c5'\ndisk = ['phy:/dev/vg/other,xvda,w']\n"
	if err := os.WriteFile(cfg, []byte(foreign), 0o644); err != nil {
		t.Fatal(err)
	}
	before := treeState(t, guest)
	args := []string{"convert", "--skip-guest-commands", "--hypervisor-caps", hostCaps, "--config-out", cfg, guest}
	_, errOut, code := xenify(t, args...)
	if code != 3 || !strings.Contains(errOut, "--force") {
		t.Errorf("convert over a foreign %s = exit %d, %q; want 3 suggesting --force", cfg, code, errOut)
	}
	if b, _ := os.ReadFile(cfg); string(b) != foreign {
		t.Errorf("refused convert rewrote the foreign config:\n%s", b)
	}
	if diff := cmp.Diff(before, treeState(t, guest)); diff != "" {
		t.Errorf("refused convert changed the guest:\n%s", diff)
	}
	if out, errOut, code := xenify(t, append([]string{"convert", "--force"}, args[1:]...)...); code != 0 {
		t.Fatalf("convert --force = exit %d\n%s%s", code, out, errOut)
	}
	// xenify's own config, edited by hand, is this guest's: replaced.
	b, _ := os.ReadFile(cfg)
	if err := os.WriteFile(cfg, append(b, "# tuned by hand\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := xenify(t, args...); code != 0 {
		t.Errorf("convert again over its own edited config = exit %d\n%s%s", code, out, errOut)
	}
}
