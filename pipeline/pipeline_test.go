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

// countSource emits n items (n < 0: until stopped).
func countSource(n int) *pipeline.Source {
	return pipeline.NewSource("count", func(ctx context.Context, emit pipeline.EmitFunc) error {
		for i := 0; n < 0 || i < n; i++ {
			if !emit(&pipeline.Item{}) {
				return nil
			}
		}
		return nil
	})
}

// collector is a sink that keeps every item, safe for concurrent reads.
type collector struct {
	mu    sync.Mutex
	items []*pipeline.Item
}

func (c *collector) sink(opts ...pipeline.Option) *pipeline.Sink {
	return pipeline.NewSink("collect", func(_ context.Context, it *pipeline.Item) error {
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

func noop(context.Context, *pipeline.Item) error { return nil }

// jitter sleeps a little, more for some items, so that concurrent stages
// finish out of order.
func jitter(_ context.Context, it *pipeline.Item) error {
	time.Sleep(time.Duration(it.Seq%7) * 50 * time.Microsecond)
	return nil
}

func TestEveryItemAccountedFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		stages  func() []*pipeline.Stage
		ordered bool
	}{
		{"sequential", func() []*pipeline.Stage {
			return []*pipeline.Stage{pipeline.NewStage("a", noop), pipeline.NewStage("b", noop)}
		}, true},
		{"concurrent ordered", func() []*pipeline.Stage {
			return []*pipeline.Stage{pipeline.NewStage("a", jitter, pipeline.Concurrency(16), pipeline.Ordered(true))}
		}, true},
		{"concurrent unordered", func() []*pipeline.Stage {
			return []*pipeline.Stage{pipeline.NewStage("a", jitter, pipeline.Concurrency(16))}
		}, false},
		{"mixed", func() []*pipeline.Stage {
			return []*pipeline.Stage{
				pipeline.NewStage("a", jitter, pipeline.Concurrency(8)),
				pipeline.NewStage("b", jitter, pipeline.Concurrency(3), pipeline.Ordered(true)),
				pipeline.NewStage("c", noop),
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
				if seen[it.Seq] {
					t.Fatalf("seq %d written twice", it.Seq)
				}
				seen[it.Seq] = true
				if it.Seq != int64(i+1) {
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
	failOdd := pipeline.NewStage("fail-odd", func(_ context.Context, it *pipeline.Item) error {
		if it.Seq%2 == 1 {
			return errors.New("odd")
		}
		return nil
	})
	panicAt10 := pipeline.NewStage("panic", func(_ context.Context, it *pipeline.Item) error {
		if it.Seq == 10 {
			panic("boom")
		}
		return nil
	})
	var observed atomic.Int64
	observe := pipeline.NewStage("observe", func(context.Context, *pipeline.Item) error {
		observed.Add(1)
		return nil
	}, pipeline.ProcessFailed())
	dropAt20 := pipeline.NewStage("drop", func(_ context.Context, it *pipeline.Item) error {
		if it.Seq == 20 {
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
		var ie *pipeline.ItemError
		switch {
		case it.Seq%2 == 1:
			if !errors.As(it.Err, &ie) || ie.Stage != "fail-odd" || ie.Kind != pipeline.KindError {
				t.Errorf("seq %d: err %v, want an ItemError of stage fail-odd", it.Seq, it.Err)
			}
		case it.Seq == 10:
			if !errors.As(it.Err, &ie) || ie.Kind != pipeline.KindPanic || !strings.Contains(ie.Error(), "boom") {
				t.Errorf("seq 10: err %v, want a recovered panic", it.Err)
			}
		case it.Err != nil:
			t.Errorf("seq %d: unexpected error %v", it.Seq, it.Err)
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
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var c collector
	var written atomic.Int64
	sink := pipeline.NewSink("cancel-after-500", func(_ context.Context, it *pipeline.Item) error {
		c.items = append(c.items, it)
		if written.Add(1) == 500 {
			cancel()
		}
		return nil
	})
	slow := pipeline.NewStage("call", func(ctx context.Context, it *pipeline.Item) error {
		select {
		case <-time.After(100 * time.Microsecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}, pipeline.Concurrency(8), pipeline.Interruptible())
	stats, err := pipeline.From(countSource(-1), pipeline.WithGrace(time.Second)).Via(slow).To(sink).Run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run error = %v, want context.Canceled", err)
	}
	if stats.Emitted != stats.Written {
		t.Fatalf("emitted %d but wrote %d: items lost on cancel", stats.Emitted, stats.Written)
	}
	if stats.Written < 500 {
		t.Fatalf("wrote %d, want at least 500", stats.Written)
	}
	// Every item up to the resume point is written and not canceled; items
	// canceled by the interruptible stage come after it.
	done := map[int64]bool{}
	for _, it := range c.items {
		kind, _ := pipeline.Classify(it.Err)
		done[it.Seq] = kind != pipeline.KindCanceled
	}
	for seq := int64(1); seq <= stats.Completed; seq++ {
		if !done[seq] {
			t.Fatalf("seq %d is below the resume point %d but was not completed", seq, stats.Completed)
		}
	}
	// The resume point is the last item before the first one not completed:
	// not lower, so that a resumed run repeats no finished work. (Where
	// that is depends on scheduling: a worker may hold an early item,
	// unstarted, while the others finish 500 later ones; the stop then
	// cancels it.)
	firstNotDone := int64(1)
	for done[firstNotDone] {
		firstNotDone++
	}
	if stats.Completed != firstNotDone-1 || stats.Completed == 0 {
		t.Errorf("resume point %d, want %d: the last seq before the first not completed", stats.Completed, firstNotDone-1)
	}
}

func TestGracePeriodCancelsInFlightWork(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	var once sync.Once
	stuck := pipeline.NewStage("stuck", func(ctx context.Context, it *pipeline.Item) error {
		once.Do(func() { close(started) })
		<-ctx.Done() // a call that never answers
		return ctx.Err()
	}, pipeline.Concurrency(4))
	go func() {
		<-started
		cancel()
	}()
	var c collector
	stats, err := pipeline.From(countSource(-1), pipeline.WithGrace(20*time.Millisecond)).Via(stuck).To(c.sink()).Run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run error = %v, want context.Canceled", err)
	}
	if stats.Written == 0 || stats.Failed != stats.Written {
		t.Fatalf("written %d failed %d: every stuck call should fail when the grace period ends", stats.Written, stats.Failed)
	}
	for _, it := range c.items {
		if kind, _ := pipeline.Classify(it.Err); kind != pipeline.KindCanceled {
			t.Errorf("seq %d: kind %q, want canceled (%v)", it.Seq, kind, it.Err)
		}
	}
	if stats.Completed != 0 {
		t.Errorf("resume point %d, want 0: nothing completed", stats.Completed)
	}
}

func TestFatalFailures(t *testing.T) {
	t.Parallel()
	errDisk := errors.New("disk full")
	errRead := errors.New("read failed")
	tests := []struct {
		name string
		src  *pipeline.Source
		sink *pipeline.Sink
		want error
	}{
		{"sink cannot write", countSource(-1), pipeline.NewSink("disk", func(_ context.Context, it *pipeline.Item) error {
			if it.Seq == 50 {
				return errDisk
			}
			return nil
		}), errDisk},
		{"sink cannot flush", countSource(10), pipeline.NewSink("disk", noop, pipeline.OnFlush(func() error { return errDisk }, time.Hour)), errDisk},
		{"source cannot read", pipeline.NewSource("reader", func(_ context.Context, emit pipeline.EmitFunc) error {
			for range 10 {
				emit(&pipeline.Item{})
			}
			return errRead
		}), pipeline.NewSink("discard", noop), errRead},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := pipeline.From(tt.src).Via(pipeline.NewStage("work", noop, pipeline.Concurrency(4))).To(tt.sink).Run(context.Background())
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
			in <- pipeline.Visitor{Execute: []string{fmt.Sprint("m", i)}}
		}
	}()
	evenOnly := flow.NewFilter(func(it *pipeline.Item) bool { return it.Seq%2 == 0 }, 1)
	tag := flow.NewMap(func(it *pipeline.Item) *pipeline.Item {
		it.Notifications = 1
		return it
	}, 1)
	out := make(chan any, 100)
	stats, err := pipeline.From(extension.NewChanSource(in)).
		Via(pipeline.NewStage("before", noop), evenOnly, tag, pipeline.NewStage("after", noop)).
		To(extension.NewChanSink(out)).Run(context.Background())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var n int
	for v := range out {
		it := v.(*pipeline.Item)
		if it.Seq%2 != 0 || it.Notifications != 1 || it.Visitor == nil {
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
	src := pipeline.NewSource("counted", func(_ context.Context, emit pipeline.EmitFunc) error {
		for range 5000 {
			v := outstanding.Add(1)
			for {
				p := peak.Load()
				if v <= p || peak.CompareAndSwap(p, v) {
					break
				}
			}
			if !emit(&pipeline.Item{}) {
				return nil
			}
		}
		return nil
	}, pipeline.Buffer(8))
	slowSink := pipeline.NewSink("slow", func(context.Context, *pipeline.Item) error {
		outstanding.Add(-1)
		time.Sleep(10 * time.Microsecond)
		return nil
	}, pipeline.Buffer(8))
	work := pipeline.NewStage("work", noop, pipeline.Concurrency(16), pipeline.Buffer(8))
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
	p := pipeline.From(countSource(42)).Via(pipeline.NewStage("work", noop)).To(pipeline.NewSink("discard", noop))
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
	p := pipeline.From(countSource(1)).To(pipeline.NewSink("discard", noop))
	if _, err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(context.Background()); !errors.Is(err, pipeline.ErrAlreadyRun) {
		t.Errorf("second Run: %v, want ErrAlreadyRun", err)
	}
	stage := pipeline.NewStage("s", noop)
	if _, err := pipeline.From(countSource(1)).Via(stage).To(pipeline.NewSink("a", noop)).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := pipeline.From(countSource(1)).Via(stage).To(pipeline.NewSink("b", noop)).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), `"s" is already running`) {
		t.Errorf("reusing a stage: %v, want an error naming it", err)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err        error
		kind       pipeline.ErrorKind
		wantStatus int
	}{
		{context.Canceled, pipeline.KindCanceled, 0},
		{fmt.Errorf("call: %w", context.DeadlineExceeded), pipeline.KindTimeout, 0},
		{statusError(503), pipeline.KindHTTP, 503},
		{&pipeline.ItemError{Kind: pipeline.KindInvalid, Err: errors.New("bad json")}, pipeline.KindInvalid, 0},
		{&pipeline.PanicError{Value: 1}, pipeline.KindPanic, 0},
		{errors.New("other"), pipeline.KindError, 0},
	}
	for _, tt := range tests {
		kind, status := pipeline.Classify(tt.err)
		if kind != tt.kind || status != tt.wantStatus {
			t.Errorf("Classify(%v) = %q, %d; want %q, %d", tt.err, kind, status, tt.kind, tt.wantStatus)
		}
	}
}

type statusError int

func (e statusError) Error() string   { return fmt.Sprintf("status %d", int(e)) }
func (e statusError) StatusCode() int { return int(e) }

// TestPlainGoStreamsWiring uses targetflow components as go-streams
// operators without Run: Via and To wire them and items still flow.
func TestPlainGoStreamsWiring(t *testing.T) {
	t.Parallel()
	var c collector
	double := pipeline.NewStage("double", func(_ context.Context, it *pipeline.Item) error {
		it.Attempts = int(it.Seq) * 2
		return nil
	})
	countSource(100).Via(double).Via(flow.NewPassThrough()).To(c.sink())
	if c.len() != 100 {
		t.Fatalf("got %d items, want 100", c.len())
	}
	for _, it := range c.items {
		if it.Attempts != int(it.Seq)*2 {
			t.Fatalf("seq %d: attempts %d, want %d", it.Seq, it.Attempts, it.Seq*2)
		}
	}
}
