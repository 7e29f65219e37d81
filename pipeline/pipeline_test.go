package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/reugn/go-streams/extension"
	"github.com/reugn/go-streams/flow"
	"go.uber.org/goleak"

	"github.com/targetflow/targetflow/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rec is the payload of the tests' items.
type rec struct {
	n   int
	tag string
}

// countSource emits n items (n < 0: until stopped).
func countSource(n int, opts ...pipeline.SourceOption) *pipeline.Source[rec] {
	return pipeline.NewSource[rec]("count", func(ctx context.Context, emit pipeline.Emit[rec]) error {
		for i := 0; n < 0 || i < n; i++ {
			if !emit(&pipeline.Item[rec]{Value: rec{n: i + 1}}) {
				return nil
			}
		}
		return nil
	}, opts...)
}

// ackLog records what a source is told of its items.
type ackLog struct {
	mu   sync.Mutex
	acks map[int64][]error
}

func (a *ackLog) record(pos pipeline.Position, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.acks == nil {
		a.acks = map[int64][]error{}
	}
	a.acks[pos.Seq] = append(a.acks[pos.Seq], err)
}

// counts returns the items acknowledged and given back, failing the test
// for an item told twice.
func (a *ackLog) counts(t *testing.T) (ok, nacked int64) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	for seq, errs := range a.acks {
		if len(errs) != 1 {
			t.Errorf("seq %d acknowledged %d times: %v", seq, len(errs), errs)
		}
		if errs[0] == nil {
			ok++
		} else {
			nacked++
		}
	}
	return ok, nacked
}

// collector is a sink that keeps every item, safe for concurrent reads.
type collector struct {
	mu    sync.Mutex
	items []*pipeline.Item[rec]
}

func (c *collector) sink(opts ...pipeline.SinkOption) *pipeline.Sink[rec] {
	return pipeline.NewSink[rec]("collect", func(_ context.Context, it *pipeline.Item[rec]) error {
		c.mu.Lock()
		c.items = append(c.items, it)
		c.mu.Unlock()
		return nil
	}, opts...)
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

func noop(context.Context, *pipeline.Item[rec]) error { return nil }

// jitter sleeps a little, more for some items, so that concurrent stages
// finish out of order.
func jitter(_ context.Context, it *pipeline.Item[rec]) error {
	time.Sleep(time.Duration(it.Pos.Seq%7) * 50 * time.Microsecond)
	return nil
}

func TestEveryItemAccountedFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		stages  func() []*pipeline.Stage[rec]
		ordered bool
	}{
		{"sequential", func() []*pipeline.Stage[rec] {
			return []*pipeline.Stage[rec]{pipeline.NewStage[rec]("a", noop), pipeline.NewStage[rec]("b", noop)}
		}, true},
		{"concurrent ordered", func() []*pipeline.Stage[rec] {
			return []*pipeline.Stage[rec]{pipeline.NewStage[rec]("a", jitter, pipeline.Concurrency(16), pipeline.Ordered(true))}
		}, true},
		{"concurrent unordered", func() []*pipeline.Stage[rec] {
			return []*pipeline.Stage[rec]{pipeline.NewStage[rec]("a", jitter, pipeline.Concurrency(16))}
		}, false},
		{"mixed", func() []*pipeline.Stage[rec] {
			return []*pipeline.Stage[rec]{
				pipeline.NewStage[rec]("a", jitter, pipeline.Concurrency(8)),
				pipeline.NewStage[rec]("b", jitter, pipeline.Concurrency(3), pipeline.Ordered(true)),
				pipeline.NewStage[rec]("c", noop),
			}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const n = 2000
			var c collector
			b := pipeline.From(countSource(n))
			for _, s := range tt.stages() {
				b = b.Via(s)
			}
			stats, err := b.To(c.sink()).Run(context.Background())
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if stats.Emitted != n || stats.Written != n || stats.OK != n || stats.Completed != n {
				t.Fatalf("emitted %d written %d ok %d completed %d, want all %d", stats.Emitted, stats.Written, stats.OK, stats.Completed, n)
			}
			seen := make(map[int64]bool, n)
			inOrder := true
			for i, it := range c.items {
				if seen[it.Pos.Seq] {
					t.Fatalf("seq %d written twice", it.Pos.Seq)
				}
				seen[it.Pos.Seq] = true
				if it.Pos.Seq != int64(i+1) {
					inOrder = false
				}
			}
			if tt.ordered && !inOrder {
				t.Errorf("output not in input order")
			}
			for _, comp := range stats.Components[1 : len(stats.Components)-1] {
				if comp.In != n || comp.OK != n {
					t.Errorf("stage %s: in %d ok %d, want %d", comp.Name, comp.In, comp.OK, n)
				}
			}
		})
	}
}

