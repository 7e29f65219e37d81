package pipeline

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/reugn/go-streams"
	"github.com/sourcegraph/conc"
	"github.com/sourcegraph/conc/stream"
	"go.uber.org/zap"
)

// StageFunc processes one item. It may change the item in place. A returned
// error fails the item (stored in Item.Err as an *ItemError naming the stage)
// and the item flows on; ErrDrop removes it from the stream. ctx is the run's
// work context: it is cancelled when in-flight work must stop.
type StageFunc func(ctx context.Context, it *Item) error

// Stage is a step of a pipeline that applies a StageFunc to every item, with
// bounded concurrency and, if asked, in order. It is a streams.Flow whose
// elements are *Item; other elements pass through untouched.
type Stage struct {
	name  string
	fn    StageFunc
	cfg   componentConfig
	in    chan any
	out   chan any
	input <-chan any

	claimed  atomic.Bool
	counters counters
}

var _ streams.Flow = (*Stage)(nil)

// NewStage returns a stage named name that applies fn to every item. The name
// appears in errors, logs and statistics.
func NewStage(name string, fn StageFunc, opts ...Option) *Stage {
	cfg := newComponentConfig(opts)
	s := &Stage{
		name: name,
		fn:   fn,
		cfg:  cfg,
		in:   make(chan any, cfg.buffer),
		out:  make(chan any, cfg.buffer),
	}
	s.input = s.in
	return s
}

// Name returns the stage's name.
func (s *Stage) Name() string { return s.name }

// In returns the stage's input channel. Used outside Run, as a plain
// go-streams flow, the stage starts processing on first use.
func (s *Stage) In() chan<- any {
	s.standalone()
	return s.in
}

// Out returns the stage's output channel. Used outside Run, the stage starts
// processing on first use.
func (s *Stage) Out() <-chan any {
	s.standalone()
	return s.out
}

// Via streams the stage's output to flow and returns flow, as go-streams
// operators do. Prefer Builder.Via, which runs both under Run's context.
func (s *Stage) Via(flow streams.Flow) streams.Flow {
	s.standalone()
	go forward(s.out, flow.In())
	return flow
}

// To streams the stage's output to sink and waits for the sink to finish,
// as go-streams operators do. Prefer Builder.To.
func (s *Stage) To(sink streams.Sink) {
	s.standalone()
	forward(s.out, sink.In())
	sink.AwaitCompletion()
}

func (s *Stage) standalone() {
	if s.claimed.CompareAndSwap(false, true) {
		go s.run(standaloneRuntime())
	}
}

func (s *Stage) claim() bool { return s.claimed.CompareAndSwap(false, true) }

func (s *Stage) bind(input <-chan any) { s.input = input }

func (s *Stage) output() <-chan any { return s.out }

func (s *Stage) stats() ComponentStats { return s.counters.snapshot(s.name, KindStage) }

// run processes the input until it is closed, then closes the output. It
// never stops reading early: cancellation reaches it as the closing of its
// input (the source stops) and as the work context.
func (s *Stage) run(rt *runtime) {
	defer close(s.out)
	ctx := context.WithValue(rt.workCtx, stageKey{}, &s.counters)
	switch {
	case s.cfg.concurrency == 1:
		for v := range s.input {
			if r := s.handle(ctx, rt, v); r != nil {
				s.out <- r
			}
		}
	case s.cfg.ordered:
		st := stream.New().WithMaxGoroutines(s.cfg.concurrency)
		for v := range s.input {
			st.Go(func() stream.Callback {
				r := s.handle(ctx, rt, v)
				return func() {
					if r != nil {
						s.out <- r
					}
				}
			})
		}
		st.Wait()
	default:
		var workers conc.WaitGroup
		for range s.cfg.concurrency {
			workers.Go(func() {
				// Each worker derives its own cancelable context: the
				// contexts a stage function derives per item (timeouts)
				// register with it, not all with the one run context
				// under its lock.
				ctx, cancel := context.WithCancel(ctx)
				defer cancel()
				for v := range s.input {
					if r := s.handle(ctx, rt, v); r != nil {
						s.out <- r
					}
				}
			})
		}
		workers.Wait()
	}
}

// handle processes one element and returns what to emit (nil: nothing).
func (s *Stage) handle(ctx context.Context, rt *runtime, v any) any {
	it, ok := v.(*Item)
	if !ok {
		return v
	}
	s.counters.in.Add(1)
	if it.Err != nil && !s.cfg.processFailed {
		s.counters.skipped.Add(1)
		return it
	}
	if s.cfg.interruptible && rt.stopping.Load() && it.Err == nil {
		it.Err = &ItemError{Stage: s.name, Kind: KindCanceled, Err: context.Canceled}
		s.counters.failed.Add(1)
		return it
	}
	start := time.Now()
	err := s.call(ctx, it)
	s.counters.latency.record(time.Since(start))
	switch {
	case err == nil:
		s.counters.ok.Add(1)
	case errors.Is(err, ErrDrop):
		s.counters.dropped.Add(1)
		rt.done.finish(it.Seq)
		return nil
	default:
		ie := Fail(s.name, err)
		it.Err = ie
		s.counters.failed.Add(1)
		if ce := rt.log.Check(zap.DebugLevel, "item failed"); ce != nil {
			ce.Write(zap.String("stage", s.name), zap.Int64("seq", it.Seq), zap.Error(ie))
		}
		if ie.Kind == KindPanic {
			var pe *PanicError
			if errors.As(ie, &pe) {
				rt.log.Error("panic in stage function", zap.String("stage", s.name),
					zap.Int64("seq", it.Seq), zap.Any("value", pe.Value), zap.ByteString("stack", pe.Stack))
			}
		}
	}
	return it
}

// call runs the stage function, turning a panic into a *PanicError.
func (s *Stage) call(ctx context.Context, it *Item) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return s.fn(ctx, it)
}

// forward copies every element of from to to, then closes to.
func forward(from <-chan any, to chan<- any) {
	for v := range from {
		to <- v
	}
	close(to)
}

// String describes the stage for logs.
func (s *Stage) String() string {
	return fmt.Sprintf("stage %q (concurrency %d, ordered %t)", s.name, s.cfg.concurrency, s.cfg.ordered)
}
