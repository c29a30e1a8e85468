package p2v

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// sumFollower hashes a remote copy's destination at the sync's coarsest
// level while the copy writes it (see SumsSuffix): each piece as soon as
// the copy has written every plan byte up to its end, read back from the
// page cache. Hashing after the copy instead cost the bench's first pass
// 1.1-1.6 s of its 6-7 s; following it uses the time the copy spends
// waiting on the link, which on a real network is most of it.
type sumFollower struct {
	algo   string
	f      io.ReaderAt
	pieces []Range
	ends   []int64 // plan bytes up to the end of each piece
	sums   []string

	frontier atomic.Int64 // plan bytes written so far
	wake     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	n        int // pieces hashed; the follower's until done is closed
	err      error
}

// followSums starts hashing pieces (the plan split at the coarse chunk,
// in plan order) of f with algo, from plan byte from on as the copy
// reports progress through advance.
func followSums(algo string, f io.ReaderAt, pieces []Range, from int64) *sumFollower {
	s := &sumFollower{algo: algo, f: f, pieces: pieces, ends: make([]int64, len(pieces)), sums: make([]string, len(pieces)),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	var pos int64
	for i, p := range pieces {
		pos += p.Len
		s.ends[i] = pos
	}
	s.frontier.Store(from)
	go s.run()
	return s
}

// advance tells the follower that the first planDone plan bytes are
// written.
func (s *sumFollower) advance(planDone int64) {
	s.frontier.Store(planDone)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *sumFollower) run() {
	defer close(s.done)
	for {
		for s.n < len(s.pieces) && s.ends[s.n] <= s.frontier.Load() {
			select {
			case <-s.stop:
				return
			default:
			}
			p := s.pieces[s.n]
			sum, err := LocalSum(s.algo, io.NewSectionReader(s.f, p.Off, p.Len))
			if err != nil {
				s.err = fmt.Errorf("hashing the destination at byte %d: %w", p.Off, err)
				return
			}
			s.sums[s.n] = sum
			s.n++
		}
		if s.n == len(s.pieces) {
			return
		}
		select {
		case <-s.wake:
		case <-s.stop:
			return
		}
	}
}

// cancel stops the follower (a failed copy); safe to call more than once.
func (s *sumFollower) cancel() {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
}

// finish stops following and hashes the pieces not hashed yet, on every
// core, once the copy has written everything.
func (s *sumFollower) finish(ctx context.Context) ([]string, error) {
	s.cancel()
	if s.err != nil {
		return nil, s.err
	}
	rest, err := hashPieces(ctx, s.algo, s.f, s.pieces[s.n:])
	if err != nil {
		return nil, err
	}
	copy(s.sums[s.n:], rest)
	return s.sums, nil
}
