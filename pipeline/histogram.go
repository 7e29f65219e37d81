package pipeline

import (
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// histogram is a latency distribution kept in an HDR histogram (values in
// microseconds from 1 µs to an hour, two significant digits: a quantile is
// known to within 1%), guarded by a mutex. Recording costs a lock and a few
// index computations; there is no allocation.
type histogram struct {
	mu  sync.Mutex
	h   *hdrhistogram.Histogram
	sum time.Duration
}

func newHistogram() *histogram {
	return &histogram{h: hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 2)}
}

func (h *histogram) record(d time.Duration) {
	us := max(d.Microseconds(), 1)
	h.mu.Lock()
	_ = h.h.RecordValue(us) // values over an hour are dropped
	h.sum += d
	h.mu.Unlock()
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

	sketch *histogram
}

// Quantile returns the q-quantile (0 < q <= 1) of the distribution, read
// from its sketch: while the run goes on, of the distribution so far.
func (p Percentiles) Quantile(q float64) time.Duration {
	if p.sketch == nil || p.Count == 0 {
		return 0
	}
	p.sketch.mu.Lock()
	defer p.sketch.mu.Unlock()
	if q >= 1 {
		return time.Duration(p.sketch.h.Max()) * time.Microsecond
	}
	return time.Duration(p.sketch.h.ValueAtQuantile(q*100)) * time.Microsecond
}

func (h *histogram) snapshot() Percentiles {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := Percentiles{Count: h.h.TotalCount(), Sum: h.sum, sketch: h}
	if p.Count == 0 {
		return p
	}
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	p.Mean = h.sum / time.Duration(p.Count)
	p.P50, p.P90, p.P99 = us(h.h.ValueAtQuantile(50)), us(h.h.ValueAtQuantile(90)), us(h.h.ValueAtQuantile(99))
	p.Max = us(h.h.Max())
	return p
}
