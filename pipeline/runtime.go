package pipeline

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
)

// runtime is what the components of one run share.
type runtime struct {
	// stopCtx is done when the run must stop taking input: the caller's
	// context was cancelled or a fatal failure happened.
	stopCtx context.Context
	// workCtx is done when in-flight work must stop: the grace period after
	// stopping has ended, or a fatal failure happened.
	workCtx context.Context
	// stopping mirrors stopCtx for the hot path.
	stopping atomic.Bool
	log      *zap.Logger
	done     *completion
	e2e      *histogram

	failOnce sync.Once
	fatal    error
	stop     context.CancelCauseFunc
	cancel   context.CancelCauseFunc
}

// fail records the first fatal failure and cancels the run at once.
func (rt *runtime) fail(err error) {
	rt.failOnce.Do(func() {
		rt.fatal = err
		rt.stopping.Store(true)
		rt.log.Error("pipeline failed", zap.Error(err))
		rt.stop(err)
		rt.cancel(err)
	})
}

func (rt *runtime) fatalErr() error {
	var err error
	rt.failOnce.Do(func() {}) // synchronise with a concurrent fail
	err = rt.fatal
	return err
}

// standaloneRuntime runs a component used as a plain go-streams operator,
// outside Run: no cancellation, no logging, figures kept but not reported.
func standaloneRuntime() *runtime {
	return &runtime{
		stopCtx: context.Background(),
		workCtx: context.Background(),
		log:     zap.NewNop(),
		done:    &completion{},
		e2e:     &histogram{},
		stop:    func(error) {},
		cancel:  func(error) {},
	}
}

// errGraceExpired is the cause of the work context's cancellation when the
// grace period after a stop has ended.
var errGraceExpired = errors.New("pipeline: grace period after cancellation expired")
