package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/schollz/progressbar/v3"
	"github.com/sourcegraph/conc"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/kafka"
	"github.com/targetflow/targetflow/ondevice"
	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/sink"
	"github.com/targetflow/targetflow/source"
	"github.com/targetflow/targetflow/stages"
	"github.com/targetflow/targetflow/target"
	"github.com/targetflow/targetflow/visitor"
)

// runFlags are the flags of "targetflow run".
type runFlags struct {
	input, format, output, deadLetter string
	// kafkaEndpoints are the Kafka URLs among --input, --output and
	// --dead-letter, by flag name, parsed once (validateKafka).
	kafkaEndpoints             map[string]*kafka.Endpoint
	execute, prefetch, views   commaList
	pageLoad, notify           bool
	decisioning                string
	client, organizationID     string
	serverDomain               string
	insecure                   bool
	artifact                   string
	concurrency                int
	timeout                    time.Duration
	retries                    int
	rate                       float64
	ordered, progress          bool
	telemetry                  bool
	metricsAddr                string
	skip                       int64
	checkpoint                 string
	verbose                    bool
	exactlyOnce, untilCaughtUp bool
	otlpEndpoint               string
	cpuProfile                 string
	// args are the command's arguments, for the resume instructions.
	args []string
}

// commaList is a comma-separated flag value.
type commaList []string

func (l *commaList) String() string { return strings.Join(*l, ",") }

func (l *commaList) Set(s string) error {
	*l = nil
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}

const runUsage = `usage: targetflow run [flags]

Delivers Adobe Target decisions for a stream of visitor records (JSON lines
or CSV) and writes one JSON line per record. With no flags it runs the demo:
the bundled sample visitors against an embedded local edge.

Without --server-domain the run goes to an edge started in-process on
loopback, serving the demo artifact (or --artifact).

Kafka: --input 'kafka://host1:9092,host2:9092/TOPIC?group=NAME' makes this
process one worker of the group; --output and --dead-letter take
'kafka://host:9092/TOPIC'. TLS and SASL settings come from URL parameters
(tls, ca, cert, key, sasl, user, password-env) and TARGETFLOW_KAFKA_*
environment variables; passwords only from the environment. A worker runs
until SIGINT/SIGTERM, then drains, commits and exits 0 (--until-caught-up:
until the group has caught up with the topic as it was at the start).
`

func parseRunFlags(args []string, stderr io.Writer) (runFlags, error) {
	var f runFlags
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, runUsage, "\nflags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&f.input, "input", "", "visitor records: a file, or - for standard input (default: the bundled demo visitors)")
	fs.StringVar(&f.format, "format", "", "input format: jsonl or csv (default: from the file name, else jsonl)")
	fs.StringVar(&f.output, "output", "", "results file, or - for standard output (default: standard output unless it is a terminal)")
	fs.StringVar(&f.deadLetter, "dead-letter", "", "file for input records that cannot be decoded (default: they go to the output as failures)")
	fs.Var(&f.execute, "execute", "mboxes to execute for records that name none (comma-separated)")
	fs.Var(&f.prefetch, "prefetch", "mboxes to prefetch for records that name none (comma-separated)")
	fs.Var(&f.views, "views", "views to prefetch for records that name none (comma-separated)")
	fs.BoolVar(&f.pageLoad, "page-load", false, "ask for the page-load decision for records that do not say")
	fs.BoolVar(&f.notify, "notify", false, "send display notifications (prefetched content; executed mboxes decided on-device) for records that do not say")
	fs.StringVar(&f.decisioning, "decisioning", string(delivery.DecisioningServerSide), "decisioning method: server-side, on-device or hybrid")
	fs.StringVar(&f.client, "client", "", "Target client code (default with the embedded edge: the demo's)")
	fs.StringVar(&f.organizationID, "organization-id", "", "Experience Cloud organization id (default with the embedded edge: the demo's)")
	fs.StringVar(&f.serverDomain, "server-domain", "", "Delivery API host[:port] (default: an embedded local edge)")
	fs.BoolVar(&f.insecure, "insecure", false, "plain HTTP, and every call to --server-domain whatever edge cluster Target names (a local edge)")
	fs.StringVar(&f.artifact, "artifact", "", "rules artifact file or URL for the embedded edge and on-device decisions, or demo (default: the demo artifact)")
	fs.IntVar(&f.concurrency, "concurrency", 64, "calls in flight at most")
	fs.DurationVar(&f.timeout, "timeout", 3*time.Second, "per-call timeout; also how long in-flight calls may finish after an interrupt")
	fs.IntVar(&f.retries, "retries", 3, "retries of a call that failed with a retryable error")
	fs.Float64Var(&f.rate, "rate", 0, "at most this many calls per second (0: no limit)")
	fs.BoolVar(&f.ordered, "ordered", false, "write results in input order")
	fs.BoolVar(&f.telemetry, "telemetry", true, "send the SDK's call timings to Target with later calls, as the official SDKs do")
	fs.BoolVar(&f.progress, "progress", false, "show a progress bar even when standard error is not a terminal")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus metrics on this address (e.g. 127.0.0.1:9090) during the run")
	fs.Int64Var(&f.skip, "skip", 0, "skip the first N records and append to --output (resume an interrupted run without --checkpoint)")
	fs.StringVar(&f.checkpoint, "checkpoint", "", "crash-safe run: record progress in this file, and resume from it when it exists")
	fs.BoolVar(&f.verbose, "verbose", false, "log to standard error")
	fs.BoolVar(&f.exactlyOnce, "exactly-once", false, "Kafka to Kafka: commit results and consumed offsets in one transaction (read the output read_committed)")
	fs.BoolVar(&f.untilCaughtUp, "until-caught-up", false, "Kafka input: exit 0 once the group has processed and committed everything the topic held when this worker started")
	fs.StringVar(&f.otlpEndpoint, "otlp-endpoint", "", otlpEndpointUsage)
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof; for performance work)")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	f.args = args
	return f, f.validate()
}

