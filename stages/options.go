package stages

import (
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/pipeline"
)

// Option configures a stage. Options that do not apply to a stage are
// ignored by it.
type Option func(*config)

type config struct {
	name          string
	concurrency   int
	ordered       bool
	timeout       time.Duration
	retry         RetryPolicy
	ratePerSecond float64
	decisioning   delivery.DecisioningMethod
	notify        bool
	buffer        int
}

func newConfig(name string, opts []Option) config {
	c := config{
		name:        name,
		concurrency: 1,
		timeout:     DefaultTimeout,
		retry:       DefaultRetryPolicy(),
		buffer:      pipeline.DefaultBuffer,
	}
	for _, o := range opts {
		o(&c)
	}
	c.concurrency = max(c.concurrency, 1)
	return c
}

func (c config) pipelineOptions(extra ...pipeline.Option) []pipeline.Option {
	return append([]pipeline.Option{
		pipeline.Concurrency(c.concurrency), pipeline.Ordered(c.ordered), pipeline.Buffer(c.buffer),
	}, extra...)
}

// DefaultTimeout is the per-call timeout of Deliver, Notify and Attributes.
const DefaultTimeout = 3 * time.Second

// WithName names the stage in errors, logs and statistics.
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithConcurrency lets the stage make up to n calls at once (default 1).
func WithConcurrency(n int) Option { return func(c *config) { c.concurrency = n } }

// WithOrdered makes the stage emit items in input order even when calls
// finish out of order.
func WithOrdered(ordered bool) Option { return func(c *config) { c.ordered = ordered } }

// WithTimeout bounds each call (each attempt) to d; zero means no bound
// beyond the client's own.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithRetry sets the retry policy of the stage's calls.
func WithRetry(p RetryPolicy) Option { return func(c *config) { c.retry = p } }

// WithRetries sets how many times a failed call is retried (default 3),
// keeping the rest of the retry policy.
func WithRetries(n int) Option { return func(c *config) { c.retry.MaxRetries = max(n, 0) } }

// WithRateLimit spaces the stage's calls (retries included) to at most
// perSecond per second; zero or less means no limit.
func WithRateLimit(perSecond float64) Option { return func(c *config) { c.ratePerSecond = perSecond } }

// WithDecisioning sets the decisioning method of each call; empty (the
// default) uses the client's.
func WithDecisioning(m delivery.DecisioningMethod) Option {
	return func(c *config) { c.decisioning = m }
}

// WithNotifyByDefault makes Notify send notifications for visitors whose
// record does not say ("notify" absent); by default it sends only for
// records with "notify": true.
func WithNotifyByDefault(notify bool) Option { return func(c *config) { c.notify = notify } }

// WithBuffer sets the capacity of the stage's output channel.
func WithBuffer(n int) Option { return func(c *config) { c.buffer = n } }
