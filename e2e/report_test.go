package e2e

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// passLog is one dom0 run that boots one guest.
const passLog = "(XEN) Xen version 4.17\r\n" +
	"[  3.1] Booting paravirtualized kernel on Xen\n" +
	"XENIFY-E2E: DOM0-UP 76.79\n" +
	"XENIFY-E2E: XEN-CAPS xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64\n" +
	"XENIFY-E2E: DOM0-READY 91.95\n" +
	"XENIFY-E2E: g: BEGIN g\n" +
	"xl| Parsing config from /run/xenify-e2e/guests/g.cfg\n" +
	"XENIFY-E2E: g: CREATED 2.1\n" +
	"guest g| Debian GNU/Linux 12 native-bookworm hvc0\r\n" +
	"guest g| native-bookworm login: root\n" +
	"XENIFY-E2E: g: LOGIN-PROMPT 61.4\n" +
	"XENIFY-E2E: g: ROOT /dev/xvda1 rw\n" +
	"XENIFY-E2E: g: BOOT none\n" +
	"XENIFY-E2E: g: DONE 80.2\n" +
	"XENIFY-E2E: END 0\n"

// runLog is one dom0 run that boots three guests in turn: the first passes
// on its second attempt, the second fails, dom0 never gets to the third.
const runLog = "XENIFY-E2E: DOM0-UP 30.1\n" +
	"XENIFY-E2E: XEN-CAPS xen-3.0-x86_64 hvm-3.0-x86_64\n" +
	"XENIFY-E2E: DOM0-READY 34.5\n" +
	"XENIFY-E2E: deb12-pvh: BEGIN deb12-pvh\n" +
	"XENIFY-E2E: deb12-pvh: CREATED 9.0\n" +
	"guest deb12-pvh| [    0.000000] Linux version 6.1\n" +
	"XENIFY-E2E: deb12-pvh: FAIL timeout after 300s waiting for the login prompt\n" +
	"XENIFY-E2E: deb12-pvh: ATTEMPT 2\n" +
	"XENIFY-E2E: deb12-pvh: CREATED 8.0\n" +
	"guest deb12-pvh| native-bookworm login: \n" +
	"XENIFY-E2E: deb12-pvh: LOGIN-PROMPT 79.3\n" +
	"XENIFY-E2E: deb12-pvh: ROOT /dev/xvda1 rw\n" +
	"XENIFY-E2E: deb12-pvh: BOOT /dev/xvda1\n" +
	"XENIFY-E2E: deb12-pvh: DONE 412.0\n" +
	"XENIFY-E2E: deb12-bootmerge: BEGIN deb12-bootmerge\n" +
	"XENIFY-E2E: deb12-bootmerge: VG-ACTIVE vg0 root swap\n" +
	"XENIFY-E2E: deb12-bootmerge: CREATED 3.0\n" +
	// A guest printing a marker of its own is console output, not a result.
	"guest deb12-bootmerge| XENIFY-E2E: deb12-bootmerge: ROOT /dev/xvda1 rw\n" +
	"XENIFY-E2E: deb12-bootmerge: FAIL Gave up waiting for root file system device.\n" +
	"XENIFY-E2E: deb12-bootmerge: DONE 200.0\n" +
	"XENIFY-E2E: FAIL dom0: out of memory\n" +
	"XENIFY-E2E: END 1\n"

func TestParseRun(t *testing.T) {
	got, err := ParseRun(strings.NewReader(passLog))
	if err != nil {
		t.Fatal(err)
	}
	want := Run{
		Dom0Up: true, Dom0Ready: 91.95, XenCaps: "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64", Ended: true,
		Order: []string{"g"},
		Guests: map[string]*Report{"g": {
			Begun: true, Created: true, LoginPrompt: true, LoginAfter: 61.4, Attempt: 1,
			RootSource: "/dev/xvda1", RootMode: "rw", BootSource: "none", Done: true, Elapsed: 80.2,
			Guest: []string{"Debian GNU/Linux 12 native-bookworm hvc0", "native-bookworm login: root"},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseRun() mismatch (-want +got):\n%s", diff)
	}
}

func TestParseRunGuests(t *testing.T) {
	run, err := ParseRun(strings.NewReader(runLog))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"deb12-pvh", "deb12-bootmerge"}, run.Order); diff != "" {
		t.Errorf("Order mismatch (-want +got):\n%s", diff)
	}
	caps := "xen-3.0-x86_64 hvm-3.0-x86_64"
	for _, tc := range []struct {
		label    string
		want     Report
		wantRoot string
		verdict  string
	}{
		{"deb12-pvh", Report{
			Dom0Up: true, XenCaps: caps, Ended: true, Begun: true, Created: true, LoginPrompt: true, LoginAfter: 79.3,
			RootSource: "/dev/xvda1", RootMode: "rw", BootSource: "/dev/xvda1", Attempt: 2,
			Retried: []string{"timeout after 300s waiting for the login prompt"}, Done: true, Elapsed: 412,
			Guest: []string{"[    0.000000] Linux version 6.1", "native-bookworm login: "},
		}, "/dev/xvda1", ""},
		// Its console's marker-like line is no result: the verdict is its FAIL.
		{"deb12-bootmerge", Report{
			Dom0Up: true, XenCaps: caps, Ended: true, Begun: true, Created: true, Attempt: 1,
			Fail: "Gave up waiting for root file system device.", Done: true, Elapsed: 200,
			Guest: []string{"XENIFY-E2E: deb12-bootmerge: ROOT /dev/xvda1 rw"},
		}, "/dev/xvda1", "Gave up waiting for root file system device."},
		// dom0 failed before it got to the guest: dom0's reason is the guest's.
		{"deb12-sda1-unconverted", Report{Dom0Up: true, XenCaps: caps, Ended: true, Attempt: 1, Fail: "dom0: out of memory"},
			"/dev/xvda1", "dom0: out of memory"},
	} {
		got := run.Report(tc.label)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Report(%s) mismatch (-want +got):\n%s", tc.label, diff)
		}
		if v := got.Verdict(tc.wantRoot, ""); v != tc.verdict {
			t.Errorf("Report(%s).Verdict = %q, want %q", tc.label, v, tc.verdict)
		}
	}
	// Without a dom0 FAIL, a guest dom0 never got to says so.
	run.Fail = ""
	if v := run.Report("other").Verdict("/dev/xvda1", ""); v != "dom0 never got to this guest" {
		t.Errorf("Verdict of a guest dom0 never began = %q", v)
	}
}

