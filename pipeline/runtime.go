package pipeline

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// refCount counts the confirmations an item still waits for.
type refCount struct{ n atomic.Int32 }

// runtime is what the components of one run share.
type runtime[T any] struct {
	// stopCtx is done when the run must stop taking input: the caller's
	// context was cancelled or a fatal failure happened.
	stopCtx context.Context
	// workCtx is done when in-flight work must stop: the grace period after
	// stopping has ended, or a fatal failure happened.
	workCtx context.Context
	// stopping mirrors stopCtx for the hot path.
	stopping atomic.Bool
	log      *zap.Logger
	writeCut bool
	grace    time.Duration

	tracker *Tracker
	onAck   func(Position, error)
	// onWritten is OnWritten's function, or nil.
	onWritten func(Position)
	totals    *totals
	e2e       *histogram

	failOnce sync.Once
	fatal    error
	stop     context.CancelCauseFunc
	cancel   context.CancelCauseFunc
}

// totals are the run's figures of what left the pipeline: items every sink
// confirmed, and items given back to their source.
type totals struct {
	written, ok, failed, nacked atomic.Int64
}

// fail records the first fatal failure and cancels the run at once.
func (rt *runtime[T]) fail(err error) {
	rt.failOnce.Do(func() {
		rt.fatal = err
		rt.stopping.Store(true)
		rt.log.Error("pipeline failed", zap.Error(err))
		rt.stop(err)
		rt.cancel(err)
	})
}

func (rt *runtime[T]) fatalErr() error {
	rt.failOnce.Do(func() {}) // synchronise with a concurrent fail
	return rt.fatal
}

// emitted registers an item the source hands to the pipeline.
func (rt *runtime[T]) emitted(it *Item[T]) {
	it.refs.n.Store(1)
	rt.tracker.Add(it.Pos)
}

// hold adds n confirmations the item waits for (a sink that writes it to
// several destinations).
func (rt *runtime[T]) hold(it *Item[T], n int) { it.refs.n.Add(int32(n)) }

// confirm releases one confirmation of the item: written (err nil), or not
// (err set: the item is given back to its source). When the last is
// released the item is acknowledged to its source.
func (rt *runtime[T]) confirm(it *Item[T], err error, written bool) {
	if err != nil {
		// One failed destination makes the item not done, whatever the
		// others did; later confirmations are ignored.
		if it.refs.n.Swap(0) <= 0 {
			return
		}
		rt.totals.nacked.Add(1)
		if rt.onAck != nil {
			rt.onAck(it.Pos, err)
		}
		return
	}
	if it.refs.n.Add(-1) != 0 {
		return
	}
	if written {
		rt.totals.written.Add(1)
		if it.Err == nil {
			rt.totals.ok.Add(1)
		} else {
			rt.totals.failed.Add(1)
		}
		if rt.onWritten != nil {
			rt.onWritten(it.Pos)
		}
	}
	rt.tracker.Done(it.Pos.Seq)
	if rt.onAck != nil {
		rt.onAck(it.Pos, nil)
	}
}

// unsent gives back an item the source could not hand over because the run
// was stopping: it is not done, and not counted as emitted.
func (rt *runtime[T]) unsent(it *Item[T]) {
	if rt.onAck != nil {
		rt.onAck(it.Pos, ErrStopped)
	}
}

// standaloneRuntime runs a component used as a plain go-streams operator,
// outside Run: no cancellation, no logging, figures kept but not reported.
func standaloneRuntime[T any]() *runtime[T] {
	return &runtime[T]{
		stopCtx: context.Background(),
		workCtx: context.Background(),
		log:     zap.NewNop(),
		tracker: NewTracker(Position{}, nil),
		totals:  &totals{},
		e2e:     newHistogram(),
		stop:    func(error) {},
		cancel:  func(error) {},
	}
}

// errGraceExpired is the cause of the work context's cancellation when the
// grace period after a stop has ended.
var errGraceExpired = errors.New("pipeline: grace period after cancellation expired")
