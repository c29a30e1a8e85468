package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Bounds of a dom0 run on the host. dom0Bound covers Xen's and dom0's own
// boot up to the first guest (about 45 s under TCG, several minutes on a
// loaded machine); guestSlack covers what an attempt does after its
// in-dom0 timeout: poweroff, xl destroy, the diagnostics it prints, and
// deactivating the guest's volume groups.
// The extras (proof.go) run outside an attempt's own timeout: vncBound
// covers the framebuffer proof's steps after the findmnt result (two of
// 2 min, the VNC connect and the frame on the serial), an attempt;
// hostCheckBound the host-check runs before the first attempt.
const (
	dom0Bound      = 6 * time.Minute
	guestSlack     = time.Minute
	vncBound       = 5 * time.Minute
	hostCheckBound = 2 * time.Minute
)

// RunTimeout bounds the QEMU run that boots guests in turn: dom0's own boot
// plus, for each guest, every attempt's in-dom0 timeout and slack. A guest
// that hangs is stopped by its own timeout inside dom0, so it costs the run
// its share, and the guests after it still boot. A guest's extras add
// their own bounds.
func RunTimeout(guests []Guest) time.Duration {
	d := dom0Bound
	for _, g := range guests {
		attempt := g.Timeout + guestSlack
		if g.Extras.VNC {
			attempt += vncBound
		}
		d += time.Duration(max(g.Attempts, 1)) * attempt
		if len(g.Extras.HostChecks) > 0 {
			d += hostCheckBound
		}
	}
	return d
}

// PlanRuns splits guests into dom0 runs, each a QEMU that boots its guests
// one after another; cpus[i] is guest i's QEMU CPU. Guests that need
// different CPUs never share a run. The runs are sized so that parallel of
// them at a time keep that many cores busy (a CPU group of n guests gets
// ceil(n/ceil(total/parallel)) runs), and no run holds more than perRun
// guests (perRun 0: no limit; 1 is one QEMU per guest). A group's guests
// are dealt round-robin to its runs, which keeps the slow guests of a
// group (listed next to each other) apart. The result lists guest indices,
// biggest run first; every index appears once.
func PlanRuns(cpus []string, parallel, perRun int) [][]int {
	if len(cpus) == 0 {
		return nil
	}
	parallel = max(parallel, 1)
	var order []string
	groups := map[string][]int{}
	for i, c := range cpus {
		if _, ok := groups[c]; !ok {
			order = append(order, c)
		}
		groups[c] = append(groups[c], i)
	}
	size := (len(cpus) + parallel - 1) / parallel
	var runs [][]int
	for _, c := range order {
		g := groups[c]
		n := (len(g) + size - 1) / size
		if perRun > 0 {
			n = max(n, (len(g)+perRun-1)/perRun)
		}
		part := make([][]int, n)
		for k, i := range g {
			part[k%n] = append(part[k%n], i)
		}
		runs = append(runs, part...)
	}
	// Biggest first: the longest run starts at once.
	for i := 1; i < len(runs); i++ {
		for j := i; j > 0 && len(runs[j]) > len(runs[j-1]); j-- {
			runs[j], runs[j-1] = runs[j-1], runs[j]
		}
	}
	return runs
}

// ParseCount reads a non-negative count from the environment variable
// name, whose value is s; "" is def.
func ParseCount(name, s string, def int) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("$%s = %q: want a count (0 or more)", name, s)
	}
	return n, nil
}
