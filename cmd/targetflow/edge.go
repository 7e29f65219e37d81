package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
)

// edgeFlags are the flags of "targetflow edge".
type edgeFlags struct {
	addr           string
	artifact       string
	client         string
	organizationID string
	environment    string
	cluster        int
	clusterRouting bool
	latency        time.Duration
	jitter         time.Duration
	jitterDist     string
	errorRate      float64
	throttleRate   float64
	resetRate      float64
	stallRate      float64
	stall          time.Duration
	retryAfter     time.Duration
	seed           uint64
	maxBody        int64
	notifications  int
	logLevel       string
	otlpEndpoint   string
}

func parseEdgeFlags(args []string, stderr io.Writer) (*edgeFlags, error) {
	f := &edgeFlags{}
	fs := flag.NewFlagSet("targetflow edge", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: targetflow edge [flags]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Serves a local Adobe Target Delivery API edge that answers from a rules artifact")
		fmt.Fprintln(stderr, "(the bundled demo artifact without --artifact, or with --artifact demo). SIGHUP reloads the artifact;")
		fmt.Fprintln(stderr, "SIGINT/SIGTERM shut down once in-flight requests finish.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "`host:port` to listen on (port 0 picks a free one)")
	fs.StringVar(&f.artifact, "artifact", "", "rules.json or rules.bin, as a file `PATH or URL` (default: the bundled demo artifact)")
	fs.StringVar(&f.client, "client", "", "Target client `code` (default: the artifact's meta.clientCode)")
	fs.StringVar(&f.organizationID, "organization-id", "", "organization `id` rules.bin is obfuscated for (default with the demo artifact: "+demo.OrganizationID+")")
	fs.StringVar(&f.environment, "environment", edge.DefaultEnvironment, "environment of the rules paths")
	fs.IntVar(&f.cluster, "cluster", edge.DefaultCluster, "edge cluster `number` of minted tntIds and edgeHost")
	fs.BoolVar(&f.clusterRouting, "cluster-routing", true, "answer with the cluster (tntId suffix, edgeHost) as the real edge does; false keeps SDK clients on --server-domain")
	fs.DurationVar(&f.latency, "latency", 0, "fixed latency added to every delivery answer")
	fs.DurationVar(&f.jitter, "jitter", 0, "random latency scale: uniform in [0, jitter], or log-normal with median jitter")
	fs.StringVar(&f.jitterDist, "jitter-dist", string(edge.JitterUniform), "jitter distribution: uniform or lognormal")
	fs.Float64Var(&f.errorRate, "error-rate", 0, "`fraction` of delivery requests answered 503 with Retry-After")
	fs.Float64Var(&f.throttleRate, "throttle-rate", 0, "`fraction` of delivery requests answered 429 with Retry-After")
	fs.Float64Var(&f.resetRate, "reset-rate", 0, "`fraction` of delivery requests whose connection is dropped without an answer")
	fs.Float64Var(&f.stallRate, "stall-rate", 0, "`fraction` of delivery requests held for --stall before being answered")
	fs.DurationVar(&f.stall, "stall", 3*time.Second, "how long a stalled request is held")
	fs.DurationVar(&f.retryAfter, "retry-after", time.Second, "Retry-After of 503 and 429 answers")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the latency and fault draws")
	fs.Int64Var(&f.maxBody, "max-body", edge.DefaultMaxBodyBytes, "largest delivery request body in `bytes` (larger: 413)")
	fs.IntVar(&f.notifications, "notification-limit", edge.DefaultNotificationLimit, "notifications kept for GET /notifications (the oldest are forgotten first)")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&f.otlpEndpoint, "otlp-endpoint", "", otlpEndpointUsage)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return f, nil
}

// options turns the flags into edge options; artifact is the loaded
// --artifact (nil for the demo).
func (f *edgeFlags) options(artifact []byte, logger *zap.Logger) ([]edge.Option, error) {
	dist, err := edge.ParseJitterDistribution(f.jitterDist)
	if err != nil {
		return nil, fmt.Errorf("--jitter-dist: %w", err)
	}
	opts := []edge.Option{
		edge.WithLogger(logger),
		edge.WithEnvironment(f.environment),
		edge.WithCluster(f.cluster),
		edge.WithClusterRouting(f.clusterRouting),
		edge.WithMaxBodyBytes(f.maxBody),
		edge.WithNotificationLimit(f.notifications),
		edge.WithSeed(f.seed),
		edge.WithLatency(edge.Latency{Fixed: f.latency, Jitter: f.jitter, Distribution: dist}),
		edge.WithFaults(edge.Faults{
			ErrorRate: f.errorRate, ThrottleRate: f.throttleRate, ResetRate: f.resetRate,
			StallRate: f.stallRate, Stall: f.stall, RetryAfter: f.retryAfter,
		}),
	}
	if f.client != "" {
		opts = append(opts, edge.WithClient(f.client))
	}
	if f.organizationID != "" {
		opts = append(opts, edge.WithOrganizationID(f.organizationID))
	} else if artifact == nil {
		opts = append(opts, edge.WithOrganizationID(demo.OrganizationID))
	}
	return opts, nil
}

func newCLILogger(w io.Writer, level string, terminal bool) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	cfg := zap.NewProductionEncoderConfig()
	cfg.EncodeTime = zapcore.ISO8601TimeEncoder
	encoder := zapcore.NewJSONEncoder(cfg)
	if terminal {
		cfg.EncodeLevel = zapcore.CapitalColorLevelEncoder
		encoder = zapcore.NewConsoleEncoder(cfg)
	}
	return zap.New(zapcore.NewCore(encoder, zapcore.Lock(zapcore.AddSync(w)), lvl)), nil
}

