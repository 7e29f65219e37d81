package ondevice

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

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
	// with every attempt, up to MaxRetryBackoff.
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
	// ErrNotReady: no artifact has been loaded.
	ErrNotReady = errors.New("ondevice: the decisioning artifact is not available")
	// ErrClosed: the engine was closed (Refresh after Close).
	ErrClosed = errors.New("ondevice: engine closed")
)

// ConfigError names an option that is missing or wrong.
type ConfigError struct {
	Option string
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("ondevice: option %s: %s", e.Option, e.Reason)
}

// RequestError says why a request cannot be decided.
type RequestError struct {
	Field  string
	Reason string
}

func (e *RequestError) Error() string {
	if e.Field == "" || e.Field == "request" {
		return "ondevice: invalid request: " + e.Reason
	}
	return fmt.Sprintf("ondevice: invalid request: %s %s", e.Field, e.Reason)
}

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
	client           string
	organizationID   string
	environment      string
	propertyToken    string
	payload          []byte
	filePath         string
	location         string
	format           ArtifactFormat
	pollingInterval  time.Duration
	pollingSet       bool
	maxWaitReady     time.Duration
	attempts         int
	backoff          time.Duration
	httpClient       *http.Client
	clock            Clock
	logger           *zap.Logger
	events           Events
	geoLookup        GeoLookupFunc
	geoURL           string
	telemetryEnabled bool
	decideAll        bool

	current atomic.Pointer[Artifact]

	// deciders recycles the per-request decision state.
	deciders sync.Pool

	mu             sync.Mutex // guards the fields below
	etag           string
	retrievals     int
	lastRetrieved  time.Time
	pendingEntries []delivery.TelemetryEntry

	closed    atomic.Bool
	closeOnce sync.Once
	stop      context.CancelFunc
	done      chan struct{}
}

// Option configures an Engine.
type Option func(*Engine)

// WithClient sets the Target client code (required).
func WithClient(code string) Option { return func(e *Engine) { e.client = code } }

// WithOrganizationID sets the Experience Cloud organization id; it is the key
// of obfuscated (rules.bin) artifacts.
func WithOrganizationID(id string) Option { return func(e *Engine) { e.organizationID = id } }

// WithEnvironment sets the Target environment of the CDN artifact
// (default "production").
func WithEnvironment(env string) Option { return func(e *Engine) { e.environment = env } }

// WithPropertyToken makes the CDN location the artifact of one property.
func WithPropertyToken(token string) Option { return func(e *Engine) { e.propertyToken = token } }

// WithArtifactPayload decides from this artifact (rules.json, or an
// obfuscated rules.bin) instead of downloading one. There is no polling.
func WithArtifactPayload(data []byte) Option { return func(e *Engine) { e.payload = data } }

// WithArtifactFile reads the artifact (rules.json or rules.bin) from a file
// once. There is no polling.
func WithArtifactFile(path string) Option { return func(e *Engine) { e.filePath = path } }

// WithArtifactURL downloads the artifact from url instead of the CDN
// location https://assets.adobetarget.com/{client}/{environment}/rules/v1/rules.json.
func WithArtifactURL(url string) Option { return func(e *Engine) { e.location = url } }

// WithArtifactFormat sets the artifact encoding (default FormatAuto).
func WithArtifactFormat(f ArtifactFormat) Option { return func(e *Engine) { e.format = f } }

// WithPollingInterval sets how often a downloaded artifact is refreshed:
// 0 disables polling, other values below MinimumPollingInterval are raised
// to it. The default is DefaultPollingInterval.
func WithPollingInterval(d time.Duration) Option {
	return func(e *Engine) { e.pollingInterval, e.pollingSet = d, true }
}

// WithMaximumWaitReady bounds how long New waits for the first artifact
// (0, the default, waits as long as ctx allows and the attempts last).
func WithMaximumWaitReady(d time.Duration) Option { return func(e *Engine) { e.maxWaitReady = d } }

// WithRetry sets how many times a download is attempted and the backoff
// before the second attempt (it doubles up to MaxRetryBackoff).
func WithRetry(attempts int, backoff time.Duration) Option {
	return func(e *Engine) { e.attempts, e.backoff = attempts, backoff }
}

// WithHTTPClient sets the client used for artifact downloads and geo
// lookups (default http.DefaultClient).
func WithHTTPClient(c *http.Client) Option { return func(e *Engine) { e.httpClient = c } }

// WithClock injects the clock (default SystemClock).
func WithClock(c Clock) Option { return func(e *Engine) { e.clock = c } }

// WithLogger sets the logger (default zap.NewNop()).
func WithLogger(l *zap.Logger) Option { return func(e *Engine) { e.logger = l } }

// WithEvents sets the event callbacks.
func WithEvents(ev Events) Option { return func(e *Engine) { e.events = ev } }

