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
	"slices"
	"sort"
	"strings"
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
	"github.com/targetflow/targetflow/ondevice"
	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/sink"
	"github.com/targetflow/targetflow/source"
	"github.com/targetflow/targetflow/stages"
	"github.com/targetflow/targetflow/target"
)

// runFlags are the flags of "targetflow run".
type runFlags struct {
	input, format, output, deadLetter string
	execute, prefetch, views          commaList
	pageLoad, notify                  bool
	decisioning                       string
	client, organizationID            string
	serverDomain                      string
	insecure                          bool
	artifact                          string
	concurrency                       int
	timeout                           time.Duration
	retries                           int
	rate                              float64
	ordered, progress                 bool
	telemetry                         bool
	metricsAddr                       string
	skip                              int64
	verbose                           bool
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
	fs.StringVar(&f.artifact, "artifact", "", "rules artifact file or URL for the embedded edge (default: the demo artifact)")
	fs.IntVar(&f.concurrency, "concurrency", 64, "calls in flight at most")
	fs.DurationVar(&f.timeout, "timeout", 3*time.Second, "per-call timeout; also how long in-flight calls may finish after an interrupt")
	fs.IntVar(&f.retries, "retries", 3, "retries of a call that failed with a retryable error")
	fs.Float64Var(&f.rate, "rate", 0, "at most this many calls per second (0: no limit)")
	fs.BoolVar(&f.ordered, "ordered", false, "write results in input order")
	fs.BoolVar(&f.telemetry, "telemetry", true, "send the SDK's call timings to Target with later calls, as the official SDKs do")
	fs.BoolVar(&f.progress, "progress", false, "show a progress bar even when standard error is not a terminal")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus metrics on this address (e.g. 127.0.0.1:9090) during the run")
	fs.Int64Var(&f.skip, "skip", 0, "skip the first N records (resume an interrupted run)")
	fs.BoolVar(&f.verbose, "verbose", false, "log to standard error")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
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
	case f.deadLetter != "" && f.deadLetter == f.output:
		return fmt.Errorf("--dead-letter and --output are both %q", f.output)
	}
	return nil
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
	r := &runner{flags: f, std: std, log: zap.NewNop()}
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

// runner holds what one "targetflow run" sets up and tears down.
type runner struct {
	flags runFlags
	std   stdio
	log   *zap.Logger
	// closers run in reverse order when the run ends; errors are reported.
	closers []func() error
}

func (r *runner) run(ctx context.Context) int {
	defer r.close()
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
	callOpts := []stages.Option{
		stages.WithConcurrency(f.concurrency), stages.WithOrdered(f.ordered),
		stages.WithTimeout(f.timeout), stages.WithRetries(f.retries), stages.WithRateLimit(f.rate),
	}
	p := pipeline.From(src, pipeline.WithLogger(r.log), pipeline.WithGrace(f.timeout)).
		Via(
			stages.BuildRequest(stages.RequestDefaults{
				Execute: f.execute, Prefetch: f.prefetch, Views: f.views, PageLoad: f.pageLoad,
			}),
			stages.Deliver(client, append(slices.Clip(callOpts), stages.WithDecisioning(delivery.DecisioningMethod(f.decisioning)))...),
			stages.Notify(client, append(slices.Clip(callOpts), stages.WithNotifyByDefault(f.notify))...),
			stages.Tap("summary", tally.add),
		).
		To(out)

	stopMetrics, err := r.serveMetrics(p)
	if err != nil {
		fmt.Fprintln(r.std.Err, "targetflow run:", err)
		return exitUsage
	}
	stopProgress := r.showProgress(p, total)
	stats, runErr := p.Run(ctx)
	stopProgress()
	stopMetrics()
	closeErr := r.close()

	interrupted := errors.Is(runErr, context.Canceled) && ctx.Err() != nil
	tally.write(summaryTo, stats, f)
	switch {
	case interrupted:
		// Records skipped by --skip count as complete: they were before.
		resume := max(stats.Completed, f.skip)
		fmt.Fprintf(r.std.Err, "targetflow run: interrupted; records up to %d are complete: resume with --skip %d\n", resume, resume)
		return exitInterrupted
	case runErr != nil:
		fmt.Fprintln(r.std.Err, "targetflow run:", runErr)
		return exitFailed
	case closeErr != nil:
		fmt.Fprintln(r.std.Err, "targetflow run:", closeErr)
		return exitFailed
	case stats.Failed > 0 || stats.DeadLettered > 0:
		return exitFailed
	}
	return exitOK
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
	case a != "":
		data, err := os.ReadFile(a)
		if err != nil {
			return nil, fmt.Errorf("--artifact: %w", err)
		}
		return []target.Option{target.WithOnDevice(ondevice.WithArtifactPayload(data))}, nil
	case r.flags.serverDomain == "":
		return []target.Option{target.WithOnDevice(ondevice.WithArtifactPayload(demo.Artifact()))}, nil
	}
	return nil, nil
}

