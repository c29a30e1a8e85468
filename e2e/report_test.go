package e2e

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const passLog = "(XEN) Xen version 4.17\r\n" +
	"[  3.1] Booting paravirtualized kernel on Xen\n" +
	"XENIFY-E2E: DOM0-UP 76.79\n" +
	"XENIFY-E2E: XEN-CAPS xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64\n" +
	"XENIFY-E2E: DOM0-READY 91.95\n" +
	"xl| Parsing config from /run/xenify-e2e/domain.cfg\n" +
	"XENIFY-E2E: CREATED 2.1\n" +
	"guest| Debian GNU/Linux 12 native-bookworm hvc0\r\n" +
	"guest| native-bookworm login: root\n" +
	"XENIFY-E2E: LOGIN-PROMPT 61.4\n" +
	"XENIFY-E2E: ROOT /dev/xvda1 rw\n" +
	"XENIFY-E2E: BOOT none\n" +
	"XENIFY-E2E: END 0\n"

func TestParseReport(t *testing.T) {
	got, err := ParseReport(strings.NewReader(passLog))
	if err != nil {
		t.Fatal(err)
	}
	want := Report{
		Dom0Up: true, XenCaps: "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64", Created: true, LoginPrompt: true, LoginAfter: 61.4,
		RootSource: "/dev/xvda1", RootMode: "rw", BootSource: "none", Ended: true,
		Guest: []string{"Debian GNU/Linux 12 native-bookworm hvc0", "native-bookworm login: root"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseReport() mismatch (-want +got):\n%s", diff)
	}
}

func TestVerdict(t *testing.T) {
	ok, _ := ParseReport(strings.NewReader(passLog))
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
		{"no /boot result", strings.Replace(passLog, "XENIFY-E2E: BOOT none\n", "", 1), "/dev/xvda1",
			"no findmnt result for /boot from the guest", BootNotMounted},
		{"root before /boot", strings.Replace(passLog, "xvda1 rw", "xvda1 ro", 1), "/dev/xvda1", "root is mounted ro, want rw", BootNotMounted},
		{"wrong root", passLog, "/dev/mapper/vg0-root", "root is /dev/xvda1, want /dev/mapper/vg0-root", ""},
		{"read-only", strings.Replace(passLog, "xvda1 rw", "xvda1 ro", 1), "/dev/xvda1", "root is mounted ro, want rw", ""},
		{"fail wins", "XENIFY-E2E: DOM0-UP 1\nXENIFY-E2E: CREATED 1\nXENIFY-E2E: FAIL Gave up waiting for root file system device.\nXENIFY-E2E: FAIL second\n",
			"/dev/xvda1", "Gave up waiting for root file system device.", ""},
		{"no dom0", "(XEN) panic\n", "/dev/xvda1", "dom0 never started the e2e service", ""},
		{"no login", "XENIFY-E2E: DOM0-UP 1\nXENIFY-E2E: CREATED 1\n", "/dev/xvda1", "no login prompt on the guest console", ""},
		{"bare FAIL", "XENIFY-E2E: FAIL\n", "/dev/xvda1", "FAIL without reason", ""},
	} {
		rep, err := ParseReport(strings.NewReader(tc.log))
		if err != nil {
			t.Fatal(err)
		}
		if got := rep.Verdict(tc.want, tc.wantBoot); got != tc.wantReason {
			t.Errorf("%s: Verdict(%q, %q) = %q, want %q", tc.name, tc.want, tc.wantBoot, got, tc.wantReason)
		}
	}
	if got := ok.Verdict("/dev/xvda1", ""); got != "" {
		t.Errorf("Verdict(/dev/xvda1) = %q, want pass", got)
	}
}

func FuzzParseReport(f *testing.F) {
	f.Add(passLog)
	f.Add("XENIFY-E2E: LOGIN-PROMPT notanumber\nXENIFY-E2E: ROOT x\n")
	f.Add("guest| XENIFY-E2E: ROOT /dev/sda1 rw\n")
	f.Fuzz(func(t *testing.T, s string) {
		rep, err := ParseReport(strings.NewReader(s))
		if err != nil {
			return
		}
		_ = rep.Verdict("/dev/xvda1", BootNotMounted)
	})
}
