package e2e

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPlanRuns(t *testing.T) {
	const a, b = "cpu-a", "cpu-b"
	for _, tc := range []struct {
		name             string
		cpus             []string
		parallel, perRun int
		want             [][]int
	}{
		{"none", nil, 2, 0, nil},
		{"one run", []string{a, a, a}, 1, 0, [][]int{{0, 1, 2}}},
		{"two at a time, dealt round-robin", []string{a, a, a, a, a}, 2, 0, [][]int{{0, 2, 4}, {1, 3}}},
		{"one QEMU per guest", []string{a, a, a}, 1, 1, [][]int{{0}, {1}, {2}}},
		{"at most two per run", []string{a, a, a, a, a}, 1, 2, [][]int{{0, 3}, {1, 4}, {2}}},
		{"CPUs never share a run", []string{a, b, a, b, a}, 1, 0, [][]int{{0, 2, 4}, {1, 3}}},
		{"a CPU group big enough for both cores", []string{a, a, a, a, a, a, b, b}, 2, 0, [][]int{{0, 2, 4}, {1, 3, 5}, {6, 7}}},
		{"more cores than guests", []string{a}, 2, 0, [][]int{{0}}},
		{"parallel 0 is 1", []string{a, a}, 0, 0, [][]int{{0, 1}}},
	} {
		got := PlanRuns(tc.cpus, tc.parallel, tc.perRun)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: PlanRuns(%v, %d, %d) mismatch (-want +got):\n%s", tc.name, tc.cpus, tc.parallel, tc.perRun, diff)
		}
	}
}

func TestRunTimeout(t *testing.T) {
	gs := []Guest{{Timeout: 5 * time.Minute}, {Timeout: 5 * time.Minute, Attempts: 2}}
	// dom0's own bound, then every attempt of every guest with its slack.
	want := dom0Bound + 3*(5*time.Minute+guestSlack)
	if got := RunTimeout(gs); got != want {
		t.Errorf("RunTimeout = %s, want %s", got, want)
	}
	// The extras' bounds: the framebuffer's an attempt, host-check's once.
	gs = append(gs, Guest{Timeout: time.Minute, Attempts: 2, Extras: Extras{VNC: true, HostChecks: []HostCheckCase{{Name: CaseGood}}}})
	want += 2*(time.Minute+guestSlack+vncBound) + hostCheckBound
	if got := RunTimeout(gs); got != want {
		t.Errorf("RunTimeout(with extras) = %s, want %s", got, want)
	}
	if got := RunTimeout(nil); got != dom0Bound {
		t.Errorf("RunTimeout(nil) = %s, want %s", got, dom0Bound)
	}
}

func TestParseCount(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{{"", 2, true}, {" 3 ", 3, true}, {"0", 0, true}, {"-1", 0, false}, {"two", 0, false}} {
		got, err := ParseCount("XENIFY_E2E_PARALLEL", tc.in, 2)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseCount(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestVariantCPU(t *testing.T) {
	if got := (Variant{}).CPU(); got != CPUTier {
		t.Errorf("Variant{}.CPU() = %q, want CPUTier %q", got, CPUTier)
	}
	if got := (Variant{QEMUCPU: CPUQEMU64}).CPU(); got != CPUQEMU64 {
		t.Errorf("Variant{QEMUCPU: qemu64}.CPU() = %q", got)
	}
}
