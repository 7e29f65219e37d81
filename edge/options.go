package edge

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/targetflow/targetflow/ondevice"
)

// Option configures a Server; pass options to New. Options are sealed:
// only this package makes them.
type Option interface {
	apply(*config)
}

// option is the one Option implementation.
type option func(*config)

func (f option) apply(c *config) { f(c) }

// config is what a Server is made with: what the options gave, checked once
// by validate.
type config struct {
	client            string
	clientSet         bool
	organizationID    string
	environment       string
	cluster           int
	logger            *zap.Logger
	latency           Latency
	faults            Faults
	seed              uint64
	seedSet           bool
	maxBodyBytes      int64
	notificationLimit int
	notificationBytes int64
	shutdownTimeout   time.Duration
	headerTimeout     time.Duration
	bodyTimeout       time.Duration
	writeTimeout      time.Duration
	idleTimeout       time.Duration
	maxConnections    int
	newEngine         engineFactory
	geoLookup         ondevice.GeoLookupFunc
	noClusterRouting  bool
	middleware        func(http.Handler) http.Handler
	middlewareSet     bool
}

// validate checks the whole configuration once; the first problem wins.
func (c *config) validate() error {
	switch {
	case c.clientSet && c.client == "":
		return &ConfigError{Field: "client", Reason: "must not be empty"}
	case c.environment == "":
		return &ConfigError{Field: "environment", Reason: "must not be empty"}
	case c.cluster <= 0:
		return &ConfigError{Field: "cluster", Value: strconv.Itoa(c.cluster), Reason: "must be positive"}
	case c.maxBodyBytes <= 0:
		return &ConfigError{Field: "maxBodyBytes", Value: strconv.FormatInt(c.maxBodyBytes, 10), Reason: "must be positive"}
	case c.notificationLimit < 0:
		return &ConfigError{Field: "notificationLimit", Value: strconv.Itoa(c.notificationLimit), Reason: "must not be negative"}
	case c.notificationBytes <= 0:
		return &ConfigError{Field: "notificationBytes", Value: strconv.FormatInt(c.notificationBytes, 10), Reason: "must be positive"}
	case c.shutdownTimeout <= 0:
		return &ConfigError{Field: "shutdownTimeout", Value: c.shutdownTimeout.String(), Reason: "must be positive"}
	case c.middlewareSet && c.middleware == nil:
		return &ConfigError{Field: "middleware", Reason: "must not be nil"}
	case c.maxConnections < 0:
		return &ConfigError{Field: "maxConnections", Value: strconv.Itoa(c.maxConnections), Reason: "must not be negative (0 is automatic)"}
	}
	for _, t := range []struct {
		field string
		d     time.Duration
	}{
		{"headerTimeout", c.headerTimeout}, {"bodyTimeout", c.bodyTimeout},
		{"writeTimeout", c.writeTimeout}, {"idleTimeout", c.idleTimeout},
	} {
		if t.d <= 0 {
			return &ConfigError{Field: t.field, Value: t.d.String(), Reason: "must be positive"}
		}
	}
	if err := c.latency.validate(); err != nil {
		return &ConfigError{Field: "latency", Reason: strings.TrimPrefix(err.Error(), "edge: ")}
	}
	if err := c.faults.validate(); err != nil {
		return &ConfigError{Field: "faults", Reason: strings.TrimPrefix(err.Error(), "edge: ")}
	}
	if c.logger == nil {
		c.logger = zap.NewNop()
	}
	return nil
}

// ConfigError is the error of a bad option: ondevice.ConfigError, the one
// configuration error of the module.
type ConfigError = ondevice.ConfigError