func (f *runFlags) validate() error {
	switch f.format {
	case "":
		f.format = "jsonl"
		if strings.EqualFold(filepath.Ext(f.input), ".csv") {
			f.format = "csv"
		}
	case "jsonl", "csv":
	default:
		return fmt.Errorf("--format %q: want jsonl or csv", f.format)
	}
	if m := delivery.DecisioningMethod(f.decisioning); !m.Valid() {
		return fmt.Errorf("--decisioning %q: want server-side, on-device or hybrid", f.decisioning)
	}
	switch {
	case f.concurrency < 1:
		return fmt.Errorf("--concurrency %d: want at least 1", f.concurrency)
	case f.timeout <= 0:
		return fmt.Errorf("--timeout %s: want a positive duration", f.timeout)
	case f.retries < 0:
		return fmt.Errorf("--retries %d: want 0 or more", f.retries)
	case f.skip < 0:
		return fmt.Errorf("--skip %d: want 0 or more", f.skip)
	case f.rate < 0:
		return fmt.Errorf("--rate %g: want 0 or more", f.rate)
	case f.serverDomain != "" && (f.client == "" || f.organizationID == ""):
		return errors.New("--server-domain needs --client and --organization-id")
	case f.serverDomain != "" && f.artifact != "" && f.decisioning == string(delivery.DecisioningServerSide):
		return errors.New("--artifact is for the embedded edge or on-device decisioning, not for server-side calls to --server-domain")
	}
	if err := f.validateKafka(); err != nil {
		return err
	}
	switch {
	case f.checkpoint != "" && (f.input == "" || f.input == "-"):
		return errors.New("--checkpoint needs --input FILE: a checkpointed input is read again on resume")
	case f.checkpoint != "" && (f.output == "" || f.output == "-"):
		return errors.New("--checkpoint needs --output FILE: the checkpoint records the output's length")
	case f.checkpoint != "" && f.skip > 0:
		return errors.New("--checkpoint and --skip: the checkpoint says where to resume; drop --skip")
	}
	files := map[string]string{}
	for name, path := range map[string]string{"--input": f.input, "--output": f.output, "--dead-letter": f.deadLetter, "--checkpoint": f.checkpoint} {
		if !kafka.IsURL(path) {
			files[name] = path
		}
	}
	return refuseSameFiles(files)
}

