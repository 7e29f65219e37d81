package stages

import (
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/internal/retry"
	"github.com/targetflow/targetflow/pipeline"
)

// Options are sealed and grouped by the stages they apply to, as kgo groups
// its options, so that an option a stage does not use does not compile:
// BuildRequest(d, WithConcurrency(8)) is a compile error. Each stage takes
// its own option type; each option function returns the group of stages it
// applies to.

// BuildOption configures BuildRequest.
type BuildOption interface{ applyBuild(*config) }

// MapOption configures Map, Filter and Tap.
type MapOption interface{ applyMap(*config) }

// DeliverOption configures Deliver.
type DeliverOption interface{ applyDeliver(*config) }

// NotifyOption configures Notify.
type NotifyOption interface{ applyNotify(*config) }

// AttributesOption configures Attributes.
type AttributesOption interface{ applyAttributes(*config) }

// Option applies to every stage: WithName, WithBuffer.
type Option interface {
	BuildOption
	ConcurrencyOption
}

// InlineOption applies to the stages quick enough to run in the goroutines
// of the component before them: BuildRequest, Map, Filter and Tap
// (WithInline).
type InlineOption interface {
	BuildOption
	MapOption
}

// ConcurrencyOption applies to the stages that process items concurrently:
// Map, Filter, Tap, Deliver, Notify and Attributes (WithConcurrency,
// WithOrdered).
type ConcurrencyOption interface {
	MapOption
	CallOption
}

// CallOption applies to the stages that call Target: Deliver, Notify and
// Attributes (WithTimeout, WithRetry, WithRetries, WithRateLimit).
type CallOption interface {
	DecisioningOption
	NotifyOption
}

// DecisioningOption applies to the stages that ask for decisions: Deliver
// and Attributes (WithDecisioning).
type DecisioningOption interface {
	DeliverOption
	AttributesOption
}

type config struct {
	name          string
	concurrency   int
	ordered       bool
	timeout       time.Duration
	retry         RetryPolicy
	ratePerSecond float64
	decisioning   delivery.DecisioningMethod
	responseBody  bool
	notify        bool
	buffer        int
	inline        bool
}

func newConfig[O any](name string, opts []O, apply func(O, *config)) config {
	c := config{
		name:        name,
		concurrency: 1,
		timeout:     DefaultTimeout,
		retry:       DefaultRetryPolicy(),
		buffer:      pipeline.DefaultBuffer,
	}
	for _, o := range opts {
		apply(o, &c)
	}
	c.concurrency = max(c.concurrency, 1)
	return c
}

func (c config) pipelineOptions(extra ...pipeline.StageOption) []pipeline.StageOption {
	opts := append([]pipeline.StageOption{
		pipeline.Concurrency(c.concurrency), pipeline.Ordered(c.ordered), pipeline.Buffer(c.buffer),
	}, extra...)
	if c.inline {
		opts = append(opts, pipeline.Inline())
	}
	return opts
}

// The option groups, each a function of the config with the methods of the
// stages it applies to.
type (
	allOption         func(*config)
	concurrencyOption func(*config)
	callOption        func(*config)
	decisioningOption func(*config)
	notifyOption      func(*config)
	deliverOption     func(*config)
	inlineOption      func(*config)
)

func (o inlineOption) applyBuild(c *config) { o(c) }
func (o inlineOption) applyMap(c *config)   { o(c) }

func (o allOption) applyBuild(c *config)      { o(c) }
func (o allOption) applyMap(c *config)        { o(c) }
func (o allOption) applyDeliver(c *config)    { o(c) }
func (o allOption) applyNotify(c *config)     { o(c) }
func (o allOption) applyAttributes(c *config) { o(c) }

func (o concurrencyOption) applyMap(c *config)        { o(c) }
func (o concurrencyOption) applyDeliver(c *config)    { o(c) }
func (o concurrencyOption) applyNotify(c *config)     { o(c) }
func (o concurrencyOption) applyAttributes(c *config) { o(c) }

func (o callOption) applyDeliver(c *config)    { o(c) }
func (o callOption) applyNotify(c *config)     { o(c) }
func (o callOption) applyAttributes(c *config) { o(c) }

