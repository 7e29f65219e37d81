package target

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/targetflow/targetflow/delivery"
)

// Version is the version of this client, sent in the X-EXC-SDK-Version
// header and, unless WithVersion says otherwise, as the version query
// parameter of delivery calls.
const Version = "0.1.0"

// Defaults.
const (
	// DefaultTimeout bounds each Delivery API call, as in the official SDKs.
	DefaultTimeout = 3 * time.Second
	// DefaultMaxIdleConnsPerHost is the keep-alive pool size of the client's
	// own transport: enough idle connections per Target host for this many
	// calls in flight without opening new connections.
	DefaultMaxIdleConnsPerHost = 1024
)

// config is the configuration of a Client: what the options gave, checked
// once by validate.
type config struct {
	clientCode          string
	organizationID      string
	timeout             time.Duration
	serverDomain        string
	serverDomainSet     bool
	secure              bool
	targetLocationHint  string
	locationHintSet     bool
	propertyToken       string
	environmentID       int64
	decisioningMethod   delivery.DecisioningMethod
	logger              *zap.Logger
	httpClient          *http.Client
	httpClientSet       bool
	transport           http.RoundTripper
	transportSet        bool
	maxIdleConnsPerHost int
	maxIdleSet          bool
	telemetryEnabled    bool
	maxResponseBytes    int64
	responseBudget      int64
	version             string
	handlers            map[EventType][]EventHandler
	hooks               []Hook         // WithHooks
	hookSet             *hookSet       // hooks by interface, made by validate; nil without hooks
	onDevice            onDeviceConfig // on-device and hybrid options (ondevice.go)

	// now is the clock; tests in this package replace it.
	now func() time.Time
}

// Option configures a Client; pass options to New. Options are sealed: only
// this package makes them. The engine options of on-device decisioning are
// ondevice's own (ondevice.ArtifactOption), given with WithOnDevice.
type Option interface {
	apply(*config)
}

// option is the one Option implementation.
type option func(*config)

func (f option) apply(c *config) { f(c) }

func defaultConfig() config {
	return config{
		timeout:             DefaultTimeout,
		secure:              true,
		decisioningMethod:   delivery.DecisioningServerSide,
		logger:              zap.NewNop(),
		maxIdleConnsPerHost: DefaultMaxIdleConnsPerHost,
		telemetryEnabled:    true,
		maxResponseBytes:    DefaultMaxResponseBytes,
		responseBudget:      DefaultResponseBudget,
		version:             Version,
		handlers:            map[EventType][]EventHandler{},
		now:                 time.Now,
	}
}

// WithClient sets the Target client code (required), e.g. "acmeclient".
func WithClient(clientCode string) Option {
	return option(func(c *config) { c.clientCode = clientCode })
}

// WithOrganizationID sets the Experience Cloud organization id (required),
// e.g. "65453EA95574003E7F000101@AdobeOrg".
func WithOrganizationID(organizationID string) Option {
	return option(func(c *config) { c.organizationID = organizationID })
}

// WithTimeout bounds each Delivery API call (default 3s). It must be positive.
func WithTimeout(timeout time.Duration) Option {
	return option(func(c *config) { c.timeout = timeout })
}

// WithServerDomain sets the host (and optional port) that calls go to when
// no edge cluster is known, instead of "{client}.tt.omtrdc.net".
func WithServerDomain(domain string) Option {
	return option(func(c *config) { c.serverDomain, c.serverDomainSet = domain, true })
}

// WithSecure chooses https (true, the default) or http.
func WithSecure(secure bool) Option {
	return option(func(c *config) { c.secure = secure })
}

// WithTargetLocationHint sets the edge cluster (e.g. "35") calls go to until
// Target answers with another; calls then go to "mboxedge35.tt.omtrdc.net".
func WithTargetLocationHint(cluster string) Option {
	return option(func(c *config) { c.targetLocationHint, c.locationHintSet = cluster, true })
}

// WithPropertyToken sets the at_property token used when a request carries
// none (and, on-device, the property whose artifact is downloaded).
func WithPropertyToken(token string) Option {
	return option(func(c *config) { c.propertyToken = token })
}

// WithEnvironmentID sets the Target environment id used when a request
// carries none. It must not be negative.
func WithEnvironmentID(id int64) Option {
	return option(func(c *config) { c.environmentID = id })
}

// WithDecisioningMethod sets the decisioning method: server-side (the
// default), on-device or hybrid (see WithOnDevice); any other value makes
// New fail with a *ConfigError.
func WithDecisioningMethod(method delivery.DecisioningMethod) Option {
	return option(func(c *config) { c.decisioningMethod = method })
}

// WithLogger sets the logger (default zap.NewNop()). A nil logger keeps the
// default.
func WithLogger(logger *zap.Logger) Option {
	return option(func(c *config) {
		if logger != nil {
			c.logger = logger
		}
	})
}

// WithHTTPClient makes the client send with hc instead of its own shared
// keep-alive transport. The client's timeout still applies per call, through
// the request context.
func WithHTTPClient(hc *http.Client) Option {
	return option(func(c *config) { c.httpClient, c.httpClientSet = hc, true })
}

// WithTransport makes the client send through rt instead of its own shared
// keep-alive transport.
func WithTransport(rt http.RoundTripper) Option {
	return option(func(c *config) { c.transport, c.transportSet = rt, true })
}

// WithMaxIdleConnsPerHost sizes the keep-alive pool of the client's own
// transport (default DefaultMaxIdleConnsPerHost); set it at least to the
// number of calls you expect in flight. It cannot be combined with
// WithHTTPClient or WithTransport, whose pools are their own.
func WithMaxIdleConnsPerHost(n int) Option {
	return option(func(c *config) { c.maxIdleConnsPerHost, c.maxIdleSet = n, true })
}