// edgeCommand serves a local Delivery API edge until ctx ends; SIGHUP
// reloads the artifact.
func edgeCommand(ctx context.Context, args []string, std stdio) int {
	reload := make(chan os.Signal, 1)
	signal.Notify(reload, syscall.SIGHUP)
	defer signal.Stop(reload)
	return serveEdge(ctx, args, std, reload)
}

// serveEdge is edgeCommand with the reload signal as a channel, for tests.
func serveEdge(ctx context.Context, args []string, std stdio, reload <-chan os.Signal) int {
	f, err := parseEdgeFlags(args, std.Err)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(std.Err, "targetflow edge: %v\n", err)
		return exitUsage
	}
	logger, err := newCLILogger(std.Err, f.logLevel, std.ErrIsTerminal)
	if err != nil {
		fmt.Fprintf(std.Err, "targetflow edge: %v\n", err)
		return exitUsage
	}
	defer func() { _ = logger.Sync() }()

	if f.artifact == demoArtifact {
		f.artifact = ""
	}
	var artifact []byte
	if f.artifact != "" {
		loadCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		artifact, err = edge.LoadArtifact(loadCtx, nil, f.artifact)
		cancel()
		if err != nil {
			fmt.Fprintf(std.Err, "targetflow edge: --artifact: %v\n", err)
			return exitUsage
		}
	}
	opts, err := f.options(artifact, logger)
	if err != nil {
		fmt.Fprintf(std.Err, "targetflow edge: %v\n", err)
		return exitUsage
	}
	if artifact == nil {
		artifact = demo.Artifact()
	}
	tel, err := startTelemetry(ctx, f.otlpEndpoint, "targetflow-edge", sampleCalls)
	if err != nil {
		fmt.Fprintf(std.Err, "targetflow edge: %v\n", err)
		return exitUsage
	}
	defer func() {
		if err := tel.shutdown(ctx); err != nil {
			logger.Warn("exporting the last spans and metrics failed", zap.Error(err))
		}
	}()
	if tel.enabled {
		opts = append(opts, edge.WithMiddleware(tel.edgeMiddleware))
	}
	server, err := edge.New(artifact, opts...)
	if err != nil {
		fmt.Fprintf(std.Err, "targetflow edge: %v\n", err)
		return exitUsage
	}
	serveCtx, stop := context.WithCancel(ctx)
	defer stop()
	addr, err := server.Start(serveCtx, f.addr)
	if err != nil {
		fmt.Fprintf(std.Err, "targetflow edge: %v\n", err)
		return exitFailed
	}
	printEdgeBanner(std.Out, server, addr, f)

	// Wait returns when the server has stopped: after stop, or on its own
	// when serving fails.
	stopped := make(chan error, 1)
	go func() { stopped <- server.Wait() }()
	for {
		select {
		case <-ctx.Done():
			stop()
			if err := <-stopped; err != nil {
				logger.Error("edge stopped with an error", zap.Error(err))
				return exitFailed
			}
			logger.Info("edge stopped")
			return exitOK
		case err := <-stopped:
			fmt.Fprintf(std.Err, "targetflow edge: stopped serving: %v\n", err)
			return exitFailed
		case <-reload:
			reloadArtifact(ctx, server, f.artifact, logger)
		}
	}
}

