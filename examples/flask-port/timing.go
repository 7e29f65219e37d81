package main

import (
	"context"
	"fmt"
	"time"

	"github.com/sourcegraph/conc"
)

// pageTimings are the three durations /page reports in its Server-Timing
// header.
type pageTimings struct {
	// Target is how long the Target call took.
	Target time.Duration
	// Work is how long the simulated other server work took.
	Work time.Duration
	// Total is how long the two took together, run in parallel: about the
	// longer of the two, not their sum.
	Total time.Duration
}

// serverTiming renders t as a Server-Timing header value, durations in
// milliseconds.
func (t pageTimings) serverTiming() string {
	return fmt.Sprintf("target;desc=\"Adobe Target\";dur=%s, work;desc=\"other server work\";dur=%s, total;dur=%s",
		millis(t.Target), millis(t.Work), millis(t.Total))
}

// hidden is how much of the Target call was hidden behind the other work.
func (t pageTimings) hidden() time.Duration {
	if h := t.Target + t.Work - t.Total; h > 0 {
		return h
	}
	return 0
}

func millis(d time.Duration) string {
	return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond))
}

// runAlongside runs targetCall and simulated server work of the given
// duration in parallel, each on a goroutine owned by a conc.WaitGroup (a
// panic in either is re-raised here), and returns their timings and the
// Target call's error. The work stops early when ctx ends, as real work
// would.
func runAlongside(ctx context.Context, work time.Duration, targetCall func(context.Context) error) (pageTimings, error) {
	var (
		t         pageTimings
		targetErr error
		wg        conc.WaitGroup
	)
	start := time.Now()
	wg.Go(func() {
		s := time.Now()
		targetErr = targetCall(ctx)
		t.Target = time.Since(s)
	})
	wg.Go(func() {
		s := time.Now()
		simulateWork(ctx, work)
		t.Work = time.Since(s)
	})
	wg.Wait()
	t.Total = time.Since(start)
	return t, targetErr
}

// simulateWork stands for the rest of a page's server work (a database
// query, a call to another service): it waits for d or until ctx ends.
func simulateWork(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}