// WithTelemetry turns telemetry on (the default) or off. With telemetry on,
// the timings of each call are sent to Adobe with the next call, as the
// official SDKs do.
func WithTelemetry(enabled bool) Option {
	return option(func(c *config) { c.telemetryEnabled = enabled })
}

// WithMaxResponseBytes bounds the body of one Delivery API answer (default
// DefaultMaxResponseBytes, 4 MiB). The bound holds while the answer is
// read: a larger answer fails as soon as it passes it (at once when its
// Content-Length says so), as a *TransportError with Op "decode". It must
// be positive and at most the WithResponseBudget.
func WithMaxResponseBytes(n int64) Option {
	return option(func(c *config) { c.maxResponseBytes = n })
}

// WithResponseBudget bounds the memory of the answers the client's calls
// read at once (default DefaultResponseBudget, 16 MiB): each call reads the
// first FreeResponseBytes of its answer freely; a longer answer waits,
// within the call's time, for its share of the budget (its Content-Length,
// else WithMaxResponseBytes) before reading on. The bytes of answers being
// read are so at most calls in flight × FreeResponseBytes + n, whatever the
// answers' sizes (their decoding takes two to four times that). It must be
// at least WithMaxResponseBytes.
func WithResponseBudget(n int64) Option {
	return option(func(c *config) { c.responseBudget = n })
}

// WithVersion sets the version query parameter of delivery calls (the
// at.js version in the official SDKs; default Version).
func WithVersion(version string) Option {
	return option(func(c *config) { c.version = version })
}

// WithEventHandler subscribes handler to events of type t (for example
// EventClientReady). Several handlers may subscribe to one type.
func WithEventHandler(t EventType, handler EventHandler) Option {
	return option(func(c *config) { c.handlers[t] = append(c.handlers[t], handler) })
}

// validate checks the whole configuration once; the first problem wins.
func (c *config) validate() error {
	switch {
	case strings.TrimSpace(c.clientCode) == "":
		return &ConfigError{Field: "client", Reason: "is required (WithClient)"}
	case strings.ContainsAny(c.clientCode, "/:?#@ \t\r\n"):
		return &ConfigError{Field: "client", Value: c.clientCode, Reason: "must be a Target client code, usable in a host name"}
	case strings.TrimSpace(c.organizationID) == "":
		return &ConfigError{Field: "organizationId", Reason: "is required (WithOrganizationID)"}
	case c.timeout <= 0:
		return &ConfigError{Field: "timeout", Value: c.timeout.String(), Reason: "must be positive"}
	case c.serverDomainSet && (c.serverDomain == "" || strings.Contains(c.serverDomain, "/") || strings.ContainsAny(c.serverDomain, " \t\r\n?#@")):
		return &ConfigError{Field: "serverDomain", Value: c.serverDomain, Reason: "must be a host name with an optional port, without scheme or path"}
	case c.locationHintSet && !validCluster(c.targetLocationHint):
		return &ConfigError{Field: "targetLocationHint", Value: c.targetLocationHint, Reason: "must be a non-empty edge cluster name of letters, digits and '-'"}
	case c.environmentID < 0:
		return &ConfigError{Field: "environmentId", Value: fmt.Sprint(c.environmentID), Reason: "must not be negative"}
	case c.httpClientSet && c.httpClient == nil:
		return &ConfigError{Field: "httpClient", Reason: "must not be nil"}
	case c.transportSet && c.transport == nil:
		return &ConfigError{Field: "transport", Reason: "must not be nil"}
	case c.httpClientSet && c.transportSet:
		return &ConfigError{Field: "transport", Reason: "WithHTTPClient and WithTransport are exclusive"}
	case c.maxIdleConnsPerHost <= 0:
		return &ConfigError{Field: "maxIdleConnsPerHost", Value: fmt.Sprint(c.maxIdleConnsPerHost), Reason: "must be positive"}
	case c.maxIdleSet && (c.httpClientSet || c.transportSet):
		return &ConfigError{Field: "maxIdleConnsPerHost", Value: fmt.Sprint(c.maxIdleConnsPerHost),
			Reason: "sizes the client's own transport: it does not apply with WithHTTPClient or WithTransport"}
	case c.maxResponseBytes <= 0:
		return &ConfigError{Field: "maxResponseBytes", Value: fmt.Sprint(c.maxResponseBytes), Reason: "must be positive"}
	case c.responseBudget < c.maxResponseBytes:
		return &ConfigError{Field: "responseBudget", Value: fmt.Sprint(c.responseBudget),
			Reason: fmt.Sprintf("must be at least maxResponseBytes (%d): a larger answer could never be read", c.maxResponseBytes)}
	case c.version == "":
		return &ConfigError{Field: "version", Reason: "must not be empty"}
	case !c.decisioningMethod.Valid():
		return &ConfigError{Field: "decisioningMethod", Value: string(c.decisioningMethod),
			Reason: "must be one of server-side, on-device, hybrid"}
	}
	for _, t := range slices.Sorted(maps.Keys(c.handlers)) {
		for _, h := range c.handlers[t] {
			if h == nil {
				return &ConfigError{Field: "events." + string(t), Reason: "handler must not be nil"}
			}
		}
	}
	hs, err := newHookSet(c.hooks)
	if err != nil {
		return err
	}
	if hs != nil {
		hs.markCalls = c.hasEngine()
	}
	c.hookSet = hs
	return c.onDevice.validate(c)
}

// validCluster reports whether s can be an edge cluster in a host name.
func validCluster(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || ch == '-') {
			return false
		}
	}
	return true
}