// refuseSameFiles refuses two flags naming the same file (a path, or another
// name of the same file): writing one would destroy the other.
func refuseSameFiles(paths map[string]string) error {
	names := make([]string, 0, len(paths))
	for name, path := range paths {
		if path != "" && path != "-" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for i, a := range names {
		for _, b := range names[i+1:] {
			if sameFile(paths[a], paths[b]) {
				return fmt.Errorf("%s and %s are the same file %q: it would be overwritten", a, b, paths[b])
			}
		}
	}
	return nil
}

func sameFile(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	ia, errA := os.Stat(a)
	ib, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(ia, ib)
}

// runCommand is "targetflow run".
func runCommand(ctx context.Context, args []string, std stdio) int {
	f, err := parseRunFlags(args, std.Err)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(std.Err, "targetflow run:", err)
		return exitUsage
	}
	tuneGC()
	stopProfile, err := startCPUProfile(f.cpuProfile)
	if err != nil {
		fmt.Fprintln(std.Err, "targetflow run:", err)
		return exitUsage
	}
	defer stopProfile()
	r := &runner{flags: f, std: std, log: zap.NewNop(), kafka: kafkaEnds{collector: kafka.NewCollector("targetflow")}}
	if f.verbose {
		enc := zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig())
		r.log = zap.New(zapcore.NewCore(enc, zapcore.AddSync(std.Err), zapcore.DebugLevel))
	}
	return r.run(ctx)
}

// tuneGC trades memory the run does not need for CPU it does: a bulk run
// keeps little alive (bounded by concurrency and buffers) but allocates a
// lot per record, so the collector runs less often (GOGC 300) under a soft
// limit of 80 MiB that brings it back when memory grows. GOGC and
// GOMEMLIMIT in the environment win.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(300)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(80 << 20)
	}
}

// startCPUProfile profiles the process's CPU into path until the returned
// function is called (--cpuprofile); with no path it does nothing.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	file, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(file); err != nil {
		file.Close()
		return nil, fmt.Errorf("--cpuprofile %q: %w", path, err)
	}
	return func() {
		pprof.StopCPUProfile()
		file.Close()
	}, nil
}

// runner holds what one "targetflow run" sets up and tears down.
type runner struct {
	flags runFlags
	std   stdio
	log   *zap.Logger
	// closers run in reverse order when the run ends; errors are reported.
	closers []func() error
	// kafka holds the run's Kafka ends, if any.
	kafka kafkaEnds
	// tel exports the client's spans and metrics and the pipeline's
	// metrics (--otlp-endpoint); off, it costs nothing.
	tel *telemetry
}

