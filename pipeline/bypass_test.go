package pipeline_test

import (
	"context"
	"errors"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/reugn/go-streams"
	"github.com/reugn/go-streams/flow"

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

// TestCancelWhileHandingOn: a run cancelled while items bypass a stage, or
// pass an inline one, accounts for every item its source emitted and
// leaves no goroutine behind.
func TestCancelWhileHandingOn(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		first func() *pipeline.Stage[rec]
	}{
		{"bypass", func() *pipeline.Stage[rec] {
			return pipeline.NewStage[rec]("first", noop, pipeline.Concurrency(4)).Bypass(func(*pipeline.Item[rec]) bool { return true })
		}},
		{"inline", func() *pipeline.Stage[rec] { return pipeline.NewStage[rec]("first", noop, pipeline.Inline()) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(t.Context())
			var seen atomic.Int64
			cancelAt := pipeline.NewStage[rec]("cancel", func(context.Context, *pipeline.Item[rec]) error {
				if seen.Add(1) == 400 {
					cancel()
				}
				return nil
			}, pipeline.Concurrency(4))
			var out collector
			stats, err := pipeline.From(countSource(-1)).Via(tt.first(), cancelAt).To(out.sink()).Run(ctx)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Run: %v; want context.Canceled", err)
			}
			if stats.Emitted != int64(out.len())+stats.Given {
				t.Errorf("emitted %d, at the sink %d, given back %d", stats.Emitted, out.len(), stats.Given)
			}
		})
	}
}

// TestInline: an inline stage's function runs in the goroutines of the
// component before it: in order after the source, once per item after a
// concurrent stage, by the stage itself after a go-streams flow; its
// errors, drops and figures are any stage's.
func TestInline(t *testing.T) {
	t.Parallel()
	const n = 2000
	type result struct {
		calls    []int
		bySource bool // the first call ran in the source's goroutine
		items    []*pipeline.Item[rec]
		stats    pipeline.Stats
	}
	runWith := func(t *testing.T, before []streams.Flow) result {
		t.Helper()
		var mu sync.Mutex
		var res result
		inline := pipeline.NewStage[rec]("inline", func(_ context.Context, it *pipeline.Item[rec]) error {
			mu.Lock()
			if len(res.calls) == 0 {
				res.bySource = strings.Contains(string(debug.Stack()), "pipeline.(*Source[")
			}
			res.calls = append(res.calls, it.Value.n)
			mu.Unlock()
			switch {
			case it.Value.n%10 == 0:
				return pipeline.ErrDrop
			case it.Value.n%7 == 0:
				return errors.New("seven")
			}
			it.Value.tag = "inline"
			return nil
		}, pipeline.Inline(), pipeline.Concurrency(8), pipeline.Ordered(true))
		var c collector
		stats, err := pipeline.From(countSource(n)).Via(append(before, inline)...).To(c.sink()).Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		res.items, res.stats = c.items, stats
		return res
	}
	check := func(t *testing.T, res result, inOrder bool) {
		t.Helper()
		if len(res.calls) != n {
			t.Fatalf("the function ran %d times; want %d", len(res.calls), n)
		}
		if inOrder {
			for i, v := range res.calls {
				if v != i+1 {
					t.Fatalf("call %d was for item %d: want the source's order", i, v)
				}
			}
		}
		drops, fails := n/10, n/7-n/70
		if len(res.items) != n-drops || res.stats.Dropped != int64(drops) || res.stats.Failed != int64(fails) {
			t.Fatalf("%d items out, %d dropped, %d failed; want %d, %d, %d", len(res.items), res.stats.Dropped, res.stats.Failed, n-drops, drops, fails)
		}
		for _, it := range res.items {
			if want := it.Value.n%7 != 0; (it.Value.tag == "inline") != want || (it.Err == nil) != want {
				t.Errorf("item %d: tag %q, err %v", it.Value.n, it.Value.tag, it.Err)
			}
		}
		for _, cs := range res.stats.Components {
			if cs.Name == "inline" && (cs.In != n || cs.OK != int64(n-drops-fails) || cs.Failed != int64(fails) || cs.Dropped != int64(drops)) {
				t.Errorf("inline figures %+v", cs)
			}
		}
	}
	t.Run("after the source", func(t *testing.T) {
		t.Parallel()
		res := runWith(t, nil)
		if !res.bySource {
			t.Error("the inline stage after the source did not run in the source's goroutine")
		}
		check(t, res, true)
	})
	t.Run("after a sequential stage", func(t *testing.T) {
		t.Parallel()
		check(t, runWith(t, []streams.Flow{pipeline.NewStage[rec]("first", noop)}), true)
	})
	t.Run("after a concurrent stage", func(t *testing.T) {
		t.Parallel()
		check(t, runWith(t, []streams.Flow{pipeline.NewStage[rec]("first", jitter, pipeline.Concurrency(8))}), false)
	})
	t.Run("after an ordered stage", func(t *testing.T) {
		t.Parallel()
		check(t, runWith(t, []streams.Flow{pipeline.NewStage[rec]("first", jitter, pipeline.Concurrency(8), pipeline.Ordered(true))}), true)
	})
	t.Run("after a go-streams flow", func(t *testing.T) {
		t.Parallel()
		check(t, runWith(t, []streams.Flow{flow.NewPassThrough()}), true)
	})
}

