package target

import (
	"fmt"
	"net/http"
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

// config is the validated configuration of a Client.
type config struct {
	clientCode          string
	organizationID      string
	timeout             time.Duration
	serverDomain        string
	secure              bool
	targetLocationHint  string
	propertyToken       string
	environmentID       int64
	decisioningMethod   delivery.DecisioningMethod
	logger              *zap.Logger
	httpClient          *http.Client
	transport           http.RoundTripper
	maxIdleConnsPerHost int
	telemetryEnabled    bool
	version             string
	handlers            map[EventType][]EventHandler
	onDevice            onDeviceConfig // on-device and hybrid options (ondevice.go)

	// now is the clock; tests in this package replace it.
	now func() time.Time

	// errs collects option errors so that New reports the first one.
	errs []error
}

// Option configures a Client; pass options to New.
type Option func(*config)

func defaultConfig() config {
	return config{
		timeout:             DefaultTimeout,
		secure:              true,
		decisioningMethod:   delivery.DecisioningServerSide,
		logger:              zap.NewNop(),
		maxIdleConnsPerHost: DefaultMaxIdleConnsPerHost,
		telemetryEnabled:    true,
		version:             Version,
		handlers:            map[EventType][]EventHandler{},
		now:                 time.Now,
	}
}

func (c *config) fail(field, value, reason string) {
	c.errs = append(c.errs, &ConfigError{Field: field, Value: value, Reason: reason})
}

// WithClient sets the Target client code (required), e.g. "acmeclient".
func WithClient(clientCode string) Option {
	return func(c *config) { c.clientCode = clientCode }
}

// WithOrganizationID sets the Experience Cloud organization id (required),
// e.g. "65453EA95574003E7F000101@AdobeOrg".
func WithOrganizationID(organizationID string) Option {
	return func(c *config) { c.organizationID = organizationID }
}

// WithTimeout bounds each Delivery API call (default 3s). It must be positive.
func WithTimeout(timeout time.Duration) Option {
	return func(c *config) {
		if timeout <= 0 {
			c.fail("timeout", timeout.String(), "must be positive")
			return
		}
		c.timeout = timeout
	}
}

// WithServerDomain sets the host (and optional port) that calls go to when
// no edge cluster is known, instead of "{client}.tt.omtrdc.net".
func WithServerDomain(domain string) Option {
	return func(c *config) {
		if domain == "" || strings.Contains(domain, "/") || strings.ContainsAny(domain, " \t\r\n?#@") {
			c.fail("serverDomain", domain, "must be a host name with an optional port, without scheme or path")
			return
		}
		c.serverDomain = domain
	}
}

// WithSecure chooses https (true, the default) or http.
func WithSecure(secure bool) Option {
	return func(c *config) { c.secure = secure }
}

// WithTargetLocationHint sets the edge cluster (e.g. "35") calls go to until
// Target answers with another; calls then go to "mboxedge35.tt.omtrdc.net".
func WithTargetLocationHint(cluster string) Option {
	return func(c *config) {
		if !validCluster(cluster) {
			c.fail("targetLocationHint", cluster, "must be a non-empty edge cluster name of letters, digits and '-'")
			return
		}
		c.targetLocationHint = cluster
	}
}

// WithPropertyToken sets the at_property token used when a request carries
// none.
func WithPropertyToken(token string) Option {
	return func(c *config) { c.propertyToken = token }
}

// WithEnvironmentID sets the Target environment id used when a request
// carries none. It must not be negative.
func WithEnvironmentID(id int64) Option {
	return func(c *config) {
		if id < 0 {
			c.fail("environmentId", fmt.Sprint(id), "must not be negative")
			return
		}
		c.environmentID = id
	}
}

// WithDecisioningMethod sets the decisioning method: server-side (the
// default), on-device or hybrid (see the on-device options); any other value
// makes New fail with a *ConfigError.
func WithDecisioningMethod(method delivery.DecisioningMethod) Option {
	return func(c *config) { c.decisioningMethod = method }
}

// WithLogger sets the logger (default zap.NewNop()). A nil logger keeps the
// default.
func WithLogger(logger *zap.Logger) Option {
	return func(c *config) {
		if logger != nil {
			c.logger = logger
		}
	}
}

// WithHTTPClient makes the client send with hc instead of its own shared
// keep-alive transport. The client's timeout still applies per call, through
// the request context.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) {
		if hc == nil {
			c.fail("httpClient", "", "must not be nil")
			return
		}
		c.httpClient = hc
	}
}

// WithTransport makes the client send through rt instead of its own shared
// keep-alive transport.
func WithTransport(rt http.RoundTripper) Option {
	return func(c *config) {
		if rt == nil {
			c.fail("transport", "", "must not be nil")
			return
		}
		c.transport = rt
	}
}

// WithMaxIdleConnsPerHost sizes the keep-alive pool of the client's own
// transport (default DefaultMaxIdleConnsPerHost); set it at least to the
// number of calls you expect in flight. It has no effect with WithHTTPClient
// or WithTransport.
func WithMaxIdleConnsPerHost(n int) Option {
	return func(c *config) {
		if n <= 0 {
			c.fail("maxIdleConnsPerHost", fmt.Sprint(n), "must be positive")
			return
		}
		c.maxIdleConnsPerHost = n
	}
}

// WithTelemetry turns telemetry on (the default) or off. With telemetry on,
// the timings of each call are sent to Adobe with the next call, as the
// official SDKs do.
func WithTelemetry(enabled bool) Option {
	return func(c *config) { c.telemetryEnabled = enabled }
}

// WithVersion sets the version query parameter of delivery calls (the
// at.js version in the official SDKs; default Version).
func WithVersion(version string) Option {
	return func(c *config) {
		if version == "" {
			c.fail("version", "", "must not be empty")
			return
		}
		c.version = version
	}
}

// WithEventHandler subscribes handler to events of type t (for example
// EventClientReady). Several handlers may subscribe to one type.
func WithEventHandler(t EventType, handler EventHandler) Option {
	return func(c *config) {
		if handler == nil {
			c.fail("events."+string(t), "", "handler must not be nil")
			return
		}
		c.handlers[t] = append(c.handlers[t], handler)
	}
}

// validate checks the collected configuration; the first problem wins.
func (c *config) validate() error {
	if len(c.errs) > 0 {
		return c.errs[0]
	}
	if strings.TrimSpace(c.clientCode) == "" {
		return &ConfigError{Field: "client", Reason: "is required (WithClient)"}
	}
	if strings.ContainsAny(c.clientCode, "/:?#@ \t\r\n") {
		return &ConfigError{Field: "client", Value: c.clientCode, Reason: "must be a Target client code, usable in a host name"}
	}
	if strings.TrimSpace(c.organizationID) == "" {
		return &ConfigError{Field: "organizationId", Reason: "is required (WithOrganizationID)"}
	}
	if c.httpClient != nil && c.transport != nil {
		return &ConfigError{Field: "transport", Reason: "WithHTTPClient and WithTransport are exclusive"}
	}
	switch c.decisioningMethod {
	case delivery.DecisioningServerSide, delivery.DecisioningOnDevice, delivery.DecisioningHybrid:
	default:
		return &ConfigError{Field: "decisioningMethod", Value: string(c.decisioningMethod),
			Reason: "must be one of server-side, on-device, hybrid"}
	}
	return nil
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
