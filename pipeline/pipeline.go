package pipeline

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reugn/go-streams"
	"github.com/sourcegraph/conc"
	"go.uber.org/zap"
)

// Builder assembles a pipeline: From(source).Via(stages...).To(sink).
type Builder[T any] struct {
	src   streams.Source
	flows []streams.Flow
	cfg   runConfig
}

// From starts a pipeline at a targetflow source.
func From[T any](src *Source[T], opts ...RunOption) *Builder[T] {
	return &Builder[T]{src: src, cfg: newRunConfig(opts)}
}

// FromStreams starts a pipeline at any go-streams source whose elements are
// *Item[T] or T values (each wrapped in an item).
func FromStreams[T any](src streams.Source, opts ...RunOption) *Builder[T] {
	return &Builder[T]{src: src, cfg: newRunConfig(opts)}
}

// Via appends flows: targetflow stages of the same payload or go-streams
// operators, in order.
func (b *Builder[T]) Via(flows ...streams.Flow) *Builder[T] {
	b.flows = append(b.flows, flows...)
	return b
}

// To ends the pipeline at sink and returns it, ready to Run. A go-streams
// sink that is not a targetflow sink counts an item as written when it is
// handed to it.
func (b *Builder[T]) To(sink streams.Sink) *Pipeline[T] {
	return &Pipeline[T]{src: b.src, flows: b.flows, sink: sink, cfg: b.cfg}
}

// Pipeline is a source, flows and a sink, run once by Run.
type Pipeline[T any] struct {
	src   streams.Source
	flows []streams.Flow
	sink  streams.Sink
	cfg   runConfig

	ran     atomic.Bool
	mu      sync.Mutex // guards started, elapsed and rt
	started time.Time
	elapsed time.Duration
	rt      *runtime[T]
	// foreign counts what Run forwards from a go-streams source.
	foreign counters
}

// component is a targetflow source, stage or sink.
type component interface {
	claim() bool
	stats() ComponentStats
}

// Run moves every item from the source through the flows into the sink and
// returns the run's figures when the sink has written the last one.
//
// When ctx is cancelled the source stops, items already read finish (or
// are stopped by interruptible stages), in-flight work gets the grace period
// before its context is cancelled, the sink is flushed, and Run returns the
// figures with ctx's error. A fatal failure (source cannot read, sink cannot
// write) cancels the run the same way and Run returns it. Per-item failures
// are not errors of Run: they are in the items and in Stats.
//
// An item is acknowledged to its source (OnAck, Stats.Completed, the
// checkpoint) when every sink it went to has confirmed it; an item the run
// did not finish, or that a sink could not write, is given back (a nack).
//
// No goroutine started by Run outlives it. (go-streams operators placed in
// the pipeline own their goroutines; they end when their input closes, which
// Run guarantees, except for a go-streams source, which Run stops reading.)
func (p *Pipeline[T]) Run(ctx context.Context) (Stats, error) {
	if !p.ran.CompareAndSwap(false, true) {
		return p.Snapshot(), ErrAlreadyRun
	}
	if err := p.claim(); err != nil {
		return p.Snapshot(), err
	}
	if err := p.typesMatch(); err != nil {
		return p.Snapshot(), err
	}
	stopCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	workCtx, cancelWork := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelWork(nil)
	rt := &runtime[T]{
		stopCtx: stopCtx, workCtx: workCtx, log: p.cfg.log, writeCut: p.cfg.writeCut, grace: p.cfg.grace,
		onWritten: p.cfg.onWritten,
		totals:    &totals{}, e2e: newHistogram(), stop: stop, cancel: cancelWork,
	}
	if src, ok := p.src.(*Source[T]); ok {
		rt.onAck = src.cfg.onAck
	}
	var outputs []Output
	sink, _ := p.sink.(*Sink[T])
	if sink != nil {
		outputs = sink.outputs()
	}
	defer func() {
		for _, o := range outputs {
			if err := o.Close(); err != nil {
				p.cfg.log.Error("closing output", zap.String("output", o.Name()), zap.Error(err))
			}
		}
	}()
	cp, err := p.prepare(rt, outputs)
	if err != nil {
		return p.Snapshot(), err
	}
	p.mu.Lock()
	p.rt = rt
	p.started = time.Now()
	p.mu.Unlock()
	p.cfg.log.Info("pipeline starting", zap.Int("flows", len(p.flows)), zap.Duration("grace", p.cfg.grace))

	finished := make(chan struct{})
	var watcher conc.WaitGroup
	watcher.Go(func() { p.watch(rt, finished) })

	var components conc.WaitGroup
	p.start(rt, cp, &components)
	components.Wait()
	close(finished)
	watcher.Wait()

	p.mu.Lock()
	p.elapsed = time.Since(p.started)
	p.mu.Unlock()
	stats := p.Snapshot()
	err = rt.fatalErr()
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	p.cfg.log.Info("pipeline finished",
		zap.Int64("written", stats.Written), zap.Int64("ok", stats.OK), zap.Int64("failed", stats.Failed),
		zap.Int64("completed", stats.Completed), zap.Duration("elapsed", stats.Elapsed), zap.Error(err))
	return stats, err
}

