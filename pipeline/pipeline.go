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
type Builder struct {
	src   streams.Source
	flows []streams.Flow
	cfg   runConfig
}

// From starts a pipeline at src: a targetflow *Source, or any go-streams
// source whose elements are *Item, Visitor or *Visitor values.
func From(src streams.Source, opts ...RunOption) *Builder {
	cfg := runConfig{log: zap.NewNop(), grace: DefaultGrace}
	for _, o := range opts {
		o(&cfg)
	}
	return &Builder{src: src, cfg: cfg}
}

// Via appends flows: targetflow stages or go-streams operators, in order.
func (b *Builder) Via(flows ...streams.Flow) *Builder {
	b.flows = append(b.flows, flows...)
	return b
}

// To ends the pipeline at sink and returns it, ready to Run.
func (b *Builder) To(sink streams.Sink) *Pipeline {
	return &Pipeline{src: b.src, flows: b.flows, sink: sink, cfg: b.cfg}
}

// Pipeline is a source, flows and a sink, run once by Run.
type Pipeline struct {
	src   streams.Source
	flows []streams.Flow
	sink  streams.Sink
	cfg   runConfig

	ran     atomic.Bool
	mu      sync.Mutex // guards started and elapsed
	started time.Time
	elapsed time.Duration
	done    completion
	e2e     histogram
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
// When ctx is cancelled the source stops, items already read finish (or are
// canceled by interruptible stages), in-flight work gets the grace period
// before its context is cancelled, the sink is flushed, and Run returns the
// figures with ctx's error. A fatal failure (source cannot read, sink cannot
// write) cancels the run the same way and Run returns it. Per-item failures
// are not errors of Run: they are in the items and in Stats.
//
// No goroutine started by Run outlives it. (go-streams operators placed in
// the pipeline own their goroutines; they end when their input closes, which
// Run guarantees, except for a go-streams source, which Run stops reading.)
func (p *Pipeline) Run(ctx context.Context) (Stats, error) {
	if !p.ran.CompareAndSwap(false, true) {
		return p.Snapshot(), ErrAlreadyRun
	}
	if err := p.claim(); err != nil {
		return p.Snapshot(), err
	}
	stopCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	workCtx, cancelWork := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelWork(nil)
	rt := &runtime{
		stopCtx: stopCtx, workCtx: workCtx, log: p.cfg.log,
		done: &p.done, e2e: &p.e2e, stop: stop, cancel: cancelWork,
	}
	p.mu.Lock()
	p.started = time.Now()
	p.mu.Unlock()
	p.cfg.log.Info("pipeline starting", zap.Int("flows", len(p.flows)), zap.Duration("grace", p.cfg.grace))

	finished := make(chan struct{})
	var watcher conc.WaitGroup
	watcher.Go(func() { p.watch(rt, finished) })

	var components conc.WaitGroup
	p.start(rt, &components)
	components.Wait()
	close(finished)
	watcher.Wait()

	p.mu.Lock()
	p.elapsed = time.Since(p.started)
	p.mu.Unlock()
	stats := p.Snapshot()
	err := rt.fatalErr()
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	p.cfg.log.Info("pipeline finished",
		zap.Int64("written", stats.Written), zap.Int64("ok", stats.OK), zap.Int64("failed", stats.Failed),
		zap.Int64("completed", stats.Completed), zap.Duration("elapsed", stats.Elapsed), zap.Error(err))
	return stats, err
}

// watch marks the run as stopping when stopCtx is done and cancels the work
// context when the grace period has passed, unless the run finishes first.
func (p *Pipeline) watch(rt *runtime, finished <-chan struct{}) {
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

func (p *Pipeline) claim() error {
	all := []any{p.src, p.sink}
	for _, f := range p.flows {
		all = append(all, f)
	}
	for _, c := range all {
		if c, ok := c.(component); ok && !c.claim() {
			return fmt.Errorf("pipeline: %s %q is already running (components are single-use)", c.stats().Kind, c.stats().Name)
		}
	}
	return nil
}

// start launches every component in owned goroutines, linking targetflow
// components directly and forwarding into and out of go-streams operators.
func (p *Pipeline) start(rt *runtime, wg *conc.WaitGroup) {
	var upstream <-chan any
	switch src := p.src.(type) {
	case *Source:
		wg.Go(func() { src.run(rt) })
		upstream = src.output()
	default:
		adapted := make(chan any, DefaultBuffer)
		wg.Go(func() { p.adaptForeignSource(rt, src.Out(), adapted) })
		upstream = adapted
	}
	for _, f := range p.flows {
		if st, ok := f.(*Stage); ok {
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
	case *Sink:
		sk.bind(upstream)
		wg.Go(func() { sk.run(rt) })
	default:
		from := upstream
		wg.Go(func() {
			forward(from, sk.In())
			sk.AwaitCompletion()
		})
	}
}

// adaptForeignSource forwards a go-streams source's elements as items until
// it closes or the run stops.
func (p *Pipeline) adaptForeignSource(rt *runtime, from <-chan any, to chan<- any) {
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
		it := asItem(v)
		if it.Seq == 0 {
			it.Seq = seq + 1
		}
		if seq == 0 {
			rt.done.begin(it.Seq)
		}
		seq = it.Seq
		it.Timings.Emitted = time.Now()
		failed := it.Err != nil // the item belongs downstream once sent
		select {
		case to <- it:
		case <-stopped:
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

func asItem(v any) *Item {
	switch v := v.(type) {
	case *Item:
		return v
	case *Visitor:
		return &Item{Visitor: v}
	case Visitor:
		return &Item{Visitor: &v}
	}
	return &Item{Err: &ItemError{Stage: "source", Kind: KindInvalid,
		Err: fmt.Errorf("element of type %T is neither a *pipeline.Item nor a pipeline.Visitor", v)}}
}

// Snapshot returns the figures of the run so far; it is safe to call while
// the pipeline runs (for a progress display) and after.
func (p *Pipeline) Snapshot() Stats {
	p.mu.Lock()
	s := Stats{Started: p.started, Elapsed: p.elapsed}
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
	if c, ok := p.sink.(component); ok {
		s.Components = append(s.Components, c.stats())
	}
	s.Emitted = s.Components[0].In
	if last := s.Components[len(s.Components)-1]; last.Kind == KindSink {
		s.Written, s.OK, s.Failed = last.In, last.OK, last.Failed
	}
	for _, c := range s.Components {
		s.Retried += c.Retried
		s.DeadLettered += c.DeadLettered
		s.Dropped += c.Dropped
	}
	if s.Elapsed > 0 {
		s.Throughput = float64(s.Written) / s.Elapsed.Seconds()
	}
	s.Latency = p.e2e.snapshot()
	s.Completed = p.done.completed()
	return s
}