func TestItemFailuresFlowToSink(t *testing.T) {
	t.Parallel()
	const n = 100
	failOdd := pipeline.NewStage[rec]("fail-odd", func(_ context.Context, it *pipeline.Item[rec]) error {
		if it.Pos.Seq%2 == 1 {
			return errors.New("odd")
		}
		return nil
	})
	panicAt10 := pipeline.NewStage[rec]("panic", func(_ context.Context, it *pipeline.Item[rec]) error {
		if it.Pos.Seq == 10 {
			panic("boom")
		}
		return nil
	})
	var observed atomic.Int64
	observe := pipeline.NewStage[rec]("observe", func(context.Context, *pipeline.Item[rec]) error {
		observed.Add(1)
		return nil
	}, pipeline.ProcessFailed())
	dropAt20 := pipeline.NewStage[rec]("drop", func(_ context.Context, it *pipeline.Item[rec]) error {
		if it.Pos.Seq == 20 {
			return pipeline.ErrDrop
		}
		return nil
	})
	var c collector
	stats, err := pipeline.From(countSource(n)).Via(failOdd, panicAt10, observe, dropAt20).To(c.sink()).Run(context.Background())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if stats.Written != n-1 || stats.Failed != n/2+1 || stats.Dropped != 1 || stats.Completed != n {
		t.Errorf("written %d failed %d dropped %d completed %d; want %d, %d, 1, %d", stats.Written, stats.Failed, stats.Dropped, stats.Completed, n-1, n/2+1, n)
	}
	if observed.Load() != n {
		t.Errorf("observer saw %d items, want all %d (failed ones too)", observed.Load(), n)
	}
	for _, it := range c.items {
		var se *pipeline.StageError
		var pe *pipeline.PanicError
		switch {
		case it.Pos.Seq%2 == 1:
			if !errors.As(it.Err, &se) || se.Stage != "fail-odd" || se.Err.Error() != "odd" {
				t.Errorf("seq %d: err %v, want a StageError of stage fail-odd", it.Pos.Seq, it.Err)
			}
		case it.Pos.Seq == 10:
			if !errors.As(it.Err, &se) || se.Stage != "panic" || !errors.As(it.Err, &pe) || !strings.Contains(se.Error(), "boom") {
				t.Errorf("seq 10: err %v, want a recovered panic", it.Err)
			}
		case it.Err != nil:
			t.Errorf("seq %d: unexpected error %v", it.Pos.Seq, it.Err)
		}
	}
	if got := stats.Components[1]; got.Failed != n/2 || got.OK != n/2 {
		t.Errorf("fail-odd stats %+v", got)
	}
	if got := stats.Components[2]; got.Skipped != n/2 || got.Failed != 1 {
		t.Errorf("panic stage: skipped %d failed %d, want %d and 1", got.Skipped, got.Failed, n/2)
	}
}

func TestCancellationStopsSourceAndAccountsForEveryItem(t *testing.T) {
	t.Parallel()
	for _, ordered := range []bool{false, true} {
		t.Run(fmt.Sprint("ordered=", ordered), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var c collector
			var written atomic.Int64
			var acks ackLog
			sink := pipeline.NewSink[rec]("cancel-after-500", func(_ context.Context, it *pipeline.Item[rec]) error {
				c.items = append(c.items, it)
				if written.Add(1) == 500 {
					cancel()
				}
				return nil
			})
			slow := pipeline.NewStage[rec]("call", func(ctx context.Context, it *pipeline.Item[rec]) error {
				select {
				case <-time.After(time.Duration(it.Pos.Seq%5) * 50 * time.Microsecond):
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}, pipeline.Concurrency(8), pipeline.Ordered(ordered), pipeline.Interruptible())
			src := countSource(-1, pipeline.OnAck(acks.record))
			stats, err := pipeline.From(src, pipeline.WithGrace(time.Minute)).Via(slow).To(sink).Run(ctx)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Run error = %v, want context.Canceled", err)
			}
			if stats.Emitted != stats.Written+stats.Given || stats.Written < 500 {
				t.Fatalf("emitted %d, written %d, given back %d: every item must be written or given back", stats.Emitted, stats.Written, stats.Given)
			}
			// Nothing stopped is written, and what is written is exactly
			// 1..Completed: the items the stage stopped are the last.
			for _, it := range c.items {
				if it.Err != nil {
					t.Fatalf("seq %d written with %v", it.Pos.Seq, it.Err)
				}
			}
			if stats.Completed != stats.Written || int64(len(c.items)) != stats.Written {
				t.Errorf("resume point %d with %d written: want every item up to the resume point written, none above", stats.Completed, stats.Written)
			}
			// The source may also be told of the one item it could not hand
			// over when the stop came.
			ok, nacked := acks.counts(t)
			if unsent := nacked - stats.Given; ok != stats.Written || unsent < 0 || unsent > 1 || ok+nacked != stats.Emitted+unsent {
				t.Errorf("acks: %d ok, %d nacked, for %d written, %d given back of %d", ok, nacked, stats.Written, stats.Given, stats.Emitted)
			}
		})
	}
}

