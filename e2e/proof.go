package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/xenify/xenify/host/check"
	"github.com/xenify/xenify/verify"
)

// The dom0 side of issue 14's proof, beyond the boot itself:
//   - host-check: dom0 runs the xenify under test, `xenify host-check
//     --json`, on the domain config before xl create (the good case),
//     and on configs it must refuse: a vif naming a bridge dom0 lacks,
//     and the guest disk while dom0 itself holds it (xl block-attach 0);
//   - the framebuffer: a --vnc guest's /dev/fb0 belongs to xen-fbfront,
//     and the device model's VNC server shows its text console, captured
//     by dom0/driver/vnc.py and carried back as a PNG on the serial.

// Extras are the proof steps a guest of a job carries beyond the boot
// (Guest.Extras, WriteJob).
type Extras struct {
	VNC        bool            // the framebuffer proof after login
	Xenify     string          // host path of the xenify binary, shipped as bin/xenify
	HostChecks []HostCheckCase // host-check runs before xl create; need Xenify
}

// Empty says the guest has no proof steps beyond the boot.
func (ex Extras) Empty() bool { return !ex.VNC && len(ex.HostChecks) == 0 }

// HostCheckCase is one host-check run in dom0 (dom0/driver/hostcheck.py).
type HostCheckCase struct {
	Name   string `json:"name"`             // CaseGood, CaseMissingBridge, CaseAttached
	Config string `json:"config"`           // the config's path in dom0 (set by WriteJob)
	Attach string `json:"attach,omitempty"` // a disk dom0 attaches to itself (xl block-attach 0) first

	cfg []byte // the config to check; nil: the guest's own (WriteJob)
}

// Host-check cases.
const (
	CaseGood          = "good"           // the domain config as booted: every check passes
	CaseMissingBridge = "missing-bridge" // its vif names MissingBridge: the bridge check fails
	CaseAttached      = "attached"       // its disk is attached to dom0: the disk check fails
)

// MissingBridge is the bridge the missing-bridge case names; dom0 has
// none of that name (it creates xenbr0 only).
const MissingBridge = "xenify-nobr0"

// HostCheckCases are the host-check runs for a domain config: the good
// case always, and with refusals also the two it must refuse.
func HostCheckCases(cfg []byte, refusals bool) ([]HostCheckCase, error) {
	cs := []HostCheckCase{{Name: CaseGood}}
	if !refusals {
		return cs, nil
	}
	nb, err := WithBridge(cfg, MissingBridge)
	if err != nil {
		return nil, err
	}
	disks, err := ConfigDisks(cfg)
	if err != nil {
		return nil, err
	}
	if len(disks) == 0 {
		return nil, fmt.Errorf("domain config has no disk to attach to dom0")
	}
	return append(cs,
		HostCheckCase{Name: CaseMissingBridge, cfg: nb},
		HostCheckCase{Name: CaseAttached, Attach: disks[0].Target},
	), nil
}

