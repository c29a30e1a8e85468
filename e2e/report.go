package e2e

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// Marker is the prefix of the result lines the dom0 prints on its console.
// dom0's own markers follow it directly ("XENIFY-E2E: DOM0-UP 31.2"); a
// guest's carry its label first ("XENIFY-E2E: deb12-sda1: ROOT /dev/xvda1
// rw"), as its console lines do ("guest deb12-sda1| ..."), so one dom0 run
// that boots several guests in turn attributes every line to its guest.
const Marker = "XENIFY-E2E: "

// Run is what one dom0 run printed on QEMU's serial port.
type Run struct {
	Dom0Up    bool    // the dom0 service started
	Dom0Ready float64 // dom0 uptime when the driver was ready for the first guest
	XenCaps   string  // xen_caps of xl info: the guest types Xen offers
	Fail      string  // first FAIL of dom0 itself (no guest label), if any
	Ended     bool    // the dom0 service finished
	Guests    map[string]*Report
	Order     []string // guest labels in the order dom0 began them
}

// Report is what one guest of a dom0 run printed (Run.Report).
type Report struct {
	Dom0Up      bool    // the dom0 service started
	XenCaps     string  // xen_caps of xl info: the guest types Xen offers
	Begun       bool    // the driver got to this guest
	Created     bool    // xl create succeeded
	LoginPrompt bool    // the guest showed a login prompt on hvc0
	LoginAfter  float64 // seconds from xl create to the login prompt
	RootSource  string  // findmnt SOURCE of / in the guest
	RootMode    string  // "rw" or "ro"
	BootSource  string  // findmnt SOURCE of /boot in the guest, BootNotMounted if not a mount
	// Disks are the guest's block devices (/sys/block) when it listed
	// them (DisksSeen).
	Disks     []string
	DisksSeen bool
	Fail      string // first FAIL reason of the last attempt, if any
	Attempt   int    // the attempt these results are from (1 for the first)
	Retried   []string
	Elapsed   float64 // seconds dom0 spent on the guest, every attempt
	Done      bool    // dom0 finished with the guest (DONE)
	Ended     bool    // the dom0 service finished
	Guest     []string
	// Proof is what dom0 printed for the guest's extras (proof.go):
	// host-check before its first attempt, the framebuffer after login.
	Proof Proof
}

// ParseRun reads the serial log of one dom0 run. Lines it does not
// understand are ignored; guest console lines ("guest LABEL| ") are
// collected per guest. An ATTEMPT marker starts a guest's results afresh
// and keeps the failure of the attempt before in Retried.
func ParseRun(r io.Reader) (Run, error) {
	run := Run{Guests: map[string]*Report{}}
	guest := func(label string) *Report {
		g := run.Guests[label]
		if g == nil {
			g = &Report{Attempt: 1}
			run.Guests[label] = g
			run.Order = append(run.Order, label)
		}
		return g
	}
	var frame *frameReader // a guest's VNC frame being read (proof.go)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if frame != nil && frame.line(line) {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "guest "); ok {
			if label, text, ok := strings.Cut(rest, "| "); ok && label != "" && !strings.ContainsAny(label, " \t") {
				g := guest(label)
				g.Guest = append(g.Guest, text)
				continue
			}
		}
		i := strings.Index(line, Marker)
		if i < 0 {
			continue
		}
		f := strings.Fields(line[i+len(Marker):])
		if len(f) == 0 {
			continue
		}
		if label, ok := strings.CutSuffix(f[0], ":"); ok && label != "" {
			if len(f) > 1 {
				g := guest(label)
				// The text after the word, spaces kept (a JSON report).
				_, rest, _ := strings.Cut(strings.TrimLeft(line[i+len(Marker)+len(f[0]):], " "), " ")
				if !g.Proof.mark(f[1], rest, &frame) {
					g.mark(f[1], f[2:])
				}
			}
			continue
		}
		switch f[0] {
		case "DOM0-UP":
			run.Dom0Up = true
		case "DOM0-READY":
			run.Dom0Ready = number(f[1:])
		case "XEN-CAPS":
			run.XenCaps = strings.Join(f[1:], " ")
		case "FAIL":
			if run.Fail == "" {
				run.Fail = reason(f[1:])
			}
		case "END":
			run.Ended = true
		}
	}
	if frame != nil {
		frame.cut()
	}
	return run, sc.Err()
}