// Defaults.
const (
	// DefaultCluster is the edge cluster number put in minted tntIds and in
	// edgeHost (mboxedge28.tt.omtrdc.net).
	DefaultCluster = 28
	// DefaultMaxBodyBytes bounds the body of a delivery request; larger ones
	// are answered 413.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultNotificationLimit is how many notifications the edge keeps for
	// GET /notifications; older ones are forgotten first.
	DefaultNotificationLimit = 100_000
	// DefaultNotificationBytes bounds the memory of the kept notifications
	// (their strings plus a fixed cost per record); older ones are
	// forgotten first.
	DefaultNotificationBytes = 64 << 20
	// DefaultHeaderTimeout is how long a connection of Start's server may
	// take to send a request's headers; a slower one is closed without an
	// answer.
	DefaultHeaderTimeout = 10 * time.Second
	// DefaultBodyTimeout is how long a request may take to send its body
	// once its headers are in; a slower one is answered 408 and closed.
	DefaultBodyTimeout = 15 * time.Second
	// DefaultWriteTimeout is how long the edge may take to answer a request
	// once its headers are in (reading the body, deciding, writing the
	// answer to a slow reader). Latency, jitter and stalls injected on
	// purpose, and a control function's Delay, extend it for their request:
	// a deliberately slow answer is still answered.
	DefaultWriteTimeout = 30 * time.Second
	// DefaultIdleTimeout is how long a keep-alive connection may wait for
	// its next request. It is longer than the 90 s after which Go clients
	// (targetflow's included) close idle connections themselves, so that a
	// client never picks a connection the edge is closing.
	DefaultIdleTimeout = 120 * time.Second
	// DefaultMaxConnections bounds the connections Start's server serves at
	// once; with a lower limit of open files (RLIMIT_NOFILE), the automatic
	// limit is lower still (see WithMaxConnections).
	DefaultMaxConnections = 4096
	// ReservedConnections is how many connections beyond the limit are
	// accepted anyway, for at most ReservedConnectionLifetime each: on them
	// GET /healthz and /metrics are answered, anything else 503 with
	// Retry-After. Beyond those, connections are closed as soon as they
	// are accepted.
	ReservedConnections = 32
	// ReservedConnectionLifetime bounds a connection accepted beyond the
	// limit: its request, answer included, within it.
	ReservedConnectionLifetime = 2 * time.Second
	// DefaultShutdownTimeout is how long Start's server waits for in-flight
	// requests after its context ends before closing their connections.
	DefaultShutdownTimeout = 10 * time.Second
	// DefaultEnvironment is the environment whose artifact paths are served.
	DefaultEnvironment = "production"
)

// WithClient sets the client code the edge answers for (responses' "client"
// and the rules paths); by default the artifact's meta.clientCode.
func WithClient(code string) Option {
	return option(func(c *config) { c.client, c.clientSet = code, true })
}

// WithOrganizationID sets the organization id rules.bin is obfuscated for
// (and an obfuscated artifact is read with). Without it rules.bin is not
// served, except for the demo artifact, which has its own.
func WithOrganizationID(id string) Option {
	return option(func(c *config) { c.organizationID = id })
}

// WithEnvironment sets the environment of the rules paths (default "production").
func WithEnvironment(env string) Option {
	return option(func(c *config) { c.environment = env })
}

// WithCluster sets the edge cluster number of minted tntIds and of edgeHost.
func WithCluster(n int) Option {
	return option(func(c *config) { c.cluster = n })
}

// WithLogger sets the logger (default zap.NewNop(); nil keeps the default).
func WithLogger(l *zap.Logger) Option {
	return option(func(c *config) { c.logger = l })
}

// WithLatency sets the delay model of the delivery endpoint.
func WithLatency(l Latency) Option {
	return option(func(c *config) { c.latency = l })
}

// WithFaults sets the fault fractions of the delivery endpoint.
func WithFaults(f Faults) Option {
	return option(func(c *config) { c.faults = f })
}

// WithSeed seeds latency and fault draws; without it a random seed is used
// (Server.Seed tells which).
func WithSeed(seed uint64) Option {
	return option(func(c *config) { c.seed, c.seedSet = seed, true })
}

// WithMaxBodyBytes bounds delivery request bodies (default 1 MiB): a body
// of exactly n bytes is decided, a larger one answered 413 (at once, unread,
// when its Content-Length announces it), with a Content-Length or chunked.
func WithMaxBodyBytes(n int64) Option {
	return option(func(c *config) { c.maxBodyBytes = n })
}

