package convert

import (
	"context"

	"github.com/xenify/xenify/host/check"
	"github.com/xenify/xenify/plan"
	"github.com/xenify/xenify/run"
)

// hostCheck runs host-check for the written domain config when convert
// runs on a dom0 (or on Options.Host): the checks verify cannot make
// from the guest alone. The guest's disks are held by xenify itself
// until Run returns, so "mounted / open for writing" is not checked.
func (s *session) hostCheck(ctx context.Context, p *plan.Plan) *check.Report {
	h := s.o.Host
	if h == nil {
		live := check.Live(run.Exec{Log: s.o.logger()})
		if !live.IsDom0() {
			return nil
		}
		h = live
	}
	return check.Check(ctx, h, check.Input{Domain: p.Domain, Toolstack: p.Toolstack, GuestVGs: s.src.GuestVGs(), InUseByUs: true})
}
