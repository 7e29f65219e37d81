package edge

import (
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/targetflow/targetflow/ondevice"
)

// Option configures a Server.
type Option func(*config) error

type config struct {
	artifact          []byte
	artifactSource    string
	artifactPath      string
	artifactURL       string
	httpClient        *http.Client
	loadTimeout       time.Duration
	client            string
	organizationID    string
	organizationSet   bool
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
}

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

// WithArtifact serves payload, a rules.json or a rules.bin (obfuscated, read
// with the organization id). Without any artifact option the edge serves the
// bundled demo artifact (internal/demo), for the demo's client and
// organization id unless those are set.
func WithArtifact(payload []byte) Option {
	return func(c *config) error {
		c.artifact, c.artifactSource = append([]byte(nil), payload...), "payload"
		c.artifactPath, c.artifactURL = "", ""
		return nil
	}
}

// WithArtifactFile serves the artifact read from path when New runs.
func WithArtifactFile(path string) Option {
	return func(c *config) error {
		if path == "" {
			return fmt.Errorf("edge: artifact file path is empty")
		}
		c.artifact, c.artifactPath, c.artifactURL = nil, path, ""
		return nil
	}
}

// WithArtifactURL serves the artifact fetched from url when New runs, with
// the client of WithArtifactHTTPClient and the timeout of
// WithArtifactLoadTimeout.
func WithArtifactURL(url string) Option {
	return func(c *config) error {
		if url == "" {
			return fmt.Errorf("edge: artifact URL is empty")
		}
		c.artifact, c.artifactPath, c.artifactURL = nil, "", url
		return nil
	}
}

// WithArtifactHTTPClient sets the HTTP client WithArtifactURL fetches the
// artifact with (default http.DefaultClient).
func WithArtifactHTTPClient(client *http.Client) Option {
	return func(c *config) error { c.httpClient = client; return nil }
}

// WithArtifactLoadTimeout bounds the fetch of WithArtifactURL (default 30s).
func WithArtifactLoadTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("edge: artifact load timeout %v must be positive", d)
		}
		c.loadTimeout = d
		return nil
	}
}

// WithClient sets the client code the edge answers for (responses' "client"
// and the rules paths); by default the artifact's meta.clientCode.
func WithClient(code string) Option {
	return func(c *config) error {
		if code == "" {
			return fmt.Errorf("edge: client code is empty")
		}
		c.client = code
		return nil
	}
}

// WithOrganizationID sets the organization id rules.bin is obfuscated for
// (and an obfuscated artifact is read with). Without it rules.bin is not
// served, except for the demo artifact, which has its own.
func WithOrganizationID(id string) Option {
	return func(c *config) error { c.organizationID, c.organizationSet = id, true; return nil }
}

// WithEnvironment sets the environment of the rules paths (default "production").
func WithEnvironment(env string) Option {
	return func(c *config) error {
		if env == "" {
			return fmt.Errorf("edge: environment is empty")
		}
		c.environment = env
		return nil
	}
}

// WithCluster sets the edge cluster number of minted tntIds and of edgeHost.
func WithCluster(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("edge: cluster %d must be positive", n)
		}
		c.cluster = n
		return nil
	}
}

// WithLogger sets the logger (default zap.NewNop()).
func WithLogger(l *zap.Logger) Option {
	return func(c *config) error {
		if l == nil {
			l = zap.NewNop()
		}
		c.logger = l
		return nil
	}
}

// WithLatency sets the delay model of the delivery endpoint.
func WithLatency(l Latency) Option {
	return func(c *config) error {
		if err := l.validate(); err != nil {
			return err
		}
		c.latency = l
		return nil
	}
}

// WithFaults sets the fault fractions of the delivery endpoint.
func WithFaults(f Faults) Option {
	return func(c *config) error {
		if err := f.validate(); err != nil {
			return err
		}
		c.faults = f
		return nil
	}
}

// WithSeed seeds latency and fault draws; without it a random seed is used
// (Server.Seed tells which).
func WithSeed(seed uint64) Option {
	return func(c *config) error { c.seed, c.seedSet = seed, true; return nil }
}

// WithMaxBodyBytes bounds delivery request bodies (default 1 MiB).
func WithMaxBodyBytes(n int64) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("edge: max body bytes %d must be positive", n)
		}
		c.maxBodyBytes = n
		return nil
	}
}

// WithNotificationLimit sets how many notifications are kept for GET
// /notifications (default 100000; 0 keeps none, they are still counted).
func WithNotificationLimit(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("edge: notification limit %d is negative", n)
		}
		c.notificationLimit = n
		return nil
	}
}

// WithShutdownTimeout sets how long a server started by Start waits for
// in-flight requests once its context ends (default 10s).
func WithShutdownTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("edge: shutdown timeout %v must be positive", d)
		}
		c.shutdownTimeout = d
		return nil
	}
}

// WithGeoLookup resolves the location of requests that carry only an IP
// address (when the artifact targets by geo). By default the edge runs
// offline and decides such requests without a location.
func WithGeoLookup(lookup ondevice.GeoLookupFunc) Option {
	return func(c *config) error { c.geoLookup = lookup; return nil }
}

// WithClusterRouting sets whether answers carry the edge cluster, as the
// real edge's do (the default): minted tntIds end with ".<cluster>_0" and
// edgeHost is "mboxedge<cluster>.tt.omtrdc.net". SDK clients then send the
// visitor's later calls to that host rather than to their server domain.
// With false, minted tntIds have no location hint and edgeHost is left out,
// so a client configured with this edge's address as its server domain keeps
// calling it (the alternative is RoutingTransport).
func WithClusterRouting(enabled bool) Option {
	return func(c *config) error { c.noClusterRouting = !enabled; return nil }
}
