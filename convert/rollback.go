package convert

import (
	"context"

	"github.com/xenify/xenify/apply"
	"github.com/xenify/xenify/apply/journal"
	"github.com/xenify/xenify/source"
)

// Rollback undoes Run from the guest's journal, byte for byte, and
// returns the number of journal records restored. The domain config on
// the host is left in place.
func Rollback(ctx context.Context, o Options) (int, error) {
	s, err := open(ctx, &o, o.Sources, source.ReadWrite)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	return apply.Rollback(s.src.Root, s.src.RootOnly, func(r journal.Record) {
		o.emit(Event{Restore: &Restore{Seq: r.Seq, Step: r.Step}})
	})
}
