package e2e

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/xenify/xenify/host/check"
	"github.com/xenify/xenify/verify"
)

const proofCfg = "name = \"deb12-vnc\"\nbootloader = \"pygrub\"\n" +
	"disk = [\n    'format=raw, vdev=xvda, access=rw, target=/dev/disk/by-id/virtio-xenify-guest-1',\n]\n" +
	"vif = [\n    'mac=00:16:3e:00:00:01, bridge=xenbr0',\n]\nvfb = [ 'vnc=1,vnclisten=127.0.0.1' ]\n"

func TestWithBridge(t *testing.T) {
	got, err := WithBridge([]byte(proofCfg), "nobr")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(proofCfg, "bridge=xenbr0", "bridge=nobr", 1)
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("WithBridge mismatch (-want +got):\n%s", diff)
	}
	two := "vif = [ 'bridge=a', \"mac=x,bridge=bb\" ] # bridge=c\n"
	got, err = WithBridge([]byte(two), "z")
	if err != nil || string(got) != "vif = [ 'bridge=z', \"mac=x,bridge=z\" ] # bridge=c\n" {
		t.Errorf("WithBridge(two vifs) = %q, %v", got, err)
	}
	for _, bad := range []string{"vif = [ 'mac=00:16:3e:00:00:01' ]\n", "name = 'g'\n", "vif = [ 'bridge=a' \n"} {
		if got, err := WithBridge([]byte(bad), "z"); err == nil {
			t.Errorf("WithBridge(%q) = %q, want an error", bad, got)
		}
	}
}

func TestHostCheckCases(t *testing.T) {
	cs, err := HostCheckCases([]byte(proofCfg), false)
	if err != nil || len(cs) != 1 || cs[0].Name != CaseGood || cs[0].cfg != nil {
		t.Fatalf("HostCheckCases(good only) = %+v, %v", cs, err)
	}
	cs, err = HostCheckCases([]byte(proofCfg), true)
	if err != nil || len(cs) != 3 {
		t.Fatalf("HostCheckCases(refusals) = %+v, %v", cs, err)
	}
	if !strings.Contains(string(cs[1].cfg), "bridge="+MissingBridge) {
		t.Errorf("missing-bridge config:\n%s", cs[1].cfg)
	}
	if cs[2].Name != CaseAttached || cs[2].Attach != GuestDiskPath(0) {
		t.Errorf("attached case = %+v, want the guest disk %s attached", cs[2], GuestDiskPath(0))
	}
	if _, err := HostCheckCases([]byte("vif = [ 'bridge=a' ]\n"), true); err == nil {
		t.Errorf("HostCheckCases(no disk) = nil error")
	}
}

