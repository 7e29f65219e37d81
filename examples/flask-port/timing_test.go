package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestServerTimingFormat(t *testing.T) {
	t.Parallel()
	pt := pageTimings{Target: 12500 * time.Microsecond, Work: 50 * time.Millisecond, Total: 50250 * time.Microsecond}
	got := pt.serverTiming()
	want := `target;desc="Adobe Target";dur=12.500, work;desc="other server work";dur=50.000, total;dur=50.250`
	if got != want {
		t.Fatalf("serverTiming() = %q, want %q", got, want)
	}
	if h := pt.hidden(); h != 12250*time.Microsecond {
		t.Fatalf("hidden() = %s, want 12.25ms", h)
	}
	if h := (pageTimings{Target: 1, Work: 1, Total: 5}).hidden(); h != 0 {
		t.Fatalf("hidden() of sequential timings = %s, want 0", h)
	}
}

func TestRunAlongsideOverlapsTheTargetCallWithTheWork(t *testing.T) {
	t.Parallel()
	const d = 40 * time.Millisecond
	pt, err := runAlongside(context.Background(), d, func(ctx context.Context) error {
		simulateWork(ctx, d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pt.Target < d || pt.Work < d {
		t.Fatalf("timings %+v: each part should have taken at least %s", pt, d)
	}
	if pt.Total >= pt.Target+pt.Work {
		t.Fatalf("timings %+v: total is not below target+work, the two did not run in parallel", pt)
	}
	if pt.Total < pt.Target || pt.Total < pt.Work {
		t.Fatalf("timings %+v: total is below one of its parts", pt)
	}
}

func TestRunAlongsideReturnsTheTargetError(t *testing.T) {
	t.Parallel()
	boom := errors.New("edge down")
	_, err := runAlongside(context.Background(), 0, func(context.Context) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("error = %v, want %v", err, boom)
	}
}

func TestRunAlongsideStopsWorkWhenContextEnds(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	pt, err := runAlongside(ctx, time.Hour, func(context.Context) error {
		cancel()
		return nil
	})
	if err != nil || pt.Work >= time.Hour {
		t.Fatalf("timings %+v, %v: the work should stop when the context ends", pt, err)
	}
}

func TestRunAlongsideReraisesPanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "target panicked") {
			t.Fatalf("recovered %v, want the Target call's panic", r)
		}
	}()
	_, _ = runAlongside(context.Background(), 0, func(context.Context) error { panic("target panicked") })
}