// startEdge serves the embedded edge until the run ends (not when ctx is
// cancelled: in-flight calls still need it during the grace period).
func (r *runner) startEdge(ctx context.Context) (addr, clientCode string, err error) {
	opts := []edge.Option{edge.WithLogger(r.log)}
	artifact := demo.Artifact()
	if a := r.flags.artifact; a != "" {
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
func (r *runner) source() (*pipeline.Source, int64, error) {
	f := r.flags
	opts := []source.Option{source.Skip(f.skip)}
	var in io.Reader
	var total int64 = -1
	switch f.input {
	case "":
		in = bytes.NewReader(demo.Visitors())
		total = max(int64(demo.VisitorCount)-f.skip, 0)
		opts = append(opts, source.WithName("demo visitors"))
	case "-":
		var restore func() error
		in, restore = interruptibleInput(r.std.In)
		r.closers = append(r.closers, restore)
		opts = append(opts, source.WithName("stdin"))
	default:
		file, err := os.Open(f.input)
		if err != nil {
			return nil, 0, fmt.Errorf("--input: %w", err)
		}
		r.closers = append(r.closers, file.Close)
		in = file
		opts = append(opts, source.WithName(f.input))
	}
	if f.format == "csv" {
		return source.CSV(in, opts...), total, nil
	}
	return source.JSONL(in, opts...), total, nil
}

// sink returns where results go, and where the summary is printed.
func (r *runner) sink() (*pipeline.Sink, io.Writer, error) {
	f := r.flags
	summaryTo := r.std.Err
	var main *pipeline.Sink
	switch f.output {
	case "":
		if r.std.OutIsTerminal {
			// A person is watching: the summary instead of raw JSON.
			main, summaryTo = sink.Discard(), r.std.Out
		} else {
			main = sink.JSONL(r.std.Out)
		}
	case "-":
		main = sink.JSONL(r.std.Out)
	default:
		file, err := r.create(f.output, "--output")
		if err != nil {
			return nil, nil, err
		}
		main = sink.JSONL(file)
	}
	if f.deadLetter == "" {
		return main, summaryTo, nil
	}
	file, err := r.create(f.deadLetter, "--dead-letter")
	if err != nil {
		return nil, nil, err
	}
	return sink.Router(main, sink.DeadLetter(file), sink.InvalidInput), summaryTo, nil
}

func (r *runner) create(path, flagName string) (*os.File, error) {
	file, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flagName, err)
	}
	r.closers = append(r.closers, func() error {
		if err := file.Close(); err != nil {
			return fmt.Errorf("%s: %w", flagName, err)
		}
		return nil
	})
	return file, nil
}

// serveMetrics serves the pipeline's figures for Prometheus on
// --metrics-addr until the returned function is called.
func (r *runner) serveMetrics(p *pipeline.Pipeline) (stop func(), err error) {
	if r.flags.metricsAddr == "" {
		return func() {}, nil
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(p.Collector("targetflow")); err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
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
func (r *runner) showProgress(p *pipeline.Pipeline, total int64) (stop func()) {
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
		for {
			select {
			case <-tick.C:
				_ = bar.Set64(p.Snapshot().Written)
			case <-done:
				_ = bar.Set64(p.Snapshot().Written)
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

// tally gathers what the summary reports, from a Tap stage (one goroutine).
type tally struct {
	served        map[string]map[string]int // location -> experience -> visitors
	failures      map[string]int            // "http 503" -> items
	notifications int
}

func newTally() *tally {
	return &tally{served: map[string]map[string]int{}, failures: map[string]int{}}
}

func (t *tally) add(it *pipeline.Item) {
	if it.Err != nil {
		kind, status := pipeline.Classify(it.Err)
		key := string(kind)
		if status != 0 {
			key = fmt.Sprintf("%s %d", kind, status)
		}
		t.failures[key]++
		return
	}
	t.notifications += it.Notifications
	resp := it.Response
	if resp == nil {
		return
	}
	if e := resp.Execute; e != nil {
		for _, m := range e.Mboxes {
			t.serve(m.Name, m.Options)
		}
		if e.PageLoad != nil {
			t.serve("pageLoad", e.PageLoad.Options)
		}
	}
	if p := resp.Prefetch; p != nil {
		for _, m := range p.Mboxes {
			t.serve(m.Name+" (prefetch)", m.Options)
		}
		for _, v := range p.Views {
			t.serve("view "+v.Name, v.Options)
		}
		if p.PageLoad != nil {
			t.serve("pageLoad (prefetch)", p.PageLoad.Options)
		}
	}
}

func (t *tally) serve(location string, options []delivery.Option) {
	byExperience := t.served[location]
	if byExperience == nil {
		byExperience = map[string]int{}
		t.served[location] = byExperience
	}
	if len(options) == 0 {
		byExperience["(no offer)"]++
		return
	}
	byExperience[experienceName(options[0])]++
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