func TestWriteJobExtras(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "xenify")
	if err := os.WriteFile(bin, []byte("BIN"), 0o755); err != nil {
		t.Fatal(err)
	}
	cs, err := HostCheckCases([]byte(proofCfg), true)
	if err != nil {
		t.Fatal(err)
	}
	guests := []Guest{
		{Label: "deb12-vnc", Config: []byte(proofCfg), Password: "pw", Extras: Extras{VNC: true, Xenify: bin, HostChecks: cs}},
		{Label: "deb12-sda1", Config: []byte("name='g'\n"), Password: "pw", Extras: Extras{Xenify: bin, HostChecks: cs[:1]}},
		{Label: "deb12-sda1-unconverted", Config: []byte("name='g'\n"), Password: "pw"},
	}
	var buf bytes.Buffer
	if err := WriteJob(&buf, guests); err != nil {
		t.Fatal(err)
	}
	got := readTar(t, &buf)
	var job Job
	if err := json.Unmarshal([]byte(got["job.json"]), &job); err != nil {
		t.Fatal(err)
	}
	want := [][]HostCheckCase{{
		{Name: CaseGood, Config: "/run/xenify-e2e/guests/deb12-vnc.cfg"},
		{Name: CaseMissingBridge, Config: "/run/xenify-e2e/guests/deb12-vnc.missing-bridge.cfg"},
		{Name: CaseAttached, Config: "/run/xenify-e2e/guests/deb12-vnc.cfg", Attach: GuestDiskPath(0)},
	}, {
		{Name: CaseGood, Config: "/run/xenify-e2e/guests/deb12-sda1.cfg"},
	}, nil}
	for i, g := range job.Guests {
		if diff := cmp.Diff(want[i], g.HostChecks, cmp.AllowUnexported(HostCheckCase{})); diff != "" || g.VNC != (i == 0) {
			t.Errorf("job.json %s: vnc=%v, hostchecks mismatch (-want +got):\n%s", g.Label, g.VNC, diff)
		}
	}
	if got["bin/xenify"] != "BIN" || !strings.Contains(got["guests/deb12-vnc.missing-bridge.cfg"], "bridge="+MissingBridge) {
		t.Errorf("job lacks bin/xenify or the missing-bridge config (tar has %d files)", len(got))
	}
	for _, f := range []string{"driver/hostcheck.py", "driver/vnc.py"} {
		if got[f] == "" {
			t.Errorf("job lacks %s (tar has %d files)", f, len(got))
		}
	}
	// Host-check needs the binary; one job ships one.
	other := filepath.Join(t.TempDir(), "xenify")
	for _, bad := range [][]Guest{
		{{Label: "a", Config: []byte("name='a'\n"), Extras: Extras{HostChecks: cs[:1]}}},
		{{Label: "a", Config: []byte("name='a'\n"), Extras: Extras{Xenify: bin, HostChecks: cs[:1]}},
			{Label: "b", Config: []byte("name='b'\n"), Extras: Extras{Xenify: other, HostChecks: cs[:1]}}},
	} {
		if err := WriteJob(io.Discard, bad); err == nil {
			t.Errorf("WriteJob(%+v) = nil, want an error", bad)
		}
	}
}

// report is a host-check JSON report line as dom0 prints it.
func report(t *testing.T, ok bool, checks ...verify.Check) string {
	b, err := json.Marshal(check.Report{OK: ok, Toolstack: "xl", Checks: checks})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func pass(name string) verify.Check {
	return verify.Check{Name: name, Status: verify.Pass, Detail: "fine"}
}

func TestProofVerdict(t *testing.T) {
	cs, err := HostCheckCases([]byte(proofCfg), true)
	if err != nil {
		t.Fatal(err)
	}
	bridgeFail := verify.Check{Name: "bridge[0]", Status: verify.Fail, Detail: "bridge " + MissingBridge + " does not exist",
		Fix: "create it: xenify host-setup bridge " + MissingBridge + " --uplink IFACE --apply"}
	diskFail := verify.Check{Name: "disk xvda", Status: verify.Fail, Detail: "/dev/x: attached to domain 0",
		Fix: "shut that domain down, or detach the disk (xl block-detach 0 ...)"}
	good := report(t, true, pass("dom0"), pass("bridge[0]"), pass("disk xvda"))
	lines := func(good, bridge, attached string) string {
		return "noise\r\n(XEN) x\nXENIFY-E2E: g: HOSTCHECK good " + good + "\n" +
			"XENIFY-E2E: g: HOSTCHECK missing-bridge " + bridge + "\n" +
			"[  1.0] XENIFY-E2E: g: HOSTCHECK attached " + attached + "\n"
	}
	okBridge := "3 " + report(t, false, pass("dom0"), bridgeFail, pass("disk xvda"))
	okAttached := "3 " + report(t, false, pass("dom0"), pass("bridge[0]"), diskFail)
	for _, tc := range []struct{ name, log, want string }{
		{"all as required", lines("0 "+good, okBridge, okAttached), ""},
		{"good case warns", lines("0 "+report(t, true, pass("dom0"), verify.Check{Name: "memory", Status: verify.Warn, Detail: "unknown"}), okBridge, okAttached),
			"host-check good: want every check to pass: memory warn: unknown"},
		{"good case exit 3", lines("3 "+good, okBridge, okAttached), "host-check good: ok=true exit 3"},
		{"good case no JSON", lines("2 null", okBridge, okAttached), "host-check good: no JSON report (exit 2)"},
		{"bridge not refused", lines("0 "+good, "0 "+good, okAttached), "host-check missing-bridge: exit 0 ok=true, want exit 3"},
		{"bridge refused for another reason", lines("0 "+good, okAttached, okAttached), "host-check missing-bridge: failed check disk xvda"},
		{"two refusals", lines("0 "+good, "3 "+report(t, false, bridgeFail, diskFail), okAttached), "host-check missing-bridge: want exactly the bridge[0] check to fail, 2 failed"},
		{"attached not refused", lines("0 "+good, okBridge, "0 "+good), "host-check attached: exit 0"},
		{"a case missing", "XENIFY-E2E: g: HOSTCHECK good 0 " + good + "\n", "host-check missing-bridge: dom0 printed no result"},
	} {
		p, err := parseProof(tc.log)
		if err != nil {
			t.Fatal(err)
		}
		got := p.Verdict(cs, false)
		if tc.want == "" && got != "" || !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: Verdict() = %q, want prefix %q", tc.name, got, tc.want)
		}
	}
}

