package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/targetflow/targetflow/delivery"
)

// Defaults: the sample's client options and Flask's default address.
const (
	defaultAddr           = "127.0.0.1:5000"
	defaultClient         = "acmeclient"
	defaultOrganizationID = "1234567890@AdobeOrg"
	defaultDecisioning    = delivery.DecisioningOnDevice
	defaultWork           = 50 * time.Millisecond
	// maxWork keeps GET /page, work and Target call included, well inside
	// the server's write timeout.
	maxWork = 20 * time.Second
)

// config is the app's configuration, from the command line.
type config struct {
	// Addr is the host:port to listen on.
	Addr string
	// Decisioning is the client's decisioning method.
	Decisioning delivery.DecisioningMethod
	// Artifact is the on-device artifact: a file path or an http(s) URL.
	// Empty means the bundled demo artifact.
	Artifact string
	// ServerDomain is the Target edge to call. Empty means an embedded local
	// edge, started on loopback.
	ServerDomain string
	// Insecure calls ServerDomain over http instead of https.
	Insecure bool
	// Client is the Target client code.
	Client string
	// OrganizationID is the Experience Cloud organization id.
	OrganizationID string
	// Work is the simulated other server work of GET /page.
	Work time.Duration
	// MaxBodyBytes bounds request bodies.
	MaxBodyBytes int64
	// MaxConnections bounds the inbound connections served at once; 0 is
	// automatic (see connectionLimit).
	MaxConnections int
	// IdleTimeout closes inbound keep-alive connections idle that long.
	IdleTimeout time.Duration
	// OutboundIdleTimeout closes idle connections to the embedded edge.
	OutboundIdleTimeout time.Duration
	// QuietPeriod is how long no request may start after a burst before
	// the burst's memory is returned to the system.
	QuietPeriod time.Duration
}

// defaultConfig is the configuration with no flags: the sample's options,
// offline.
func defaultConfig() config {
	return config{
		Addr:           defaultAddr,
		Decisioning:    defaultDecisioning,
		Client:         defaultClient,
		OrganizationID: defaultOrganizationID,
		Work:           defaultWork,
		MaxBodyBytes:   defaultMaxBodyBytes,

		IdleTimeout:         idleTimeout,
		OutboundIdleTimeout: defaultOutboundIdleTimeout,
		QuietPeriod:         defaultQuietPeriod,
	}
}

// parseFlags reads the command line into a config and checks it. Usage
// and errors go to output.
func parseFlags(args []string, output io.Writer) (config, error) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("flask-port", flag.ContinueOnError)
	fs.SetOutput(output)
	fs.Usage = func() {
		fmt.Fprintf(output, "Usage: flask-port [flags]\n\n"+
			"The Adobe Target Python SDK's Flask sample app, in Go. With no flags it runs\n"+
			"offline: on-device decisioning from the bundled demo artifact and an embedded\n"+
			"local Delivery API edge on loopback.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	decisioning := string(cfg.Decisioning)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "`host:port` to listen on")
	fs.StringVar(&decisioning, "decisioning", decisioning, "decisioning `method`: on-device, server-side or hybrid")
	fs.StringVar(&cfg.Artifact, "artifact", "", "on-device artifact: a file `path` or an http(s) URL (default: the bundled demo artifact)")
	fs.StringVar(&cfg.ServerDomain, "server-domain", "", "Target edge `host[:port]` to call (default: an embedded local edge on loopback)")
	fs.BoolVar(&cfg.Insecure, "insecure", false, "call --server-domain over http instead of https")
	fs.StringVar(&cfg.Client, "client", cfg.Client, "Target client `code`")
	fs.StringVar(&cfg.OrganizationID, "organization-id", cfg.OrganizationID, "Experience Cloud organization `id`")
	fs.DurationVar(&cfg.Work, "work", cfg.Work, "simulated other server `work` of GET /page, run in parallel with its Target call")
	fs.IntVar(&cfg.MaxConnections, "max-connections", 0, fmt.Sprintf("inbound connections served at once, more wait (0: automatic, %d or fewer under a low open-file limit)", defaultMaxConnections))
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q: flask-port takes only flags", fs.Arg(0))
	}
	cfg.Decisioning = delivery.DecisioningMethod(decisioning)
	if err := cfg.validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// validate checks cfg and names the flag at fault.
func (c config) validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("--addr %q: not host:port: %w", c.Addr, err))
	}
	if !c.Decisioning.Valid() {
		errs = append(errs, fmt.Errorf("--decisioning %q: must be on-device, server-side or hybrid", c.Decisioning))
	}
	if c.Client == "" {
		errs = append(errs, errors.New("--client: must not be empty"))
	}
	if c.OrganizationID == "" {
		errs = append(errs, errors.New("--organization-id: must not be empty"))
	}
	if c.Work < 0 || c.Work > maxWork {
		errs = append(errs, fmt.Errorf("--work %s: must be between 0 and %s (the server's write timeout is %s)", c.Work, maxWork, writeTimeout))
	}
	if c.Insecure && c.ServerDomain == "" {
		errs = append(errs, errors.New("--insecure: only means something with --server-domain (the embedded edge is always http on loopback)"))
	}
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, fmt.Errorf("body limit %d: must be positive", c.MaxBodyBytes))
	}
	if c.MaxConnections < 0 {
		errs = append(errs, fmt.Errorf("--max-connections %d: must not be negative (0 is automatic)", c.MaxConnections))
	}
	if c.IdleTimeout <= 0 || c.OutboundIdleTimeout <= 0 || c.QuietPeriod <= 0 {
		errs = append(errs, fmt.Errorf("idle timeouts %s and %s and quiet period %s: must be positive", c.IdleTimeout, c.OutboundIdleTimeout, c.QuietPeriod))
	}
	return errors.Join(errs...)
}
