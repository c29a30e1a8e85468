package pygrub

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/xenify/xenify/internal/testenv"
)

// pygrubBin and pygrubLib locate the installed pygrub (Debian package
// xen-utils-4.17), the oracle these tests compare against.
var (
	pygrubBin = "/usr/lib/xen-4.17/bin/pygrub"
	pygrubLib = "/usr/lib/xen-4.17/lib/python"
)

// oracleScript parses config texts read as JSON lines with pygrub's own
// classes and answers one JSON line each.
const oracleScript = `
import sys, json, logging
logging.disable(logging.CRITICAL)
import grub.GrubConf as G, grub.ExtLinuxConf as E
classes = {"grub": G.GrubConfigFile, "grub2": G.Grub2ConfigFile, "extlinux": E.ExtLinuxConfigFile}
for line in sys.stdin:
    req = json.loads(line)
    try:
        buf = bytes.fromhex(req["hex"])[:1 << 20].decode()
        cf = classes[req["kind"]]()
        cf.filename = "/boot/extlinux/extlinux.conf"
        cf.parse(buf)
        imgs = []
        for i in cf.images:
            imgs.append({"title": i.title, "root": str(i.root),
                "kernel": i.kernel[1] if i.kernel else None,
                "args": i.args,
                "initrd": i.initrd[1] if i.initrd else None})
        d = cf.default
        out = {"ok": True, "images": imgs, "default": d if d < 2**31 else -1}
    except Exception as e:
        out = {"ok": False, "err": type(e).__name__ + ": " + str(e)}
    print(json.dumps(out))
    sys.stdout.flush()
`

// oracleImage mirrors what oracleScript prints for an image.
type oracleImage struct {
	Title  string  `json:"title"`
	Root   string  `json:"root"`
	Kernel *string `json:"kernel"`
	Args   *string `json:"args"`
	Initrd *string `json:"initrd"`
}

type oracleResult struct {
	OK      bool          `json:"ok"`
	Err     string        `json:"err"`
	Images  []oracleImage `json:"images"`
	Default int           `json:"default"`
}

// oracle is a running python3 with pygrub's parser modules.
type oracle struct {
	cmd *exec.Cmd
	in  *json.Encoder
	out *bufio.Scanner
}

func needPygrub(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(pygrubLib, "grub", "GrubConf.py")); err != nil {
		testenv.Skipf(t, "pygrub not installed (Debian package xen-utils-4.17): %v", err)
	}
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		testenv.Skipf(t, "python3 not installed")
	}
}

func startOracle(t testing.TB) *oracle {
	t.Helper()
	needPygrub(t)
	cmd := exec.Command("/usr/bin/python3", "-c", oracleScript)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+pygrubLib)
	cmd.Stderr = os.Stderr
	w, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	r, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close(); cmd.Wait() })
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	return &oracle{cmd: cmd, in: json.NewEncoder(w), out: sc}
}

func (o *oracle) parse(t testing.TB, kind Kind, data []byte) oracleResult {
	t.Helper()
	if err := o.in.Encode(map[string]string{"kind": string(kind), "hex": fmt.Sprintf("%x", data)}); err != nil {
		t.Fatalf("writing to pygrub oracle: %v", err)
	}
	if !o.out.Scan() {
		t.Fatalf("pygrub oracle died: %v", o.out.Err())
	}
	var r oracleResult
	if err := json.Unmarshal(o.out.Bytes(), &r); err != nil {
		t.Fatalf("decoding oracle output %q: %v", o.out.Bytes(), err)
	}
	return r
}

// asOracle converts our parse to the oracle's shape.
func asOracle(c *Config, err error) oracleResult {
	if err != nil {
		return oracleResult{OK: false}
	}
	r := oracleResult{OK: true, Default: c.Default, Images: []oracleImage{}}
	for _, e := range c.Entries {
		e := e
		im := oracleImage{Title: e.Title, Root: e.Root}
		if e.HasKernel {
			im.Kernel = &e.Kernel
		}
		if e.HasArgs {
			im.Args = &e.Args
		}
		if e.HasInitrd {
			im.Initrd = &e.Initrd
		}
		r.Images = append(r.Images, im)
	}
	return r
}
