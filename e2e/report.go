package e2e

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// Marker is the prefix of the result lines the dom0 prints on its console.
const Marker = "XENIFY-E2E: "

// Report is what one boot printed on QEMU's serial port.
type Report struct {
	Dom0Up      bool    // the dom0 service started
	XenCaps     string  // xen_caps of xl info: the guest types Xen offers
	Created     bool    // xl create succeeded
	LoginPrompt bool    // the guest showed a login prompt on hvc0
	LoginAfter  float64 // seconds from xl create to the login prompt
	RootSource  string  // findmnt SOURCE of / in the guest
	RootMode    string  // "rw" or "ro"
	BootSource  string  // findmnt SOURCE of /boot in the guest, BootNotMounted if not a mount
	Fail        string  // first FAIL reason, if any
	Ended       bool    // the dom0 service finished
	Guest       []string
}

// ParseReport reads a serial log. Lines it does not understand are ignored;
// guest console lines (prefixed "guest| " by the dom0 driver) are collected.
func ParseReport(r io.Reader) (Report, error) {
	var rep Report
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if g, ok := strings.CutPrefix(line, "guest| "); ok {
			rep.Guest = append(rep.Guest, g)
			continue
		}
		i := strings.Index(line, Marker)
		if i < 0 {
			continue
		}
		f := strings.Fields(line[i+len(Marker):])
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "DOM0-UP":
			rep.Dom0Up = true
		case "XEN-CAPS":
			rep.XenCaps = strings.Join(f[1:], " ")
		case "CREATED":
			rep.Created = true
		case "LOGIN-PROMPT":
			rep.LoginPrompt = true
			if len(f) > 1 {
				if v, err := strconv.ParseFloat(f[1], 64); err == nil {
					rep.LoginAfter = v
				}
			}
		case "ROOT":
			if len(f) >= 3 {
				rep.RootSource, rep.RootMode = f[1], f[2]
			}
		case "BOOT":
			if len(f) >= 2 {
				rep.BootSource = f[1]
			}
		case "FAIL":
			if rep.Fail == "" {
				rep.Fail = strings.Join(f[1:], " ")
				if rep.Fail == "" {
					rep.Fail = "FAIL without reason"
				}
			}
		case "END":
			rep.Ended = true
		}
	}
	return rep, sc.Err()
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
	return ""
}