// TestInlineDropAfterBypass: an item that bypasses a stage and is dropped
// by the inline stage after it counts in both.
func TestInlineDropAfterBypass(t *testing.T) {
	t.Parallel()
	const n = 100
	pass := pipeline.NewStage[rec]("pass", noop, pipeline.Concurrency(4)).Bypass(func(*pipeline.Item[rec]) bool { return true })
	drop := pipeline.NewStage[rec]("drop", func(_ context.Context, it *pipeline.Item[rec]) error {
		if it.Value.n%2 == 0 {
			return pipeline.ErrDrop
		}
		return nil
	}, pipeline.Inline())
	var out collector
	stats, err := pipeline.From(countSource(n)).Via(pass, drop).To(out.sink()).Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if out.len() != n/2 || stats.Dropped != n/2 || stats.Completed != n {
		t.Fatalf("%d out, %d dropped, completed %d; want %d, %d, %d", out.len(), stats.Dropped, stats.Completed, n/2, n/2, n)
	}
	for _, cs := range stats.Components {
		if (cs.Name == "pass" || cs.Name == "drop") && cs.In != n {
			t.Errorf("%s: in %d; want %d", cs.Name, cs.In, n)
		}
	}
}

// TestBypassCountsTheItemAsItPassed: a bypassed stage counts an item as it
// was when it passed, whatever the stages after it make of it (and without
// reading it once they have it: -race).
func TestBypassCountsTheItemAsItPassed(t *testing.T) {
	t.Parallel()
	const n = 200
	fail := func(context.Context, *pipeline.Item[rec]) error { return errors.New("later") }
	for _, tt := range []struct {
		name  string
		after *pipeline.Stage[rec]
	}{
		{"concurrent stage after it", pipeline.NewStage[rec]("after", fail, pipeline.Concurrency(4))},
		{"inline stage after it", pipeline.NewStage[rec]("after", fail, pipeline.Inline())},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pass := pipeline.NewStage[rec]("pass", noop, pipeline.Concurrency(4)).Bypass(func(*pipeline.Item[rec]) bool { return true })
			var out collector
			stats, err := pipeline.From(countSource(n)).Via(pass, tt.after).To(out.sink()).Run(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if stats.Failed != n {
				t.Fatalf("failed %d; want %d", stats.Failed, n)
			}
			for _, cs := range stats.Components {
				if cs.Name == "pass" && (cs.In != n || cs.OK != n || cs.Skipped != 0) {
					t.Errorf("bypassed stage: in %d, ok %d, skipped %d; want %d, %d, 0", cs.In, cs.OK, cs.Skipped, n, n)
				}
			}
		})
	}
}
