package pipeline_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/targetflow/targetflow/pipeline"
)

// TestBypass: items a stage lets bypass it reach the sink without its
// function, counted as its own; a stage that must keep order, or decide
// stops in arrival order, takes every item.
func TestBypass(t *testing.T) {
	t.Parallel()
	even := func(it *pipeline.Item[rec]) bool { return it.Value.n%2 == 0 }
	tests := []struct {
		name     string
		opts     []pipeline.StageOption
		bypassed bool
	}{
		{"unordered", []pipeline.StageOption{pipeline.Concurrency(8)}, true},
		{"ordered", []pipeline.StageOption{pipeline.Concurrency(8), pipeline.Ordered(true)}, false},
		{"one at a time", nil, false},
		{"interruptible", []pipeline.StageOption{pipeline.Concurrency(8), pipeline.Interruptible()}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const n = 3000
			var calls, evenCalls, tailCalls atomic.Int64
			stage := pipeline.NewStage[rec]("notify", func(_ context.Context, it *pipeline.Item[rec]) error {
				calls.Add(1)
				if it.Value.n%2 == 0 {
					evenCalls.Add(1)
				}
				if it.Value.n%3 == 0 {
					return errors.New("three")
				}
				it.Value.tag = "done"
				return nil
			}, tt.opts...).Bypass(even)
			tail := pipeline.NewStage[rec]("tail", func(context.Context, *pipeline.Item[rec]) error {
				tailCalls.Add(1)
				return nil
			}, pipeline.Concurrency(4))
			var c collector
			stats, err := pipeline.From(countSource(n)).Via(stage, tail).To(c.sink()).Run(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if c.len() != n || stats.Written != n {
				t.Fatalf("%d items reached the sink, %d written; want %d", c.len(), stats.Written, n)
			}
			seen := map[int]bool{}
			for _, it := range c.items {
				if seen[it.Value.n] {
					t.Fatalf("item %d reached the sink twice", it.Value.n)
				}
				seen[it.Value.n] = true
				wantTag := "done"
				if it.Value.n%3 == 0 || (tt.bypassed && it.Value.n%2 == 0) {
					wantTag = ""
				}
				if it.Value.tag != wantTag {
					t.Errorf("item %d: tag %q; want %q", it.Value.n, it.Value.tag, wantTag)
				}
			}
			wantCalls := int64(n)
			if tt.bypassed {
				wantCalls = n / 2
				if evenCalls.Load() != 0 {
					t.Errorf("the function saw %d items that bypass it", evenCalls.Load())
				}
			}
			if calls.Load() != wantCalls {
				t.Errorf("the function ran %d times; want %d", calls.Load(), wantCalls)
			}
			var st pipeline.ComponentStats
			for _, cs := range stats.Components {
				if cs.Name == "notify" {
					st = cs
				}
			}
			// Of 3000: 1000 multiples of 3 fail, except the 500 even ones
			// when they bypass the stage.
			wantFailed := int64(n / 3)
			if tt.bypassed {
				wantFailed = n/3 - n/6
			}
			if st.In != n || st.Failed != wantFailed || st.OK != n-wantFailed {
				t.Errorf("stage figures in %d, ok %d, failed %d; want %d, %d, %d", st.In, st.OK, st.Failed, n, n-wantFailed, wantFailed)
			}
			// The stage after it takes every item, and passes the failed.
			if tailCalls.Load() != n-wantFailed {
				t.Errorf("the stage after it ran %d times; want %d", tailCalls.Load(), n-wantFailed)
			}
		})
	}
}

// TestBypassChain: an item that bypasses two stages in a row goes from the
// source to the third; failed items bypass a stage that would pass them on
// untouched, counted as skipped.
func TestBypassChain(t *testing.T) {
	t.Parallel()
	const n = 1000
	var aCalls, bCalls, cCalls atomic.Int64
	count := func(c *atomic.Int64, fail bool) pipeline.StageFunc[rec] {
		return func(_ context.Context, it *pipeline.Item[rec]) error {
			c.Add(1)
			if fail && it.Value.n%10 == 0 {
				return errors.New("ten")
			}
			return nil
		}
	}
	never := func(*pipeline.Item[rec]) bool { return false }
	always := func(*pipeline.Item[rec]) bool { return true }
	a := pipeline.NewStage[rec]("a", count(&aCalls, true), pipeline.Concurrency(4)).Bypass(never)
	b := pipeline.NewStage[rec]("b", count(&bCalls, false), pipeline.Concurrency(4)).Bypass(always)
	c := pipeline.NewStage[rec]("c", count(&cCalls, false), pipeline.Concurrency(4)).Bypass(always)
	d := pipeline.NewStage[rec]("d", noop)
	var out collector
	stats, err := pipeline.From(countSource(n)).Via(a, b, c, d).To(out.sink()).Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if out.len() != n || stats.Written != n || stats.Failed != n/10 {
		t.Fatalf("%d at the sink, %d written, %d failed; want %d, %d, %d", out.len(), stats.Written, stats.Failed, n, n, n/10)
	}
	if aCalls.Load() != n || bCalls.Load() != 0 || cCalls.Load() != 0 {
		t.Errorf("calls a %d, b %d, c %d; want %d, 0, 0", aCalls.Load(), bCalls.Load(), cCalls.Load(), n)
	}
	for _, cs := range stats.Components {
		switch cs.Name {
		case "b", "c":
			if cs.In != n || cs.OK != n-n/10 || cs.Skipped != n/10 {
				t.Errorf("%s: in %d, ok %d, skipped %d; want %d, %d, %d", cs.Name, cs.In, cs.OK, cs.Skipped, n, n-n/10, n/10)
			}
		}
	}
}

// TestBypassOnCancel: a run cancelled while items bypass stages accounts
// for every item it emitted and leaves no goroutine behind.
func TestBypassOnCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	var seen atomic.Int64
	a := pipeline.NewStage[rec]("a", noop, pipeline.Concurrency(4)).Bypass(func(*pipeline.Item[rec]) bool { return true })
	b := pipeline.NewStage[rec]("b", func(context.Context, *pipeline.Item[rec]) error {
		if seen.Add(1) == 500 {
			cancel()
		}
		return nil
	}, pipeline.Concurrency(4))
	var out collector
	stats, err := pipeline.From(countSource(-1)).Via(a, b).To(out.sink()).Run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v; want context.Canceled", err)
	}
	if stats.Emitted != int64(out.len())+stats.Given {
		t.Errorf("emitted %d, at the sink %d, given back %d", stats.Emitted, out.len(), stats.Given)
	}
}