func (r *runner) run(ctx context.Context) int {
	defer r.close()
	tel, err := r.startTelemetry(ctx)
	if err != nil {
		fmt.Fprintln(r.std.Err, "targetflow run:", err)
		return exitUsage
	}
	r.tel = tel
	client, err := r.connect(ctx)
	if err != nil {
		fmt.Fprintln(r.std.Err, "targetflow run:", err)
		return exitUsage
	}
	src, total, err := r.source()
	if err != nil {
		fmt.Fprintln(r.std.Err, "targetflow run:", err)
		return exitUsage
	}
	out, summaryTo, err := r.sink()
	if err != nil {
		fmt.Fprintln(r.std.Err, "targetflow run:", err)
		return exitUsage
	}
	f := r.flags
	tally := newTally()
	callOpts := []stages.CallOption{
		stages.WithConcurrency(f.concurrency), stages.WithOrdered(f.ordered),
		stages.WithTimeout(f.timeout), stages.WithRetries(f.retries), stages.WithRateLimit(f.rate),
	}
	deliverOpts := []stages.DeliverOption{stages.WithDecisioning(delivery.DecisioningMethod(f.decisioning)), stages.WithResponseBody(true)}
	notifyOpts := []stages.NotifyOption{stages.WithNotifyByDefault(f.notify)}
	for _, o := range callOpts {
		deliverOpts, notifyOpts = append(deliverOpts, o), append(notifyOpts, o)
	}
	runOpts := []pipeline.RunOption{pipeline.WithLogger(r.log), pipeline.WithGrace(f.timeout), pipeline.OnWritten(tally.written)}
	if f.checkpoint != "" {
		runOpts = append(runOpts, pipeline.WithCheckpoint(f.checkpoint))
	} else {
		// Resumed by count (--skip), a run writes the calls its stop cut as
		// failures: the records it never started are then the last read,
		// and the resume point is exact.
		runOpts = append(runOpts, pipeline.WriteCut(true))
	}
	p := pipeline.From(src, runOpts...).
		Via(
			// Building a request and noting a visitor are quick beside
			// a call: they run inline, in the goroutines that hand the
			// visitor on (the source's, the calls' workers'), without a
			// hand-off per visitor; the notify stage's workers take only
			// the visitors that owe notifications (stages.Notify).
			stages.BuildRequest(stages.RequestDefaults{
				Execute: f.execute, Prefetch: f.prefetch, Views: f.views, PageLoad: f.pageLoad,
			}, stages.WithInline()),
			stages.Deliver(client, deliverOpts...),
			stages.Notify(client, notifyOpts...),
			stages.Tap("summary", tally.note, stages.WithInline()),
		).
		To(out)

	if err := r.tel.observePipeline(p.Snapshot); err != nil {
		fmt.Fprintln(r.std.Err, "targetflow run:", err)
		return exitUsage
	}
	stopMetrics, err := r.serveMetrics(p)
	if err != nil {
		fmt.Fprintln(r.std.Err, "targetflow run:", err)
		return exitUsage
	}
	stopProgress := r.showProgress(p, total)
	runCtx := ctx
	if c := r.kafka.consumer; c != nil {
		// A Kafka worker drains on the first signal: it stops taking
		// records, finishes and commits those it took, and leaves its
		// group. (A second signal exits at once.)
		runCtx = context.WithoutCancel(ctx)
		stopDrain := context.AfterFunc(ctx, func() {
			fmt.Fprintln(r.std.Err, "targetflow run: draining: the records taken are finished and committed, then the worker leaves its group")
			c.Stop()
		})
		defer stopDrain()
	}
	stats, runErr := p.Run(runCtx)
	stopProgress()
	stopMetrics()
	closeErr := r.close()

	interrupted := errors.Is(runErr, context.Canceled) && ctx.Err() != nil
	if runErr != nil && stats.Started.IsZero() && ctx.Err() == nil {
		// Refused before anything ran: a checkpoint or an output that
		// does not match.
		fmt.Fprintln(r.std.Err, "targetflow run:", runErr)
		return exitUsage
	}
	tally.write(summaryTo, stats, f)
	r.writeKafkaSummary(summaryTo)
	if r.kafka.consumer != nil {
		// A Kafka worker's failed records are results like the others (in
		// the output or the dead letters); it exits 0 when it drained or
		// caught up, committed, and left its group.
		switch {
		case runErr != nil:
			fmt.Fprintln(r.std.Err, "targetflow run:", describeFailure(runErr, stats))
			fmt.Fprintln(r.std.Err, "targetflow run: what was not committed is read again by the group's workers")
			if writeFailure(runErr) {
				return exitOutput
			}
			return exitFailed
		case closeErr != nil:
			fmt.Fprintln(r.std.Err, "targetflow run:", closeErr)
			return exitFailed
		}
		return exitOK
	}
	switch {
	case interrupted:
		fmt.Fprintln(r.std.Err, "targetflow run: interrupted")
		r.resumeHint(stats)
		return exitInterrupted
	case runErr != nil:
		fmt.Fprintln(r.std.Err, "targetflow run:", describeFailure(runErr, stats))
		r.resumeHint(stats)
		if writeFailure(runErr) {
			return exitOutput
		}
		return exitFailed
	case closeErr != nil:
		fmt.Fprintln(r.std.Err, "targetflow run:", closeErr)
		return exitFailed
	case stats.Failed > 0 || stats.DeadLettered > 0:
		return exitFailed
	}
	return exitOK
}

// resumeHint says exactly what to run next after a run that did not finish.
func (r *runner) resumeHint(stats pipeline.Stats) {
	f := r.flags
	w := r.std.Err
	if f.checkpoint != "" {
		fmt.Fprintf(w, "targetflow run: records up to %d are complete (and %d above it); %s records them; resume with the same command:\n  %s\n",
			stats.Completed, stats.DoneAbove, f.checkpoint, shellCommand(f.args))
		return
	}
	// Records skipped by --skip count as complete: they were before.
	resume := max(stats.Completed, f.skip)
	args := withSkip(f.args, resume)
	fmt.Fprintf(w, "targetflow run: records up to %d are complete; resume with:\n  %s\n", resume, shellCommand(args))
	if stats.DoneAbove > 0 {
		fmt.Fprintf(w, "targetflow run: note: %d records above %d are written too, and --skip %d writes them again; --checkpoint FILE makes resuming exact\n",
			stats.DoneAbove, resume, resume)
	}
	if f.output == "" || f.output == "-" {
		fmt.Fprintln(w, "targetflow run: (the output went to standard output: send the resumed run's to the same place)")
	}
}

