package setup

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/xenify/xenify/apply"
	"github.com/xenify/xenify/apply/journal"
	"github.com/xenify/xenify/guest"
	"github.com/xenify/xenify/plan"
	"github.com/xenify/xenify/run"
	"github.com/xenify/xenify/xerr"
)

// stateFile records what Apply made live, for Rollback. It is itself
// written through the journal, so the journal's rollback removes it.
const stateFile = journal.Dir + "/host-setup.json"

// state is what the live part of Apply did.
type state struct {
	Bridge string `json:"bridge"`
	// Live: the bridge was made live (ip link); else files only.
	Live bool `json:"live"`
	// Created: the bridge did not exist before; rollback deletes it.
	Created bool   `json:"created"`
	Uplink  string `json:"uplink,omitempty"` // enslaved to the bridge; rollback releases it
	Address string `json:"address,omitempty"`
}

// ApplyOptions say how to apply.
type ApplyOptions struct {
	Runner run.Runner
	// Live also creates the bridge now (ip link), besides the files that
	// create it at boot.
	Live bool
}

// Apply writes the plan's files under root, each journaled first
// (package apply: the journal in root's /var/lib/xenify), then, with
// Live, creates the bridge and enslaves the uplink with ip(8).
func Apply(ctx context.Context, rootDir string, p *Plan, o ApplyOptions) error {
	root, err := guest.Open(rootDir)
	if err != nil {
		return err
	}
	defer root.Close()
	if journal.Exists(root) {
		return &xerr.Refused{Path: stateFile, Msg: "a previous host-setup (or conversion journal) is not rolled back or confirmed",
			Fix: "run 'xenify host-setup --rollback' first, or 'xenify host-setup --confirm' to keep it"}
	}
	st := state{Bridge: p.Bridge, Address: p.Address, Live: o.Live}
	if !p.Routed {
		st.Uplink = p.Uplink
	}
	if o.Live {
		// Asked through the runner: it reaches the network namespace
		// the bridge is made in.
		_, err := o.Runner.Run(ctx, run.Cmd{Argv: []string{"ip", "link", "show", "dev", p.Bridge}})
		st.Created = err != nil
	}
	stJSON, _ := json.MarshalIndent(st, "", "  ")
	pp := &plan.Plan{Source: "host-setup"}
	for _, c := range p.Changes {
		op := plan.Op{Step: "host-setup", Kind: plan.WriteFile, Reason: c.Why, Path: c.Path, Content: c.New}
		if c.Existed {
			op.OldSHA256 = plan.Hash([]byte(c.Old))
		}
		pp.Ops = append(pp.Ops, op)
	}
	pp.Ops = append(pp.Ops, plan.Op{Step: "host-setup", Kind: plan.WriteFile, Reason: "what host-setup made live, for rollback", Path: stateFile, Content: string(stJSON) + "\n"})
	if _, err := apply.Apply(ctx, root, pp, apply.Options{Runner: o.Runner}); err != nil {
		return err
	}
	if !o.Live {
		return nil
	}
	ip := func(args ...string) error {
		_, err := o.Runner.Run(ctx, run.Cmd{Argv: append([]string{"ip"}, args...)})
		return err
	}
	if st.Created {
		if err := ip("link", "add", "name", p.Bridge, "type", "bridge"); err != nil {
			return err
		}
	}
	if st.Uplink != "" {
		if err := ip("link", "set", "dev", p.Uplink, "master", p.Bridge); err != nil {
			return err
		}
	}
	if p.Address != "" {
		if err := ip("addr", "replace", p.Address, "dev", p.Bridge); err != nil {
			return err
		}
	}
	return ip("link", "set", "dev", p.Bridge, "up")
}

// Rollback undoes the live bridge (when Apply created it) and restores
// every file Apply wrote, byte for byte.
func Rollback(ctx context.Context, rootDir string, r run.Runner) error {
	root, err := guest.Open(rootDir)
	if err != nil {
		return err
	}
	defer root.Close()
	if !journal.Exists(root) {
		return &xerr.Refused{Msg: "nothing to roll back: no host-setup journal in " + journal.Dir}
	}
	data, err := root.ReadFile(stateFile)
	if err != nil {
		return &xerr.Refused{Path: stateFile, Msg: "the journal in " + journal.Dir + " is not host-setup's (a conversion's?)", Fix: "roll it back with 'xenify rollback' on that guest"}
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("reading %s: %w", stateFile, err)
	}
	ip := func(args ...string) {
		// Best effort: a link already gone is what rollback wants.
		_, _ = r.Run(ctx, run.Cmd{Argv: append([]string{"ip"}, args...)})
	}
	if st.Live {
		if st.Uplink != "" {
			ip("link", "set", "dev", st.Uplink, "nomaster")
		}
		if st.Created {
			ip("link", "del", "dev", st.Bridge)
		} else if st.Address != "" {
			ip("addr", "del", st.Address, "dev", st.Bridge)
		}
	}
	j, err := journal.Open(root)
	if err != nil {
		return err
	}
	return j.Rollback(nil)
}

// Confirm keeps what Apply did: it drops the journal (the files stay).
func Confirm(rootDir string) error {
	root, err := guest.Open(rootDir)
	if err != nil {
		return err
	}
	defer root.Close()
	if !root.Exists(stateFile) {
		return &xerr.Refused{Msg: "nothing to confirm: no host-setup journal in " + journal.Dir}
	}
	return journal.RemoveAll(root, journal.Dir)
}

// ConfirmOrRollback is the rollback timer: it waits up to timeout for
// a line "yes" on in, then confirms; on anything else, end of input or
// the timeout, it rolls back. It is what keeps an administrator who
// cut their own SSH session from being locked out.
func ConfirmOrRollback(ctx context.Context, rootDir string, r run.Runner, in io.Reader, timeout time.Duration) (confirmed bool, err error) {
	answer := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(in)
		if s.Scan() {
			answer <- strings.TrimSpace(s.Text())
		}
		close(answer)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case a := <-answer:
		if a == "yes" {
			return true, Confirm(rootDir)
		}
	case <-t.C:
	case <-ctx.Done():
	}
	// Roll back even when ctx is cancelled: the point is to restore.
	return false, Rollback(context.WithoutCancel(ctx), rootDir, r)
}
