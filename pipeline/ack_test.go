package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/targetflow/targetflow/pipeline"
)

func TestTracker(t *testing.T) {
	t.Parallel()
	type step struct {
		add  []int64
		done []int64
	}
	tests := []struct {
		name        string
		through     int64
		seeded      []int64
		steps       []step
		wantThrough int64
		wantDone    []int64
		wantPending int
	}{
		{"in order", 0, nil, []step{{add: []int64{1, 2, 3}, done: []int64{1, 2, 3}}}, 3, nil, 0},
		{"out of order", 0, nil, []step{{add: []int64{1, 2, 3, 4}, done: []int64{3, 1, 4}}}, 1, []int64{3, 4}, 1},
		{"gap filled", 0, nil, []step{{add: []int64{1, 2, 3}, done: []int64{3, 2}}, {done: []int64{1}}}, 3, nil, 0},
		{"numbers with gaps (offsets)", 0, nil, []step{{add: []int64{10, 20, 35}, done: []int64{20, 10}}}, 20, nil, 1},
		{"resumed with records done above", 100, []int64{103, 104, 107}, []step{
			{add: []int64{101, 102, 105, 106}, done: []int64{101, 102, 106}}}, 104, []int64{106, 107}, 1},
		{"resumed, everything done", 100, []int64{103}, []step{{add: []int64{101, 102}, done: []int64{102, 101}}}, 103, nil, 0},
		{"done twice or unknown is ignored", 0, nil, []step{{add: []int64{1, 2}, done: []int64{1, 1, 9}}}, 1, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr := pipeline.NewTracker(pipeline.Position{Seq: tt.through}, tt.seeded)
			for _, s := range tt.steps {
				for _, seq := range s.add {
					tr.Add(pipeline.Position{Seq: seq})
				}
				for _, seq := range s.done {
					tr.Done(seq)
				}
			}
			c := tr.Commit()
			if c.Through.Seq != tt.wantThrough || !reflect.DeepEqual(c.Done, tt.wantDone) || c.Pending != tt.wantPending {
				t.Errorf("commit through %d done %v pending %d; want %d %v %d", c.Through.Seq, c.Done, c.Pending, tt.wantThrough, tt.wantDone, tt.wantPending)
			}
		})
	}
}

// TestTrackerConcurrentAcks acknowledges many items from several goroutines
// in random order: the prefix ends where everything is done.
func TestTrackerConcurrentAcks(t *testing.T) {
	t.Parallel()
	const n = 20000
	tr := pipeline.NewTracker(pipeline.Position{}, nil)
	for seq := int64(1); seq <= n; seq++ {
		tr.Add(pipeline.Position{Seq: seq, Offset: seq * 10})
	}
	seqs := rand.Perm(n)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 4 {
				if seqs[i] != n/2 { // one is never acknowledged
					tr.Done(int64(seqs[i] + 1))
				}
			}
		}()
	}
	wg.Wait()
	c := tr.Commit()
	if c.Through.Seq != n/2 || c.Through.Offset != n/2*10 || len(c.Done) != n/2-1 || c.Pending != 1 {
		t.Errorf("through %d (offset %d), %d done above, %d pending; want %d, %d, %d, 1", c.Through.Seq, c.Through.Offset, len(c.Done), c.Pending, n/2, n/2*10, n/2-1)
	}
}

// TestAsyncSinkAcksOutOfOrder: a sink that confirms later, out of order and
// from other goroutines; the source hears of each item once, after the
// confirmation, and the figures count only what was confirmed.
func TestAsyncSinkAcksOutOfOrder(t *testing.T) {
	t.Parallel()
	const n = 3000
	var acks ackLog
	// The "broker" confirms what was queued in batches, each in reverse
	// order, from its own goroutine; a flush waits for the batch.
	queue := make(chan *pipeline.Item[rec], 16)
	flushReq := make(chan chan struct{})
	var acker atomic.Pointer[pipeline.Acks[rec]]
	var broker sync.WaitGroup
	stopBroker := make(chan struct{})
	broker.Add(1)
	go func() {
		defer broker.Done()
		var batch []*pipeline.Item[rec]
		confirm := func() {
			for i := len(batch) - 1; i >= 0; i-- {
				acker.Load().Ack(batch[i], nil)
			}
			batch = batch[:0]
		}
		for {
			select {
			case it := <-queue:
				batch = append(batch, it)
				if len(batch) == 7 {
					confirm()
				}
			case done := <-flushReq:
				for len(queue) > 0 {
					batch = append(batch, <-queue)
				}
				confirm()
				close(done)
			case <-stopBroker:
				return
			}
		}
	}()
	sk := pipeline.NewAsyncSink("broker", func(_ context.Context, it *pipeline.Item[rec], a *pipeline.Acks[rec]) error {
		acker.Store(a) // the same for every item of the sink
		queue <- it
		return nil
	}, pipeline.OnFlush(func(context.Context) error {
		done := make(chan struct{})
		flushReq <- done
		<-done
		return nil
	}, time.Millisecond))
	work := pipeline.NewStage("work", jitter, pipeline.Concurrency(8))
	stats, err := pipeline.From(countSource(n, pipeline.OnAck(acks.record))).Via(work).To(sk).Run(context.Background())
	close(stopBroker)
	broker.Wait()
	if err != nil {
		t.Fatal(err)
	}
	ok, nacked := acks.counts(t)
	if ok != n || nacked != 0 || stats.Written != n || stats.Completed != n {
		t.Errorf("acks ok %d nacked %d, written %d, completed %d; want all %d", ok, nacked, stats.Written, stats.Completed, n)
	}
}