// prepare opens the outputs and, with a checkpoint, resumes the input and
// writes the first checkpoint.
func (p *Pipeline[T]) prepare(rt *runtime[T], outputs []Output) (*checkpointer[T], error) {
	if p.cfg.checkpoint == "" {
		rt.tracker = NewTracker(Position{}, nil)
		for _, o := range outputs {
			if err := o.Open(nil); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	src, ok := p.src.(*Source[T])
	if !ok {
		return nil, &CheckpointError{Path: p.cfg.checkpoint, What: "input", Reason: fmt.Sprintf("a %T cannot be resumed", p.src)}
	}
	if _, ok := p.sink.(*Sink[T]); !ok {
		return nil, &CheckpointError{Path: p.cfg.checkpoint, What: "outputs", Reason: fmt.Sprintf("a %T records no output", p.sink)}
	}
	cp := &checkpointer[T]{path: p.cfg.checkpoint, rt: rt}
	tracker, err := cp.resume(src.cfg.input, outputs)
	if err != nil {
		return nil, err
	}
	rt.tracker = tracker
	if err := cp.start(); err != nil {
		return nil, err
	}
	return cp, nil
}

// typesMatch checks that every targetflow component carries T.
func (p *Pipeline[T]) typesMatch() error {
	check := func(c any) error {
		switch c := c.(type) {
		case *Source[T], *Stage[T], *Sink[T]:
			return nil
		case component:
			return fmt.Errorf("pipeline: %s %q does not carry %T items", c.stats().Kind, c.stats().Name, new(Item[T]))
		}
		return nil
	}
	for _, c := range append([]any{p.src, p.sink}, anys(p.flows)...) {
		if err := check(c); err != nil {
			return err
		}
	}
	return nil
}

func anys[E any](s []E) []any {
	out := make([]any, len(s))
	for i, e := range s {
		out[i] = e
	}
	return out
}

// watch marks the run as stopping when stopCtx is done and cancels the work
// context when the grace period has passed, unless the run finishes first.
func (p *Pipeline[T]) watch(rt *runtime[T], finished <-chan struct{}) {
	select {
	case <-rt.stopCtx.Done():
	case <-finished:
		return
	}
	rt.stopping.Store(true)
	rt.log.Warn("pipeline stopping: source stopped, finishing in-flight work",
		zap.Duration("grace", p.cfg.grace), zap.NamedError("cause", context.Cause(rt.stopCtx)))
	grace := time.NewTimer(p.cfg.grace)
	defer grace.Stop()
	select {
	case <-grace.C:
		rt.log.Warn("pipeline grace period over: cancelling in-flight work")
		rt.cancel(errGraceExpired)
	case <-finished:
	}
}

func (p *Pipeline[T]) claim() error {
	for _, c := range append([]any{p.src, p.sink}, anys(p.flows)...) {
		if c, ok := c.(component); ok && !c.claim() {
			return fmt.Errorf("pipeline: %s %q is already running (components are single-use)", c.stats().Kind, c.stats().Name)
		}
	}
	return nil
}

// start launches every component in owned goroutines, linking targetflow
// components directly and forwarding into and out of go-streams operators.
func (p *Pipeline[T]) start(rt *runtime[T], cp *checkpointer[T], wg *conc.WaitGroup) {
	p.link(rt)
	var upstream <-chan any
	switch src := p.src.(type) {
	case *Source[T]:
		wg.Go(func() { src.run(rt) })
		upstream = src.out
	default:
		adapted := make(chan any, DefaultBuffer)
		wg.Go(func() { p.adaptForeignSource(rt, src.Out(), adapted) })
		upstream = adapted
	}
	for _, f := range p.flows {
		if st, ok := f.(*Stage[T]); ok {
			st.bind(upstream)
			wg.Go(func() { st.run(rt) })
			upstream = st.output()
			continue
		}
		from := upstream
		wg.Go(func() { forward(from, f.In()) })
		upstream = f.Out()
	}
	switch sk := p.sink.(type) {
	case *Sink[T]:
		sk.bind(upstream)
		wg.Go(func() { sk.run(rt, cp) })
	default:
		from := upstream
		wg.Go(func() {
			in := sk.In()
			for v := range from {
				in <- v
				if it, ok := v.(*Item[T]); ok {
					rt.confirm(it, nil, true)
				}
			}
			close(in)
			sk.AwaitCompletion()
		})
	}
}

// link tells the source and each stage of the run which stage of this
// package comes after it, if one does, for the items that bypass it
// (Stage.Bypass) or that it processes inline (Inline), and gives each stage
// its run and function context. It runs before any component starts.
func (p *Pipeline[T]) link(rt *runtime[T]) {
	var next **Stage[T] // the previous component's link
	if src, ok := p.src.(*Source[T]); ok {
		next = &src.next
	}
	for _, f := range p.flows {
		st, ok := f.(*Stage[T])
		if !ok {
			next = nil
			continue
		}
		st.rt, st.ctx = rt, st.functionContext(rt)
		if next != nil {
			*next = st
		}
		next = &st.next
	}
}

// adaptForeignSource forwards a go-streams source's elements as items until
// it closes or the run stops.
func (p *Pipeline[T]) adaptForeignSource(rt *runtime[T], from <-chan any, to chan<- any) {
	defer close(to)
	var seq int64
	stopped := rt.stopCtx.Done()
	for {
		var v any
		var ok bool
		select {
		case v, ok = <-from:
		case <-stopped:
			return
		}
		if !ok {
			return
		}
		var it *Item[T]
		switch v := v.(type) {
		case *Item[T]:
			it = v
		case T:
			it = &Item[T]{Value: v}
		default:
			rt.fail(fmt.Errorf("pipeline: source element of type %T is neither a %T nor a %T", v, it, it.Value))
			return
		}
		if it.Pos.Seq == 0 {
			it.Pos.Seq = seq + 1
		}
		seq = it.Pos.Seq
		it.Timings.Emitted = time.Now()
		failed := it.Err != nil // the item belongs downstream once sent
		rt.emitted(it)
		select {
		case to <- it:
		case <-stopped:
			rt.unsent(it)
			return
		}
		p.foreign.in.Add(1)
		if failed {
			p.foreign.failed.Add(1)
		} else {
			p.foreign.ok.Add(1)
		}
	}
}

// Snapshot returns the figures of the run so far; it is safe to call while
// the pipeline runs (for a progress display) and after.
func (p *Pipeline[T]) Snapshot() Stats {
	p.mu.Lock()
	s := Stats{Started: p.started, Elapsed: p.elapsed}
	rt := p.rt
	p.mu.Unlock()
	if s.Elapsed == 0 && !s.Started.IsZero() {
		s.Elapsed = time.Since(s.Started)
	}
	if c, ok := p.src.(component); ok {
		s.Components = append(s.Components, c.stats())
	} else {
		s.Components = append(s.Components, p.foreign.snapshot(fmt.Sprintf("%T", p.src), KindForeign))
	}
	for _, f := range p.flows {
		if c, ok := f.(component); ok {
			s.Components = append(s.Components, c.stats())
		}
	}
	if sk, ok := p.sink.(*Sink[T]); ok {
		sk.tree(func(k *Sink[T]) { s.Components = append(s.Components, k.stats()) })
	}
	s.Emitted = s.Components[0].In
	for _, c := range s.Components {
		s.Retried += c.Retried
		s.DeadLettered += c.DeadLettered
		s.Dropped += c.Dropped
		s.Stopped += c.Stopped
	}
	if rt != nil {
		s.Written, s.OK, s.Failed = rt.totals.written.Load(), rt.totals.ok.Load(), rt.totals.failed.Load()
		s.Given = rt.totals.nacked.Load()
		s.Latency = rt.e2e.snapshot()
		commit := rt.tracker.Commit()
		s.Completed, s.DoneAbove = commit.Through.Seq, int64(len(commit.Done))
	}
	if s.Elapsed > 0 {
		s.Throughput = float64(s.Written) / s.Elapsed.Seconds()
	}
	return s
}

// Commit returns what the run's source may commit: the done prefix and the
// records done above it (see Tracker). It is zero before Run.
func (p *Pipeline[T]) Commit() Commit {
	p.mu.Lock()
	rt := p.rt
	p.mu.Unlock()
	if rt == nil {
		return Commit{}
	}
	return rt.tracker.Commit()
}
