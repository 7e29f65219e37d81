package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/targetflow/targetflow/pipeline"
)

// A pipeline of three words through a custom stage: one word is empty and
// fails; the others flow on. The failure reaches the sink like any other
// item, and the source hears of every item once the sink has written it.
func Example() {
	words := []string{"home", "", "cart"}
	src := pipeline.NewSource("words", func(_ context.Context, emit pipeline.Emit[string]) error {
		for _, w := range words {
			if !emit(&pipeline.Item[string]{Value: w}) {
				return nil
			}
		}
		return nil
	}, pipeline.OnAck(func(pos pipeline.Position, err error) {
		fmt.Printf("source: %d done (%v)\n", pos.Seq, err)
	}))
	upper := pipeline.NewStage("upper", func(_ context.Context, it *pipeline.Item[string]) error {
		if it.Value == "" {
			return errors.New("empty word")
		}
		it.Value = strings.ToUpper(it.Value)
		return nil
	})
	print := pipeline.NewSink("print", func(_ context.Context, it *pipeline.Item[string]) error {
		if it.Err != nil {
			fmt.Printf("sink: %d failed: %v\n", it.Pos.Seq, it.Err)
			return nil
		}
		fmt.Printf("sink: %d %s\n", it.Pos.Seq, it.Value)
		return nil
	})
	stats, err := pipeline.From(src).Via(upper).To(print).Run(context.Background())
	fmt.Println("written:", stats.Written, "failed:", stats.Failed, "completed:", stats.Completed, "error:", err)
	// Output:
	// sink: 1 HOME
	// source: 1 done (<nil>)
	// sink: 2 failed: upper: empty word
	// source: 2 done (<nil>)
	// sink: 3 CART
	// source: 3 done (<nil>)
	// written: 3 failed: 1 completed: 3 error: <nil>
}

// An asynchronous sink confirms items later, from another goroutine, as a
// Kafka producer does when the broker answers; the source learns of each
// item only then, and the Tracker says what is safe to commit.
func ExampleNewAsyncSink() {
	tracker := pipeline.NewTracker(pipeline.Position{}, nil)
	src := pipeline.NewSource("numbers", func(_ context.Context, emit pipeline.Emit[int]) error {
		for n := 1; n <= 4; n++ {
			it := &pipeline.Item[int]{Value: n, Pos: pipeline.Position{Seq: int64(n), Offset: int64(100 + n)}}
			tracker.Add(it.Pos)
			if !emit(it) {
				return nil
			}
		}
		return nil
	}, pipeline.OnAck(func(pos pipeline.Position, err error) {
		if err == nil {
			tracker.Done(pos.Seq)
		}
	}))
	// The "broker" confirms items in batches of two, in reverse order.
	var queued []*pipeline.Item[int]
	broker := pipeline.NewAsyncSink("broker", func(_ context.Context, it *pipeline.Item[int], acks *pipeline.Acks[int]) error {
		queued = append(queued, it)
		if len(queued) == 2 {
			batch := queued
			queued = nil
			done := make(chan struct{})
			go func() {
				defer close(done)
				acks.Ack(batch[1], nil)
				acks.Ack(batch[0], nil)
			}()
			<-done
		}
		return nil
	})
	stats, err := pipeline.From(src).To(broker).Run(context.Background())
	commit := tracker.Commit()
	fmt.Println("written:", stats.Written, "error:", err)
	fmt.Println("commit through offset", commit.Through.Offset, "pending", commit.Pending)
	// Output:
	// written: 4 error: <nil>
	// commit through offset 104 pending 0
}

// A quick stage runs inline, in the source's goroutine (so in the source's
// order); a stage with workers for slow work lets the items it has nothing
// to do for bypass them.
func ExampleInline() {
	src := pipeline.NewSource("numbers", func(_ context.Context, emit pipeline.Emit[int]) error {
		for n := 1; n <= 6; n++ {
			if !emit(&pipeline.Item[int]{Value: n}) {
				return nil
			}
		}
		return nil
	})
	double := pipeline.NewStage("double", func(_ context.Context, it *pipeline.Item[int]) error {
		it.Value *= 2
		return nil
	}, pipeline.Inline())
	// Only multiples of 4 need the (slow) work; the others pass by.
	slow := pipeline.NewStage("slow", func(_ context.Context, it *pipeline.Item[int]) error {
		it.Value += 1000
		return nil
	}, pipeline.Concurrency(8)).Bypass(func(it *pipeline.Item[int]) bool { return it.Value%4 != 0 })
	var got []int
	collect := pipeline.NewSink("collect", func(_ context.Context, it *pipeline.Item[int]) error {
		got = append(got, it.Value)
		return nil
	})
	stats, err := pipeline.From(src).Via(double, slow).To(collect).Run(context.Background())
	slices.Sort(got)
	fmt.Println(got, stats.Written, err)
	// Output: [2 6 10 1004 1008 1012] 6 <nil>
}