func TestBroadcastAndRoute(t *testing.T) {
	t.Parallel()
	const n = 200
	var acks ackLog
	var a, b, even, odd collector
	route := pipeline.Route("by-parity", func(it *pipeline.Item[rec]) int { return int(it.Pos.Seq % 2) },
		even.sink(), odd.sink(pipeline.DeadLetter()))
	all := pipeline.Broadcast("both", a.sink(), b.sink(), route)
	stats, err := pipeline.From(countSource(n, pipeline.OnAck(acks.record))).To(all).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if a.len() != n || b.len() != n || even.len() != n/2 || odd.len() != n/2 {
		t.Errorf("a %d b %d even %d odd %d", a.len(), b.len(), even.len(), odd.len())
	}
	if ok, _ := acks.counts(t); ok != n || stats.Written != n || stats.DeadLettered != n/2 {
		t.Errorf("acked %d written %d dead-lettered %d; want %d, %d, %d", ok, stats.Written, stats.DeadLettered, n, n, n/2)
	}
}

// TestFatalSinkNacksWhatItDidNotWrite: a buffered sink whose flush fails:
// nothing it did not write is counted, the items are given back, and the
// resume point is what was flushed.
func TestFatalSinkNacksWhatItDidNotWrite(t *testing.T) {
	t.Parallel()
	errFull := errors.New("no space left on device")
	var acks ackLog
	var buffered, flushed []int64
	var flushes int
	sk := pipeline.NewSink("disk", func(_ context.Context, it *pipeline.Item[rec]) error {
		buffered = append(buffered, it.Pos.Seq)
		return nil
	}, pipeline.OnFlush(func(context.Context) error {
		flushes++
		if flushes > 1 && len(buffered) > 0 {
			return errFull
		}
		flushed = append(flushed, buffered...)
		buffered = nil
		return nil
	}, time.Millisecond))
	stats, err := pipeline.From(countSource(-1, pipeline.OnAck(acks.record))).To(sk).Run(context.Background())
	if !errors.Is(err, errFull) {
		t.Fatalf("Run: %v, want %v", err, errFull)
	}
	ok, nacked := acks.counts(t)
	if stats.Written != int64(len(flushed)) || ok != stats.Written || stats.Completed != int64(len(flushed)) || nacked == 0 {
		t.Errorf("written %d, acked %d, completed %d, nacked %d; want %d flushed, and the rest nacked", stats.Written, ok, stats.Completed, nacked, len(flushed))
	}
	if stats.OK != stats.Written {
		t.Errorf("ok %d of %d written", stats.OK, stats.Written)
	}
}

// TestTypeMismatch: a stage of another payload in the pipeline is refused.
func TestTypeMismatch(t *testing.T) {
	t.Parallel()
	other := pipeline.NewStage("strings", func(context.Context, *pipeline.Item[string]) error { return nil })
	_, err := pipeline.From(countSource(1)).Via(other).To(pipeline.NewSink("discard", noop)).Run(context.Background())
	if err == nil || err.Error() != fmt.Sprintf(`pipeline: stage "strings" does not carry %T items`, &pipeline.Item[rec]{}) {
		t.Errorf("Run: %v", err)
	}
}

// TestOnWrittenTellsWhatTheOutputsHold: items dropped by a stage, items a
// sink failed to flush and items never written are not told; every item
// told is in the output, once.
func TestOnWrittenTellsWhatTheOutputsHold(t *testing.T) {
	t.Parallel()
	errFull := errors.New("no space left on device")
	var mu sync.Mutex
	told := map[int64]int{}
	var buffered, flushed []int64
	var flushes int
	dropOdd := pipeline.NewStage("drop odd", func(_ context.Context, it *pipeline.Item[rec]) error {
		if it.Pos.Seq%2 == 1 {
			return pipeline.ErrDrop
		}
		return nil
	})
	sk := pipeline.NewSink("disk", func(_ context.Context, it *pipeline.Item[rec]) error {
		buffered = append(buffered, it.Pos.Seq)
		return nil
	}, pipeline.OnFlush(func(context.Context) error {
		flushes++
		if flushes > 3 && len(buffered) > 0 {
			return errFull
		}
		flushed = append(flushed, buffered...)
		buffered = nil
		return nil
	}, time.Millisecond))
	onWritten := pipeline.OnWritten(func(pos pipeline.Position) {
		mu.Lock()
		defer mu.Unlock()
		told[pos.Seq]++
	})
	stats, err := pipeline.From(countSource(-1), onWritten).Via(dropOdd).To(sk).Run(context.Background())
	if !errors.Is(err, errFull) {
		t.Fatalf("Run: %v, want %v", err, errFull)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(told) != len(flushed) || int64(len(told)) != stats.Written {
		t.Fatalf("told of %d items, %d flushed, %d written", len(told), len(flushed), stats.Written)
	}
	for _, seq := range flushed {
		if told[seq] != 1 {
			t.Errorf("item %d flushed, told %d times", seq, told[seq])
		}
	}
}
