package kafka_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/targetflow/targetflow/internal/kafkatest"
	"github.com/targetflow/targetflow/kafka"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Three workers share a topic; the third loses its network mid-run before
// it has committed anything (to the cluster it is dead) and a fourth joins.
// Every record is answered at least once (at-least-once) or exactly once
// (exactly-once, read back read_committed); the duplicates of at-least-once
// are bounded by what the dead worker had taken.
func TestGroupOfWorkers(t *testing.T) {
	t.Parallel()
	for _, exactlyOnce := range []bool{false, true} {
		name := "at-least-once"
		if exactlyOnce {
			name = "exactly-once"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testGroupOfWorkers(t, exactlyOnce)
		})
	}
}

func testGroupOfWorkers(t *testing.T, exactlyOnce bool) {
	const n = 20000
	_, addrs := cluster(t, 12, inOutDLQ)
	produceInputs(t, addrs, "in", 0, n, 500, nil)
	base := workerConfig{addrs: addrs, in: "in", out: "out", dlq: "dlq", group: "g", concurrency: 16,
		delay: 2 * time.Millisecond, exactlyOnce: exactlyOnce, source: []kafka.SourceOpt{kafka.UntilCaughtUp()}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()

	w1, w2 := newWorker(t, "w1", base), newWorker(t, "w2", base)
	w1.start(ctx, &wg)
	w2.start(ctx, &wg)
	waitFor(t, "w1 and w2 at work", time.Minute, func() bool {
		return w1.p.Snapshot().Written > 500 && w2.p.Snapshot().Written > 500
	})

	// The third worker never commits on its own (a long commit interval,
	// and exactly-once, transactions longer than the test) until its
	// network is cut.
	var net3 severable
	c3 := base
	c3.source = append(c3.source, kafka.ClientOpts(kgo.Dialer(net3.dial)), kafka.CommitInterval(time.Hour))
	// At-least-once its producer keeps its own network: its results
	// arrive, and are the duplicates. Exactly-once it produces through
	// the consumer's client: its open transaction is aborted.
	ctx3, cancel3 := context.WithCancel(ctx)
	defer cancel3()
	w3 := newWorker(t, "w3", c3)
	w3.start(ctx3, &wg)
	waitFor(t, "w3 at work", time.Minute, func() bool { return w3.consumer.Stats().Consumed > 1000 })
	net3.sever()

	w4 := newWorker(t, "w4", base)
	w4.start(ctx, &wg)
	waitFor(t, "w4 at work", time.Minute, func() bool { return w4.consumer.Stats().Consumed > 0 })
	// The group has given w3's partitions away: stop it, then let its
	// network back so that it can find out it was expelled.
	cancel3()
	net3.heal()
	<-w3.done
	for _, w := range []*worker{w1, w2, w4} {
		<-w.done
		if w.err != nil {
			t.Errorf("%s: %v", w.name, w.err)
		}
		if !w.consumer.CaughtUp() {
			t.Errorf("%s ended without the group having caught up", w.name)
		}
	}
	s3 := w3.consumer.Stats()
	if s3.Commits != 0 {
		t.Errorf("the dead worker committed %d times", s3.Commits)
	}

	out := readAll(t, addrs, "out", true)
	seen := count(out)
	dups := 0
	for i := range n {
		switch {
		case seen[i] == 0:
			t.Fatalf("input %d never answered", i)
		case exactlyOnce && seen[i] != 1:
			t.Errorf("exactly-once: input %d answered %d times", i, seen[i])
		}
		dups += seen[i] - 1
	}
	// Only what a worker took and did not commit can be done again: all
	// the dead worker took, and what others had in flight when they lost
	// partitions (a heartbeat late on a loaded machine).
	var uncommitted int64
	for _, w := range []*worker{w1, w2, w3, w4} {
		s := w.consumer.Stats()
		uncommitted += s.Consumed - s.CommittedRecords
	}
	if int64(dups) > uncommitted {
		t.Errorf("%d duplicates; the workers took only %d records they did not commit (the dead one %d)", dups, uncommitted, s3.Consumed)
	}
	if s3.CommittedRecords != 0 {
		t.Errorf("the dead worker committed %d records", s3.CommittedRecords)
	}
	committed := kafkatest.Committed(t, addrs, "g", "in")
	if committed != n {
		t.Errorf("the group committed %d records; want %d", committed, n)
	}
	t.Logf("%d results for %d inputs (%d duplicates; the dead worker took %d); w4 took %d; transactions: %d committed, %d aborted",
		len(out), n, dups, s3.Consumed, w4.consumer.Stats().Consumed,
		w1.consumer.Stats().TransactionsCommitted+w2.consumer.Stats().TransactionsCommitted+w4.consumer.Stats().TransactionsCommitted,
		w1.consumer.Stats().TransactionsAborted+w2.consumer.Stats().TransactionsAborted+w4.consumer.Stats().TransactionsAborted)
}