func TestVerdict(t *testing.T) {
	for _, tc := range []struct {
		name, log, want, wantReason string
		wantBoot                    string
	}{
		{"pass", passLog, "/dev/xvda1", "", ""},
		{"pass, /boot on root", passLog, "/dev/xvda1", "", BootNotMounted},
		{"/boot separate", strings.Replace(passLog, "BOOT none", "BOOT /dev/xvda2", 1), "/dev/xvda1",
			"/boot is a separate mount of /dev/xvda2, want it on the root filesystem", BootNotMounted},
		{"/boot separate, not checked", strings.Replace(passLog, "BOOT none", "BOOT /dev/xvda2", 1), "/dev/xvda1", "", ""},
		{"/boot from elsewhere", passLog, "/dev/xvda1", "/boot is none, want /dev/xvda2", "/dev/xvda2"},
		{"no /boot result", strings.Replace(passLog, "XENIFY-E2E: g: BOOT none\n", "", 1), "/dev/xvda1",
			"no findmnt result for /boot from the guest", BootNotMounted},
		{"root before /boot", strings.Replace(passLog, "xvda1 rw", "xvda1 ro", 1), "/dev/xvda1", "root is mounted ro, want rw", BootNotMounted},
		{"wrong root", passLog, "/dev/mapper/vg0-root", "root is /dev/xvda1, want /dev/mapper/vg0-root", ""},
		{"read-only", strings.Replace(passLog, "xvda1 rw", "xvda1 ro", 1), "/dev/xvda1", "root is mounted ro, want rw", ""},
		{"another guest's results", strings.ReplaceAll(passLog, "g: ", "h: "), "/dev/xvda1", "dom0 never got to this guest", ""},
		{"fail wins", "XENIFY-E2E: DOM0-UP 1\nXENIFY-E2E: g: BEGIN g\nXENIFY-E2E: g: CREATED 1\nXENIFY-E2E: g: FAIL Gave up waiting for root file system device.\nXENIFY-E2E: g: FAIL second\n",
			"/dev/xvda1", "Gave up waiting for root file system device.", ""},
		{"no dom0", "(XEN) panic\n", "/dev/xvda1", "dom0 never started the e2e service", ""},
		{"no create", "XENIFY-E2E: DOM0-UP 1\nXENIFY-E2E: g: BEGIN g\n", "/dev/xvda1", "xl create did not report success", ""},
		{"no login", "XENIFY-E2E: DOM0-UP 1\nXENIFY-E2E: g: BEGIN g\nXENIFY-E2E: g: CREATED 1\n", "/dev/xvda1", "no login prompt on the guest console", ""},
		{"bare FAIL", "XENIFY-E2E: g: FAIL\n", "/dev/xvda1", "FAIL without reason", ""},
		{"only Xen disks", strings.Replace(passLog, "XENIFY-E2E: g: BOOT none\n", "XENIFY-E2E: g: BOOT none\nXENIFY-E2E: g: DISKS xvda sr0\n", 1), "/dev/xvda1", "", BootNotMounted},
		{"the emulated disk too", strings.Replace(passLog, "XENIFY-E2E: g: BOOT none\n", "XENIFY-E2E: g: BOOT none\nXENIFY-E2E: g: DISKS sda xvda\n", 1), "/dev/xvda1",
			"the guest sees emulated disks beside its Xen ones: sda (sda xvda)", BootNotMounted},
		{"a retry starts afresh", strings.Replace(passLog, "XENIFY-E2E: g: ROOT", "XENIFY-E2E: g: FAIL stalled\nXENIFY-E2E: g: ATTEMPT 2\nXENIFY-E2E: g: ROOT", 1),
			"/dev/xvda1", "xl create did not report success", ""},
	} {
		run, err := ParseRun(strings.NewReader(tc.log))
		if err != nil {
			t.Fatal(err)
		}
		if got := run.Report("g").Verdict(tc.want, tc.wantBoot); got != tc.wantReason {
			t.Errorf("%s: Verdict(%q, %q) = %q, want %q", tc.name, tc.want, tc.wantBoot, got, tc.wantReason)
		}
	}
}

func FuzzParseRun(f *testing.F) {
	f.Add(passLog)
	f.Add(runLog)
	f.Add("XENIFY-E2E: g: LOGIN-PROMPT notanumber\nXENIFY-E2E: g: ROOT x\n")
	f.Add("guest g| XENIFY-E2E: g: ROOT /dev/sda1 rw\n")
	f.Fuzz(func(t *testing.T, s string) {
		run, err := ParseRun(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, l := range run.Order {
			_ = run.Report(l).Verdict("/dev/xvda1", BootNotMounted)
		}
	})
}
