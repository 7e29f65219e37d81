package kafka_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"

	"github.com/targetflow/targetflow/internal/kafkatest"
	"github.com/targetflow/targetflow/kafka"
	"github.com/targetflow/targetflow/pipeline"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// One worker, until caught up: every record answered once, in partition
// order, keyed as its input; malformed messages dead-lettered naming their
// topic, partition and offset; the group committed everything.
func TestConsumerUntilCaughtUp(t *testing.T) {
	t.Parallel()
	const n = 3000
	_, addrs := cluster(t, 6, inOutDLQ)
	bad := map[int]bool{7: true, 1234: true, 2999: true}
	produceInputs(t, addrs, "in", 0, n, 50, bad)

	var wg sync.WaitGroup
	w := newWorker(t, "w1", workerConfig{addrs: addrs, in: "in", out: "out", dlq: "dlq", group: "g",
		concurrency: 32, ordered: true, source: []kafka.SourceOpt{kafka.UntilCaughtUp()}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w.start(ctx, &wg)
	wg.Wait()
	if w.err != nil {
		t.Fatalf("run: %v", w.err)
	}
	if !w.consumer.CaughtUp() {
		t.Error("the consumer ended without having caught up")
	}

	out := readAll(t, addrs, "out", true)
	dead := readAll(t, addrs, "dlq", true)
	if len(out) != n-len(bad) || len(dead) != len(bad) {
		t.Fatalf("%d results and %d dead letters; want %d and %d", len(out), len(dead), n-len(bad), len(bad))
	}
	seen := count(out)
	for i := range n {
		if !bad[i] && seen[i] != 1 {
			t.Errorf("input %d answered %d times", i, seen[i])
		}
	}
	// Per input partition, results are in input order; each result is
	// keyed as its input, so a visitor's results share one partition.
	last := map[int32]int64{}
	byKey := map[string]int32{}
	for _, r := range out {
		if prev, ok := last[r.Kafka.Partition]; ok && r.Kafka.Offset <= prev {
			t.Fatalf("input partition %d: offset %d written after %d", r.Kafka.Partition, r.Kafka.Offset, prev)
		}
		last[r.Kafka.Partition] = r.Kafka.Offset
		if r.key != "visitor-"+strconv.Itoa(r.N%50) || r.Kafka.Topic != "in" {
			t.Errorf("result of %d: key %q topic %q", r.N, r.key, r.Kafka.Topic)
		}
		if p, ok := byKey[r.key]; ok && p != r.partition {
			t.Errorf("key %s in output partitions %d and %d", r.key, p, r.partition)
		}
		byKey[r.key] = r.partition
	}
	for _, d := range dead {
		if !strings.Contains(d.Raw, "this is not JSON") || !bad[rawN(d.Raw)] || !strings.Contains(d.Error, "topic in partition") || !strings.Contains(d.Error, "offset") ||
			!strings.Contains(d.Error, "cannot decode") || !strings.Contains(d.Raw, "this is not JSON") {
			t.Errorf("dead letter %+v", d)
		}
	}
	total := kafkatest.Committed(t, addrs, "g", "in")
	if total != n {
		t.Errorf("the group committed %d records; want %d", total, n)
	}
	s := w.consumer.Stats()
	if s.Consumed != n || s.Undecodable != int64(len(bad)) || s.Lag != 0 || s.InFlight != 0 || s.Commits == 0 {
		t.Errorf("consumer stats %+v", s)
	}
	if w.stats.DeadLettered != int64(len(bad)) || w.stats.Written != n {
		t.Errorf("pipeline stats: written %d dead-lettered %d", w.stats.Written, w.stats.DeadLettered)
	}
}

// Stop drains: the records taken are finished and committed, and the run
// ends without error; a second worker takes over from the commit without
// repeating anything.
func TestConsumerStopDrainsAndCommits(t *testing.T) {
	t.Parallel()
	const n = 2000
	_, addrs := cluster(t, 4, inOutDLQ)
	produceInputs(t, addrs, "in", 0, n, 40, nil)
	var produced int
	var mu sync.Mutex
	wc := workerConfig{addrs: addrs, in: "in", out: "out", dlq: "dlq", group: "g", concurrency: 16, delay: time.Millisecond,
		stageFn: func(*pipeline.Item[rec]) { mu.Lock(); produced++; mu.Unlock() }}
	w1 := newWorker(t, "w1", wc)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	w1.start(ctx, &wg)
	waitFor(t, "some records done", time.Minute, func() bool { return w1.p.Snapshot().Written > 300 })
	w1.consumer.Stop()
	wg.Wait()
	if w1.err != nil {
		t.Fatalf("stopped run: %v", w1.err)
	}
	done := w1.stats.Written
	committed := kafkatest.Committed(t, addrs, "g", "in")
	if committed != done || done == n {
		t.Fatalf("after the drain %d written, %d committed (of %d)", done, committed, n)
	}
	wc.source = []kafka.SourceOpt{kafka.UntilCaughtUp()}
	w2 := newWorker(t, "w2", wc)
	w2.start(ctx, &wg)
	wg.Wait()
	if w2.err != nil {
		t.Fatal(w2.err)
	}
	seen := count(readAll(t, addrs, "out", true))
	for i := range n {
		if seen[i] != 1 {
			t.Fatalf("input %d answered %d times", i, seen[i])
		}
	}
}

// rawN reads the number of a malformed input.
func rawN(raw string) int {
	s := strings.TrimPrefix(raw, `{"n":`)
	s, _, _ = strings.Cut(s, ",")
	n, _ := strconv.Atoi(s)
	return n
}

// TestDoneWorkerAsksTheGroupLessAndLess: a worker done with its own
// partitions while another member still holds some (a member that never
// commits, so the group cannot catch up) asks the coordinator for the
// group's offsets at once and then less and less often, up to every
// commit interval, not every 20 ms.
func TestDoneWorkerAsksTheGroupLessAndLess(t *testing.T) {
	t.Parallel()
	c, addrs := cluster(t, 6, inOutDLQ)
	produceInputs(t, addrs, "in", 0, 300, 50, nil)

	stalled, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumerGroup("g"), kgo.ConsumeTopics("in"),
		kgo.Balancers(kgo.CooperativeStickyBalancer()), kgo.DisableAutoCommit())
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	joinCtx, joined := context.WithTimeout(t.Context(), 10*time.Second)
	stalled.PollFetches(joinCtx) // joins, takes records, and commits nothing
	joined()

	var asks atomic.Int64
	c.ControlKey(kmsg.OffsetFetch.Int16(), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		asks.Add(1)
		return nil, nil, false
	})
	var wg sync.WaitGroup
	w := newWorker(t, "w1", workerConfig{addrs: addrs, in: "in", out: "out", dlq: "dlq", group: "g", concurrency: 8,
		source: []kafka.SourceOpt{kafka.UntilCaughtUp(), kafka.CommitInterval(time.Second)}})
	ctx, cancel := context.WithCancel(t.Context())
	w.start(ctx, &wg)
	time.Sleep(3 * time.Second) // the window the asks are counted in
	n := asks.Load()
	cancel()
	wg.Wait()
	if w.consumer.CaughtUp() {
		t.Fatal("the group caught up, with a member that commits nothing")
	}
	if w.consumer.Stats().Consumed == 0 {
		t.Fatal("the worker was given no partition")
	}
	// At 20 ms, 3 s would be 150 asks; doubling up to 1 s, about 10 (and
	// the joins' own).
	if n > 30 {
		t.Errorf("%d offset fetches in 3 s; want the asks to back off to one a commit interval", n)
	}
	t.Logf("%d offset fetches in 3 s", n)
}