// pngOf encodes a w x h frame of colour bg with ink pixels of white.
func pngOf(t *testing.T, w, h, ink int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < w*h; i++ {
		c := color.RGBA{0, 0, 0, 255}
		if i < ink {
			c = color.RGBA{170, 170, 170, 255}
		}
		img.Set(i%w, i/w, c)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// framed is data as dom0/driver/vnc.py prints it (see TestDriverPython
// for the real encoder).
func framed(data []byte, w, h int, crc string) string {
	var b strings.Builder
	if crc == "" {
		crc = fmt.Sprintf("%08x", crc32.ChecksumIEEE(data))
	}
	fmt.Fprintf(&b, "XENIFY-E2E: g: VNC-PNG %d %d %d %s\n", w, h, len(data), crc)
	enc := base64.StdEncoding.EncodeToString(data)
	for i := 0; i < len(enc); i += 76 {
		fmt.Fprintf(&b, "vnc-png| %s\n", enc[i:min(i+76, len(enc))])
		if i == 76 {
			b.WriteString("(XEN) a line of Xen's own in between\n")
		}
	}
	b.WriteString("XENIFY-E2E: g: VNC-PNG-END\n")
	return b.String()
}

func TestProofFrame(t *testing.T) {
	text := pngOf(t, 64, 48, 300)
	fb := "XENIFY-E2E: g: FB0 xen_fbfront 0_xen\n"
	for _, tc := range []struct{ name, log, want string }{
		{"a frame with text", fb + framed(text, 64, 48, ""), ""},
		{"blank", fb + framed(pngOf(t, 64, 48, 10), 64, 48, ""), "frame: 64x48 blank (10 pixels differ"},
		{"no fb0", "XENIFY-E2E: g: FB0 none none\n" + framed(text, 64, 48, ""), "the guest's /dev/fb0 is not xen-fbfront's"},
		{"fb0 another framebuffer", "XENIFY-E2E: g: FB0 xen_fbfront 0_EFI_VGA\n" + framed(text, 64, 48, ""), "the guest's /dev/fb0 is not xen-fbfront's"},
		{"garbled", fb + framed(text, 64, 48, "00000000"), "frame: CRC"},
		{"truncated", fb + strings.TrimSuffix(framed(text, 64, 48, ""), "XENIFY-E2E: g: VNC-PNG-END\n"), "frame: no VNC-PNG-END"},
		{"no frame", fb, "dom0 sent no VNC frame"},
		{"not a PNG", fb + framed([]byte("GIF89a"), 1, 1, ""), "frame: not a PNG"},
	} {
		p, err := parseProof(tc.log)
		if err != nil {
			t.Fatal(err)
		}
		got := p.Verdict(nil, true)
		if tc.want == "" && got != "" || !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: Verdict() = %q, want prefix %q", tc.name, got, tc.want)
		}
	}
	p, _ := parseProof(fb + framed(text, 64, 48, ""))
	if !bytes.Equal(p.PNG, text) || p.FB0Driver != "xen_fbfront" || p.FB0 != "0_xen" {
		t.Errorf("ParseRun: fb0 %q %q, PNG %d bytes, want the %d sent", p.FB0Driver, p.FB0, len(p.PNG), len(text))
	}
}

// TestDriverPython runs the dom0 driver's Python unit tests (the RFB
// client and PNG encoder against a scripted server), then checks that a
// frame vnc.py encodes and prints reads back through ParseRun and Go's
// PNG decoder pixel for pixel.
func TestDriverPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 (dom0's driver language) is needed: %v", err)
	}
	env := append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	cmd := exec.Command(py, "-m", "unittest", "-v", "vnc_test")
	cmd.Dir, cmd.Env = "dom0/driver", env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("python3 -m unittest vnc_test: %v\n%s", err, out)
	}
	// A 40x20 frame: a gradient, so every pixel is checked.
	const script = `import sys, vnc
w, h = 40, 20
rgb = bytes(v for y in range(h) for x in range(w) for v in (x * 6, y * 12, (x + y) % 256))
vnc.emit(vnc.png(w, h, rgb), w, h, "g", pause=0)
`
	cmd = exec.Command(py, "-c", script)
	cmd.Dir, cmd.Env = "dom0/driver", env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("vnc.emit: %v", err)
	}
	p, err := parseProof(string(out))
	if err != nil || p.PNG == nil {
		t.Fatalf("ParseRun(vnc.emit output) = %v, %v; PNGErr %q\n%s", p.PNG, err, p.PNGErr, out)
	}
	img, err := png.Decode(bytes.NewReader(p.PNG))
	if err != nil {
		t.Fatalf("vnc.png's output does not decode: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 40 || b.Dy() != 20 {
		t.Fatalf("frame is %v, want 40x20", b)
	}
	for y := 0; y < 20; y++ {
		for x := 0; x < 40; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if got, want := [3]uint32{r >> 8, g >> 8, b >> 8}, [3]uint32{uint32(x * 6), uint32(y * 12), uint32((x + y) % 256)}; got != want {
				t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, got, want)
			}
		}
	}
}

