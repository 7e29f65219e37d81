package pipeline

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/reugn/go-streams"
)

// SinkFunc writes one item. An error means the sink cannot write: it cancels
// the run, and Run returns it. (A failed item is not a sink error; writing
// it somewhere is the sink's job.)
type SinkFunc func(ctx context.Context, it *Item) error

// Sink is the end of a pipeline: a streams.Sink whose elements are *Item.
// Every item that reaches it counts as written.
type Sink struct {
	name  string
	write SinkFunc
	cfg   componentConfig
	in    chan any
	input <-chan any
	done  chan struct{}

	claimed  atomic.Bool
	counters counters
}

var _ streams.Sink = (*Sink)(nil)

// NewSink returns a sink named name that writes items with write. Give it
// OnFlush when it buffers output.
func NewSink(name string, write SinkFunc, opts ...Option) *Sink {
	cfg := newComponentConfig(opts)
	s := &Sink{
		name:  name,
		write: write,
		cfg:   cfg,
		in:    make(chan any, cfg.buffer),
		done:  make(chan struct{}),
	}
	s.input = s.in
	return s
}

// Name returns the sink's name.
func (s *Sink) Name() string { return s.name }

// In returns the sink's input channel. Used outside Run, as a plain
// go-streams sink, the sink starts writing on first use.
func (s *Sink) In() chan<- any {
	s.standalone()
	return s.in
}

// AwaitCompletion blocks until the sink has written everything and flushed.
func (s *Sink) AwaitCompletion() { <-s.done }

// Write writes one item with the sink's function, turning a panic into an
// error. Sinks that combine other sinks (a router) call it.
func (s *Sink) Write(ctx context.Context, it *Item) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return s.write(ctx, it)
}

// Flush pushes buffered output to its destination; it does nothing for a
// sink without OnFlush.
func (s *Sink) Flush() error {
	if s.cfg.flush == nil {
		return nil
	}
	return s.cfg.flush()
}

func (s *Sink) standalone() {
	if s.claimed.CompareAndSwap(false, true) {
		go s.run(standaloneRuntime())
	}
}

func (s *Sink) claim() bool { return s.claimed.CompareAndSwap(false, true) }

func (s *Sink) bind(input <-chan any) { s.input = input }

func (s *Sink) stats() ComponentStats { return s.counters.snapshot(s.name, KindSink) }

// run writes the input until it is closed and flushes. After a write error
// it keeps reading, discarding, so that upstream components can finish.
func (s *Sink) run(rt *runtime) {
	defer close(s.done)
	ctx := context.WithValue(rt.workCtx, stageKey{}, &s.counters)
	var failed error
	fail := func(err error) {
		failed = fmt.Errorf("sink %s: %w", s.name, err)
		rt.fail(failed)
	}
	// Buffered output is flushed when the input goes idle: at once if the
	// last flush is older than the interval, else when the interval ends.
	lastFlush := time.Now()
	dirty := false
	var idle *time.Timer
	defer func() {
		if idle != nil {
			idle.Stop()
		}
	}()
	flush := func() {
		lastFlush, dirty = time.Now(), false
		if err := s.cfg.flush(); err != nil {
			fail(err)
		}
	}
	for {
		var v any
		var open bool
		if dirty && failed == nil {
			if idle == nil {
				idle = time.NewTimer(s.cfg.flushEvery)
			} else {
				idle.Reset(s.cfg.flushEvery)
			}
			select {
			case v, open = <-s.input:
			case <-idle.C:
				flush()
				continue
			}
		} else {
			v, open = <-s.input
		}
		if !open {
			break
		}
		if failed != nil {
			continue
		}
		it, ok := v.(*Item)
		if !ok {
			fail(fmt.Errorf("element of type %T is not a *pipeline.Item", v))
			continue
		}
		s.counters.in.Add(1)
		start := time.Now()
		if !it.Timings.Emitted.IsZero() {
			rt.e2e.record(start.Sub(it.Timings.Emitted))
		}
		if err := s.Write(ctx, it); err != nil {
			fail(err)
			continue
		}
		s.counters.latency.record(time.Since(start))
		if it.Err == nil {
			s.counters.ok.Add(1)
			rt.done.finish(it.Seq)
		} else {
			s.counters.failed.Add(1)
			if kind, _ := Classify(it.Err); kind != KindCanceled {
				rt.done.finish(it.Seq)
			}
		}
		if s.cfg.flush != nil {
			dirty = true
			if len(s.input) == 0 && time.Since(lastFlush) >= s.cfg.flushEvery {
				flush()
			}
		}
	}
	if failed == nil && s.cfg.flush != nil {
		if err := s.cfg.flush(); err != nil {
			fail(err)
		}
	}
}
