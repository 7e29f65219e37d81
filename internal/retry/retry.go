package retry

import (
	"context"
	"errors"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Policy says how failed calls are retried: only errors the caller's test
// says are retryable, at most MaxRetries times, after a delay that doubles
// from BaseDelay up to MaxDelay, each drawn at random from [d/2, 3d/2]
// (capped at MaxDelay). When the error carries a Retry-After duration, the
// delay is at least that, up to MaxRetryAfter.
type Policy struct {
	MaxRetries    int
	BaseDelay     time.Duration
	MaxDelay      time.Duration
	MaxRetryAfter time.Duration
	// After, when set, is the clock Do pauses on (the on-device engine's
	// injectable clock); nil means the real one.
	After func(time.Duration) <-chan time.Time
}

// Default returns 3 retries from 50ms up to 2s, honouring a Retry-After of
// up to 30s.
func Default() Policy {
	return Policy{MaxRetries: 3, BaseDelay: 50 * time.Millisecond, MaxDelay: 2 * time.Second, MaxRetryAfter: 30 * time.Second}
}

// RetryAfterer is implemented by errors that carry the server's Retry-After
// (the Target client's *target.HTTPError).
type RetryAfterer interface {
	RetryAfter() time.Duration
}

// Backoff returns the policy's delays, for one call's retries.
func (p Policy) Backoff() *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = max(p.BaseDelay, time.Millisecond)
	b.MaxInterval = max(p.MaxDelay, b.InitialInterval)
	b.Multiplier = 2
	b.RandomizationFactor = 0.5
	b.Reset()
	return b
}

// Delay returns the pause before the next retry after err, from b. A policy
// without a BaseDelay retries at once, unless the error asks for a pause.
func (p Policy) Delay(b *backoff.ExponentialBackOff, err error) time.Duration {
	var d time.Duration
	if p.BaseDelay > 0 {
		d = min(b.NextBackOff(), p.MaxDelay)
	}
	var ra RetryAfterer
	if errors.As(err, &ra) {
		if after := min(ra.RetryAfter(), p.MaxRetryAfter); after > d {
			d = after
		}
	}
	return d
}

// Do calls call until it succeeds, fails with an error retryable does not
// accept, the retries run out or ctx ends (during a call or a pause). It
// returns the number of attempts made and the last call's error. onRetry,
// when set, is told of each retry and its delay before the pause.
func (p Policy) Do(ctx context.Context, call func(ctx context.Context) error, retryable func(error) bool,
	onRetry func(err error, delay time.Duration)) (attempts int, err error) {
	var b *backoff.ExponentialBackOff
	for attempt := 1; ; attempt++ {
		err := call(ctx)
		if err == nil {
			return attempt, nil
		}
		if attempt > p.MaxRetries || !retryable(err) || ctx.Err() != nil {
			return attempt, err
		}
		if b == nil {
			b = p.Backoff()
		}
		delay := p.Delay(b, err)
		if onRetry != nil {
			onRetry(err, delay)
		}
		if !p.pause(ctx, delay) {
			return attempt, err
		}
	}
}

// pause waits d on the policy's clock, or until ctx ends (false).
func (p Policy) pause(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	if p.After != nil {
		select {
		case <-p.After(d):
			return true
		case <-ctx.Done():
			return false
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
