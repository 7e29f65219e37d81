package pipeline

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/reugn/go-streams"
)

// WriteFunc writes one item. A nil return means the item is written: at once
// for a sink without OnFlush, at the next successful flush for a sink with
// one. An error means the sink cannot write: the run fails, and Run returns
// it. (A failed item is not a sink error; writing it somewhere is the sink's
// job.)
type WriteFunc[T any] func(ctx context.Context, it *Item[T]) error

// AsyncWriteFunc queues one item with a destination that confirms writes
// later (a buffered file, a Kafka producer) and returns. The sink then calls
// acks.Ack for the item exactly once, from any goroutine, when the
// destination has durably written it (nil) or has failed to (an error: fatal
// to the run). A returned error means the item was not queued (and must not
// be acknowledged): the run fails.
type AsyncWriteFunc[T any] func(ctx context.Context, it *Item[T], acks *Acks[T]) error

// Acks is how an asynchronous sink confirms the items it queued.
type Acks[T any] struct{ s *Sink[T] }

// Ack confirms one item queued by the sink's AsyncWriteFunc: err nil when it
// is durably written, else the reason it cannot be. Call it exactly once per
// queued item, from any goroutine.
func (a *Acks[T]) Ack(it *Item[T], err error) {
	s := a.s
	s.confirmed(it, err)
	if err != nil {
		s.rt.fail(fmt.Errorf("sink %s: %w", s.name, err))
	}
	if s.outstanding.Add(-1) == 0 {
		select {
		case s.drained <- struct{}{}:
		default:
		}
	}
}

// Sink is the end of a pipeline: a streams.Sink whose elements are *Item[T].
// It confirms each item once it is written; an item is acknowledged to its
// source when every sink it went to has confirmed it.
type Sink[T any] struct {
	name  string
	cfg   sinkConfig
	write WriteFunc[T]
	async AsyncWriteFunc[T]
	acks  Acks[T]
	// A composite sink writes through its subs: to one (route) or to all.
	subs  []*Sink[T]
	route func(it *Item[T]) int

	in    chan any
	input <-chan any
	done  chan struct{}

	rt          *runtime[T]
	pending     []*Item[T] // written by a buffered WriteFunc, not flushed
	outstanding atomic.Int64
	drained     chan struct{}

	claimed  atomic.Bool
	counters counters
}

var _ streams.Sink = (*Sink[int])(nil)

// NewSink returns a sink named name that writes items with write. Give it
// OnFlush when write buffers: items are then confirmed by the flush.
func NewSink[T any](name string, write WriteFunc[T], opts ...SinkOption) *Sink[T] {
	return newSink[T](name, opts, func(s *Sink[T]) { s.write = write })
}

// NewAsyncSink returns a sink named name whose write queues items that it
// confirms later through Acks (see AsyncWriteFunc). Give it OnFlush to push
// what is queued: when the run ends the sink flushes, then waits for every
// queued item to be confirmed.
func NewAsyncSink[T any](name string, write AsyncWriteFunc[T], opts ...SinkOption) *Sink[T] {
	return newSink[T](name, opts, func(s *Sink[T]) { s.async = write })
}

// Route returns a sink that writes each item to exactly one of sinks: the
// one whose index pick returns. The sinks are driven by the route's
// goroutine only and must not be used elsewhere.
func Route[T any](name string, pick func(it *Item[T]) int, sinks ...*Sink[T]) *Sink[T] {
	return newSink[T](name, nil, func(s *Sink[T]) { s.subs, s.route = sinks, pick })
}

// Broadcast returns a sink that writes every item to all of sinks; an item
// is confirmed when all of them have confirmed it.
func Broadcast[T any](name string, sinks ...*Sink[T]) *Sink[T] {
	return newSink[T](name, nil, func(s *Sink[T]) { s.subs = sinks })
}

func newSink[T any](name string, opts []SinkOption, set func(*Sink[T])) *Sink[T] {
	cfg := newSinkConfig(opts)
	s := &Sink[T]{
		name:    name,
		cfg:     cfg,
		in:      make(chan any, cfg.buffer),
		done:    make(chan struct{}),
		drained: make(chan struct{}, 1),
	}
	s.acks.s = s
	s.input = s.in
	set(s)
	return s
}

// Name returns the sink's name.
func (s *Sink[T]) Name() string { return s.name }

// In returns the sink's input channel. Used outside Run, as a plain
// go-streams sink, the sink starts writing on first use.
func (s *Sink[T]) In() chan<- any {
	s.standalone()
	return s.in
}

// AwaitCompletion blocks until the sink has written everything and flushed.
func (s *Sink[T]) AwaitCompletion() { <-s.done }

func (s *Sink[T]) standalone() {
	if s.claimed.CompareAndSwap(false, true) {
		go s.run(standaloneRuntime[T](), nil)
	}
}

func (s *Sink[T]) claim() bool { return s.claimed.CompareAndSwap(false, true) }

func (s *Sink[T]) bind(input <-chan any) { s.input = input }

// tree calls fn for the sink and every sink under it.
func (s *Sink[T]) tree(fn func(*Sink[T])) {
	fn(s)
	for _, sub := range s.subs {
		sub.tree(fn)
	}
}

func (s *Sink[T]) stats() ComponentStats { return s.counters.snapshot(s.name, KindSink) }

// outputs returns the outputs of the sink and the sinks under it.
func (s *Sink[T]) outputs() []Output {
	var outs []Output
	s.tree(func(k *Sink[T]) {
		if k.cfg.output != nil {
			outs = append(outs, k.cfg.output)
		}
	})
	return outs
}

// flushes reports whether the sink or a sink under it has OnFlush.
func (s *Sink[T]) flushes() bool {
	var has bool
	s.tree(func(k *Sink[T]) { has = has || k.cfg.flush != nil })
	return has
}

