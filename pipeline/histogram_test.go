package pipeline

import (
	"testing"
	"time"
)

func TestBucketBoundsContainValue(t *testing.T) {
	t.Parallel()
	for _, ns := range []int64{0, 1, 7, 8, 9, 15, 16, 17, 100, 1000, 12345, 1 << 20, 987654321, 1 << 40} {
		b := bucketOf(ns)
		if up := bucketUpper(b); up < ns {
			t.Errorf("bucket %d of %d has upper bound %d, below the value", b, ns, up)
		}
		if b > 0 {
			if lowerUp := bucketUpper(b - 1); lowerUp >= ns {
				t.Errorf("value %d should be in a bucket before %d (upper %d)", ns, b-1, lowerUp)
			}
		}
	}
}

func TestHistogramPercentiles(t *testing.T) {
	t.Parallel()
	var h histogram
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Millisecond)
	}
	p := h.snapshot()
	tests := []struct {
		name      string
		got, want time.Duration
	}{
		{"p50", p.P50, 500 * time.Millisecond},
		{"p90", p.P90, 900 * time.Millisecond},
		{"p99", p.P99, 990 * time.Millisecond},
		{"max", p.Max, 1000 * time.Millisecond},
		{"mean", p.Mean, 500500 * time.Microsecond},
	}
	for _, tt := range tests {
		// A bucket is 1/8 of its power of two wide: allow 12.5%.
		if tt.got < tt.want || float64(tt.got) > float64(tt.want)*1.125 {
			t.Errorf("%s = %v, want %v within +12.5%%", tt.name, tt.got, tt.want)
		}
	}
	if p.Count != 1000 {
		t.Errorf("count = %d, want 1000", p.Count)
	}
}
