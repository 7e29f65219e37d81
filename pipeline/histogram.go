package pipeline

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram is a lock-free latency histogram with logarithmic buckets:
// each power of two of nanoseconds is split into 1<<subBits linear buckets,
// so a percentile is known to within 1/(1<<subBits) (12.5%) of its value.
// Recording is a few atomic adds; there is no allocation.
type histogram struct {
	buckets [64 << subBits]atomic.Int64
	count   atomic.Int64
	sum     atomic.Int64 // nanoseconds
	max     atomic.Int64 // nanoseconds
}

const subBits = 3

func bucketOf(ns int64) int {
	if ns < 1<<subBits {
		if ns < 0 {
			return 0
		}
		return int(ns)
	}
	exp := bits.Len64(uint64(ns)) - 1 // ns in [2^exp, 2^(exp+1))
	sub := int(ns>>(exp-subBits)) & (1<<subBits - 1)
	return (exp-subBits+1)<<subBits | sub
}

// bucketUpper is the largest value that falls in bucket b.
func bucketUpper(b int) int64 {
	if b < 1<<subBits {
		return int64(b)
	}
	exp := b>>subBits + subBits - 1
	sub := int64(b & (1<<subBits - 1))
	low := int64(1)<<exp | sub<<(exp-subBits)
	return low + int64(1)<<(exp-subBits) - 1
}

func (h *histogram) record(d time.Duration) {
	ns := int64(d)
	h.buckets[bucketOf(ns)].Add(1)
	h.count.Add(1)
	h.sum.Add(ns)
	for {
		m := h.max.Load()
		if ns <= m || h.max.CompareAndSwap(m, ns) {
			return
		}
	}
}

// Percentiles summarises a latency distribution.
type Percentiles struct {
	Count int64         `json:"count"`
	Mean  time.Duration `json:"mean"`
	P50   time.Duration `json:"p50"`
	P90   time.Duration `json:"p90"`
	P99   time.Duration `json:"p99"`
	Max   time.Duration `json:"max"`
	// Sum is the total of all recorded durations.
	Sum time.Duration `json:"sum"`
}

// Quantile returns the q-quantile (0 < q <= 1) of the distribution the
// percentiles were taken from, for the quantiles P50, P90 and P99; other
// values of q are answered by the nearest of them.
func (p Percentiles) Quantile(q float64) time.Duration {
	switch {
	case q <= 0.7:
		return p.P50
	case q <= 0.95:
		return p.P90
	case q < 1:
		return p.P99
	}
	return p.Max
}

func (h *histogram) snapshot() Percentiles {
	var counts [len(h.buckets)]int64
	var total int64
	for i := range h.buckets {
		counts[i] = h.buckets[i].Load()
		total += counts[i]
	}
	p := Percentiles{Count: total, Max: time.Duration(h.max.Load()), Sum: time.Duration(h.sum.Load())}
	if total == 0 {
		return p
	}
	p.Mean = p.Sum / time.Duration(total)
	at := func(q float64) time.Duration {
		rank := int64(math.Ceil(q * float64(total)))
		var seen int64
		for i, c := range counts {
			seen += c
			if seen >= rank {
				return min(time.Duration(bucketUpper(i)), p.Max)
			}
		}
		return p.Max
	}
	p.P50, p.P90, p.P99 = at(0.50), at(0.90), at(0.99)
	return p
}
