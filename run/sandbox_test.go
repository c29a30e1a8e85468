package run

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func TestParseMountsUnder(t *testing.T) {
	const mountinfo = `21 26 0:20 / /proc rw,relatime - proc proc rw
26 1 254:0 / / rw,relatime - ext4 /dev/vda rw
90 26 7:2 / /tmp/g\040x rw - ext4 /dev/loop2 rw
91 90 0:5 / /tmp/g\040x/proc rw - proc proc rw
92 90 0:6 / /tmp/g\040x/dev/pts rw - devpts devpts rw
93 26 0:7 / /tmp/g\040xy rw - tmpfs tmpfs rw
`
	got, err := parseMountsUnder(strings.NewReader(mountinfo), "/tmp/g x/")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"/tmp/g x": 1, "/tmp/g x/proc": 1, "/tmp/g x/dev/pts": 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseMountsUnder(/tmp/g x) (-want +got):\n%s", diff)
	}
}

// A mount that leaked out of the sandbox fails the command; when it
// cannot even be unmounted, the error says so and what to do, since the
// convert must stop rather than leave a kernel filesystem in the guest.
func TestUnmountLeaked(t *testing.T) {
	before := map[string]int{"/g": 1}
	if err := unmountLeaked(before, map[string]int{"/g": 1}, nil); err != nil {
		t.Fatalf("unmountLeaked(nothing new) = %v, want nil", err)
	}
	// A second mount stacked on /g leaked too.
	after := map[string]int{"/g": 2, "/g/proc": 1, "/g/dev": 1, "/g/dev/pts": 1}
	var order []string
	var flags []int
	ok := func(p string, f int) error { order = append(order, p); flags = append(flags, f); return nil }
	err := unmountLeaked(before, after, ok)
	if err == nil || !strings.Contains(err.Error(), "leaked onto the host") {
		t.Errorf("unmountLeaked(3 new mounts, unmount ok) = %v, want a leak error", err)
	}
	if diff := cmp.Diff([]string{"/g/proc", "/g/dev/pts", "/g/dev", "/g"}, order); diff != "" {
		t.Errorf("unmount order (-want +got):\n%s", diff)
	}
	for _, f := range flags {
		if f&unix.UMOUNT_NOFOLLOW == 0 {
			t.Errorf("unmount flags %#x lack UMOUNT_NOFOLLOW", f)
		}
	}
	busy := func(p string, f int) error { return unix.EBUSY }
	err = unmountLeaked(before, after, busy)
	if err == nil || !errors.Is(err, unix.EBUSY) || !strings.Contains(err.Error(), "umount -l /g/proc") {
		t.Errorf("unmountLeaked(unmount fails) = %v, want EBUSY naming `umount -l /g/proc`", err)
	}
}

func TestSandboxResult(t *testing.T) {
	for _, tc := range []struct {
		name, status string
		exit         int
		err          string
	}{
		{"ok", `{"started":true,"exit":0}`, 0, ""},
		{"exit", `{"started":true,"exit":3}`, 3, "exit status 3"},
		{"signal", `{"started":true,"signal":"killed"}`, -1, "killed by signal killed"},
		{"setup", `{"setup":"making mounts private: EPERM"}`, -1, "setting up the guest sandbox: making mounts private: EPERM"},
		{"release", `{"started":true,"exit":0,"release":"unmounting /g/proc: EBUSY"}`, 0, "releasing the guest sandbox: unmounting /g/proc: EBUSY"},
		{"no report", ``, -1, "guest sandbox ended without a report"},
	} {
		exit, err := sandboxResult([]byte(tc.status), nil)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if exit != tc.exit || !strings.Contains(got, tc.err) || (tc.err == "") != (err == nil) {
			t.Errorf("%s: sandboxResult(%s) = %d, %q; want %d, %q", tc.name, tc.status, exit, got, tc.exit, tc.err)
		}
	}
}
