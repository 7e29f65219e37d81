package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/pipelineotel"
	"github.com/targetflow/targetflow/target"
	"github.com/targetflow/targetflow/targetotel"
)

// otlpEndpointUsage is the help of --otlp-endpoint, a flag of run, decide
// and edge.
const otlpEndpointUsage = "export traces and metrics by OTLP/HTTP (protobuf) to `URL`, as OTEL_EXPORTER_OTLP_ENDPOINT: " +
	"/v1/traces and /v1/metrics are appended (default $OTEL_EXPORTER_OTLP_ENDPOINT; neither: no export). " +
	"OTEL_SERVICE_NAME and OTEL_TRACES_SAMPLER are honoured"

// telemetryShutdownTimeout bounds the flush of spans and metrics at exit.
const telemetryShutdownTimeout = 5 * time.Second

// telemetry is a command's OpenTelemetry: OTLP/HTTP exporters behind a
// tracer and a meter provider, or no-op providers when nothing is
// exported.
type telemetry struct {
	enabled        bool
	tracerProvider trace.TracerProvider
	meterProvider  metric.MeterProvider
	shutdown       func(context.Context) error
}

// noTelemetry is the telemetry of a command that exports nothing: no-op
// providers.
func noTelemetry() *telemetry {
	return &telemetry{
		tracerProvider: tracenoop.NewTracerProvider(),
		meterProvider:  metricnoop.NewMeterProvider(),
		shutdown:       func(context.Context) error { return nil },
	}
}

// otlpEnvEndpoint reports whether the environment names an OTLP endpoint
// the exporters will read themselves.
func otlpEnvEndpoint() bool {
	for _, name := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"} {
		if strings.TrimSpace(os.Getenv(name)) != "" {
			return true
		}
	}
	return false
}

// Default samplers, when OTEL_TRACES_SAMPLER does not name one: run and
// edge trace one call (request) in a hundred with everything under it
// (parentbased_traceidratio 0.01), as a bulk run makes thousands of calls a
// second and tracing each would cost a fifth of its throughput; decide, a
// span per chunk of lines, traces every chunk.
const (
	sampleCalls  = 0.01
	sampleChunks = 1
)

// startTelemetry sets up export to endpoint (the --otlp-endpoint flag),
// else to what the OTEL_EXPORTER_OTLP_* variables say; with neither it
// returns no-op providers. Spans are batched and metrics read
// periodically; shutdown flushes both. service is the default service.name
// (OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win); sampleRatio the
// share of root spans sampled unless OTEL_TRACES_SAMPLER says otherwise.
func startTelemetry(ctx context.Context, endpoint, service string, sampleRatio float64) (*telemetry, error) {
	var traceOpts []otlptracehttp.Option
	var metricOpts []otlpmetrichttp.Option
	switch {
	case endpoint != "":
		base, err := parseOTLPEndpoint(endpoint)
		if err != nil {
			return nil, err
		}
		traceOpts = append(traceOpts, otlptracehttp.WithEndpointURL(base+"/v1/traces"))
		metricOpts = append(metricOpts, otlpmetrichttp.WithEndpointURL(base+"/v1/metrics"))
	case !otlpEnvEndpoint():
		return noTelemetry(), nil
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(service), semconv.ServiceVersion(target.Version)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
		resource.WithTelemetrySDK())
	if err != nil {
		return nil, fmt.Errorf("OpenTelemetry resource: %w", err)
	}
	// The exporters make no connection until they export.
	spans, err := otlptracehttp.New(ctx, traceOpts...)
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	metrics, err := otlpmetrichttp.New(ctx, metricOpts...)
	if err != nil {
		_ = spans.Shutdown(ctx)
		return nil, fmt.Errorf("OTLP metric exporter: %w", err)
	}
	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithBatcher(spans), sdktrace.WithResource(res)}
	if os.Getenv("OTEL_TRACES_SAMPLER") == "" && sampleRatio < 1 {
		// The command's default; OTEL_TRACES_SAMPLER (read by the SDK) wins.
		tpOpts = append(tpOpts, sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(sampleRatio))))
	}
	tp := sdktrace.NewTracerProvider(tpOpts...)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metrics)), sdkmetric.WithResource(res))
	return &telemetry{
		enabled:        true,
		tracerProvider: tp,
		meterProvider:  mp,
		shutdown: func(ctx context.Context) error {
			// Flush even when the command was interrupted, within a bound.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), telemetryShutdownTimeout)
			defer cancel()
			return errors.Join(tp.Shutdown(ctx), mp.Shutdown(ctx))
		},
	}, nil
}

