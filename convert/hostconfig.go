package convert

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"

	"github.com/xenify/xenify/plan"
	"github.com/xenify/xenify/xen/domain"
	"github.com/xenify/xenify/xerr"
)

// checkConfig refuses, before anything is written, to replace a domain
// config on the host that is not this guest's: one that differs from
// the planned config, unless xenify wrote it for the same disks (an
// earlier or interrupted convert of this guest) or force is set. The
// host config is not in the guest's journal (rollback leaves it), so
// overwriting another domain's config could not be undone.
func checkConfig(p *plan.Plan, force bool) error {
	old, err := os.ReadFile(p.ConfigPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("reading the existing domain config: %w", err)
	case force || string(old) == p.ConfigText || sameGuest(p.ConfigPath, old, p.ConfigText):
		return nil
	}
	return &xerr.Refused{Msg: fmt.Sprintf("%s exists and is not this guest's domain config (xenify did not write it for these disks)", p.ConfigPath),
		Fix: "give --force to replace it, --name or --config-out to write another, or move it away; nothing was written"}
}

// sameGuest reports whether the config text old was written by xenify
// for the disks the planned config text names (both read by the same
// parser, so they compare as written).
func sameGuest(path string, old []byte, planned string) bool {
	if !bytes.Contains(old, []byte("converted by xenify")) {
		return false
	}
	c, err := domain.Parse(path, old)
	if err != nil {
		return false
	}
	d, err := domain.Parse(path, []byte(planned))
	if err != nil {
		return false
	}
	targets := func(ds []domain.Disk) []string {
		var t []string
		for _, x := range ds {
			t = append(t, x.Target)
		}
		slices.Sort(t)
		return t
	}
	return slices.Equal(targets(c.Disks), targets(d.Disks))
}

// withoutUnchangedConfig drops the domain config write when the file
// already holds exactly the planned text, so a second convert neither
// rewrites it nor reports a step.
func withoutUnchangedConfig(p *plan.Plan) *plan.Plan {
	old, err := os.ReadFile(p.ConfigPath)
	if err != nil || string(old) != p.ConfigText {
		return p
	}
	q := *p
	q.Ops = nil
	for _, op := range p.Ops {
		if op.Kind == plan.WriteHostFile && op.HostPath == p.ConfigPath {
			continue
		}
		q.Ops = append(q.Ops, op)
	}
	return &q
}