// parseProof reads a log as ParseRun does and returns guest g's Proof.
func parseProof(log string) (Proof, error) {
	run, err := ParseRun(strings.NewReader(log))
	return run.Report("g").Proof, err
}

// readTar returns a job's files by name.
func readTar(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	got := map[string]string{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name] = string(b)
	}
}

// TestParseRunProof: each guest's proof markers land on its own row; a
// retry keeps the host-check results (they run once, before the first
// attempt) and drops the frame of the failed attempt.
func TestParseRunProof(t *testing.T) {
	text := pngOf(t, 64, 48, 300)
	good := "0 " + report(t, true, pass("dom0"))
	log := "XENIFY-E2E: g: BEGIN g\nXENIFY-E2E: g: HOSTCHECK good " + good + "\n" +
		"XENIFY-E2E: g: FB0 none none\n" + framed([]byte("lost"), 1, 1, "") +
		"XENIFY-E2E: g: FAIL timeout\nXENIFY-E2E: g: ATTEMPT 2\n" +
		"XENIFY-E2E: g: FB0 xen_fbfront 0_xen\n" + framed(text, 64, 48, "") +
		"XENIFY-E2E: g: DONE 1\nXENIFY-E2E: h: BEGIN h\nXENIFY-E2E: h: FB0 x 0_y\n" +
		strings.ReplaceAll(framed(text, 64, 48, ""), "XENIFY-E2E: g:", "XENIFY-E2E: h:")
	run, err := ParseRun(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	g := run.Report("g").Proof
	if g.HostChecks[CaseGood].Exit != 0 || g.HostChecks[CaseGood].Report == nil || g.FB0 != "0_xen" || !bytes.Equal(g.PNG, text) {
		t.Errorf("g: %+v; want the host-check of attempt 1 and the frame of attempt 2", g)
	}
	if why := g.Verdict([]HostCheckCase{{Name: CaseGood}}, true); why != "" {
		t.Errorf("g: Verdict = %q", why)
	}
	h := run.Report("h").Proof
	if h.HostChecks != nil || h.FB0 != "0_y" || !bytes.Equal(h.PNG, text) {
		t.Errorf("h: %+v; want its own FB0 and frame, no host-check", h)
	}
	// A frame cut off by the end of the log, then none for a new guest.
	cut := "XENIFY-E2E: g: VNC-PNG 1 1 4 00000000\nvnc-png| AAAA\n"
	if p, _ := parseProof(cut); p.PNGErr != "frame: no VNC-PNG-END (dom0 stopped while sending it)" {
		t.Errorf("cut frame: PNGErr %q", p.PNGErr)
	}
}
