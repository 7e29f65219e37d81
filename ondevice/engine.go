package ondevice

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sourcegraph/conc"
	"go.uber.org/zap"

	"github.com/targetflow/targetflow/delivery"
)

// Polling defaults, as in every Target SDK.
const (
	// DefaultPollingInterval is how often the artifact is downloaded again.
	DefaultPollingInterval = 5 * time.Minute
	// MinimumPollingInterval is the shortest polling interval; shorter ones
	// are raised to it (0 disables polling).
	MinimumPollingInterval = 5 * time.Minute
	// DefaultDownloadAttempts is how many times a download is tried.
	DefaultDownloadAttempts = 10
	// DefaultRetryBackoff is the wait before the second attempt; it doubles
	// with every attempt, up to MaxRetryBackoff, each wait drawn at random
	// within ±50% of it (the module's one retry policy, internal/retry).
	DefaultRetryBackoff = 500 * time.Millisecond
	// MaxRetryBackoff caps the wait between attempts.
	MaxRetryBackoff = 30 * time.Second
	// DefaultEnvironment is the Target environment of the CDN artifact.
	DefaultEnvironment = "production"
	// CDNHost serves the artifacts and the geo lookup.
	CDNHost = "assets.adobetarget.com"
)

// Errors callers branch on.
var (
	// ErrNotReady: no artifact has been loaded yet. target.ErrNotReady is
	// this error. The message is the SDKs' own.
	ErrNotReady = errors.New("ondevice: unable to fulfill request; decisioning engine not ready")
	// ErrClosed: the engine was closed (Refresh after Close, or Close before
	// the first artifact arrived).
	ErrClosed = errors.New("ondevice: engine closed")
)

// ConfigError names a setting that is missing or wrong. It is the one
// configuration error of targetflow: ondevice.New, target.New (whose
// target.ConfigError is this type) and edge.New return it.
type ConfigError struct {
	// Field is the setting at fault, as "client" or "pollingInterval".
	Field string
	// Value is the offending value, rendered for the message ("" when
	// missing).
	Value string
	// Reason says what is wrong with it.
	Reason string
	// Err is the cause, when there is one (an *ArtifactError for a refused
	// artifact payload, for instance).
	Err error
}

