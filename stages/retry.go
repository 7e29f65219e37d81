package stages

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/target"
)

// RetryPolicy says how a stage retries failed calls: only errors the client
// reports as retryable (5xx, 429, 408, transport failures, per-call
// timeouts) are retried, at most MaxRetries times, after a delay that
// doubles from BaseDelay up to MaxDelay with random jitter (each delay is
// drawn from [d/2, d]). When the error carries a Retry-After duration, the
// delay is at least that, up to MaxRetryAfter.
type RetryPolicy struct {
	MaxRetries    int
	BaseDelay     time.Duration
	MaxDelay      time.Duration
	MaxRetryAfter time.Duration
}

// DefaultRetryPolicy returns 3 retries from 50ms up to 2s, honouring a
// Retry-After of up to 30s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: 3, BaseDelay: 50 * time.Millisecond, MaxDelay: 2 * time.Second, MaxRetryAfter: 30 * time.Second}
}

// RetryAfterer is implemented by errors that carry the server's Retry-After.
type RetryAfterer interface {
	RetryAfter() time.Duration
}

// Delay returns the pause before retry number retry (1 for the first retry)
// after err. rnd draws from [0, 1).
func (p RetryPolicy) Delay(retry int, err error, rnd func() float64) time.Duration {
	d := p.BaseDelay
	for i := 1; i < retry && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	d = d/2 + time.Duration(rnd()*float64(d/2))
	var ra RetryAfterer
	if errors.As(err, &ra) {
		if after := min(ra.RetryAfter(), p.MaxRetryAfter); after > d {
			d = after
		}
	}
	return d
}

// errCallTimeout marks an attempt cut by the stage's per-call timeout, as
// opposed to the run being cancelled.
var errCallTimeout = errors.New("call timed out")

// caller runs calls with the stage's timeout, rate limit and retry policy.
type caller struct {
	cfg     config
	limiter *limiter
}

func newCaller(cfg config) *caller {
	c := &caller{cfg: cfg}
	if cfg.ratePerSecond > 0 {
		c.limiter = &limiter{interval: time.Duration(float64(time.Second) / cfg.ratePerSecond)}
	}
	return c
}

// do calls call until it succeeds, fails for good, or retries run out. It
// returns the number of attempts and the last error.
func (c *caller) do(ctx context.Context, call func(ctx context.Context) error) (int, error) {
	for attempt := 1; ; attempt++ {
		if err := c.limiter.wait(ctx); err != nil {
			return attempt - 1, err
		}
		err := c.attempt(ctx, call)
		if err == nil {
			return attempt, nil
		}
		if attempt > c.cfg.retry.MaxRetries || !retryable(err) || ctx.Err() != nil {
			return attempt, err
		}
		pipeline.NoteRetry(ctx)
		delay := c.cfg.retry.Delay(attempt, err, rand.Float64)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return attempt, err
		}
	}
}

func (c *caller) attempt(ctx context.Context, call func(ctx context.Context) error) error {
	if c.cfg.timeout <= 0 {
		return call(ctx)
	}
	callCtx, cancel := context.WithTimeoutCause(ctx, c.cfg.timeout, errCallTimeout)
	defer cancel()
	err := call(callCtx)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(callCtx), errCallTimeout) {
		return &pipeline.ItemError{Kind: pipeline.KindTimeout, Err: fmt.Errorf("%w after %s: %w", errCallTimeout, c.cfg.timeout, err)}
	}
	return err
}

func retryable(err error) bool {
	var ie *pipeline.ItemError
	if errors.As(err, &ie) && ie.Kind == pipeline.KindTimeout {
		return true
	}
	return target.IsRetryable(err)
}

// classify turns a client error into the item's error.
func classify(stage string, err error) *pipeline.ItemError {
	var (
		httpErr      *target.HTTPError
		transportErr *target.TransportError
		validErr     *target.ValidationError
		ie           *pipeline.ItemError
	)
	switch {
	case errors.As(err, &ie):
		return pipeline.Fail(stage, err)
	case errors.As(err, &httpErr):
		return &pipeline.ItemError{Stage: stage, Kind: pipeline.KindHTTP, Status: httpErr.Status, Err: err}
	case errors.As(err, &transportErr) && transportErr.Timeout:
		return &pipeline.ItemError{Stage: stage, Kind: pipeline.KindTimeout, Err: err}
	case errors.As(err, &transportErr):
		return &pipeline.ItemError{Stage: stage, Kind: pipeline.KindNetwork, Err: err}
	case errors.As(err, &validErr):
		return &pipeline.ItemError{Stage: stage, Kind: pipeline.KindInvalid, Err: err}
	}
	return pipeline.Fail(stage, err)
}

// limiter spaces events at least interval apart, shared by all workers of a
// stage. A nil limiter never waits.
type limiter struct {
	mu       sync.Mutex
	interval time.Duration
	next     time.Time
}

func (l *limiter) wait(ctx context.Context) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	now := time.Now()
	at := l.next
	if at.Before(now) {
		at = now
	}
	l.next = at.Add(l.interval)
	l.mu.Unlock()
	d := at.Sub(now)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
