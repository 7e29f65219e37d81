package pipeline

import (
	"time"

	"go.uber.org/zap"
)

// Option configures a source, stage or sink. Options that do not apply to a
// kind of component are ignored by it.
type Option func(*componentConfig)

type componentConfig struct {
	concurrency   int
	ordered       bool
	processFailed bool
	interruptible bool
	buffer        int
	flush         func() error
	flushEvery    time.Duration
}

func newComponentConfig(opts []Option) componentConfig {
	c := componentConfig{concurrency: 1, buffer: DefaultBuffer, flushEvery: 200 * time.Millisecond}
	for _, o := range opts {
		o(&c)
	}
	c.concurrency = max(c.concurrency, 1)
	c.buffer = max(c.buffer, 0)
	return c
}

// DefaultBuffer is the capacity of the channel on a component's output (and
// input) unless Buffer says otherwise.
const DefaultBuffer = 64

// Concurrency lets a stage process up to n items at once (default 1).
// Without Ordered, items leave in the order they finish.
func Concurrency(n int) Option { return func(c *componentConfig) { c.concurrency = n } }

// Ordered makes a concurrent stage emit items in the order they arrived.
func Ordered(ordered bool) Option { return func(c *componentConfig) { c.ordered = ordered } }

// ProcessFailed makes a stage call its function for failed items too
// (observers such as Tap want to see everything). By default a stage passes
// failed items on untouched.
func ProcessFailed() Option { return func(c *componentConfig) { c.processFailed = true } }

// Interruptible marks a stage whose work is worth stopping when the run is
// cancelled, such as remote calls: once the run is stopping, items that have
// not started in it are failed with KindCanceled instead of processed. Work
// already started continues until the grace period ends.
func Interruptible() Option { return func(c *componentConfig) { c.interruptible = true } }

// Buffer sets the capacity of the component's output channel (for a sink:
// of its input channel). The default is DefaultBuffer.
func Buffer(n int) Option { return func(c *componentConfig) { c.buffer = n } }

// OnFlush gives a sink a function that pushes buffered output to its
// destination. The sink calls it when its input is momentarily empty (at
// most once per interval) and when the run ends, completed or cancelled.
// An error from it is fatal to the run.
func OnFlush(flush func() error, interval time.Duration) Option {
	return func(c *componentConfig) { c.flush, c.flushEvery = flush, interval }
}

// RunOption configures a pipeline.
type RunOption func(*runConfig)

type runConfig struct {
	log   *zap.Logger
	grace time.Duration
}

// DefaultGrace is how long in-flight work may continue after the run is
// cancelled, unless WithGrace says otherwise.
const DefaultGrace = 5 * time.Second

// WithLogger sets the logger of the run (default: zap.NewNop()).
func WithLogger(l *zap.Logger) RunOption {
	return func(c *runConfig) {
		if l != nil {
			c.log = l
		}
	}
}

// WithGrace sets how long in-flight work may continue after the context of
// Run is cancelled before its own context is cancelled too. Zero cancels
// in-flight work at once.
func WithGrace(d time.Duration) RunOption { return func(c *runConfig) { c.grace = max(d, 0) } }