// WithBridge returns the config with the bridge= of every vif set to
// bridge. It fails when no vif names a bridge.
func WithBridge(cfg []byte, bridge string) ([]byte, error) {
	strs, err := xlStrings(cfg)
	if err != nil {
		return nil, fmt.Errorf("parsing domain config: %w", err)
	}
	var b bytes.Buffer
	last, n := 0, 0
	for _, st := range strs {
		if st.key != "vif" {
			continue
		}
		off := 0
		for _, item := range strings.Split(st.val, ",") {
			t := strings.TrimSpace(item)
			if v, ok := strings.CutPrefix(t, "bridge="); ok {
				p := st.start + off + strings.Index(item, t) + len("bridge=")
				b.Write(cfg[last:p])
				b.WriteString(bridge)
				last = p + len(v)
				n++
			}
			off += len(item) + 1
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("domain config has no vif with a bridge=")
	}
	b.Write(cfg[last:])
	return b.Bytes(), nil
}

// HostCheckRun is what dom0 printed for one host-check case.
type HostCheckRun struct {
	Exit   int
	Report *check.Report // nil: host-check printed no JSON report
}

// Proof is what the dom0 driver printed on the serial for a guest's
// extras (Report.Proof, read by ParseRun).
type Proof struct {
	HostChecks map[string]HostCheckRun // by case; nil: none ran
	FB0Driver  string                  // the module of the guest's xenbus vfb driver ("none": no vfb bound)
	FB0        string                  // the first line of the guest's /proc/fb, spaces as '_'
	PNG        []byte                  // the captured frame, checked against its length and CRC
	PNGErr     string                  // why a frame dom0 sent could not be read back
}

// pngPrefix starts each base64 line of a frame (dom0/driver/vnc.py). The
// lines carry no label: they belong to the frame the last VNC-PNG marker
// opened (dom0 boots one guest at a time).
const pngPrefix = "vnc-png| "

// frameReader collects the base64 lines of a frame for its guest's Proof.
type frameReader struct {
	p       *Proof
	b64     strings.Builder
	wantLen int
	wantCRC uint32
}

// proofMark records a guest's proof marker, word and the text after it
// (rest, spaces kept: a host-check report is JSON):
//
//	XENIFY-E2E: LABEL: HOSTCHECK <case> <exit> <JSON report | null>
//	XENIFY-E2E: LABEL: FB0 <module of the vfb driver> <first line of /proc/fb>
//	XENIFY-E2E: LABEL: VNC-PNG <width> <height> <bytes> <crc32 hex>
//	vnc-png| <base64>...
//	XENIFY-E2E: LABEL: VNC-PNG-END
//
// frame is the frame being read, if any; VNC-PNG opens one and
// VNC-PNG-END closes it. It returns false for a word that is not a proof
// marker.
func (p *Proof) mark(word, rest string, frame **frameReader) bool {
	switch word {
	case "HOSTCHECK":
		f := strings.SplitN(rest, " ", 3)
		if len(f) < 3 {
			return true
		}
		run := HostCheckRun{Exit: -1}
		if n, err := strconv.Atoi(f[1]); err == nil {
			run.Exit = n
		}
		var rep check.Report
		if f[2] != "null" && json.Unmarshal([]byte(f[2]), &rep) == nil {
			run.Report = &rep
		}
		if p.HostChecks == nil {
			p.HostChecks = map[string]HostCheckRun{}
		}
		p.HostChecks[f[0]] = run
	case "FB0":
		f := strings.Fields(rest)
		if len(f) >= 2 {
			p.FB0Driver, p.FB0 = f[0], f[1]
		}
	case "VNC-PNG":
		*frame = nil
		f := strings.Fields(rest)
		fr := &frameReader{p: p}
		var err error
		if len(f) == 4 {
			fr.wantLen, err = strconv.Atoi(f[2])
			var c uint64
			if err == nil {
				c, err = strconv.ParseUint(f[3], 16, 32)
				fr.wantCRC = uint32(c)
			}
		}
		if len(f) != 4 || err != nil {
			p.PNGErr = "bad VNC-PNG marker: " + rest
			return true
		}
		*frame = fr
	case "VNC-PNG-END":
		fr := *frame
		if fr == nil || fr.p != p {
			return true
		}
		*frame = nil
		data, err := base64.StdEncoding.DecodeString(fr.b64.String())
		switch {
		case err != nil:
			p.PNGErr = "frame: base64: " + err.Error()
		case len(data) != fr.wantLen:
			p.PNGErr = fmt.Sprintf("frame: %d bytes arrived, dom0 sent %d (characters lost on the serial?)", len(data), fr.wantLen)
		case crc32.ChecksumIEEE(data) != fr.wantCRC:
			p.PNGErr = fmt.Sprintf("frame: CRC %08x, dom0 sent %08x (the serial garbled it)", crc32.ChecksumIEEE(data), fr.wantCRC)
		default:
			p.PNG, p.PNGErr = data, ""
		}
	default:
		return false
	}
	return true
}

// line takes a base64 line of the frame; false: line is not one.
func (fr *frameReader) line(line string) bool {
	s, ok := strings.CutPrefix(line, pngPrefix)
	if ok {
		fr.b64.WriteString(strings.TrimSpace(s))
	}
	return ok
}

// cut records that the log ended inside the frame.
func (fr *frameReader) cut() {
	if fr.p.PNGErr == "" {
		fr.p.PNGErr = "frame: no VNC-PNG-END (dom0 stopped while sending it)"
	}
}

// Verdict returns "" when dom0 printed every host-check result cases ask
// for, each as its case requires, and, with vnc, the framebuffer proof;
// else a one-line reason.
func (p Proof) Verdict(cases []HostCheckCase, vnc bool) string {
	for _, c := range cases {
		run, ok := p.HostChecks[c.Name]
		if !ok {
			return "host-check " + c.Name + ": dom0 printed no result"
		}
		var why string
		switch c.Name {
		case CaseGood:
			why = HostCheckGood(run)
		case CaseMissingBridge:
			why = HostCheckRefused(run, "bridge[0]", "bridge "+MissingBridge+" does not exist", "xenify host-setup bridge "+MissingBridge)
		case CaseAttached:
			why = HostCheckRefused(run, "disk ", "attached to domain 0", "block-detach 0")
		}
		if why != "" {
			return "host-check " + c.Name + ": " + why
		}
	}
	if !vnc {
		return ""
	}
	// /proc/fb "0 xen": fb0's id is the one xen-fbfront sets. The vfb
	// driver's module is only reported: in the tier vfb-0 is bound to the
	// xenbus driver vfb, which has no module link (FB0Driver "none").
	if p.FB0 != "0_xen" {
		return fmt.Sprintf("the guest's /dev/fb0 is not xen-fbfront's (/proc/fb %q, want \"0 xen\"; vfb driver module %q)", p.FB0, p.FB0Driver)
	}
	if p.PNG == nil {
		if p.PNGErr != "" {
			return p.PNGErr
		}
		return "dom0 sent no VNC frame"
	}
	img, err := png.Decode(bytes.NewReader(p.PNG))
	if err != nil {
		return "frame: not a PNG: " + err.Error()
	}
	return FrameBlank(img)
}

// HostCheckGood: exit 0, the report says OK, and every check passed
// (none warned, none failed; a skipped check is allowed).
func HostCheckGood(run HostCheckRun) string {
	if run.Report == nil {
		return fmt.Sprintf("no JSON report (exit %d)", run.Exit)
	}
	var bad []string
	for _, c := range run.Report.Checks {
		if c.Status != verify.Pass && c.Status != verify.Skip {
			bad = append(bad, fmt.Sprintf("%s %s: %s", c.Name, c.Status, c.Detail))
		}
	}
	switch {
	case len(bad) > 0:
		return "want every check to pass: " + strings.Join(bad, "; ")
	case !run.Report.OK || run.Exit != 0:
		return fmt.Sprintf("ok=%v exit %d, want ok and exit 0", run.Report.OK, run.Exit)
	case len(run.Report.Checks) == 0:
		return "the report has no checks"
	}
	return ""
}

// HostCheckRefused: exit 3 (refused), not OK, and exactly one failed
// check: the one whose name starts with name, whose detail contains
// detail and whose fix contains fix.
func HostCheckRefused(run HostCheckRun, name, detail, fix string) string {
	if run.Report == nil {
		return fmt.Sprintf("no JSON report (exit %d)", run.Exit)
	}
	var failed []verify.Check
	for _, c := range run.Report.Checks {
		if c.Status == verify.Fail {
			failed = append(failed, c)
		}
	}
	switch {
	case run.Exit != 3 || run.Report.OK:
		return fmt.Sprintf("exit %d ok=%v, want exit 3 and not ok", run.Exit, run.Report.OK)
	case len(failed) != 1:
		var names []string
		for _, c := range failed {
			names = append(names, c.Name+": "+c.Detail)
		}
		return fmt.Sprintf("want exactly the %s check to fail, %d failed: %s", strings.TrimSpace(name), len(failed), strings.Join(names, "; "))
	case !strings.HasPrefix(failed[0].Name, name) || !strings.Contains(failed[0].Detail, detail) || !strings.Contains(failed[0].Fix, fix):
		return fmt.Sprintf("failed check %s (%s; fix: %s), want %s... saying %q with a fix naming %q", failed[0].Name, failed[0].Detail, failed[0].Fix, name, detail, fix)
	}
	return ""
}

// minInk is how many pixels of a frame must differ from its most common
// colour: one short line of 8x16 text ("login:") has a few hundred.
const minInk = 200

// FrameBlank returns "" when the frame shows something: at least minInk
// pixels differ from the background (its most common colour).
func FrameBlank(img image.Image) string {
	b := img.Bounds()
	if b.Empty() {
		return "frame: empty image"
	}
	count := map[[3]uint32]int{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			count[[3]uint32{r, g, bl}]++
		}
	}
	most := 0
	for _, n := range count {
		most = max(most, n)
	}
	if ink := b.Dx()*b.Dy() - most; ink < minInk {
		return fmt.Sprintf("frame: %dx%d blank (%d pixels differ from the background, want at least %d)", b.Dx(), b.Dy(), ink, minInk)
	}
	return ""
}

// ArtifactsDir is where the tier keeps what a run produced for people
// to look at (the VNC frames): $XENIFY_E2E_ARTIFACTS, default
// CacheDir()/artifacts.
func ArtifactsDir() string {
	if d := os.Getenv("XENIFY_E2E_ARTIFACTS"); d != "" {
		return d
	}
	return filepath.Join(CacheDir(), "artifacts")
}
