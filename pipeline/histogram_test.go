package pipeline

import (
	"testing"
	"time"
)

func TestHistogramPercentiles(t *testing.T) {
	t.Parallel()
	h := newHistogram()
	for i := 1; i <= 10000; i++ {
		h.record(time.Duration(i) * 100 * time.Microsecond) // 0.1ms .. 1s
	}
	p := h.snapshot()
	tests := []struct {
		name      string
		got, want time.Duration
	}{
		{"p50", p.P50, 500 * time.Millisecond},
		{"p90", p.P90, 900 * time.Millisecond},
		{"p99", p.P99, 990 * time.Millisecond},
		{"max", p.Max, time.Second},
		{"mean", p.Mean, 500050 * time.Microsecond},
		{"q=0.25 from the sketch", p.Quantile(0.25), 250 * time.Millisecond},
		{"q=0.999 from the sketch", p.Quantile(0.999), 999 * time.Millisecond},
	}
	for _, tt := range tests {
		// Two significant digits: within 1%.
		if diff := float64(tt.got-tt.want) / float64(tt.want); diff < -0.01 || diff > 0.01 {
			t.Errorf("%s = %v, want %v within 1%%", tt.name, tt.got, tt.want)
		}
	}
	if p.Count != 10000 {
		t.Errorf("count = %d, want 10000", p.Count)
	}
}
