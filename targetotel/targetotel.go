package targetotel

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/semconv/v1.43.0/httpconv"
	"go.opentelemetry.io/otel/trace"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/target"
)

// ScopeName is the instrumentation scope of the tracer and meter.
const ScopeName = "github.com/targetflow/targetflow/targetotel"

// Attribute keys of the spans and metrics (see the package documentation).
const (
	AttrDecisioningMethod   = attribute.Key("target.decisioning.method")
	AttrDecisioningOutcome  = attribute.Key("target.decisioning.outcome")
	AttrMboxCount           = attribute.Key("target.mbox.count")
	AttrViewCount           = attribute.Key("target.view.count")
	AttrNotificationCount   = attribute.Key("target.notification.count")
	AttrRemoteMboxCount     = attribute.Key("target.remote_mbox.count")
	AttrRemoteViewCount     = attribute.Key("target.remote_view.count")
	AttrRequestID           = attribute.Key("target.request.id")
	AttrBackground          = attribute.Key("target.background")
	AttrOperation           = attribute.Key("target.operation")
	AttrNotificationOutcome = attribute.Key("target.notification.outcome")
)

// Span names besides the calls' ("target." + the method).
const (
	SpanOnDeviceDecision = "target.OnDeviceDecision"
	SpanArtifactDownload = "target.ArtifactDownload"
)

// redacted replaces the session id in url.full and in error messages.
const redacted = "REDACTED"

// Span start options, made once: options are interfaces, and making them
// per span would allocate.
var (
	internalSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}
	clientSpan   = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}
)

// callSpanName is the span name of a call method.
func callSpanName(method string) string {
	switch method {
	case "GetOffers":
		return "target.GetOffers"
	case "GetAttributes":
		return "target.GetAttributes"
	case "SendNotifications":
		return "target.SendNotifications"
	}
	return "target." + method
}

// Option configures New.
type Option interface {
	apply(*config)
}

type option func(*config)

func (f option) apply(c *config) { f(c) }

type config struct {
	tracerProvider trace.TracerProvider
	meterProvider  metric.MeterProvider
	propagator     propagation.TextMapPropagator
}

// WithTracerProvider sets where spans go (default otel.GetTracerProvider()).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return option(func(c *config) { c.tracerProvider = tp })
}

// WithMeterProvider sets where metrics go (default otel.GetMeterProvider()).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return option(func(c *config) { c.meterProvider = mp })
}

// WithPropagator has p inject the trace context (traceparent, ...) into the
// headers of every Delivery API request. Without it none is sent: see the
// package documentation.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return option(func(c *config) { c.propagator = p })
}

// Instrumentation implements target's call, HTTP attempt, artifact
// download and on-device decision hooks on OpenTelemetry. Give it to
// target.WithHooks. It is safe for concurrent use by any number of clients.
type Instrumentation struct {
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator

	httpDuration httpconv.ClientRequestDuration
	// httpSets caches the attribute sets of the histogram: making a set per
	// measurement would cost allocations.
	httpSets attributeSets[httpKey]

	// The counters count in atomics and are read when metrics are
	// collected (observable counters): an addition costs next to nothing
	// on the call's path. Their attribute values are few and fixed.
	decisions     [2][2]atomic.Int64 // [GetOffers, GetAttributes][on-device, server-side]
	notifications [2]atomic.Int64    // [sent, failed]
	registration  metric.Registration
}

type httpKey struct {
	method, address string
	port, status    int
	errorType       string
}

// maxCachedSets bounds each cache of attribute sets; past it sets are made
// per measurement (the series are then many anyway).
const maxCachedSets = 1024

// attributeSets caches the measurement option of an attribute set by key.
type attributeSets[K comparable] struct {
	sets sync.Map // K -> metric.MeasurementOption
	size atomic.Int32
}

func (c *attributeSets[K]) get(key K, build func(K) attribute.Set) metric.MeasurementOption {
	if opt, ok := c.sets.Load(key); ok {
		return opt.(metric.MeasurementOption)
	}
	opt := metric.WithAttributeSet(build(key))
	if c.size.Load() < maxCachedSets {
		if _, loaded := c.sets.LoadOrStore(key, opt); !loaded {
			c.size.Add(1)
		}
	}
	return opt
}