// put writes one item. An error is fatal; the caller gives the item back.
func (s *Sink[T]) put(ctx context.Context, it *Item[T]) error {
	s.counters.in.Add(1)
	switch {
	case s.route != nil:
		i := s.route(it)
		if i < 0 || i >= len(s.subs) {
			return fmt.Errorf("sink %s: route chose sink %d of %d", s.name, i, len(s.subs))
		}
		return s.subs[i].put(ctx, it)
	case s.subs != nil:
		s.rt.hold(it, len(s.subs)-1)
		for _, sub := range s.subs {
			if err := sub.put(ctx, it); err != nil {
				return err
			}
		}
		return nil
	case s.async != nil:
		s.outstanding.Add(1)
		if err := s.callAsync(ctx, it); err != nil {
			s.outstanding.Add(-1)
			return fmt.Errorf("sink %s: %w", s.name, err)
		}
		return nil
	}
	if err := s.callWrite(ctx, it); err != nil {
		return fmt.Errorf("sink %s: %w", s.name, err)
	}
	if s.cfg.flush != nil {
		s.pending = append(s.pending, it)
		return nil
	}
	s.confirmed(it, nil)
	return nil
}

// confirmed counts an item the sink wrote (err nil) or failed to write.
func (s *Sink[T]) confirmed(it *Item[T], err error) {
	switch {
	case err != nil:
		s.counters.nacked.Add(1)
	case it.Err == nil:
		s.counters.ok.Add(1)
	default:
		s.counters.failed.Add(1)
	}
	if err == nil && s.cfg.deadLetter {
		s.counters.deadLettered.Add(1)
	}
	s.rt.confirm(it, err, true)
}

// flush pushes what the sink and the sinks under it queued.
func (s *Sink[T]) flush(ctx context.Context) error {
	var errs []error
	for _, sub := range s.subs {
		errs = append(errs, sub.flush(ctx))
	}
	if s.cfg.flush != nil {
		if err := s.cfg.flush(ctx); err != nil {
			errs = append(errs, fmt.Errorf("sink %s: %w", s.name, err))
		} else {
			for i, it := range s.pending {
				s.confirmed(it, nil)
				s.pending[i] = nil
			}
			s.pending = s.pending[:0]
		}
	}
	return errors.Join(errs...)
}

// finish flushes and waits until every queued item is confirmed.
func (s *Sink[T]) finish(ctx context.Context) error {
	if err := s.flush(ctx); err != nil {
		return err
	}
	var errs []error
	s.tree(func(k *Sink[T]) {
		for k.outstanding.Load() > 0 {
			select {
			case <-k.drained:
			case <-ctx.Done():
				errs = append(errs, fmt.Errorf("sink %s: %d items not confirmed: %w", k.name, k.outstanding.Load(), context.Cause(ctx)))
				return
			}
		}
	})
	return errors.Join(errs...)
}

// abort gives back every item written and not flushed.
func (s *Sink[T]) abort(err error) {
	s.tree(func(k *Sink[T]) {
		for _, it := range k.pending {
			k.confirmed(it, err)
		}
		k.pending = nil
	})
}

func (s *Sink[T]) callWrite(ctx context.Context, it *Item[T]) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return s.write(ctx, it)
}

func (s *Sink[T]) callAsync(ctx context.Context, it *Item[T]) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return s.async(ctx, it, &s.acks)
}

// withdrawn reports whether an item must not be written: the run stopped
// before its work was done (see WriteCut).
func (rt *runtime[T]) withdrawn(it *Item[T]) bool {
	if it.Err == nil {
		return false // without the allocation of se, which errors.As makes escape
	}
	var se *StoppedError
	return errors.As(it.Err, &se) && (!se.Cut || !rt.writeCut)
}

// run writes the input until it is closed, then flushes. After a fatal
// failure it keeps reading, giving items back, so that upstream components
// can finish. cp, when not nil, is told after each flush.
func (s *Sink[T]) run(rt *runtime[T], cp *checkpointer[T]) {
	defer close(s.done)
	s.tree(func(k *Sink[T]) { k.rt = rt })
	ctx := context.WithValue(rt.workCtx, stageKey{}, &s.counters)
	var failed error
	fail := func(err error) {
		if failed == nil {
			failed = err
			rt.fail(err)
			s.abort(err)
		}
	}
	buffered := s.flushes()
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
		if err := s.flush(ctx); err != nil {
			fail(err)
			return
		}
		cp.flushed(false)
	}
	var n int
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
		it, ok := v.(*Item[T])
		if !ok {
			fail(fmt.Errorf("sink %s: element of type %T is not a %T", s.name, v, it))
			continue
		}
		if failed != nil {
			rt.confirm(it, failed, false)
			continue
		}
		if !it.Timings.Emitted.IsZero() {
			rt.e2e.record(time.Since(it.Timings.Emitted))
		}
		if rt.withdrawn(it) {
			s.counters.stopped.Add(1)
			rt.confirm(it, it.Err, false)
			continue
		}
		if err := s.put(ctx, it); err != nil {
			rt.confirm(it, err, false)
			fail(err)
			continue
		}
		if buffered {
			dirty = true
			n++
			if (len(s.input) == 0 && time.Since(lastFlush) >= s.cfg.flushEvery) ||
				(n%256 == 0 && time.Since(lastFlush) >= MaxFlushInterval) {
				flush()
			}
		}
	}
	if failed == nil {
		finishCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), max(rt.grace, 5*time.Second))
		err := s.finish(finishCtx)
		cancel()
		if err != nil {
			fail(err)
		}
	}
	cp.flushed(true)
}