// reloadArtifact reads --artifact again and installs it; a refused or
// unreadable one is logged and the current one keeps serving.
func reloadArtifact(ctx context.Context, server *edge.Server, source string, logger *zap.Logger) {
	if source == "" {
		logger.Info("SIGHUP: serving the bundled demo artifact, nothing to reload")
		return
	}
	loadCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	data, err := edge.LoadArtifact(loadCtx, nil, source)
	if err != nil {
		logger.Error("SIGHUP: artifact not reloaded, the current one keeps serving", zap.Error(err))
		return
	}
	before := server.ArtifactETag()
	if err := server.SetArtifact(data); err != nil {
		logger.Error("SIGHUP: artifact refused, the current one keeps serving", zap.Error(err))
		return
	}
	logger.Info("SIGHUP: artifact reloaded", zap.String("source", source),
		zap.String("oldETag", before), zap.String("etag", server.ArtifactETag()))
}

func printEdgeBanner(w io.Writer, server *edge.Server, addr string, f *edgeFlags) {
	base := "http://" + addr
	rules := fmt.Sprintf("%s/%s/%s/rules/v1/rules.json", base, server.Client(), f.environment)
	var b strings.Builder
	fmt.Fprintf(&b, "targetflow edge: serving client %q on %s\n", server.Client(), base)
	fmt.Fprintf(&b, "  delivery:      POST %s/rest/v1/delivery\n", base)
	// rules.bin is served for an organization id: the demo's own, or --organization-id.
	if f.artifact == "" || f.organizationID != "" {
		fmt.Fprintf(&b, "  artifact:      %s (and rules.bin)\n", rules)
	} else {
		fmt.Fprintf(&b, "  artifact:      %s (rules.bin needs --organization-id)\n", rules)
	}
	fmt.Fprintf(&b, "  metrics:       %s/metrics   notifications: %s/notifications\n", base, base)
	fmt.Fprintf(&b, "  clients:       --server-domain %s (plain HTTP)\n", addr)
	if f.clusterRouting {
		fmt.Fprintf(&b, "                 answers name cluster %d (mboxedge%d.tt.omtrdc.net): route that host here too\n"+
			"                 (edge.RoutingTransport), or restart with --cluster-routing=false\n", f.cluster, f.cluster)
	}
	if f.latency > 0 || f.jitter > 0 || f.errorRate > 0 || f.throttleRate > 0 || f.resetRate > 0 || f.stallRate > 0 {
		fmt.Fprintf(&b, "  faults:        latency %v, jitter %v %s, 503 %.3g, 429 %.3g, reset %.3g, stall %.3g×%v, seed %d\n",
			f.latency, f.jitter, f.jitterDist, f.errorRate, f.throttleRate, f.resetRate, f.stallRate, f.stall, f.seed)
	}
	_, _ = io.WriteString(w, b.String())
}
