// Package pygrubtest runs Xen's pygrub configuration parser (GrubConf.py,
// shipped by the Debian package xen-utils-4.17) on a file so that tests can
// check that what xenify writes is read the same way by the tool that boots
// the domU. Tests using it skip when pygrub or python3 is missing.
package pygrubtest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/xenify/xenify/internal/testenv"
)

// Lib is the directory holding pygrub's "grub" Python package.
var Lib = "/usr/lib/xen-4.17/lib/python"

const script = `
import json, sys, logging
logging.disable(logging.CRITICAL)
import grub.GrubConf as G
cf = (G.GrubConfigFile if sys.argv[1] == "grub" else G.Grub2ConfigFile)()
cf.parse(open(sys.argv[2]).read())
out = {"default": cf.default, "images": []}
for i in cf.images:
    out["images"].append({"title": i.title,
        "kernel": i.kernel[1] if i.kernel else "",
        "args": i.args or "",
        "initrd": i.initrd[1] if i.initrd else ""})
print(json.dumps(out))
`

// Image is one boot entry as pygrub sees it. Missing values are "".
type Image struct {
	Title  string `json:"title"`
	Kernel string `json:"kernel"`
	Args   string `json:"args"`
	Initrd string `json:"initrd"`
}

// Result is pygrub's reading of a config file.
type Result struct {
	Default int     `json:"default"`
	Images  []Image `json:"images"`
}

// Parse parses data with pygrub's GrubConfigFile (kind "grub") or
// Grub2ConfigFile (kind "grub2"). It skips the test if pygrub is not
// installed and fails it if pygrub rejects the file.
func Parse(t testing.TB, kind string, data []byte) Result {
	t.Helper()
	if _, err := os.Stat(filepath.Join(Lib, "grub", "GrubConf.py")); err != nil {
		testenv.Skipf(t, "pygrub's GrubConf.py not installed (Debian package xen-utils-4.17): %v", err)
	}
	py, err := exec.LookPath("python3")
	if _, serr := os.Stat("/usr/bin/python3"); serr == nil {
		py, err = "/usr/bin/python3", nil
	}
	if err != nil {
		testenv.Skipf(t, "python3 not installed")
	}
	p := filepath.Join(t.TempDir(), "boot.cfg")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", script, kind, p)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+Lib)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pygrub GrubConf.py (%s) rejects the file: %v\n%s", kind, err, out)
	}
	var r Result
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("decoding pygrub output %q: %v", out, err)
	}
	return r
}
