package featureflags

import (
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/targetflow/targetflow/target"
)

// Defaults.
const (
	// DefaultTrackedVisitors is how many visitor-and-mbox pairs the
	// provider remembers the click tokens of, for Track.
	DefaultTrackedVisitors = 10000
	// DefaultNotificationConcurrency bounds the notification calls the
	// provider has in flight (deduplicated impressions, Track).
	DefaultNotificationConcurrency = 32
	// DefaultRecoveryInterval is how often a STALE or ERROR provider asks
	// the engine for its artifact again.
	DefaultRecoveryInterval = 30 * time.Second
)

// Option configures a Provider; pass options to NewProvider. Options are
// sealed: only this package makes them.
type Option interface {
	apply(*config)
}

type option func(*config)

func (f option) apply(c *config) { f(c) }

// config is what a Provider is made with, checked once by validate.
type config struct {
	mbox            string
	mboxSet         bool
	logger          *zap.Logger
	dedup           int
	dedupSet        bool
	trackedVisitors int
	sends           int
	recovery        time.Duration
}

func defaultConfig() config {
	return config{
		logger:          zap.NewNop(),
		trackedVisitors: DefaultTrackedVisitors,
		sends:           DefaultNotificationConcurrency,
		recovery:        DefaultRecoveryInterval,
	}
}

// WithMbox names the mbox whose JSON offers hold the flags: a flag key is
// the name of an attribute in them. An evaluation context attribute "mbox"
// picks another mbox for one evaluation. Without WithMbox every evaluation
// must name its mbox so.
func WithMbox(name string) Option {
	return option(func(c *config) { c.mbox, c.mboxSet = name, true })
}

// WithLogger sets the logger (default zap.NewNop()); nil keeps the default.
func WithLogger(logger *zap.Logger) Option {
	return option(func(c *config) {
		if logger != nil {
			c.logger = logger
		}
	})
}

// WithImpressionDeduplication counts one impression per visitor and
// activity: the provider asks for the flags' mbox as a prefetch (which
// Target does not count) and sends a display notification itself the first
// time it sees a visitor in an activity, remembering the last capacity
// visitor-and-activity pairs. Without it every evaluation is an impression,
// as GetAttributes counts them.
func WithImpressionDeduplication(capacity int) Option {
	return option(func(c *config) { c.dedup, c.dedupSet = capacity, true })
}

// WithTrackedVisitors sets how many visitor-and-mbox pairs the provider
// remembers the click-metric tokens of, for Track (default
// DefaultTrackedVisitors).
func WithTrackedVisitors(n int) Option {
	return option(func(c *config) { c.trackedVisitors = n })
}

// WithNotificationConcurrency bounds the notification calls the provider
// sends in the background (default DefaultNotificationConcurrency); when
// all are busy an evaluation or Track waits for one.
func WithNotificationConcurrency(n int) Option {
	return option(func(c *config) { c.sends = n })
}

// WithRecoveryInterval sets how often a provider made STALE or ERROR by a
// failed artifact download asks the engine for the artifact again
// (default DefaultRecoveryInterval); it is READY again when that, or the
// engine's own polling, succeeds.
func WithRecoveryInterval(d time.Duration) Option {
	return option(func(c *config) { c.recovery = d })
}

// validate checks the configuration once; the first problem wins.
func (c *config) validate() error {
	switch {
	case c.mboxSet && strings.TrimSpace(c.mbox) == "":
		return &target.ConfigError{Field: "mbox", Reason: "must not be empty"}
	case c.dedupSet && c.dedup < 1:
		return &target.ConfigError{Field: "impressionDeduplication", Value: fmt.Sprint(c.dedup), Reason: "capacity must be at least 1"}
	case c.trackedVisitors < 1:
		return &target.ConfigError{Field: "trackedVisitors", Value: fmt.Sprint(c.trackedVisitors), Reason: "must be at least 1"}
	case c.sends < 1:
		return &target.ConfigError{Field: "notificationConcurrency", Value: fmt.Sprint(c.sends), Reason: "must be at least 1"}
	case c.recovery <= 0:
		return &target.ConfigError{Field: "recoveryInterval", Value: c.recovery.String(), Reason: "must be positive"}
	}
	return nil
}
