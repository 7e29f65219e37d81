package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/reugn/go-streams"
)

// Emit hands one item to the pipeline. It blocks while the pipeline is full
// (backpressure) and returns false when the run is stopping, in which case
// the source must return. An item with Seq 0 is numbered after the previous
// one (the first is 1).
type Emit[T any] func(it *Item[T]) bool

// SourceFunc produces the items of a source by calling emit for each, until
// its input is exhausted or emit returns false. A returned error is a failure
// of the source itself (its input cannot be read): it cancels the run and Run
// returns it. A record that cannot be decoded is not such a failure: emit it
// as an item with Err set.
type SourceFunc[T any] func(ctx context.Context, emit Emit[T]) error

// Source is the start of a pipeline: a streams.Source whose elements are
// *Item[T].
type Source[T any] struct {
	name string
	fn   SourceFunc[T]
	cfg  sourceConfig
	out  chan any
	next *Stage[T] // the stage after the source in a run, if one of this package's

	claimed  atomic.Bool
	counters counters
}

var _ streams.Source = (*Source[int])(nil)

// NewSource returns a source named name that produces items with fn.
func NewSource[T any](name string, fn SourceFunc[T], opts ...SourceOption) *Source[T] {
	cfg := newSourceConfig(opts)
	return &Source[T]{name: name, fn: fn, cfg: cfg, out: make(chan any, cfg.buffer)}
}

// Name returns the source's name.
func (s *Source[T]) Name() string { return s.name }

// Out returns the source's output channel. Used outside Run, as a plain
// go-streams source, the source starts producing on first use.
func (s *Source[T]) Out() <-chan any {
	s.standalone()
	return s.out
}

// Via streams the source's items to flow and returns flow, as go-streams
// sources do. Prefer pipeline.From, which runs both under Run's context.
func (s *Source[T]) Via(flow streams.Flow) streams.Flow {
	s.standalone()
	go forward(s.out, flow.In())
	return flow
}

func (s *Source[T]) standalone() {
	if s.claimed.CompareAndSwap(false, true) {
		go s.run(standaloneRuntime[T]())
	}
}

func (s *Source[T]) claim() bool { return s.claimed.CompareAndSwap(false, true) }

func (s *Source[T]) stats() ComponentStats { return s.counters.snapshot(s.name, KindSource) }

func (s *Source[T]) run(rt *runtime[T]) {
	defer close(s.out)
	var seq int64
	stopped := rt.stopCtx.Done()
	emit := func(it *Item[T]) bool {
		if it == nil || rt.stopping.Load() {
			return false
		}
		if it.Pos.Seq == 0 {
			it.Pos.Seq = seq + 1
		}
		seq = it.Pos.Seq
		it.Timings.Emitted = time.Now()
		failed := it.Err != nil // the item belongs downstream once sent
		rt.emitted(it)
		if to, r := route(s.out, s.next, it); to != nil {
			select {
			case to <- r:
			case <-stopped:
				rt.unsent(it)
				return false
			}
		}
		s.counters.passed(!failed, &s.counters.failed)
		return true
	}
	err := s.call(rt.stopCtx, emit)
	if err != nil && !(rt.stopCtx.Err() != nil && errors.Is(err, context.Canceled)) {
		rt.fail(fmt.Errorf("source %s: %w", s.name, err))
	}
}

func (s *Source[T]) call(ctx context.Context, emit Emit[T]) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r}
		}
	}()
	return s.fn(ctx, emit)
}