func (e *ConfigError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("targetflow: invalid config: %s: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("targetflow: invalid config: %s %q: %s", e.Field, e.Value, e.Reason)
}

// Unwrap returns the cause, if any.
func (e *ConfigError) Unwrap() error { return e.Err }

// Clock tells the time and waits; tests inject one so that nothing sleeps.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// SystemClock is the real clock.
func SystemClock() Clock { return systemClock{} }

// ArtifactFormat is the encoding of an artifact download.
type ArtifactFormat string

// Artifact formats.
const (
	// FormatAuto picks by the location's extension (".bin" is obfuscated)
	// and, for payloads and files, by content.
	FormatAuto ArtifactFormat = ""
	// FormatJSON is a plain rules.json.
	FormatJSON ArtifactFormat = "json"
	// FormatBinary is an obfuscated rules.bin, read with the organization id.
	FormatBinary ArtifactFormat = "bin"
)

// Engine decides Delivery API requests from a rules artifact, keeps the
// artifact fresh by polling, and reports what happened through Events.
// It is safe for concurrent use. Close stops polling.
type Engine struct {
	config // as New made it; never changed

	current atomic.Pointer[Artifact]

	// deciders recycles the per-request decision state.
	deciders sync.Pool

	mu             sync.Mutex // guards the fields below
	etag           string
	retrievals     int
	lastRetrieved  time.Time
	pendingEntries []delivery.TelemetryEntry
	firstErr       error // why the first load gave up (wraps ErrNotReady)

	// ready is closed when the first artifact is installed, settled when
	// the first load has ended, either way.
	ready, settled chan struct{}
	readyOnce      sync.Once
	settleOnce     sync.Once

	closed    atomic.Bool
	closeOnce sync.Once
	stop      context.CancelFunc
	loader    conc.WaitGroup // the loading and polling goroutine
}

// New returns an engine at once. An artifact payload is read before New
// returns; a file or a URL (by default the Target CDN's) is loaded in the
// background, downloads retried, and then, when polling is on, refreshed
// by one goroutine until Close. Until an artifact is loaded, Decide fails
// with ErrNotReady; WaitReady waits for one. New fails with a *ConfigError
// for a bad option or a refused payload (which wraps its *ArtifactError).
func New(opts ...Option) (*Engine, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e := &Engine{config: cfg, ready: make(chan struct{}), settled: make(chan struct{})}
	if e.payloadSet {
		art, err := e.decodeArtifact(e.payload, e.format)
		if err != nil {
			var ce *ConfigError
			if errors.As(err, &ce) {
				return nil, err
			}
			return nil, &ConfigError{Field: "artifactPayload", Reason: "is refused: " + err.Error(), Err: err}
		}
		e.install(art)
		e.becomeReady(art)
		e.settle(nil)
		return e, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.stop = cancel
	e.loader.Go(func() { e.run(ctx) })
	return e, nil
}

// WaitReady waits until the first artifact is loaded, and reports why not
// when the first load gave up (its error wraps ErrNotReady and the cause)
// or ctx ended first (the error wraps ErrNotReady and ctx's error). An
// engine whose first load failed becomes ready when polling later loads
// one.
func (e *Engine) WaitReady(ctx context.Context) error {
	select {
	case <-e.ready:
		return nil
	case <-e.settled:
		if e.Ready() {
			return nil
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.firstErr
	case <-ctx.Done():
		if e.Ready() {
			return nil
		}
		return fmt.Errorf("%w: %w", ErrNotReady, context.Cause(ctx))
	}
}

// settle records the end of the first load: err is why it gave up, nil
// when an artifact is in use.
func (e *Engine) settle(err error) {
	e.settleOnce.Do(func() {
		if err != nil {
			if e.closed.Load() {
				err = ErrClosed
			}
			e.mu.Lock()
			e.firstErr = fmt.Errorf("%w: %w", ErrNotReady, err)
			e.mu.Unlock()
			e.logger.Warn("ondevice: no artifact loaded; decisions fail with ErrNotReady until one is", zap.Error(err))
		}
		close(e.settled)
	})
}

// effectivePollingInterval applies the default and the minimum.
func (c *config) effectivePollingInterval() time.Duration {
	if !c.pollingSet {
		return DefaultPollingInterval
	}
	if c.pollingInterval == 0 {
		return 0
	}
	return max(c.pollingInterval, MinimumPollingInterval)
}

// polls reports whether the engine refreshes a downloaded artifact.
func (c *config) polls() bool {
	return !c.payloadSet && c.filePath == "" && c.effectivePollingInterval() > 0
}

// Artifact returns the artifact decisions are currently made with.
func (e *Engine) Artifact() *Artifact { return e.current.Load() }

// Ready reports whether an artifact is loaded.
func (e *Engine) Ready() bool { return e.current.Load() != nil }

// Client returns the client code.
func (e *Engine) Client() string { return e.client }

// TakeTelemetry returns, and forgets, the engine's own telemetry entries
// (artifact downloads) so that the caller sends them with its next request.
func (e *Engine) TakeTelemetry() []delivery.TelemetryEntry {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.pendingEntries
	e.pendingEntries = nil
	return out
}

// RemoteDependency reports which of the mboxes and views req asks for the
// current artifact cannot decide (see Decision.RemoteMboxes).
func (e *Engine) RemoteDependency(req *delivery.DeliveryRequest) (mboxes, views []string, err error) {
	art := e.current.Load()
	if art == nil {
		return nil, nil, ErrNotReady
	}
	if req == nil {
		return nil, nil, &delivery.FieldError{Reason: "the request is nil"}
	}
	mboxes, views = remoteDependency(art, req)
	return mboxes, views, nil
}

// Close stops loading and polling and waits for the goroutine that does
// them to end. It is safe to call more than once; decisions keep working
// with the last artifact.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		e.closed.Store(true)
		if e.stop != nil {
			e.stop()
			e.loader.Wait()
		}
	})
	return nil
}

// evalCondition evaluates a rule's condition; a rule whose evaluation
// fails is reported as not applicable (ok false) with a warning.
func (e *Engine) evalCondition(rule *preparedRule, scope *ruleScope) (satisfied, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			satisfied, ok = false, false
			e.logger.Warn("ondevice: skipping a rule whose condition cannot be evaluated",
				zap.String("ruleKey", rule.key), zap.String("activityId", rule.activityID), zap.Any("panic", r))
		}
	}()
	return rule.cond(scope), true
}

// artifactTrace is the "artifact" part of traces.
func (e *Engine) artifactTrace() map[string]any {
	e.mu.Lock()
	count, last := e.retrievals, e.lastRetrieved
	e.mu.Unlock()
	location := e.location
	if e.payloadSet {
		location = "Not Applicable"
	} else if e.filePath != "" {
		location = e.filePath
	}
	m := map[string]any{
		"artifactLocation":       location,
		"pollingInterval":        float64(e.effectivePollingInterval().Milliseconds()),
		"pollingHalted":          !e.polls(),
		"artifactVersion":        "unknown",
		"artifactRetrievalCount": float64(count),
		"artifactLastRetrieved":  last.UTC().Format("2006-01-02T15:04:05.000Z"),
	}
	if art := e.current.Load(); art != nil {
		m["artifactVersion"] = art.Version
		for k, v := range art.Meta {
			m[k] = v
		}
	}
	return m
}
