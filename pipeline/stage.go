package pipeline

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reugn/go-streams"
	"github.com/sourcegraph/conc"
	"go.uber.org/zap"
)

// StageFunc processes one item. It may change the item in place. A returned
// error fails the item (stored in Item.Err, see StageError) and the item
// flows on; ErrDrop removes it from the stream. ctx is the run's work
// context: it is cancelled when in-flight work must stop.
type StageFunc[T any] func(ctx context.Context, it *Item[T]) error

// Stage is a step of a pipeline that applies a StageFunc to every item, with
// bounded concurrency and, if asked, in order. It is a streams.Flow whose
// elements are *Item[T]; other elements pass through untouched.
type Stage[T any] struct {
	name  string
	fn    StageFunc[T]
	cfg   stageConfig
	in    chan any
	out   chan any
	input <-chan any

	// skip says which items pass without the stage's workers (Bypass);
	// next is the stage after this one in a run, when it is one of this
	// package's (route); rt and ctx are the run and the context of the
	// stage's function there, for inline calls.
	skip func(*Item[T]) bool
	next *Stage[T]
	rt   *runtime[T]
	ctx  context.Context

	claimed  atomic.Bool
	counters counters
}

var _ streams.Flow = (*Stage[int])(nil)

// NewStage returns a stage named name that applies fn to every item. The name
// appears in errors, logs and statistics.
func NewStage[T any](name string, fn StageFunc[T], opts ...StageOption) *Stage[T] {
	cfg := newStageConfig(opts)
	s := &Stage[T]{
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
func (s *Stage[T]) Name() string { return s.name }

// Bypass lets the items for which skip reports true pass the stage without
// its workers: in a run, the component before the stage hands them on to
// the component after it, in its own goroutine, as if the stage had
// processed them and changed nothing (they count as in and OK; failed
// items it would pass untouched bypass it too, counted as skipped). It
// suits a stage whose work most items do not need, for which the hand-off
// to one of its workers and on again costs more than the work: each
// hand-off to a waiting goroutine is a wake-up, often of a thread. (A stage
// whose work is quick for every item runs Inline instead.)
//
// skip is called from the goroutines of the component before the stage,
// possibly concurrently; it must be quick, must not block and must not
// change the item. Only an unordered stage with a concurrency above 1 and
// not Interruptible is bypassed, since there the order items leave in is
// already not theirs; on any other stage Bypass does nothing. Call it
// before the stage runs; it returns the stage.
func (s *Stage[T]) Bypass(skip func(it *Item[T]) bool) *Stage[T] {
	if s.cfg.concurrency > 1 && !s.cfg.ordered && !s.cfg.interruptible {
		s.skip = skip
	}
	return s
}

// bypass reports whether it passes the stage without its workers, and if
// so counts it there, as it is now: the goroutine it is handed to next may
// change it.
func (s *Stage[T]) bypass(it *Item[T]) bool {
	if s.skip == nil {
		return false
	}
	passedUntouched := it.Err != nil && !s.cfg.processFailed
	if !passedUntouched && !s.skip(it) {
		return false
	}
	s.counters.passed(!passedUntouched, &s.counters.skipped)
	return true
}

// route takes v, leaving a component whose output is out and after which
// comes the stage next (nil if none), through the stages that do not hand
// it to a worker (Inline ones process it here, bypassed ones count it) and
// says where it goes then: out, or the output of the last of those stages;
// nil when an inline stage dropped it.
func route[T any](out chan any, next *Stage[T], v any) (to chan any, r any) {
	to, r = out, v
	for st := next; st != nil; st = st.next {
		it, ok := r.(*Item[T])
		switch {
		case !ok:
			return to, r
		case st.cfg.inline:
			if r = st.handle(st.ctx, st.rt, it, st.rt.stopping.Load()); r == nil {
				return nil, nil // dropped
			}
		case !st.bypass(it):
			return to, r
		}
		to = st.out
	}
	return to, r
}

// send hands r to what comes after the stage (route).
func (s *Stage[T]) send(r any) {
	if to, r := route(s.out, s.next, r); to != nil {
		to <- r
	}
}

// In returns the stage's input channel. Used outside Run, as a plain
// go-streams flow, the stage starts processing on first use.
func (s *Stage[T]) In() chan<- any {
	s.standalone()
	return s.in
}

// Out returns the stage's output channel. Used outside Run, the stage starts
// processing on first use.
func (s *Stage[T]) Out() <-chan any {
	s.standalone()
	return s.out
}

// Via streams the stage's output to flow and returns flow, as go-streams
// operators do. Prefer Builder.Via, which runs both under Run's context.
func (s *Stage[T]) Via(flow streams.Flow) streams.Flow {
	s.standalone()
	go forward(s.out, flow.In())
	return flow
}

// To streams the stage's output to sink and waits for the sink to finish,
// as go-streams operators do. Prefer Builder.To.
func (s *Stage[T]) To(sink streams.Sink) {
	s.standalone()
	forward(s.out, sink.In())
	sink.AwaitCompletion()
}

func (s *Stage[T]) standalone() {
	if s.claimed.CompareAndSwap(false, true) {
		go s.run(standaloneRuntime[T]())
	}
}

func (s *Stage[T]) claim() bool { return s.claimed.CompareAndSwap(false, true) }

func (s *Stage[T]) bind(input <-chan any) { s.input = input }

func (s *Stage[T]) output() <-chan any { return s.out }

func (s *Stage[T]) stats() ComponentStats { return s.counters.snapshot(s.name, KindStage) }

// run processes the input until it is closed, then closes the output. It
// never stops reading early: cancellation reaches it as the closing of its
// input (the source stops) and as the work context.
func (s *Stage[T]) run(rt *runtime[T]) {
	defer close(s.out)
	ctx := s.ctx // set by the run's link
	if ctx == nil {
		ctx = s.functionContext(rt) // a stage used on its own
	}
	switch {
	case s.cfg.concurrency == 1:
		for v := range s.input {
			if r := s.handle(ctx, rt, v, rt.stopping.Load()); r != nil {
				s.send(r)
			}
		}
	case s.cfg.ordered:
		s.runOrdered(ctx, rt)
	default:
		// An interruptible stage takes items one worker at a time, so that
		// whether an item is stopped is decided in arrival order: the items
		// it stops are the last it received.
		var take sync.Mutex
		var workers conc.WaitGroup
		for range s.cfg.concurrency {
			workers.Go(func() {
				// Each worker derives its own cancelable context: the
				// contexts a stage function derives per item (timeouts)
				// register with it, not all with the one run context
				// under its lock.
				ctx, cancel := context.WithCancel(ctx)
				defer cancel()
				for {
					var v any
					var open, stopped bool
					if s.cfg.interruptible {
						take.Lock()
						v, open = <-s.input
						stopped = rt.stopping.Load()
						take.Unlock()
					} else {
						v, open = <-s.input
					}
					if !open {
						return
					}
					if r := s.handle(ctx, rt, v, stopped); r != nil {
						s.send(r)
					}
				}
			})
		}
		workers.Wait()
	}
}

// orderedSlot is one place of an ordered stage's window: an element, what
// its processing returned, and the signal that it is processed.
type orderedSlot struct {
	v, r    any
	stopped bool
	done    chan struct{}
}

// runOrdered processes up to concurrency elements at once and emits the
// results in arrival order. The run goroutine dispatches elements into a
// window of 2×concurrency slots (deciding in arrival order whether the run
// was stopping), workers process them, and an emitter sends the results on
// as they complete in order. Nothing is allocated per element.
func (s *Stage[T]) runOrdered(ctx context.Context, rt *runtime[T]) {
	n := s.cfg.concurrency
	window := make([]orderedSlot, 2*n)
	free := make(chan int, len(window))
	for i := range window {
		window[i].done = make(chan struct{}, 1)
		free <- i
	}
	work := make(chan int, len(window))
	order := make(chan int, len(window))
	var wg conc.WaitGroup
	for range n {
		wg.Go(func() {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			for i := range work {
				sl := &window[i]
				sl.r = s.handle(ctx, rt, sl.v, sl.stopped)
				sl.done <- struct{}{}
			}
		})
	}
	wg.Go(func() {
		for i := range order {
			sl := &window[i]
			<-sl.done
			r := sl.r
			sl.v, sl.r = nil, nil
			free <- i
			if r != nil {
				s.send(r)
			}
		}
	})
	for v := range s.input {
		i := <-free
		window[i].v, window[i].stopped = v, rt.stopping.Load()
		order <- i
		work <- i
	}
	close(work)
	close(order)
	wg.Wait()
}

// functionContext is the context of the stage's function in a run: the
// run's work context, carrying the stage's counters (NoteRetry).
func (s *Stage[T]) functionContext(rt *runtime[T]) context.Context {
	return context.WithValue(rt.workCtx, stageKey{}, &s.counters)
}

// handle processes one element and returns what to emit (nil: nothing).
// stopped says the run was stopping when the element arrived.
func (s *Stage[T]) handle(ctx context.Context, rt *runtime[T], v any, stopped bool) any {
	it, ok := v.(*Item[T])
	if !ok {
		return v
	}
	s.counters.in.Add(1)
	if s.cfg.interruptible && stopped {
		it.Err = &StoppedError{Stage: s.name}
		s.counters.stopped.Add(1)
		return it
	}
	if it.Err != nil && !s.cfg.processFailed {
		s.counters.skipped.Add(1)
		return it
	}
	start := time.Now()
	err := s.call(ctx, it)
	took := time.Since(start)
	s.counters.latency.record(took)
	it.Timings.Processing += took
	switch {
	case err == nil:
		s.counters.ok.Add(1)
	case errors.Is(err, ErrDrop):
		s.counters.dropped.Add(1)
		rt.confirm(it, nil, false)
		return nil
	case rt.workCtx.Err() != nil:
		it.Err = &StoppedError{Stage: s.name, Cut: true, Err: err}
		s.counters.stopped.Add(1)
	default:
		it.Err = s.wrap(err)
		s.counters.failed.Add(1)
		if ce := rt.log.Check(zap.DebugLevel, "item failed"); ce != nil {
			ce.Write(zap.String("stage", s.name), zap.Int64("seq", it.Pos.Seq), zap.Error(err))
		}
		var pe *PanicError
		if errors.As(err, &pe) {
			rt.log.Error("panic in stage function", zap.String("stage", s.name),
				zap.Int64("seq", it.Pos.Seq), zap.Any("value", pe.Value), zap.ByteString("stack", pe.Stack))
		}
	}
	return it
}

// wrap records the stage in a stage function's error.
func (s *Stage[T]) wrap(err error) error {
	var staged Staged
	if errors.As(err, &staged) {
		staged.SetStage(s.name)
		return err
	}
	var se *StageError
	if errors.As(err, &se) {
		return err
	}
	return &StageError{Stage: s.name, Err: err}
}

// call runs the stage function, turning a panic into a *PanicError.
func (s *Stage[T]) call(ctx context.Context, it *Item[T]) (err error) {
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
func (s *Stage[T]) String() string {
	return fmt.Sprintf("stage %q (concurrency %d, ordered %t)", s.name, s.cfg.concurrency, s.cfg.ordered)
}
