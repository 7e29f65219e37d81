package edge

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestInjectorFaultFractions(t *testing.T) {
	t.Parallel()
	const n = 40_000
	faults := Faults{ErrorRate: 0.10, ThrottleRate: 0.02, ResetRate: 0.01, StallRate: 0.05, Stall: time.Second}
	in := newInjector(42, Latency{}, faults)
	counts := map[Fault]int{}
	for range n {
		counts[in.draw().fault]++
	}
	want := map[Fault]float64{
		FaultError: faults.ErrorRate, FaultThrottle: faults.ThrottleRate,
		FaultReset: faults.ResetRate, FaultStall: faults.StallRate,
		FaultNone: 1 - faults.ErrorRate - faults.ThrottleRate - faults.ResetRate - faults.StallRate,
	}
	for fault, p := range want {
		expected := p * n
		sigma := math.Sqrt(n * p * (1 - p))
		if got := float64(counts[fault]); math.Abs(got-expected) > 4*sigma {
			t.Errorf("fault %q: %v of %d, want %.0f ± %.0f", fault, got, n, expected, 4*sigma)
		}
	}
}

func TestInjectorIsReproducible(t *testing.T) {
	t.Parallel()
	latency := Latency{Fixed: time.Millisecond, Jitter: 5 * time.Millisecond, Distribution: JitterLogNormal}
	faults := Faults{ErrorRate: 0.2, ResetRate: 0.2}
	sequence := func(seed uint64) []disruption {
		in := newInjector(seed, latency, faults)
		out := make([]disruption, 200)
		for i := range out {
			out[i] = in.draw()
		}
		return out
	}
	if !slices.Equal(sequence(7), sequence(7)) {
		t.Fatal("the same seed gave different disruptions")
	}
	if slices.Equal(sequence(7), sequence(8)) {
		t.Fatal("different seeds gave the same disruptions")
	}
}

func TestInjectorLatency(t *testing.T) {
	t.Parallel()
	const n = 20_000
	fixed, jitter := 20*time.Millisecond, 10*time.Millisecond
	tests := []struct {
		dist         JitterDistribution
		wantMedian   time.Duration // of the added jitter
		medianMargin time.Duration
	}{
		{JitterUniform, jitter / 2, jitter / 20},
		{JitterLogNormal, jitter, jitter / 20},
	}
	for _, tc := range tests {
		t.Run(string(tc.dist), func(t *testing.T) {
			t.Parallel()
			in := newInjector(3, Latency{Fixed: fixed, Jitter: jitter, Distribution: tc.dist}, Faults{})
			extra := make([]time.Duration, n)
			for i := range extra {
				d := in.draw()
				if d.fault != FaultNone {
					t.Fatalf("fault %q without fault rates", d.fault)
				}
				if d.delay < fixed {
					t.Fatalf("delay %v below the fixed latency %v", d.delay, fixed)
				}
				extra[i] = d.delay - fixed
			}
			slices.Sort(extra)
			if median := extra[n/2]; median < tc.wantMedian-tc.medianMargin || median > tc.wantMedian+tc.medianMargin {
				t.Errorf("median jitter %v, want %v ± %v", median, tc.wantMedian, tc.medianMargin)
			}
			if tc.dist == JitterUniform && extra[n-1] > jitter {
				t.Errorf("uniform jitter %v above %v", extra[n-1], jitter)
			}
			if tc.dist == JitterLogNormal {
				// σ = 0.5: p99 = jitter·e^(0.5·2.326) ≈ 3.2·jitter.
				p99 := extra[n*99/100]
				if p99 < 28*jitter/10 || p99 > 36*jitter/10 {
					t.Errorf("log-normal p99 %v, want about 3.2 × %v", p99, jitter)
				}
			}
		})
	}
}

func TestStallAddsItsDuration(t *testing.T) {
	t.Parallel()
	in := newInjector(1, Latency{Fixed: time.Millisecond}, Faults{StallRate: 1, Stall: 3 * time.Second})
	if d := in.draw(); d.fault != FaultStall || d.delay != 3*time.Second+time.Millisecond {
		t.Fatalf("stall draw %+v, want stall of 3.001s", d)
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{0, "1"}, {300 * time.Millisecond, "1"}, {2 * time.Second, "2"}, {2500 * time.Millisecond, "3"}} {
		if got := (Faults{RetryAfter: tc.d}).retryAfterSeconds(); got != tc.want {
			t.Errorf("RetryAfter %v → %q, want %q", tc.d, got, tc.want)
		}
	}
}