// WithNotificationLimit sets how many notifications are kept for GET
// /notifications (default 100000; 0 keeps none, they are still counted in
// targetflow_edge_notifications_recorded_total). The oldest are forgotten
// first, counted in targetflow_edge_notifications_dropped_total{reason="count"}.
func WithNotificationLimit(n int) Option {
	return option(func(c *config) { c.notificationLimit = n })
}

// WithNotificationBytes bounds the memory the notifications kept for GET
// /notifications take (default 64 MiB): the strings of each record plus a
// fixed cost per record. The oldest are forgotten first, and a record larger
// than the whole budget is not kept; both are counted in /metrics
// (targetflow_edge_notifications_dropped_total{reason="bytes"}).
func WithNotificationBytes(n int64) Option {
	return option(func(c *config) { c.notificationBytes = n })
}

// WithHeaderTimeout sets how long a connection of Start's server may take
// to send a request's headers (default 10s); a slower one is closed.
func WithHeaderTimeout(d time.Duration) Option {
	return option(func(c *config) { c.headerTimeout = d })
}

// WithBodyTimeout sets how long a request to Start's server may take to
// send its body once its headers are in (default 15s); a slower one is
// answered 408 Request Timeout and its connection closed.
func WithBodyTimeout(d time.Duration) Option {
	return option(func(c *config) { c.bodyTimeout = d })
}

// WithWriteTimeout sets how long Start's server may take to answer a
// request once its headers are in, body read and answer written included
// (default 30s); a client that does not read its answer in time loses its
// connection. Injected latency and stalls, and a control function's Delay,
// are added to it for their request.
func WithWriteTimeout(d time.Duration) Option {
	return option(func(c *config) { c.writeTimeout = d })
}

// WithIdleTimeout sets how long a keep-alive connection of Start's server
// may wait for its next request (default 120s).
func WithIdleTimeout(d time.Duration) Option {
	return option(func(c *config) { c.idleTimeout = d })
}

// WithMaxConnections bounds the connections Start's server serves at once.
// 0, the default, is automatic: DefaultMaxConnections, or three quarters of
// the process's limit of open files (RLIMIT_NOFILE) less
// ReservedConnections when that is lower, so that the edge never runs out
// of file descriptors. Up to ReservedConnections more are accepted beyond
// the limit for ReservedConnectionLifetime each, and answer /healthz and
// /metrics (anything else: 503 with Retry-After), so that a health check
// is answered even while slow clients hold every connection; connections
// beyond those are closed at once. Counted in /metrics
// (targetflow_edge_connections, targetflow_edge_connections_refused_total).
func WithMaxConnections(n int) Option {
	return option(func(c *config) { c.maxConnections = n })
}

// WithShutdownTimeout sets how long a server started by Start waits for
// in-flight requests once its context ends (default 10s).
func WithShutdownTimeout(d time.Duration) Option {
	return option(func(c *config) { c.shutdownTimeout = d })
}

// WithGeoLookup resolves the location of requests that carry only an IP
// address (when the artifact targets by geo). By default the edge runs
// offline and decides such requests without a location.
func WithGeoLookup(lookup ondevice.GeoLookupFunc) Option {
	return option(func(c *config) { c.geoLookup = lookup })
}

// WithClusterRouting sets whether answers carry the edge cluster, as the
// real edge's do (the default): minted tntIds end with ".<cluster>_0" and
// edgeHost is "mboxedge<cluster>.tt.omtrdc.net". SDK clients then send the
// visitor's later calls to that host rather than to their server domain.
// With false, minted tntIds have no location hint and edgeHost is left out,
// so a client configured with this edge's address as its server domain keeps
// calling it (the alternative is RoutingTransport).
func WithClusterRouting(enabled bool) Option {
	return option(func(c *config) { c.noClusterRouting = !enabled })
}

// WithMiddleware wraps the handler that Start serves with wrap (tracing,
// access logs): Start serves wrap(server). The server's own ServeHTTP is
// not wrapped, so a caller serving it elsewhere wraps it there.
func WithMiddleware(wrap func(http.Handler) http.Handler) Option {
	return option(func(c *config) { c.middleware, c.middlewareSet = wrap, true })
}
