package stages

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/time/rate"

	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/target"
	"github.com/targetflow/targetflow/visitor"
)

// errCallTimeout marks an attempt cut by the stage's per-call timeout, as
// opposed to the run being cancelled.
var errCallTimeout = errors.New("call timed out")

// caller runs calls with the stage's timeout, rate limit and retry policy.
type caller struct {
	cfg     config
	limiter *rate.Limiter
}

func newCaller(cfg config) *caller {
	c := &caller{cfg: cfg}
	if cfg.ratePerSecond > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(cfg.ratePerSecond), 1)
	}
	return c
}

// do calls call until it succeeds, fails for good, or retries run out. It
// returns the number of attempts and the last error. The context of each
// retry says how many sends came before (target.ContextWithResendCount),
// so that the client's hooks see the resend (OpenTelemetry's
// http.request.resend_count); the first attempt's context is ctx itself.
func (c *caller) do(ctx context.Context, call func(ctx context.Context) error) (int, error) {
	resends := 0
	return c.cfg.retry.Do(ctx, func(ctx context.Context) error {
		if resends > 0 {
			ctx = target.ContextWithResendCount(ctx, resends)
		}
		resends++
		if c.limiter != nil {
			if err := c.limiter.Wait(ctx); err != nil {
				return err
			}
		}
		return c.attempt(ctx, call)
	}, visitor.Retryable, func(error, time.Duration) { pipeline.NoteRetry(ctx) })
}

func (c *caller) attempt(ctx context.Context, call func(ctx context.Context) error) error {
	if c.cfg.timeout <= 0 {
		return call(ctx)
	}
	callCtx, cancel := context.WithTimeoutCause(ctx, c.cfg.timeout, errCallTimeout)
	defer cancel()
	err := call(callCtx)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(callCtx), errCallTimeout) {
		return &visitor.Error{Kind: visitor.KindTimeout, Err: fmt.Errorf("%w after %s: %w", errCallTimeout, c.cfg.timeout, err)}
	}
	return err
}