// TestGracePeriodCutsInFlightWork: calls that never answer are cut when the
// grace period ends; by default the items are given back, not written; with
// WriteCut they are written as failures and count as done.
func TestGracePeriodCutsInFlightWork(t *testing.T) {
	t.Parallel()
	for _, writeCut := range []bool{false, true} {
		t.Run(fmt.Sprint("writeCut=", writeCut), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			started := make(chan struct{})
			var once sync.Once
			stuck := pipeline.NewStage[rec]("stuck", func(ctx context.Context, it *pipeline.Item[rec]) error {
				once.Do(func() { close(started) })
				<-ctx.Done() // a call that never answers
				return ctx.Err()
			}, pipeline.Concurrency(4))
			go func() {
				<-started
				cancel()
			}()
			var c collector
			stats, err := pipeline.From(countSource(-1), pipeline.WithGrace(20*time.Millisecond), pipeline.WriteCut(writeCut)).
				Via(stuck).To(c.sink()).Run(ctx)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Run error = %v, want context.Canceled", err)
			}
			if stats.Emitted == 0 || stats.Emitted != stats.Written+stats.Given {
				t.Fatalf("emitted %d written %d given %d", stats.Emitted, stats.Written, stats.Given)
			}
			if !writeCut {
				if stats.Written != 0 || stats.Completed != 0 {
					t.Errorf("written %d, resume point %d: cut items must be given back", stats.Written, stats.Completed)
				}
				return
			}
			if stats.Written == 0 || stats.Failed != stats.Written {
				t.Fatalf("written %d failed %d: every cut item should be written as a failure", stats.Written, stats.Failed)
			}
			for _, it := range c.items {
				var se *pipeline.StoppedError
				if !errors.As(it.Err, &se) || !se.Cut || !errors.Is(it.Err, pipeline.ErrStopped) || !errors.Is(it.Err, context.Canceled) {
					t.Errorf("seq %d: %v, want a cut StoppedError wrapping context.Canceled", it.Pos.Seq, it.Err)
				}
			}
		})
	}
}

