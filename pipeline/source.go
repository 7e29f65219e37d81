package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/reugn/go-streams"
)

// EmitFunc hands one item to the pipeline. It blocks while the pipeline is
// full (backpressure) and returns false when the run is stopping, in which
// case the source must return. An item with Seq 0 is numbered after the
// previous one (the first is 1).
type EmitFunc func(it *Item) bool

// SourceFunc produces the items of a source by calling emit for each, until
// its input is exhausted or emit returns false. A returned error is a failure
// of the source itself (its input cannot be read): it cancels the run and Run
// returns it. A record that cannot be decoded is not such a failure: emit it
// as an item with Err set.
type SourceFunc func(ctx context.Context, emit EmitFunc) error

// Source is the start of a pipeline: a streams.Source whose elements are
// *Item.
type Source struct {
	name string
	fn   SourceFunc
	out  chan any

	claimed  atomic.Bool
	counters counters
}

var _ streams.Source = (*Source)(nil)

// NewSource returns a source named name that produces items with fn.
func NewSource(name string, fn SourceFunc, opts ...Option) *Source {
	cfg := newComponentConfig(opts)
	return &Source{name: name, fn: fn, out: make(chan any, cfg.buffer)}
}

// Name returns the source's name.
func (s *Source) Name() string { return s.name }

// Out returns the source's output channel. Used outside Run, as a plain
// go-streams source, the source starts producing on first use.
func (s *Source) Out() <-chan any {
	s.standalone()
	return s.out
}

// Via streams the source's items to flow and returns flow, as go-streams
// sources do. Prefer pipeline.From, which runs both under Run's context.
func (s *Source) Via(flow streams.Flow) streams.Flow {
	s.standalone()
	go forward(s.out, flow.In())
	return flow
}

func (s *Source) standalone() {
	if s.claimed.CompareAndSwap(false, true) {
		go s.run(standaloneRuntime())
	}
}

func (s *Source) claim() bool { return s.claimed.CompareAndSwap(false, true) }

func (s *Source) output() <-chan any { return s.out }

func (s *Source) stats() ComponentStats { return s.counters.snapshot(s.name, KindSource) }

func (s *Source) run(rt *runtime) {
	defer close(s.out)
	var seq int64
	first := true
	stopped := rt.stopCtx.Done()
	emit := func(it *Item) bool {
		if it == nil || rt.stopping.Load() {
			return false
		}
		if it.Seq == 0 {
			it.Seq = seq + 1
		}
		seq = it.Seq
		if first {
			rt.done.begin(it.Seq)
			first = false
		}
		it.Timings.Emitted = time.Now()
		failed := it.Err != nil // the item belongs downstream once sent
		select {
		case s.out <- it:
		case <-stopped:
			return false
		}
		s.counters.in.Add(1)
		if failed {
			s.counters.failed.Add(1)
		} else {
			s.counters.ok.Add(1)
		}
		return true
	}
	err := s.call(rt.stopCtx, emit)
	if err != nil && !(rt.stopCtx.Err() != nil && errors.Is(err, context.Canceled)) {
		rt.fail(fmt.Errorf("source %s: %w", s.name, err))
	}
}

func (s *Source) call(ctx context.Context, emit EmitFunc) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r}
		}
	}()
	return s.fn(ctx, emit)
}