// mark records one of the guest's markers.
func (g *Report) mark(word string, args []string) {
	switch word {
	case "BEGIN":
		g.Begun = true
	case "ATTEMPT":
		why := g.Fail
		if why == "" {
			why = "attempt failed without reason"
		}
		// Host-check ran once, before the first attempt: it stays.
		*g = Report{Begun: true, Attempt: int(number(args)), Retried: append(g.Retried, why), Guest: g.Guest,
			Proof: Proof{HostChecks: g.Proof.HostChecks}}
	case "CREATED":
		g.Created = true
	case "LOGIN-PROMPT":
		g.LoginPrompt = true
		g.LoginAfter = number(args)
	case "ROOT":
		if len(args) >= 2 {
			g.RootSource, g.RootMode = args[0], args[1]
		}
	case "BOOT":
		if len(args) >= 1 {
			g.BootSource = args[0]
		}
	case "DISKS":
		g.Disks, g.DisksSeen = args, true
	case "FAIL":
		if g.Fail == "" {
			g.Fail = reason(args)
		}
	case "DONE":
		g.Done, g.Elapsed = true, number(args)
	}
}

func number(f []string) float64 {
	if len(f) == 0 {
		return 0
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0
	}
	return v
}

func reason(f []string) string {
	if len(f) == 0 {
		return "FAIL without reason"
	}
	return strings.Join(f, " ")
}

// Report returns the results of the guest with this label, with what dom0
// itself reported. A guest dom0 never got to fails with dom0's own FAIL
// reason, if it gave one.
func (run Run) Report(label string) Report {
	var r Report
	if g := run.Guests[label]; g != nil {
		r = *g
	} else {
		r.Attempt = 1
	}
	r.Dom0Up, r.XenCaps, r.Ended = run.Dom0Up, run.XenCaps, run.Ended
	if !r.Begun && r.Fail == "" {
		r.Fail = run.Fail
	}
	return r
}

// Verdict says whether the boot proved that the guest runs from wantRoot,
// mounted read-write, and, unless wantBoot is "", that /boot comes from
// wantBoot (BootNotMounted: /boot is not a mount of its own). It returns "" on
// success, else a one-line reason.
func (r Report) Verdict(wantRoot, wantBoot string) string {
	switch {
	case r.Fail != "":
		return r.Fail
	case !r.Dom0Up:
		return "dom0 never started the e2e service"
	case !r.Begun:
		return "dom0 never got to this guest"
	case !r.Created:
		return "xl create did not report success"
	case !r.LoginPrompt:
		return "no login prompt on the guest console"
	case r.RootSource == "":
		return "no findmnt result from the guest"
	case r.RootSource != wantRoot:
		return "root is " + r.RootSource + ", want " + wantRoot
	case r.RootMode != "rw":
		return "root is mounted " + r.RootMode + ", want rw"
	case wantBoot == "":
	case r.BootSource == "":
		return "no findmnt result for /boot from the guest"
	case r.BootSource != wantBoot && wantBoot == BootNotMounted:
		return "/boot is a separate mount of " + r.BootSource + ", want it on the root filesystem"
	case r.BootSource != wantBoot:
		return "/boot is " + r.BootSource + ", want " + wantBoot
	}
	if em := r.EmulatedDisks(); len(em) > 0 {
		return "the guest sees emulated disks beside its Xen ones: " + strings.Join(em, " ") + " (" + strings.Join(r.Disks, " ") + ")"
	}
	return ""
}

// EmulatedDisks are the guest's block devices an emulated controller
// serves (sdX, hdX): a converted guest reaches its disks through
// xen-blkfront only, and an HVM guest's emulated disk must be unplugged
// or kept from its driver, or the guest sees the same disk twice.
func (r Report) EmulatedDisks() []string {
	var em []string
	for _, d := range r.Disks {
		if strings.HasPrefix(d, "sd") || strings.HasPrefix(d, "hd") {
			em = append(em, d)
		}
	}
	return em
}
