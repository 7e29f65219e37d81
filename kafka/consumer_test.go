package kafka_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

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