// parseOTLPEndpoint checks --otlp-endpoint and returns it without a
// trailing slash.
func parseOTLPEndpoint(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("--otlp-endpoint %q: must be an http or https URL such as http://127.0.0.1:4318, without query", endpoint)
	}
	return strings.TrimRight(endpoint, "/"), nil
}

// edgeMiddleware traces and measures every request the edge serves
// (server spans with the HTTP semantic conventions, http.server.request.duration),
// continuing the caller's trace when the request carries a traceparent.
func (tel *telemetry) edgeMiddleware(next http.Handler) http.Handler {
	return otelhttp.NewHandler(next, "edge",
		otelhttp.WithTracerProvider(tel.tracerProvider),
		otelhttp.WithMeterProvider(tel.meterProvider),
		otelhttp.WithPropagators(propagation.TraceContext{}),
		otelhttp.WithSpanNameFormatter(edgeSpanName))
}

// edgeSpanName names a server span by method and route, not by the full
// path: rules paths carry client codes and environments.
func edgeSpanName(_ string, r *http.Request) string {
	path := r.URL.Path
	switch {
	case path == "/rest/v1/delivery", path == "/healthz", path == "/metrics", path == "/notifications":
		return r.Method + " " + path
	case strings.HasSuffix(path, "/rules.json"), strings.HasSuffix(path, "/rules.bin"):
		return r.Method + " " + path[strings.LastIndexByte(path, '/'):]
	}
	return r.Method
}

// startTelemetry starts the run's telemetry; its shutdown, which flushes
// the last spans and metrics, is the run's first closer, so it runs last,
// after the client and the embedded edge are closed.
func (r *runner) startTelemetry(ctx context.Context) (*telemetry, error) {
	tel, err := startTelemetry(ctx, r.flags.otlpEndpoint, "targetflow-run", sampleCalls)
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, func() error {
		// Telemetry that cannot be exported is reported, but does not
		// change the run's verdict: its records were delivered.
		if err := tel.shutdown(ctx); err != nil {
			fmt.Fprintln(r.std.Err, "targetflow run: warning: exporting the last spans and metrics:", err)
		}
		return nil
	})
	return tel, nil
}

// clientHooks are the target.Client options that trace and measure its
// calls, none when nothing is exported.
func (tel *telemetry) clientHooks() ([]target.Option, error) {
	if !tel.enabled {
		return nil, nil
	}
	inst, err := targetotel.New(targetotel.WithTracerProvider(tel.tracerProvider), targetotel.WithMeterProvider(tel.meterProvider))
	if err != nil {
		return nil, err
	}
	return []target.Option{target.WithHooks(inst)}, nil
}

// observePipeline exports a run's figures (snapshot) as metrics, read at
// each export and at shutdown.
func (tel *telemetry) observePipeline(snapshot func() pipeline.Stats) error {
	if !tel.enabled {
		return nil
	}
	_, err := pipelineotel.Observe(tel.meterProvider, snapshot) // ends with the meter provider
	return err
}

// chunkAttributes describe a decided chunk of lines on its span.
func chunkAttributes(c *decideChunk) []attribute.KeyValue {
	attrs := []attribute.KeyValue{attribute.Int("targetflow.decide.lines", len(c.lines)), attribute.Int("targetflow.decide.failed", c.failed)}
	if len(c.lineNos) > 0 {
		attrs = append(attrs, attribute.Int("targetflow.decide.first_line", c.lineNos[0]))
	}
	return attrs
}
