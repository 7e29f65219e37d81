package ondevice

import (
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// Option configures an Engine; New takes them. Options are sealed: only this
// package makes them.
type Option interface {
	apply(*config)
}

// ArtifactOption is an Option about the artifact (where it comes from, how
// it is kept fresh) and the geo lookup its rules need. It applies to an
// engine whoever makes it, so target.Client takes these too (with
// target.WithOnDevice); the options that say who the engine decides for
// (client code, organization, logger, HTTP client, telemetry, events) are
// the client's own there.
type ArtifactOption interface {
	Option
	artifactOption()
}

// option is an Option that only New takes.
type option func(*config)

func (f option) apply(c *config) { f(c) }

// artifactOption is an Option that target.Client takes too.
type artifactOption func(*config)

func (f artifactOption) apply(c *config) { f(c) }
func (artifactOption) artifactOption()   {}

// config is what an Engine is made with, checked once by validate. It is
// never changed after New.
type config struct {
	client           string
	organizationID   string
	environment      string
	propertyToken    string
	payload          []byte
	payloadSet       bool
	filePath         string
	location         string // the artifact URL; the CDN's when none is given
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
}

func defaultConfig() config {
	return config{
		environment:      DefaultEnvironment,
		attempts:         DefaultDownloadAttempts,
		backoff:          DefaultRetryBackoff,
		clock:            systemClock{},
		logger:           zap.NewNop(),
		geoURL:           GeoLookupURL,
		telemetryEnabled: true,
	}
}

// validate checks the whole configuration once, and fills in what follows
// from it (the HTTP client, the geo lookup, the CDN location).
func (c *config) validate() error {
	switch {
	case c.client == "":
		return &ConfigError{Field: "client", Reason: "is required (WithClient)"}
	case c.payloadSet && len(c.payload) == 0:
		return &ConfigError{Field: "artifactPayload", Reason: "is empty"}
	case c.payloadSet && c.filePath != "":
		return &ConfigError{Field: "artifact", Reason: "give a payload or a file, not both"}
	case (c.payloadSet || c.filePath != "") && c.location != "":
		return &ConfigError{Field: "artifact", Value: c.location, Reason: "give a payload, a file or a URL, not several"}
	case c.attempts < 1:
		return &ConfigError{Field: "retry", Value: fmt.Sprint(c.attempts), Reason: "attempts must be at least 1"}
	case c.backoff < 0:
		return &ConfigError{Field: "retry", Value: c.backoff.String(), Reason: "backoff must not be negative"}
	case c.pollingInterval < 0:
		return &ConfigError{Field: "pollingInterval", Value: c.pollingInterval.String(), Reason: "must not be negative"}
	case c.maxWaitReady < 0:
		return &ConfigError{Field: "maximumWaitReady", Value: c.maxWaitReady.String(), Reason: "must not be negative"}
	case c.clock == nil:
		return &ConfigError{Field: "clock", Reason: "must not be nil"}
	}
	switch c.format {
	case FormatAuto, FormatJSON, FormatBinary:
	default:
		return &ConfigError{Field: "artifactFormat", Value: string(c.format), Reason: "must be json or bin"}
	}
	if c.logger == nil {
		c.logger = zap.NewNop()
	}
	if c.httpClient == nil {
		c.httpClient = http.DefaultClient
	}
	if c.geoLookup == nil {
		c.geoLookup = HTTPGeoLookup(c.httpClient, c.geoURL)
	}
	if c.location == "" {
		c.location = c.cdnLocation()
	}
	return nil
}

// WithClient sets the Target client code (required).
func WithClient(code string) Option { return option(func(c *config) { c.client = code }) }

// WithOrganizationID sets the Experience Cloud organization id; it is the key
// of obfuscated (rules.bin) artifacts.
func WithOrganizationID(id string) Option {
	return option(func(c *config) { c.organizationID = id })
}

// WithPropertyToken makes the CDN location the artifact of one property.
func WithPropertyToken(token string) Option {
	return option(func(c *config) { c.propertyToken = token })
}

// WithHTTPClient sets the client used for artifact downloads and geo
// lookups (default http.DefaultClient).
func WithHTTPClient(hc *http.Client) Option { return option(func(c *config) { c.httpClient = hc }) }

// WithClock injects the clock (default SystemClock).
func WithClock(clock Clock) Option { return option(func(c *config) { c.clock = clock }) }

// WithLogger sets the logger (default zap.NewNop(); nil keeps the default).
func WithLogger(l *zap.Logger) Option { return option(func(c *config) { c.logger = l }) }

// WithEvents sets the event callbacks.
func WithEvents(ev Events) Option { return option(func(c *config) { c.events = ev }) }

// WithTelemetry enables (default) or disables telemetry entries.
func WithTelemetry(enabled bool) Option {
	return option(func(c *config) { c.telemetryEnabled = enabled })
}

// WithDecideAll makes the engine decide every mbox and view it has rules
// for, ignoring the artifact's remote markers: what an edge that answers
// from the artifact needs. Decisions then never report remote mboxes, and
// their response tokens say activity.decisioningMethod "server-side", as
// the edge's answers do.
func WithDecideAll(all bool) Option { return option(func(c *config) { c.decideAll = all }) }

// WithArtifactPayload decides from this artifact (rules.json, or an
// obfuscated rules.bin) instead of downloading one. New reads it before it
// returns (a refused payload is New's error) and there is no polling.
func WithArtifactPayload(data []byte) ArtifactOption {
	return artifactOption(func(c *config) { c.payload, c.payloadSet = data, true })
}

// WithArtifactFile reads the artifact (rules.json or rules.bin) from a file
// once, in the background. There is no polling.
func WithArtifactFile(path string) ArtifactOption {
	return artifactOption(func(c *config) { c.filePath = path })
}

// WithArtifactURL downloads the artifact from url instead of the CDN
// location https://assets.adobetarget.com/{client}/{environment}/rules/v1/rules.json
// (the SDKs' artifactLocation).
func WithArtifactURL(url string) ArtifactOption {
	return artifactOption(func(c *config) { c.location = url })
}

// WithArtifactFormat sets the artifact encoding (default FormatAuto).
func WithArtifactFormat(f ArtifactFormat) ArtifactOption {
	return artifactOption(func(c *config) { c.format = f })
}

// WithEnvironment sets the Target environment of the CDN artifact
// (default "production").
func WithEnvironment(env string) ArtifactOption {
	return artifactOption(func(c *config) {
		if env != "" {
			c.environment = env
		}
	})
}

// WithPollingInterval sets how often a downloaded artifact is refreshed:
// 0 disables polling, other values below MinimumPollingInterval are raised
// to it. The default is DefaultPollingInterval.
func WithPollingInterval(d time.Duration) ArtifactOption {
	return artifactOption(func(c *config) { c.pollingInterval, c.pollingSet = d, true })
}

// WithMaximumWaitReady bounds the loading of the first artifact: when none
// has arrived after d, WaitReady reports it (0, the default, lets the
// download attempts last as long as they do). Polling, when on, keeps
// trying afterwards.
func WithMaximumWaitReady(d time.Duration) ArtifactOption {
	return artifactOption(func(c *config) { c.maxWaitReady = d })
}

// WithRetry sets how many times a download is attempted and the backoff
// before the second attempt (it doubles up to MaxRetryBackoff, with ±50%
// jitter; 0 retries at once).
func WithRetry(attempts int, backoff time.Duration) ArtifactOption {
	return artifactOption(func(c *config) { c.attempts, c.backoff = attempts, backoff })
}

// WithGeoLookup replaces the geo lookup used when a request has only an IP
// address (default: the Target geo service at GeoLookupURL).
func WithGeoLookup(f GeoLookupFunc) ArtifactOption {
	return artifactOption(func(c *config) { c.geoLookup = f })
}

// WithGeoLookupURL points the default geo lookup at another service that
// answers as the Target geo service does (x-geo-* keys in a JSON object).
func WithGeoLookupURL(url string) ArtifactOption {
	return artifactOption(func(c *config) { c.geoURL = url })
}