var (
	_ target.HookCallStart        = (*Instrumentation)(nil)
	_ target.HookCallEnd          = (*Instrumentation)(nil)
	_ target.HookHTTPAttemptStart = (*Instrumentation)(nil)
	_ target.HookHTTPAttemptEnd   = (*Instrumentation)(nil)
	_ target.HookArtifactDownload = (*Instrumentation)(nil)
	_ target.HookOnDeviceDecision = (*Instrumentation)(nil)
)

// New returns the instrumentation. It fails when the meter provider
// refuses an instrument.
func New(opts ...Option) (*Instrumentation, error) {
	var cfg config
	for _, o := range opts {
		o.apply(&cfg)
	}
	if cfg.tracerProvider == nil {
		cfg.tracerProvider = otel.GetTracerProvider()
	}
	if cfg.meterProvider == nil {
		cfg.meterProvider = otel.GetMeterProvider()
	}
	meter := cfg.meterProvider.Meter(ScopeName, metric.WithInstrumentationVersion(target.Version), metric.WithSchemaURL(semconv.SchemaURL))
	inst := &Instrumentation{
		tracer:     cfg.tracerProvider.Tracer(ScopeName, trace.WithInstrumentationVersion(target.Version), trace.WithSchemaURL(semconv.SchemaURL)),
		propagator: cfg.propagator,
	}
	var err error
	if inst.httpDuration, err = httpconv.NewClientRequestDuration(meter); err != nil {
		return nil, fmt.Errorf("targetotel: making the instruments: %w", err)
	}
	decisions, err1 := meter.Int64ObservableCounter("target.client.decisions",
		metric.WithDescription("Answered GetOffers and GetAttributes calls, by how they were decided."),
		metric.WithUnit("{decision}"))
	notifications, err2 := meter.Int64ObservableCounter("target.client.notifications",
		metric.WithDescription("Notifications sent to the Delivery API (display and click), by outcome."),
		metric.WithUnit("{notification}"))
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("targetotel: making the instruments: %w", err)
	}
	var decisionSets [2][2]metric.ObserveOption
	for i, op := range [...]string{"GetOffers", "GetAttributes"} {
		for j, by := range [...]string{"on-device", "server-side"} {
			decisionSets[i][j] = metric.WithAttributeSet(attribute.NewSet(AttrOperation.String(op), AttrDecisioningOutcome.String(by)))
		}
	}
	notificationSets := [2]metric.ObserveOption{
		metric.WithAttributeSet(attribute.NewSet(AttrNotificationOutcome.String("sent"))),
		metric.WithAttributeSet(attribute.NewSet(AttrNotificationOutcome.String("failed"))),
	}
	inst.registration, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for i := range inst.decisions {
			for j := range inst.decisions[i] {
				o.ObserveInt64(decisions, inst.decisions[i][j].Load(), decisionSets[i][j])
			}
		}
		for i := range inst.notifications {
			o.ObserveInt64(notifications, inst.notifications[i].Load(), notificationSets[i])
		}
		return nil
	}, decisions, notifications)
	if err != nil {
		return nil, fmt.Errorf("targetotel: registering the counters: %w", err)
	}
	return inst, nil
}

// Close stops reporting the counters to the meter provider (they are
// reported until then, or until the provider shuts down).
func (in *Instrumentation) Close() error { return in.registration.Unregister() }

// OnCallStart starts the call's span; its attributes are set when it ends,
// in one go, when all are known.
func (in *Instrumentation) OnCallStart(ctx context.Context, call *target.Call) context.Context {
	ctx, _ = in.tracer.Start(ctx, callSpanName(call.Method), internalSpan...)
	return ctx
}