func TestFatalFailures(t *testing.T) {
	t.Parallel()
	errDisk := errors.New("disk full")
	errRead := errors.New("read failed")
	tests := []struct {
		name string
		src  *pipeline.Source[rec]
		sink *pipeline.Sink[rec]
		want error
	}{
		{"sink cannot write", countSource(-1), pipeline.NewSink[rec]("disk", func(_ context.Context, it *pipeline.Item[rec]) error {
			if it.Pos.Seq == 50 {
				return errDisk
			}
			return nil
		}), errDisk},
		{"sink cannot flush", countSource(10), pipeline.NewSink[rec]("disk", noop, pipeline.OnFlush(func(context.Context) error { return errDisk }, time.Hour)), errDisk},
		{"source cannot read", pipeline.NewSource[rec]("reader", func(_ context.Context, emit pipeline.Emit[rec]) error {
			for range 10 {
				emit(&pipeline.Item[rec]{})
			}
			return errRead
		}), pipeline.NewSink[rec]("discard", noop), errRead},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := pipeline.From(tt.src).Via(pipeline.NewStage[rec]("work", noop, pipeline.Concurrency(4))).To(tt.sink).Run(context.Background())
			if !errors.Is(err, tt.want) {
				t.Fatalf("Run error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestGoStreamsOperatorsMixIn(t *testing.T) {
	t.Parallel()
	in := make(chan any)
	go func() {
		defer close(in)
		for i := range 100 {
			in <- rec{n: i, tag: "from go-streams"}
		}
	}()
	evenOnly := flow.NewFilter(func(it *pipeline.Item[rec]) bool { return it.Pos.Seq%2 == 0 }, 1)
	tag := flow.NewMap(func(it *pipeline.Item[rec]) *pipeline.Item[rec] {
		it.Value.n *= 10
		return it
	}, 1)
	out := make(chan any, 100)
	stats, err := pipeline.FromStreams[rec](extension.NewChanSource(in)).
		Via(pipeline.NewStage[rec]("before", noop), evenOnly, tag, pipeline.NewStage[rec]("after", noop)).
		To(extension.NewChanSink(out)).Run(context.Background())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var n int
	for v := range out {
		it := v.(*pipeline.Item[rec])
		if it.Pos.Seq%2 != 0 || it.Value.n != int(it.Pos.Seq-1)*10 || it.Value.tag != "from go-streams" {
			t.Errorf("item %+v did not pass through the go-streams operators", it)
		}
		n++
	}
	if n != 50 || stats.Emitted != 100 {
		t.Errorf("got %d items from %d emitted, want 50 of 100", n, stats.Emitted)
	}
}

func TestBackpressureBoundsItemsInFlight(t *testing.T) {
	t.Parallel()
	var outstanding, peak atomic.Int64
	src := pipeline.NewSource[rec]("counted", func(_ context.Context, emit pipeline.Emit[rec]) error {
		for range 5000 {
			v := outstanding.Add(1)
			for {
				p := peak.Load()
				if v <= p || peak.CompareAndSwap(p, v) {
					break
				}
			}
			if !emit(&pipeline.Item[rec]{}) {
				return nil
			}
		}
		return nil
	}, pipeline.Buffer(8))
	slowSink := pipeline.NewSink[rec]("slow", func(context.Context, *pipeline.Item[rec]) error {
		outstanding.Add(-1)
		time.Sleep(10 * time.Microsecond)
		return nil
	}, pipeline.Buffer(8))
	work := pipeline.NewStage[rec]("work", noop, pipeline.Concurrency(16), pipeline.Buffer(8))
	if _, err := pipeline.From(src).Via(work).To(slowSink).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// source buffer + stage workers + stage buffer + the item in the sink's
	// hand + the one being emitted.
	if limit := int64(8 + 16 + 8 + 2); peak.Load() > limit {
		t.Errorf("peak of %d items in flight, want at most %d", peak.Load(), limit)
	}
}

func TestCollectorExposesFigures(t *testing.T) {
	t.Parallel()
	p := pipeline.From(countSource(42)).Via(pipeline.NewStage[rec]("work", noop)).To(pipeline.NewSink[rec]("discard", noop))
	if _, err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(p.Collector("targetflow"))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, f := range families {
		if f.GetName() != "targetflow_pipeline_items_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["component"] == "work" && labels["outcome"] == "ok" {
				found = true
				if v := m.GetCounter().GetValue(); v != 42 {
					t.Errorf("work ok = %v, want 42", v)
				}
			}
		}
	}
	if !found {
		t.Error("targetflow_pipeline_items_total{component=work,outcome=ok} not collected")
	}
}

func TestRunTwice(t *testing.T) {
	t.Parallel()
	p := pipeline.From(countSource(1)).To(pipeline.NewSink[rec]("discard", noop))
	if _, err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(context.Background()); !errors.Is(err, pipeline.ErrAlreadyRun) {
		t.Errorf("second Run: %v, want ErrAlreadyRun", err)
	}
	stage := pipeline.NewStage[rec]("s", noop)
	if _, err := pipeline.From(countSource(1)).Via(stage).To(pipeline.NewSink[rec]("a", noop)).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := pipeline.From(countSource(1)).Via(stage).To(pipeline.NewSink[rec]("b", noop)).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), `"s" is already running`) {
		t.Errorf("reusing a stage: %v, want an error naming it", err)
	}
}

// TestPlainGoStreamsWiring uses targetflow components as go-streams
// operators without Run: Via and To wire them and items still flow.
func TestPlainGoStreamsWiring(t *testing.T) {
	t.Parallel()
	var c collector
	double := pipeline.NewStage[rec]("double", func(_ context.Context, it *pipeline.Item[rec]) error {
		it.Value.n = int(it.Pos.Seq) * 2
		return nil
	})
	countSource(100).Via(double).Via(flow.NewPassThrough()).To(c.sink())
	if c.len() != 100 {
		t.Fatalf("got %d items, want 100", c.len())
	}
	for _, it := range c.items {
		if it.Value.n != int(it.Pos.Seq)*2 {
			t.Fatalf("seq %d: n %d, want %d", it.Pos.Seq, it.Value.n, it.Pos.Seq*2)
		}
	}
}