// WithGeoLookup replaces the geo lookup used when a request has only an IP
// address (default: the Target geo service at GeoLookupURL).
func WithGeoLookup(f GeoLookupFunc) Option { return func(e *Engine) { e.geoLookup = f } }

// WithGeoLookupURL points the default geo lookup at another service that
// answers as the Target geo service does (x-geo-* keys in a JSON object).
func WithGeoLookupURL(url string) Option { return func(e *Engine) { e.geoURL = url } }

// WithTelemetry enables (default) or disables telemetry entries.
func WithTelemetry(enabled bool) Option { return func(e *Engine) { e.telemetryEnabled = enabled } }

// WithDecideAll makes the engine decide every mbox and view it has rules
// for, ignoring the artifact's remote markers: what an edge that answers
// from the artifact needs. Decisions then never report remote mboxes, and
// their response tokens say activity.decisioningMethod "server-side", as
// the edge's answers do.
func WithDecideAll(all bool) Option { return func(e *Engine) { e.decideAll = all } }

// New returns an engine once its first artifact is loaded: from the payload,
// the file, or by download (with retries). When the artifact is downloaded
// and polling is on, one goroutine refreshes it until Close or until ctx
// is done. New fails with a *ConfigError, an *ArtifactError, or the download
// error.
func New(ctx context.Context, opts ...Option) (*Engine, error) {
	e := &Engine{
		environment:      DefaultEnvironment,
		attempts:         DefaultDownloadAttempts,
		backoff:          DefaultRetryBackoff,
		clock:            systemClock{},
		logger:           zap.NewNop(),
		geoURL:           GeoLookupURL,
		telemetryEnabled: true,
	}
	for _, o := range opts {
		o(e)
	}
	if err := e.check(); err != nil {
		return nil, err
	}
	if e.httpClient == nil {
		e.httpClient = http.DefaultClient
	}
	if e.geoLookup == nil {
		e.geoLookup = HTTPGeoLookup(e.httpClient, e.geoURL)
	}
	if e.location == "" {
		e.location = e.cdnLocation()
	}
	if err := e.loadFirst(ctx); err != nil {
		return nil, err
	}
	if e.events.ClientReady != nil {
		e.events.ClientReady(ClientReadyEvent{Artifact: e.current.Load()})
	}
	e.startPolling(ctx)
	return e, nil
}

func (e *Engine) check() error {
	switch {
	case e.client == "":
		return &ConfigError{Option: "client", Reason: "is required"}
	case e.payload != nil && e.filePath != "":
		return &ConfigError{Option: "artifact", Reason: "give a payload or a file, not both"}
	case e.attempts < 1:
		return &ConfigError{Option: "retry", Reason: fmt.Sprintf("attempts must be at least 1, got %d", e.attempts)}
	case e.backoff < 0:
		return &ConfigError{Option: "retry", Reason: fmt.Sprintf("backoff must not be negative, got %v", e.backoff)}
	case e.pollingInterval < 0:
		return &ConfigError{Option: "pollingInterval", Reason: fmt.Sprintf("must not be negative, got %v", e.pollingInterval)}
	case e.maxWaitReady < 0:
		return &ConfigError{Option: "maximumWaitReady", Reason: fmt.Sprintf("must not be negative, got %v", e.maxWaitReady)}
	case e.clock == nil:
		return &ConfigError{Option: "clock", Reason: "is nil"}
	case e.logger == nil:
		return &ConfigError{Option: "logger", Reason: "is nil"}
	}
	switch e.format {
	case FormatAuto, FormatJSON, FormatBinary:
	default:
		return &ConfigError{Option: "artifactFormat", Reason: fmt.Sprintf("%q is not json or bin", e.format)}
	}
	return nil
}

// effectivePollingInterval applies the default and the minimum.
func (e *Engine) effectivePollingInterval() time.Duration {
	if !e.pollingSet {
		return DefaultPollingInterval
	}
	if e.pollingInterval == 0 {
		return 0
	}
	return max(e.pollingInterval, MinimumPollingInterval)
}

// Artifact returns the artifact decisions are currently made with.
func (e *Engine) Artifact() *Artifact { return e.current.Load() }

// Ready reports whether an artifact is loaded (always true after New).
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
		return nil, nil, &RequestError{Field: "request", Reason: "is nil"}
	}
	mboxes, views = remoteDependency(art, req)
	return mboxes, views, nil
}

// Close stops polling and waits for the polling goroutine to end. It is
// safe to call more than once; decisions keep working with the last artifact.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		e.closed.Store(true)
		if e.stop != nil {
			e.stop()
			<-e.done
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
	if e.payload != nil {
		location = "Not Applicable"
	} else if e.filePath != "" {
		location = e.filePath
	}
	m := map[string]any{
		"artifactLocation":       location,
		"pollingInterval":        float64(e.effectivePollingInterval().Milliseconds()),
		"pollingHalted":          e.stop == nil,
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