// OnCallEnd ends the call's span and records the call's metrics.
func (in *Instrumentation) OnCallEnd(ctx context.Context, call *target.Call) {
	span := trace.SpanFromContext(ctx)
	if span.IsRecording() {
		attrs := make([]attribute.KeyValue, 0, 10)
		attrs = append(attrs, AttrDecisioningMethod.String(string(call.DecisioningMethod)), AttrMboxCount.Int(call.Mboxes), AttrViewCount.Int(call.Views))
		if call.Background {
			attrs = append(attrs, AttrBackground.Bool(true))
		}
		if call.Notifications > 0 || call.Method == "SendNotifications" {
			attrs = append(attrs, AttrNotificationCount.Int(call.Notifications))
		}
		if call.DecidedBy != "" {
			attrs = append(attrs, AttrDecisioningOutcome.String(string(call.DecidedBy)))
		}
		if call.RemoteMboxes > 0 {
			attrs = append(attrs, AttrRemoteMboxCount.Int(call.RemoteMboxes))
		}
		if call.RemoteViews > 0 {
			attrs = append(attrs, AttrRemoteViewCount.Int(call.RemoteViews))
		}
		if call.RequestID != "" {
			attrs = append(attrs, AttrRequestID.String(call.RequestID))
		}
		if call.Err != nil {
			attrs = append(attrs, semconv.ErrorTypeKey.String(string(call.ErrorKind)))
			span.SetStatus(codes.Error, errorMessage(call.Err))
		}
		span.SetAttributes(attrs...)
	}
	span.End()

	switch {
	case call.Method == "SendNotifications":
		if call.Notifications > 0 {
			outcome := 0
			if call.Err != nil {
				outcome = 1
			}
			in.notifications[outcome].Add(int64(call.Notifications))
		}
	case call.Err == nil:
		op, by := -1, -1
		switch call.Method {
		case "GetOffers":
			op = 0
		case "GetAttributes":
			op = 1
		}
		switch call.DecidedBy {
		case delivery.DecisioningOnDevice:
			by = 0
		case delivery.DecisioningServerSide:
			by = 1
		}
		if op >= 0 && by >= 0 {
			in.decisions[op][by].Add(1)
		}
	}
}

// OnHTTPAttemptStart starts the attempt's client span and, with
// WithPropagator, injects its context into the request headers.
func (in *Instrumentation) OnHTTPAttemptStart(ctx context.Context, a *target.HTTPAttempt) context.Context {
	if parent := trace.SpanFromContext(ctx); parent.SpanContext().IsValid() && !parent.IsRecording() {
		// The call is not sampled, so its attempts would not be: no span
		// to make (OnHTTPAttemptEnd then sees the call's and leaves it).
		return ctx
	}
	ctx, _ = in.tracer.Start(ctx, a.Method, clientSpan...)
	if in.propagator != nil {
		in.propagator.Inject(ctx, propagation.HeaderCarrier(a.Header))
	}
	return ctx
}

// OnHTTPAttemptEnd sets the attempt span's attributes (all at once, now
// that they are known), ends it and records http.client.request.duration.
func (in *Instrumentation) OnHTTPAttemptEnd(ctx context.Context, a *target.HTTPAttempt) {
	span := trace.SpanFromContext(ctx)
	in.endHTTP(ctx, span, a.Method, a.URL, a.ServerAddress, a.ServerPort, a.Attempt, a.StatusCode, a.Err, a.ErrorKind, a.Duration)
	if span.IsRecording() {
		span.End()
	}
}

// endHTTP sets the attributes and outcome of an HTTP exchange on span and
// records its duration.
func (in *Instrumentation) endHTTP(ctx context.Context, span trace.Span, method string, u *url.URL, address string, port, attempt, status int, err error, kind target.ErrorKind, took time.Duration) {
	errorType := ""
	switch {
	case status >= 400:
		errorType = strconv.Itoa(status)
	case err != nil && kind != "":
		errorType = string(kind)
	case err != nil:
		errorType = semconv.ErrorTypeOther.Value.AsString()
	}
	if span.IsRecording() {
		attrs := make([]attribute.KeyValue, 0, 7)
		attrs = append(attrs,
			semconv.HTTPRequestMethodKey.String(method),
			semconv.ServerAddress(address),
			semconv.ServerPort(port),
			semconv.URLFull(fullURL(u)))
		if attempt > 1 {
			attrs = append(attrs, semconv.HTTPRequestResendCount(attempt-1))
		}
		if status > 0 {
			attrs = append(attrs, semconv.HTTPResponseStatusCode(status))
		}
		if errorType != "" {
			attrs = append(attrs, semconv.ErrorTypeKey.String(errorType))
			msg := ""
			if err != nil {
				msg = errorMessage(err)
			}
			span.SetStatus(codes.Error, msg)
		}
		span.SetAttributes(attrs...)
	}
	if !in.httpDuration.Enabled(ctx) {
		return
	}
	set := in.httpSets.get(httpKey{method, address, port, status, errorType}, func(k httpKey) attribute.Set {
		attrs := []attribute.KeyValue{
			semconv.HTTPRequestMethodKey.String(k.method),
			semconv.ServerAddress(k.address),
			semconv.ServerPort(k.port),
		}
		if k.status > 0 {
			attrs = append(attrs, semconv.HTTPResponseStatusCode(k.status))
		}
		if k.errorType != "" {
			attrs = append(attrs, semconv.ErrorTypeKey.String(k.errorType))
		}
		return attribute.NewSet(attrs...)
	})
	in.httpDuration.Inst().Record(ctx, took.Seconds(), set)
}

