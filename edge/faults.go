package edge

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// JitterDistribution is the distribution of the random delay added to every
// answer of the delivery endpoint on top of the fixed latency.
type JitterDistribution string

const (
	// JitterUniform adds a delay drawn uniformly from [0, jitter].
	JitterUniform JitterDistribution = "uniform"
	// JitterLogNormal adds a delay jitter·exp(0.5·Z), Z standard normal: a
	// log-normal with median jitter and a long right tail (p99 ≈ 3.2·jitter),
	// the shape of real network latency.
	JitterLogNormal JitterDistribution = "lognormal"
)

// logNormalSigma is the σ of the log-normal jitter.
const logNormalSigma = 0.5

// ParseJitterDistribution reads "uniform" or "lognormal".
func ParseJitterDistribution(s string) (JitterDistribution, error) {
	switch d := JitterDistribution(s); d {
	case JitterUniform, JitterLogNormal:
		return d, nil
	}
	return "", fmt.Errorf("edge: jitter distribution %q: want %q or %q", s, JitterUniform, JitterLogNormal)
}

// Latency is the delay model of the delivery endpoint.
type Latency struct {
	// Fixed is added to every answer.
	Fixed time.Duration
	// Jitter scales the random part; 0 disables it.
	Jitter time.Duration
	// Distribution of the random part; empty means JitterUniform.
	Distribution JitterDistribution
}

// Faults are the fractions of delivery requests that go wrong, each in [0, 1]
// and together at most 1. A request suffers at most one fault.
type Faults struct {
	// ErrorRate is the fraction answered 503 Service Unavailable with a
	// Retry-After header.
	ErrorRate float64
	// ThrottleRate is the fraction answered 429 Too Many Requests with a
	// Retry-After header.
	ThrottleRate float64
	// ResetRate is the fraction whose connection is closed without an answer.
	ResetRate float64
	// StallRate is the fraction held for Stall before being answered normally.
	StallRate float64
	// Stall is how long a stalled request is held.
	Stall time.Duration
	// RetryAfter is the value of the Retry-After header of 503 and 429
	// answers; 0 means one second. It is sent in whole seconds, at least 1.
	RetryAfter time.Duration
}

// Fault is what happens to one request.
type Fault string

// Faults a request can suffer; FaultNone is a normal answer.
const (
	FaultNone     Fault = ""
	FaultError    Fault = "error"    // 503
	FaultThrottle Fault = "throttle" // 429
	FaultReset    Fault = "reset"    // connection closed without an answer
	FaultStall    Fault = "stall"    // held for Faults.Stall, then answered
)

func (l Latency) validate() error {
	if l.Fixed < 0 {
		return fmt.Errorf("edge: latency %v is negative", l.Fixed)
	}
	if l.Jitter < 0 {
		return fmt.Errorf("edge: jitter %v is negative", l.Jitter)
	}
	if l.Distribution != "" {
		if _, err := ParseJitterDistribution(string(l.Distribution)); err != nil {
			return err
		}
	}
	return nil
}

func (f Faults) validate() error {
	rates := []struct {
		name string
		v    float64
	}{{"error rate", f.ErrorRate}, {"throttle rate", f.ThrottleRate}, {"reset rate", f.ResetRate}, {"stall rate", f.StallRate}}
	sum := 0.0
	for _, r := range rates {
		if math.IsNaN(r.v) || r.v < 0 || r.v > 1 {
			return fmt.Errorf("edge: %s %v is not in [0, 1]", r.name, r.v)
		}
		sum += r.v
	}
	if sum > 1+1e-9 {
		return fmt.Errorf("edge: fault rates add up to %v, more than 1", sum)
	}
	if f.Stall < 0 {
		return fmt.Errorf("edge: stall %v is negative", f.Stall)
	}
	if f.StallRate > 0 && f.Stall == 0 {
		return fmt.Errorf("edge: stall rate %v needs a stall duration", f.StallRate)
	}
	if f.RetryAfter < 0 {
		return fmt.Errorf("edge: retry-after %v is negative", f.RetryAfter)
	}
	return nil
}

// retryAfterSeconds is the Retry-After header value.
func (f Faults) retryAfterSeconds() string {
	secs := int64(math.Ceil(f.RetryAfter.Seconds()))
	if secs < 1 {
		secs = 1
	}
	return fmt.Sprint(secs)
}

// disruption is the fate drawn for one request: its fault and its delay
// (latency plus jitter, plus the stall for FaultStall).
type disruption struct {
	fault Fault
	delay time.Duration
}

// injector draws disruptions from one seeded generator, so that a run with
// the same seed and the same order of requests suffers the same faults.
type injector struct {
	latency Latency
	faults  Faults

	mu  sync.Mutex
	rng *rand.Rand
}

func newInjector(seed uint64, latency Latency, faults Faults) *injector {
	return &injector{latency: latency, faults: faults, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// active reports whether the injector changes anything at all.
func (in *injector) active() bool {
	f := in.faults
	return in.latency.Fixed > 0 || in.latency.Jitter > 0 ||
		f.ErrorRate > 0 || f.ThrottleRate > 0 || f.ResetRate > 0 || f.StallRate > 0
}

// draw decides the fate of one request. It always consumes the same number of
// random numbers, so that one request's fate does not shift the next one's.
func (in *injector) draw() disruption {
	in.mu.Lock()
	u := in.rng.Float64()
	uniform := in.rng.Float64()
	normal := in.rng.NormFloat64()
	in.mu.Unlock()

	d := disruption{delay: in.latency.Fixed}
	if j := in.latency.Jitter; j > 0 {
		if in.latency.Distribution == JitterLogNormal {
			d.delay += time.Duration(float64(j) * math.Exp(logNormalSigma*normal))
		} else {
			d.delay += time.Duration(uniform * float64(j))
		}
	}
	f := in.faults
	switch {
	case u < f.ErrorRate:
		d.fault = FaultError
	case u < f.ErrorRate+f.ThrottleRate:
		d.fault = FaultThrottle
	case u < f.ErrorRate+f.ThrottleRate+f.ResetRate:
		d.fault = FaultReset
	case u < f.ErrorRate+f.ThrottleRate+f.ResetRate+f.StallRate:
		d.fault = FaultStall
		d.delay += f.Stall
	}
	return d
}

// sleep waits for d or until ctx ends, whichever is first, and reports
// whether the whole wait elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
