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
	shutdownTimeout   time.Duration
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
	case c.shutdownTimeout <= 0:
		return &ConfigError{Field: "shutdownTimeout", Value: c.shutdownTimeout.String(), Reason: "must be positive"}
	case c.middlewareSet && c.middleware == nil:
		return &ConfigError{Field: "middleware", Reason: "must not be nil"}
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

// WithMaxBodyBytes bounds delivery request bodies (default 1 MiB).
func WithMaxBodyBytes(n int64) Option {
	return option(func(c *config) { c.maxBodyBytes = n })
}

// WithNotificationLimit sets how many notifications are kept for GET
// /notifications (default 100000; 0 keeps none, they are still counted).
func WithNotificationLimit(n int) Option {
	return option(func(c *config) { c.notificationLimit = n })
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