func (o decisioningOption) applyDeliver(c *config)    { o(c) }
func (o decisioningOption) applyAttributes(c *config) { o(c) }

func (o notifyOption) applyNotify(c *config) { o(c) }

func (o deliverOption) applyDeliver(c *config) { o(c) }

// DefaultTimeout is the per-call timeout of Deliver, Notify and Attributes.
const DefaultTimeout = 3 * time.Second

// RetryPolicy says how a stage retries failed calls (see retry.Policy):
// only errors visitor.Retryable accepts, at most MaxRetries times, after a
// delay that doubles from BaseDelay up to MaxDelay with random jitter,
// honouring a Retry-After up to MaxRetryAfter.
type RetryPolicy = retry.Policy

// DefaultRetryPolicy returns 3 retries from 50ms up to 2s, honouring a
// Retry-After of up to 30s.
func DefaultRetryPolicy() RetryPolicy { return retry.Default() }

// WithName names the stage in errors, logs and statistics.
func WithName(name string) Option { return allOption(func(c *config) { c.name = name }) }

// WithBuffer sets the capacity of the stage's output channel.
func WithBuffer(n int) Option { return allOption(func(c *config) { c.buffer = n }) }

// WithInline runs the stage's function in the goroutines of the component
// before it, as that component hands each item on, instead of in a
// goroutine of its own (pipeline.Inline): no hand-off per item. The
// function then runs as concurrently, and in the order, as the component
// before it hands items on (WithConcurrency and WithOrdered do not apply).
// For a run whose stages are quick beside the calls to Target, as
// BuildRequest and a counting Tap are.
func WithInline() InlineOption { return inlineOption(func(c *config) { c.inline = true }) }

// WithConcurrency lets the stage process up to n items at once (default 1).
func WithConcurrency(n int) ConcurrencyOption {
	return concurrencyOption(func(c *config) { c.concurrency = n })
}

// WithOrdered makes the stage emit items in input order even when calls
// finish out of order.
func WithOrdered(ordered bool) ConcurrencyOption {
	return concurrencyOption(func(c *config) { c.ordered = ordered })
}

// WithTimeout bounds each call (each attempt) to d; zero means no bound
// beyond the client's own.
func WithTimeout(d time.Duration) CallOption { return callOption(func(c *config) { c.timeout = d }) }

// WithRetry sets the retry policy of the stage's calls.
func WithRetry(p RetryPolicy) CallOption { return callOption(func(c *config) { c.retry = p }) }

// WithRetries sets how many times a failed call is retried (default 3),
// keeping the rest of the retry policy.
func WithRetries(n int) CallOption {
	return callOption(func(c *config) { c.retry.MaxRetries = max(n, 0) })
}

// WithRateLimit spaces the stage's calls (retries included) to at most
// perSecond per second (golang.org/x/time/rate); zero or less means no
// limit.
func WithRateLimit(perSecond float64) CallOption {
	return callOption(func(c *config) { c.ratePerSecond = perSecond })
}

// WithDecisioning sets the decisioning method of each call; empty (the
// default) uses the client's.
func WithDecisioning(m delivery.DecisioningMethod) DecisioningOption {
	return decisioningOption(func(c *config) { c.decisioning = m })
}

// WithResponseBody makes Deliver keep each answer's JSON as Target sent it
// on the envelope (visitor.Envelope.SetResponse), so that the result sinks
// that write JSON (sink.JSONL, the kafka package's sinks) write those bytes
// instead of encoding the answer again: a copy of each answer held until its
// item is written, for less CPU per visitor. Off by default; targetflow run
// turns it on.
func WithResponseBody(keep bool) DeliverOption {
	return deliverOption(func(c *config) { c.responseBody = keep })
}

// WithNotifyByDefault makes Notify send notifications for visitors whose
// record does not say ("notify" absent); by default it sends only for
// records with "notify": true.
func WithNotifyByDefault(notify bool) NotifyOption {
	return notifyOption(func(c *config) { c.notify = notify })
}
