package kafka_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/targetflow/targetflow/internal/kafkatest"
	"github.com/targetflow/targetflow/kafka"
	"github.com/targetflow/targetflow/pipeline"
)

// Faults injected with kfake's control hooks: produce errors the client
// retries, a coordinator that moves and refuses commits, fetch errors. The
// run goes through each: every record answered, the group committed
// everything, and nothing is produced twice.
func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		inject func(c *kfake.Cluster, stop <-chan struct{}) []*kfake.FaultHandle
	}{
		{"produce errors", func(c *kfake.Cluster, _ <-chan struct{}) []*kfake.FaultHandle {
			return []*kfake.FaultHandle{
				c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "out", Err: kerr.NotLeaderForPartition, Count: 10}),
				c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "out", Err: kerr.RequestTimedOut, Count: 2}),
			}
		}},
		{"coordinator moves", func(c *kfake.Cluster, stop <-chan struct{}) []*kfake.FaultHandle {
			h := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.OffsetCommit}, Err: kerr.NotCoordinator, Count: 5})
			// Move the group's coordinator to another broker now and then
			// (the test's goroutine, ended by stop).
			go func() {
				tick := time.NewTicker(150 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						c.RehashCoordinators()
					}
				}
			}()
			return []*kfake.FaultHandle{h}
		}},
		{"fetch errors", func(c *kfake.Cluster, _ <-chan struct{}) []*kfake.FaultHandle {
			return []*kfake.FaultHandle{
				c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Fetch}, Topic: "in", Err: kerr.NotLeaderForPartition, Count: 15}),
				c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Fetch}, Topic: "in", Err: kerr.UnknownServerError, Count: 5}),
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const n = 4000
			c, addrs := cluster(t, 6, inOutDLQ)
			produceInputs(t, addrs, "in", 0, n, 100, nil)
			stop := make(chan struct{})
			handles := tt.inject(c, stop)
			w := newWorker(t, "w", workerConfig{addrs: addrs, in: "in", out: "out", dlq: "dlq", group: "g", concurrency: 16,
				source: []kafka.SourceOpt{kafka.UntilCaughtUp()}})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var wg sync.WaitGroup
			w.start(ctx, &wg)
			wg.Wait()
			close(stop)
			if w.err != nil {
				t.Fatalf("run: %v", w.err)
			}
			for i, h := range handles {
				if h.Hits() == 0 {
					t.Errorf("fault %d never hit", i)
				}
			}
			out := readAll(t, addrs, "out", true)
			seen := count(out)
			for i := range n {
				if seen[i] == 0 {
					t.Fatalf("input %d never answered", i)
				}
			}
			// At least once, a record is answered again only if it was
			// taken again (partitions lost to a slow heartbeat, say): the
			// producer itself writes nothing twice (it is idempotent), and
			// what it produced again after its producer id was reset is
			// counted.
			s, ps := w.consumer.Stats(), w.out.Stats()
			if extra := int64(len(out) - n); extra > s.Consumed-n+ps.Reproduced {
				t.Errorf("%d results for %d inputs: %d more than records taken again (%d) and produced again (%d)",
					len(out), n, extra, s.Consumed-n, ps.Reproduced)
			}
			committed := kafkatest.Committed(t, addrs, "g", "in")
			if committed != n {
				t.Errorf("committed %d of %d", committed, n)
			}
		})
	}
}

// A produce failure that retries cannot fix ends the run with an error
// naming the topic; nothing after the last record the brokers took is
// committed, so a run after the fault does the rest: nothing is lost.
func TestUnretriableProduceFailureIsFatal(t *testing.T) {
	t.Parallel()
	const n = 3000
	c, addrs := cluster(t, 4, inOutDLQ)
	produceInputs(t, addrs, "in", 0, n, 60, nil)
	wc := workerConfig{addrs: addrs, in: "in", out: "out", dlq: "dlq", group: "g", concurrency: 8,
		source: []kafka.SourceOpt{kafka.UntilCaughtUp()}}
	var once sync.Once
	var h *kfake.FaultHandle
	wc.stageFn = func(it *pipeline.Item[rec]) {
		if it.Value.N == 1500 {
			once.Do(func() {
				h = c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "out", Err: kerr.MessageTooLarge, Count: -1})
			})
		}
	}
	w := newWorker(t, "w1", wc)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	w.start(ctx, &wg)
	wg.Wait()
	if w.err == nil || !strings.Contains(w.err.Error(), "producing to topic out") || !strings.Contains(w.err.Error(), "MESSAGE_TOO_LARGE") {
		t.Fatalf("run error %v; want the produce failure", w.err)
	}
	if s := w.out.Stats(); s.Failed == 0 {
		t.Errorf("producer stats %+v", s)
	}
	committed := kafkatest.Committed(t, addrs, "g", "in")
	if committed >= n {
		t.Fatalf("committed %d of %d although records failed", committed, n)
	}
	h.Remove()
	wc.stageFn = nil
	w2 := newWorker(t, "w2", wc)
	w2.start(ctx, &wg)
	wg.Wait()
	if w2.err != nil {
		t.Fatal(w2.err)
	}
	seen := count(readAll(t, addrs, "out", true))
	for i := range n {
		if seen[i] == 0 {
			t.Fatalf("input %d lost", i)
		}
	}
}

// Exactly-once, a record the brokers refuse aborts its transaction, whose
// records are done again: the output still has each once. Refusals that
// keep coming end the run.
func TestExactlyOnceRefusedRecordAbortsTheTransaction(t *testing.T) {
	t.Parallel()
	for _, forever := range []bool{false, true} {
		t.Run(map[bool]string{false: "twice", true: "always"}[forever], func(t *testing.T) {
			t.Parallel()
			const n = 2000
			c, addrs := cluster(t, 4, inOutDLQ)
			produceInputs(t, addrs, "in", 0, n, 60, nil)
			refusals := 2
			if forever {
				refusals = -1
			}
			h := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: "out", Err: kerr.MessageTooLarge, Count: refusals})
			w := newWorker(t, "w", workerConfig{addrs: addrs, in: "in", out: "out", dlq: "dlq", group: "g", concurrency: 8,
				exactlyOnce: true, source: []kafka.SourceOpt{kafka.UntilCaughtUp()}})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var wg sync.WaitGroup
			w.start(ctx, &wg)
			wg.Wait()
			if h.Hits() == 0 {
				t.Fatal("the fault was never hit")
			}
			if forever {
				if w.err == nil || !strings.Contains(w.err.Error(), "MESSAGE_TOO_LARGE") {
					t.Fatalf("run error %v; want the refusal", w.err)
				}
				return
			}
			if w.err != nil {
				t.Fatal(w.err)
			}
			if s := w.consumer.Stats(); s.TransactionsAborted == 0 {
				t.Errorf("no transaction aborted: %+v", s)
			}
			seen := count(readAll(t, addrs, "out", true))
			for i := range n {
				if seen[i] != 1 {
					t.Fatalf("input %d answered %d times", i, seen[i])
				}
			}
		})
	}
}
