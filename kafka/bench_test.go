package kafka_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/targetflow/targetflow/kafka"
)

// BenchmarkConsumerToProducer moves b.N records through a pipeline from a
// kfake topic to another, with a no-op stage: the package's own cost per
// record (consume, track, acknowledge, commit, produce), kfake's included.
//
//	go test ./kafka -run '^$' -bench ConsumerToProducer -benchtime 200000x
func BenchmarkConsumerToProducer(b *testing.B) {
	for _, exactlyOnce := range []bool{false, true} {
		b.Run(fmt.Sprintf("exactly-once=%t", exactlyOnce), func(b *testing.B) {
			_, addrs := cluster(b, 12, inOutDLQ)
			produceInputs(b, addrs, "in", 0, b.N, 10000, nil)
			w := newWorker(b, "w", workerConfig{addrs: addrs, in: "in", out: "out", dlq: "dlq", group: "g", concurrency: 1,
				exactlyOnce: exactlyOnce, source: []kafka.SourceOpt{kafka.UntilCaughtUp(), kafka.CommitInterval(time.Second)}})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			w.start(ctx, &wg)
			wg.Wait()
			b.StopTimer()
			if w.err != nil || w.stats.Written != int64(b.N) {
				b.Fatalf("written %d of %d: %v", w.stats.Written, b.N, w.err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