// withSkip returns args with --skip set to n (and -skip forms replaced).
func withSkip(args []string, n int64) []string {
	out := make([]string, 0, len(args)+2)
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--skip" || a == "-skip":
			i++ // and its value
			continue
		case strings.HasPrefix(a, "--skip=") || strings.HasPrefix(a, "-skip="):
			continue
		}
		out = append(out, a)
	}
	return append(out, "--skip", strconv.FormatInt(n, 10))
}

// shellCommand renders "targetflow run" with args, quoted for a POSIX shell.
func shellCommand(args []string) string {
	parts := []string{"targetflow", "run"}
	for _, a := range args {
		if a != "" && strings.IndexFunc(a, func(c rune) bool {
			return !(c == '-' || c == '_' || c == '.' || c == '/' || c == ',' || c == '=' || c == ':' || c == '@' ||
				(c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		}) < 0 {
			parts = append(parts, a)
			continue
		}
		parts = append(parts, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
	}
	return strings.Join(parts, " ")
}

// writeFailure reports whether err is a failure to write the output, the
// dead letters or the checkpoint.
func writeFailure(err error) bool {
	var ce *pipeline.CheckpointError
	return errors.As(err, &ce) || strings.HasPrefix(err.Error(), "sink ")
}

// describeFailure says what failed, naming a closed standard output.
func describeFailure(err error, stats pipeline.Stats) string {
	if errors.Is(err, syscall.EPIPE) {
		return fmt.Sprintf("the output pipe was closed after %d records were written: %v", stats.Written, err)
	}
	return err.Error()
}

// close runs the closers once, newest first, and returns their errors.
func (r *runner) close() error {
	var errs []error
	for i := len(r.closers) - 1; i >= 0; i-- {
		errs = append(errs, r.closers[i]())
	}
	r.closers = nil
	return errors.Join(errs...)
}

// connect returns the Target client: to --server-domain, or to an embedded
// edge started on loopback.
func (r *runner) connect(ctx context.Context) (*target.Client, error) {
	f := r.flags
	domain, clientCode, org, pinned := f.serverDomain, f.client, f.organizationID, f.insecure
	if domain == "" {
		addr, code, err := r.startEdge(ctx)
		if err != nil {
			return nil, err
		}
		domain, pinned = addr, true
		clientCode = firstNonEmpty(clientCode, code)
		org = firstNonEmpty(org, demo.OrganizationID)
	}
	opts := []target.Option{
		target.WithClient(clientCode),
		target.WithOrganizationID(org),
		target.WithServerDomain(domain),
		target.WithSecure(!pinned),
		target.WithTimeout(f.timeout),
		target.WithDecisioningMethod(delivery.DecisioningMethod(f.decisioning)),
		target.WithLogger(r.log),
		target.WithTelemetry(f.telemetry),
	}
	hooks, err := r.tel.clientHooks()
	if err != nil {
		return nil, err
	}
	opts = append(opts, hooks...)
	if method := delivery.DecisioningMethod(f.decisioning); method != delivery.DecisioningServerSide {
		artifactOpts, err := r.artifactOptions()
		if err != nil {
			return nil, err
		}
		// The Notify stage sends what on-device decisions owe, bounded and
		// retried, for the records that ask for notifications.
		opts = append(opts, artifactOpts...)
		opts = append(opts, target.WithOnDeviceNotifications(false))
	}
	if pinned {
		transport := edge.RoutingTransport(domain)
		opts = append(opts, target.WithTransport(transport))
		r.closers = append(r.closers, func() error { transport.CloseIdleConnections(); return nil })
	} else {
		opts = append(opts, target.WithMaxIdleConnsPerHost(max(f.concurrency, 64)))
	}
	client, err := target.New(opts...)
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, client.Close)
	if err := client.WaitReady(ctx); err != nil {
		return nil, err
	}
	return client, nil
}

// artifactOptions tell an on-device or hybrid client where its rules come
// from: --artifact (a file or a URL), else, with the embedded edge, the demo
// artifact, else Target's CDN for the client code.
func (r *runner) artifactOptions() ([]target.Option, error) {
	a := r.flags.artifact
	switch {
	case strings.HasPrefix(a, "http://") || strings.HasPrefix(a, "https://"):
		return []target.Option{target.WithOnDevice(ondevice.WithArtifactURL(a))}, nil
	case a == demoArtifact || (a == "" && r.flags.serverDomain == ""):
		return []target.Option{target.WithOnDevice(ondevice.WithArtifactPayload(demo.Artifact()))}, nil
	case a != "":
		data, err := os.ReadFile(a)
		if err != nil {
			return nil, fmt.Errorf("--artifact: %w", err)
		}
		return []target.Option{target.WithOnDevice(ondevice.WithArtifactPayload(data))}, nil
	}
	return nil, nil
}

// startEdge serves the embedded edge until the run ends (not when ctx is
// cancelled: in-flight calls still need it during the grace period).
func (r *runner) startEdge(ctx context.Context) (addr, clientCode string, err error) {
	opts := []edge.Option{edge.WithLogger(r.log)}
	artifact := demo.Artifact()
	if a := r.flags.artifact; a != "" && a != demoArtifact {
		loadCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		artifact, err = edge.LoadArtifact(loadCtx, nil, a)
		cancel()
		if err != nil {
			return "", "", fmt.Errorf("embedded edge: %w", err)
		}
	} else {
		opts = append(opts, edge.WithOrganizationID(demo.OrganizationID))
	}
	if r.flags.client != "" {
		opts = append(opts, edge.WithClient(r.flags.client))
	}
	srv, err := edge.New(artifact, opts...)
	if err != nil {
		return "", "", fmt.Errorf("embedded edge: %w", err)
	}
	edgeCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	addr, err = srv.Start(edgeCtx, "127.0.0.1:0")
	if err != nil {
		stop()
		return "", "", fmt.Errorf("embedded edge: %w", err)
	}
	r.closers = append(r.closers, func() error {
		stop()
		if err := srv.Wait(); err != nil {
			return fmt.Errorf("embedded edge: %w", err)
		}
		return nil
	})
	return addr, srv.Client(), nil
}

// source returns the input and, when known, how many records it holds.
func (r *runner) source() (*pipeline.Source[visitor.Envelope], int64, error) {
	f := r.flags
	opts := []source.Option{source.Skip(f.skip)}
	read := source.JSONL
	if f.format == "csv" {
		read = source.CSV
	}
	if kafka.IsURL(f.input) {
		src, err := r.kafkaSource()
		return src, -1, err
	}
	switch f.input {
	case "":
		total := max(int64(demo.VisitorCount)-f.skip, 0)
		return read(bytes.NewReader(demo.Visitors()), append(opts, source.WithName("demo visitors"))...), total, nil
	case "-":
		in, restore := interruptibleInput(r.std.In)
		r.closers = append(r.closers, restore)
		return read(in, append(opts, source.WithName("stdin"))...), -1, nil
	}
	if _, err := os.Stat(f.input); err != nil {
		return nil, 0, fmt.Errorf("--input: %w", err)
	}
	if f.format == "csv" {
		return source.CSVFile(f.input, opts...), -1, nil
	}
	return source.JSONLFile(f.input, opts...), -1, nil
}

// sink returns where results go, and where the summary is printed. Files
// are opened when the run starts (created, appended to after --skip, or
// truncated back to what --checkpoint recorded).
func (r *runner) sink() (*pipeline.Sink[visitor.Envelope], io.Writer, error) {
	f := r.flags
	summaryTo := r.std.Err
	fileOpts := []sink.FileOption{sink.Append(f.skip > 0)}
	var main *pipeline.Sink[visitor.Envelope]
	switch {
	case kafka.IsURL(f.output):
		var err error
		if main, err = r.kafkaSink("--output", false); err != nil {
			return nil, nil, err
		}
	case f.output == "":
		if r.std.OutIsTerminal {
			// A person is watching: the summary instead of raw JSON.
			main, summaryTo = sink.Discard(), r.std.Out
		} else {
			main = sink.JSONL(r.std.Out, sink.WithName("standard output"))
		}
	case f.output == "-":
		main = sink.JSONL(r.std.Out, sink.WithName("standard output"))
	default:
		if err := writable(f.output); err != nil {
			return nil, nil, fmt.Errorf("--output: %w", err)
		}
		main = sink.JSONLFile(f.output, fileOpts...)
	}
	if f.deadLetter == "" {
		return main, summaryTo, nil
	}
	if kafka.IsURL(f.deadLetter) {
		dead, err := r.kafkaSink("--dead-letter", true)
		if err != nil {
			return nil, nil, err
		}
		return sink.Router(main, dead, sink.InvalidInput), summaryTo, nil
	}
	if err := writable(f.deadLetter); err != nil {
		return nil, nil, fmt.Errorf("--dead-letter: %w", err)
	}
	return sink.Router(main, sink.DeadLetterFile(f.deadLetter, fileOpts...), sink.InvalidInput), summaryTo, nil
}

// writable checks that a file can be created or written at path, without
// changing it.
func writable(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	return f.Close()
}

// serveMetrics serves the pipeline's figures for Prometheus on
// --metrics-addr until the returned function is called.
func (r *runner) serveMetrics(p *pipeline.Pipeline[visitor.Envelope]) (stop func(), err error) {
	if r.flags.metricsAddr == "" {
		return func() {}, nil
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(p.Collector("targetflow")); err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	if r.kafka.consumer != nil || len(r.kafka.producers) > 0 {
		if err := reg.Register(r.kafka.collector); err != nil {
			return nil, fmt.Errorf("--metrics-addr: %w", err)
		}
	}
	ln, err := net.Listen("tcp", r.flags.metricsAddr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	var wg conc.WaitGroup
	wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.log.Error("metrics server stopped", zap.Error(err))
		}
	})
	fmt.Fprintf(r.std.Err, "targetflow run: metrics on http://%s/metrics\n", ln.Addr())
	return func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
		wg.Wait()
	}, nil
}