// OnArtifactDownload records a download exchange of the on-device engine as
// a client span of its own (the engine downloads in the background).
func (in *Instrumentation) OnArtifactDownload(ctx context.Context, d *target.ArtifactDownload) {
	address, port := serverAddress(d.URL)
	_, span := in.tracer.Start(ctx, SpanArtifactDownload, trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(d.Start))
	var kind target.ErrorKind
	if d.Err != nil {
		kind = target.ErrorKindNetwork
	}
	in.endHTTP(ctx, span, "GET", d.URL, address, port, 1, d.StatusCode, d.Err, kind, d.Duration)
	span.End(trace.WithTimestamp(d.Start.Add(d.Duration)))
}

// OnDeviceDecision records an on-device decision as a span under its call.
func (in *Instrumentation) OnDeviceDecision(ctx context.Context, d *target.OnDeviceDecision) {
	_, span := in.tracer.Start(ctx, SpanOnDeviceDecision, trace.WithSpanKind(trace.SpanKindInternal), trace.WithTimestamp(d.Start))
	if span.IsRecording() {
		attrs := make([]attribute.KeyValue, 0, 6)
		attrs = append(attrs, AttrMboxCount.Int(d.Mboxes), AttrViewCount.Int(d.Views), AttrNotificationCount.Int(d.Notifications))
		if d.RemoteMboxes > 0 {
			attrs = append(attrs, AttrRemoteMboxCount.Int(d.RemoteMboxes))
		}
		if d.RemoteViews > 0 {
			attrs = append(attrs, AttrRemoteViewCount.Int(d.RemoteViews))
		}
		if d.Err != nil {
			attrs = append(attrs, semconv.ErrorTypeKey.String(string(d.ErrorKind)))
			span.SetStatus(codes.Error, d.Err.Error())
		}
		span.SetAttributes(attrs...)
	}
	span.End(trace.WithTimestamp(d.Start.Add(d.Duration)))
}

// fullURL is u for url.full: the query kept, the sessionId value REDACTED.
func fullURL(u *url.URL) string {
	query := u.RawQuery
	if i := sessionIDStart(query); i >= 0 {
		end := strings.IndexByte(query[i:], '&')
		rest := ""
		if end >= 0 {
			rest = query[i+end:]
		}
		query = query[:i] + redacted + rest
	}
	var b strings.Builder
	b.Grow(len(u.Scheme) + len(u.Host) + len(u.Path) + len(query) + 4)
	b.WriteString(u.Scheme)
	b.WriteString("://")
	b.WriteString(u.Host)
	b.WriteString(u.EscapedPath())
	if query != "" {
		b.WriteByte('?')
		b.WriteString(query)
	}
	return b.String()
}

// sessionIDStart is the index of the sessionId value in a raw query, -1
// when there is none.
func sessionIDStart(query string) int {
	const key = "sessionId="
	for i := 0; i < len(query); {
		if strings.HasPrefix(query[i:], key) {
			return i + len(key)
		}
		next := strings.IndexByte(query[i:], '&')
		if next < 0 {
			return -1
		}
		i += next + 1
	}
	return -1
}

// errorMessage is err's message with the session id of a URL it names
// redacted.
func errorMessage(err error) string {
	msg := err.Error()
	var te *target.TransportError
	if errors.As(err, &te) {
		if u, perr := url.Parse(te.URL); perr == nil {
			if sid := u.Query().Get("sessionId"); sid != "" {
				msg = strings.ReplaceAll(msg, url.QueryEscape(sid), redacted)
				msg = strings.ReplaceAll(msg, sid, redacted)
			}
		}
	}
	return msg
}

// serverAddress is the host and port of u (the scheme's default port when
// it has none).
func serverAddress(u *url.URL) (string, int) {
	if p := u.Port(); p != "" {
		n, _ := strconv.Atoi(p)
		return u.Hostname(), n
	}
	if u.Scheme == "http" {
		return u.Hostname(), 80
	}
	return u.Hostname(), 443
}
