package plan_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/xenify/xenify/inspect"
	"github.com/xenify/xenify/plan"
	"github.com/xenify/xenify/xerr"
)

// The upstart job for the Xen console runs a getty the guest has:
// Ubuntu's getty as Ubuntu runs it, else agetty as RHEL 6 runs it on a
// serial console (RHEL 6 has no getty), else mingetty; none is refused.
func TestUpstartConsoleGetty(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tools map[string]string
		want  string // the job's exec line; "" = refused
	}{
		{"ubuntu", map[string]string{"getty": "/sbin/getty", "agetty": "/sbin/agetty"}, "exec /sbin/getty -8 38400 hvc0"},
		{"rhel6", map[string]string{"agetty": "/sbin/agetty", "mingetty": "/sbin/mingetty"}, "exec /sbin/agetty hvc0 38400 vt100-nav"},
		{"mingetty only", map[string]string{"mingetty": "/sbin/mingetty"}, "exec /sbin/mingetty hvc0"},
		{"no getty", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := buildWith(t, "ubuntu1204", plan.Options{}, func(in *inspect.Inspection) {
				if in.Init != "upstart" {
					t.Fatalf("ubuntu1204 init = %q, want upstart", in.Init)
				}
				for _, n := range []string{"getty", "agetty", "mingetty"} {
					delete(in.Tools, n)
				}
				for n, p := range tc.tools {
					in.Tools[n] = p
				}
			})
			if tc.want == "" {
				var r *xerr.Refused
				if !errors.As(err, &r) {
					t.Fatalf("plan without a getty = %v, want a refusal", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			op, ok := opWriting(p, "/etc/init/hvc0.conf")
			if !ok {
				t.Fatal("no upstart job for hvc0")
			}
			if !strings.Contains(op.Content, "\n"+tc.want+"\n") {
				t.Errorf("/etc/init/hvc0.conf:\n%s\nwant the line %q", op.Content, tc.want)
			}
		})
	}
}