// showProgress draws a progress bar on standard error while the pipeline
// runs, when it is a terminal or --progress says so.
func (r *runner) showProgress(p *pipeline.Pipeline[visitor.Envelope], total int64) (stop func()) {
	if !r.std.ErrIsTerminal && !r.flags.progress {
		return func() {}
	}
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(r.std.Err),
		progressbar.OptionSetDescription("visitors"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("visitors"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetWidth(30),
		progressbar.OptionClearOnFinish(),
		// No spinner goroutine of the library's own (it would outlive the
		// run by a tick, and it reads the bar's state unlocked): the
		// spinner advances on the updates below, every 100ms.
		progressbar.OptionSetSpinnerChangeInterval(0),
	)
	done := make(chan struct{})
	var wg conc.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		update := func() {
			if c := r.kafka.consumer; c != nil {
				bar.Describe(fmt.Sprintf("visitors (kafka lag %d)", c.Stats().Lag))
			}
			_ = bar.Set64(p.Snapshot().Written)
		}
		for {
			select {
			case <-tick.C:
				update()
			case <-done:
				// A run shorter than a tick still shows its lag once.
				update()
				_ = bar.Finish()
				return
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// tally gathers what the summary reports. A Tap stage notes what each item
// was served or why it failed (one goroutine); the run's OnWritten counts
// it once the outputs hold it, so that the summary speaks of exactly the
// records written, whatever a stop or a failing output left out.
type tally struct {
	mu            sync.Mutex
	noted         map[int64]noted           // seq -> what the written item will count
	served        map[string]map[string]int // location -> experience -> visitors
	failures      map[string]int            // "http 503" -> items
	notifications int
}

// noted is what one item counts for, kept until it is written.
type noted struct {
	served        [][2]string // (location, experience)
	failure       string
	notifications int
}

func newTally() *tally {
	return &tally{noted: map[int64]noted{}, served: map[string]map[string]int{}, failures: map[string]int{}}
}

// note records what it will count for once written.
func (t *tally) note(it *visitor.Item) {
	var n noted
	if it.Err != nil {
		kind, status := visitor.Classify(it.Err)
		n.failure = string(kind)
		if status != 0 {
			n.failure = fmt.Sprintf("%s %d", kind, status)
		}
	} else {
		n.notifications = it.Value.Notifications
		if resp := it.Value.Response; resp != nil {
			n.served = servedBy(resp)
		}
	}
	t.mu.Lock()
	t.noted[it.Pos.Seq] = n
	t.mu.Unlock()
}

// written counts the item at pos: the outputs hold it.
func (t *tally) written(pos pipeline.Position) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n, ok := t.noted[pos.Seq]
	if !ok {
		return // not noted: decoded records that failed before the tap are not in the tally
	}
	delete(t.noted, pos.Seq)
	if n.failure != "" {
		t.failures[n.failure]++
		return
	}
	t.notifications += n.notifications
	for _, s := range n.served {
		byExperience := t.served[s[0]]
		if byExperience == nil {
			byExperience = map[string]int{}
			t.served[s[0]] = byExperience
		}
		byExperience[s[1]]++
	}
}

// servedBy lists the (location, experience) pairs of an answer.
func servedBy(resp *delivery.DeliveryResponse) [][2]string {
	var served [][2]string
	add := func(location string, options []delivery.Option) {
		experience := "(no offer)"
		if len(options) > 0 {
			experience = experienceName(options[0])
		}
		served = append(served, [2]string{location, experience})
	}
	if e := resp.Execute; e != nil {
		for _, m := range e.Mboxes {
			add(m.Name, m.Options)
		}
		if e.PageLoad != nil {
			add("pageLoad", e.PageLoad.Options)
		}
	}
	if p := resp.Prefetch; p != nil {
		for _, m := range p.Mboxes {
			add(m.Name+" (prefetch)", m.Options)
		}
		for _, v := range p.Views {
			add("view "+v.Name, v.Options)
		}
		if p.PageLoad != nil {
			add("pageLoad (prefetch)", p.PageLoad.Options)
		}
	}
	return served
}

// experienceName names what an option is: its experience.name response
// token when the activity exposes it, else the start of its content.
func experienceName(o delivery.Option) string {
	for _, token := range []string{"experience.name", "option.name", "offer.name"} {
		if s, ok := o.ResponseTokens[token].(string); ok && s != "" {
			return s
		}
	}
	content := strings.Join(strings.Fields(string(o.Content)), " ")
	if len(content) > 40 {
		content = content[:37] + "..."
	}
	if content == "" {
		return "(" + string(o.Type) + " offer)"
	}
	return content
}

// write prints the summary a person wants after a run.
func (t *tally) write(w io.Writer, s pipeline.Stats, f runFlags) {
	fmt.Fprintf(w, "\ntargetflow run: %d visitors in %s: %.0f visitors/s (%s, concurrency %d)\n",
		s.Written, s.Elapsed.Round(time.Millisecond), s.Throughput, f.decisioning, f.concurrency)
	fmt.Fprintf(w, "  ok %d   failed %d   dead-lettered %d   retries %d   notifications sent %d\n",
		s.OK, s.Failed, s.DeadLettered, s.Retried, t.notifications)
	for _, c := range s.Components {
		if c.Name == "deliver" && c.Latency.Count > 0 {
			l := c.Latency
			fmt.Fprintf(w, "  delivery latency  p50 %s   p90 %s   p99 %s   max %s\n",
				millis(l.P50), millis(l.P90), millis(l.P99), millis(l.Max))
		}
	}
	if len(t.served) > 0 {
		fmt.Fprintln(w, "  experiences served:")
		for _, location := range sortedNames(t.served) {
			var parts []string
			for _, exp := range sortedNames(t.served[location]) {
				parts = append(parts, fmt.Sprintf("%s ×%d", exp, t.served[location][exp]))
			}
			fmt.Fprintf(w, "    %-26s %s\n", location, strings.Join(parts, " · "))
		}
	}
	if len(t.failures) > 0 {
		var parts []string
		for _, k := range sortedNames(t.failures) {
			parts = append(parts, fmt.Sprintf("%s ×%d", k, t.failures[k]))
		}
		fmt.Fprintf(w, "  failures: %s\n", strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "  last record complete: %d\n", s.Completed)
	if s.Given > 0 {
		fmt.Fprintf(w, "  not written: %d (stopped before they were done, or the output failed); a resumed run does them\n", s.Given)
	}
}

func millis(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
}

func sortedNames[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
