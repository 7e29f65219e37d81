package pipeline_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/targetflow/targetflow/pipeline"
)

// BenchmarkOverheadPerStage measures what the framework costs per item per
// stage, acknowledgments included: items flow through k no-op stages into a
// discarding sink, are confirmed and acknowledged to their source (tracked
// for the resume point), and the time per item is divided by the number of
// components it crosses. Target: under 1 µs per item per stage (reported
// as ns/item/stage).
func BenchmarkOverheadPerStage(b *testing.B) {
	for _, k := range []int{1, 4, 8} {
		for _, conc := range []int{1, 4, -4} { // -4: 4 workers, ordered
			name := fmt.Sprintf("stages=%d/concurrency=%d", k, conc)
			if conc < 0 {
				name = fmt.Sprintf("stages=%d/concurrency=%d-ordered", k, -conc)
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				n := b.N
				items := make([]pipeline.Item[rec], n)
				src := pipeline.NewSource[rec]("bench", func(_ context.Context, emit pipeline.Emit[rec]) error {
					for i := range items {
						if !emit(&items[i]) {
							return nil
						}
					}
					return nil
				})
				bld := pipeline.From(src)
				for i := range k {
					bld = bld.Via(pipeline.NewStage[rec](fmt.Sprint("noop", i), noop, pipeline.Concurrency(max(conc, -conc)), pipeline.Ordered(conc < 0)))
				}
				p := bld.To(pipeline.NewSink[rec]("discard", noop))
				b.ResetTimer()
				if _, err := p.Run(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				perItem := float64(b.Elapsed().Nanoseconds()) / float64(n)
				b.ReportMetric(perItem/float64(k+1), "ns/item/stage")
			})
		}
	}
}

// BenchmarkTimeoutPerItem is a stage that, like Deliver, derives a context
// with a timeout for every item, at the concurrency of a bulk run: the
// derived contexts register with a context of their worker, not all with
// the run's.
func BenchmarkTimeoutPerItem(b *testing.B) {
	b.ReportAllocs()
	items := make([]pipeline.Item[rec], b.N)
	src := pipeline.NewSource[rec]("bench", func(_ context.Context, emit pipeline.Emit[rec]) error {
		for i := range items {
			if !emit(&items[i]) {
				return nil
			}
		}
		return nil
	})
	withTimeout := func(ctx context.Context, _ *pipeline.Item[rec]) error {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		return ctx.Err()
	}
	p := pipeline.From(src).
		Via(pipeline.NewStage[rec]("timeout", withTimeout, pipeline.Concurrency(256))).
		To(pipeline.NewSink[rec]("discard", noop))
	b.ResetTimer()
	if _, err := p.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
}
