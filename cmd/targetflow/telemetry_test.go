package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/internal/edgetest"
	"github.com/targetflow/targetflow/internal/stalled"
)

// otlpReceiver is an OTLP/HTTP receiver: it decodes what exporters post to
// /v1/traces and /v1/metrics with the collector's pdata, as a collector
// would, and keeps it.
type otlpReceiver struct {
	url string

	mu      sync.Mutex
	spans   []receivedSpan
	metrics map[string]int // metric name -> measurements received (see measurements)
	posts   int
}

// receivedSpan is a span as the receiver decoded it.
type receivedSpan struct {
	service  string
	name     string
	kind     ptrace.SpanKind
	traceID  string
	spanID   string
	parentID string
	attrs    map[string]string
}

func startOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	rec := &otlpReceiver{metrics: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(rec.serve))
	t.Cleanup(srv.Close)
	rec.url = srv.URL
	return rec
}

func (rec *otlpReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want a protobuf POST", http.StatusBadRequest)
		return
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.posts++
	var answer []byte
	switch r.URL.Path {
	case "/v1/traces":
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec.addSpans(req.Traces())
		answer, err = ptraceotlp.NewExportResponse().MarshalProto()
	case "/v1/metrics":
		req := pmetricotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rms := req.Metrics().ResourceMetrics()
		for i := range rms.Len() {
			sms := rms.At(i).ScopeMetrics()
			for j := range sms.Len() {
				ms := sms.At(j).Metrics()
				for k := range ms.Len() {
					rec.metrics[ms.At(k).Name()] += measurements(ms.At(k))
				}
			}
		}
		answer, err = pmetricotlp.NewExportResponse().MarshalProto()
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(answer)
}

// measurements is what a metric's data points count: the sum of a
// counter, the number of measurements of a histogram, the data points of
// any other.
func measurements(m pmetric.Metric) int {
	n := 0
	switch m.Type() {
	case pmetric.MetricTypeSum:
		for i := range m.Sum().DataPoints().Len() {
			dp := m.Sum().DataPoints().At(i)
			n += int(dp.IntValue()) + int(dp.DoubleValue())
		}
	case pmetric.MetricTypeHistogram:
		for i := range m.Histogram().DataPoints().Len() {
			n += int(m.Histogram().DataPoints().At(i).Count())
		}
	case pmetric.MetricTypeGauge:
		n = m.Gauge().DataPoints().Len()
	}
	return n
}

func (rec *otlpReceiver) addSpans(td ptrace.Traces) {
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		service, _ := rss.At(i).Resource().Attributes().Get("service.name")
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				s := spans.At(k)
				got := receivedSpan{service: service.Str(), name: s.Name(), kind: s.Kind(),
					traceID: s.TraceID().String(), spanID: s.SpanID().String(), attrs: map[string]string{}}
				if !s.ParentSpanID().IsEmpty() {
					got.parentID = s.ParentSpanID().String()
				}
				s.Attributes().Range(func(k string, v pcommon.Value) bool {
					got.attrs[k] = v.AsString()
					return true
				})
				rec.spans = append(rec.spans, got)
			}
		}
	}
}

func (rec *otlpReceiver) received() ([]receivedSpan, map[string]int, int) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	metrics := map[string]int{}
	for k, v := range rec.metrics {
		metrics[k] = v
	}
	return append([]receivedSpan(nil), rec.spans...), metrics, rec.posts
}

func spansNamed(spans []receivedSpan, name string) []receivedSpan {
	var out []receivedSpan
	for _, s := range spans {
		if s.name == name {
			out = append(out, s)
		}
	}
	return out
}

// postDelivery sends one delivery call to the edge at addr, with header.
func postDelivery(t *testing.T, addr string, header map[string]string) int {
	t.Helper()
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/rest/v1/delivery?imsOrgId=o&sessionId=s",
		bytes.NewReader([]byte(`{"context":{"channel":"web"},"execute":{"mboxes":[{"index":1,"name":"hero"}]}}`)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Logf("delivery answer: %s", body)
	}
	return resp.StatusCode
}

func TestEdgeExportsSpansAndMetricsByOTLP(t *testing.T) {
	rec := startOTLPReceiver(t)
	t.Setenv("OTEL_SERVICE_NAME", "edge-under-test")
	t.Setenv("OTEL_TRACES_SAMPLER", "parentbased_always_on") // every request, not the default one in a hundred
	addr, stop, stderr := runEdgeCommand(t, []string{"--addr", "127.0.0.1:0", "--log-level", "warn", "--otlp-endpoint", rec.url}, nil)
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	if status := postDelivery(t, addr, map[string]string{"Traceparent": "00-" + traceID + "-" + parentID + "-01"}); status != http.StatusOK {
		t.Fatalf("delivery call answered %d", status)
	}
	if status := postDelivery(t, addr, nil); status != http.StatusOK {
		t.Fatalf("delivery call answered %d", status)
	}
	if code := stop(); code != exitOK {
		t.Fatalf("edge exited %d; stderr:\n%s", code, stderr.String())
	}
	// The spans and metrics were flushed at exit.
	spans, metrics, _ := rec.received()
	served := spansNamed(spans, "POST /rest/v1/delivery")
	if len(served) != 2 {
		t.Fatalf("receiver got spans %+v; want two POST /rest/v1/delivery", spans)
	}
	for _, s := range served {
		if s.kind != ptrace.SpanKindServer || s.service != "edge-under-test" || s.attrs["http.response.status_code"] != "200" || s.attrs["http.request.method"] != "POST" {
			t.Errorf("span %+v; want a server span of edge-under-test answered 200", s)
		}
	}
	if served[0].traceID != traceID || served[0].parentID != parentID {
		t.Errorf("first span in trace %s under %s; want the caller's trace %s under %s", served[0].traceID, served[0].parentID, traceID, parentID)
	}
	if served[1].traceID == traceID || served[1].parentID != "" {
		t.Errorf("second span %+v; want a root span of a trace of its own", served[1])
	}
	if metrics["http.server.request.duration"] == 0 {
		t.Errorf("receiver got metrics %v; want http.server.request.duration", metrics)
	}
}

func TestEdgeDefaultSampler(t *testing.T) {
	rec := startOTLPReceiver(t)
	addr, stop, stderr := runEdgeCommand(t, []string{"--addr", "127.0.0.1:0", "--log-level", "warn", "--otlp-endpoint", rec.url}, nil)
	const sampledTrace, unsampledTrace = "4bf92f3577b34da6a3ce929d0e0e4736", "5bf92f3577b34da6a3ce929d0e0e4737"
	postDelivery(t, addr, map[string]string{"Traceparent": "00-" + sampledTrace + "-00f067aa0ba902b7-01"})
	postDelivery(t, addr, map[string]string{"Traceparent": "00-" + unsampledTrace + "-00f067aa0ba902b7-00"})
	const roots = 200
	for range roots {
		postDelivery(t, addr, nil)
	}
	if code := stop(); code != exitOK {
		t.Fatalf("edge exited %d; stderr:\n%s", code, stderr.String())
	}
	spans, _, _ := rec.received()
	traced := map[string]bool{}
	for _, s := range spansNamed(spans, "POST /rest/v1/delivery") {
		traced[s.traceID] = true
	}
	// Parent-based: the caller's decision is followed; a root request is
	// sampled one time in a hundred (more than 10 of 200 would be a
	// chance of about 1e-7).
	if !traced[sampledTrace] || traced[unsampledTrace] {
		t.Errorf("sampled parent traced %v, unsampled parent traced %v; want true, false", traced[sampledTrace], traced[unsampledTrace])
	}
	if n := len(traced) - 1; n > 10 {
		t.Errorf("%d of %d root requests traced; want about 1 in 100", n, roots)
	}
}

func TestOTLPEnvironment(t *testing.T) {
	rec := startOTLPReceiver(t)
	// The standard variables alone turn export on; the sampler they name
	// is used: always_off exports no span (metrics still go).
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rec.url)
	t.Setenv("OTEL_TRACES_SAMPLER", "always_off")
	addr, stop, stderr := runEdgeCommand(t, []string{"--addr", "127.0.0.1:0", "--log-level", "warn"}, nil)
	if status := postDelivery(t, addr, nil); status != http.StatusOK {
		t.Fatalf("delivery call answered %d", status)
	}
	if code := stop(); code != exitOK {
		t.Fatalf("edge exited %d; stderr:\n%s", code, stderr.String())
	}
	spans, metrics, _ := rec.received()
	if len(spans) != 0 || metrics["http.server.request.duration"] == 0 {
		t.Errorf("with OTEL_TRACES_SAMPLER=always_off: %d spans, metrics %v; want none and the edge's metrics", len(spans), metrics)
	}

	// Without flag or variable nothing is exported.
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	before := len(spans)
	_, _, posts := rec.received()
	addr, stop, _ = runEdgeCommand(t, []string{"--addr", "127.0.0.1:0", "--log-level", "warn"}, nil)
	postDelivery(t, addr, nil)
	stop()
	spans, _, after := rec.received()
	if len(spans) != before || after != posts {
		t.Errorf("without an endpoint the receiver got %d more posts", after-posts)
	}
}

func TestOTLPEndpointFlagErrors(t *testing.T) {
	for _, bad := range []string{"127.0.0.1:4318", "ftp://collector:4318", "http://", "http://collector:4318/?x=1"} {
		var stderr bytes.Buffer
		code := serveEdge(t.Context(), []string{"--addr", "127.0.0.1:0", "--otlp-endpoint", bad}, stdio{In: strings.NewReader(""), Out: io.Discard, Err: &stderr}, nil)
		if code != exitUsage || !strings.Contains(stderr.String(), "--otlp-endpoint "+`"`+bad+`"`) {
			t.Errorf("--otlp-endpoint %q: exit %d, stderr %q; want %d naming the flag and value", bad, code, stderr.String(), exitUsage)
		}
	}
}

func TestRunExportsByOTLP(t *testing.T) {
	rec := startOTLPReceiver(t)
	t.Setenv("OTEL_TRACES_SAMPLER", "always_on") // every call, not the default one in a hundred
	// A local edge that answers the first delivery call 503: its record is
	// retried, a resend for the client's hooks.
	srv, addr := edgetest.Start(t)
	srv.Control(func(r *edge.Request) (edge.Answer, bool) {
		return edge.Answer{Status: http.StatusServiceUnavailable}, r.Endpoint == edge.EndpointDelivery
	})
	const n = 20
	input := writeFile(t, "v.jsonl", visitorLines(n, func(i int) string { return fmt.Sprintf(`{"id":{"tntId":"otlp-%d"}}`, i) }))
	code, out, stderr := runCLI(t, t.Context(), []string{
		"--input", input, "--execute", "hero,cart", "--server-domain", addr, "--insecure",
		"--client", demo.Client, "--organization-id", demo.OrganizationID, "--concurrency", "1",
		"--otlp-endpoint", rec.url + "/",
	}, nil, false)
	if code != exitOK || len(parseResults(t, out)) != n {
		t.Fatalf("exit %d with %d results; stderr:\n%s", code, len(parseResults(t, out)), stderr)
	}
	// Spans and metrics were flushed at exit.
	spans, metrics, _ := rec.received()
	calls, posts := spansNamed(spans, "target.GetOffers"), spansNamed(spans, "POST")
	if len(calls) != n+1 || len(posts) != n+1 {
		t.Fatalf("%d target.GetOffers and %d POST spans; want %d of each (a record retried once)", len(calls), len(posts), n+1)
	}
	byID := map[string]receivedSpan{}
	for _, c := range calls {
		byID[c.spanID] = c
	}
	resent := 0
	for _, p := range posts {
		parent, ok := byID[p.parentID]
		if !ok || p.traceID != parent.traceID || p.kind != ptrace.SpanKindClient || p.service != "targetflow-run" {
			t.Fatalf("POST span %+v is not a client span under a target.GetOffers of targetflow-run", p)
		}
		if !strings.Contains(p.attrs["url.full"], "sessionId=REDACTED") {
			t.Errorf("url.full %q keeps the session id", p.attrs["url.full"])
		}
		if p.attrs["http.request.resend_count"] == "1" {
			resent++
			if p.attrs["http.response.status_code"] != "200" {
				t.Errorf("the resend was answered %s", p.attrs["http.response.status_code"])
			}
		}
	}
	if resent != 1 {
		t.Errorf("%d POST spans with http.request.resend_count 1; want 1", resent)
	}
	for name, want := range map[string]int{
		"http.client.request.duration": n + 1,
		"target.client.decisions":      n,
		"targetflow.pipeline.items":    1, // at least: the counts of every component and outcome
	} {
		if metrics[name] < want {
			t.Errorf("metric %s: %d; want at least %d (got %v)", name, metrics[name], want, metrics)
		}
	}
}

func TestDecideExportsByOTLP(t *testing.T) {
	rec := startOTLPReceiver(t)
	var requests bytes.Buffer
	if code := decideCommand(t.Context(), []string{"--artifact", "demo", "--generate", "300"}, stdio{In: strings.NewReader(""), Out: &requests, Err: io.Discard}); code != exitOK {
		t.Fatalf("generate: exit %d", code)
	}
	var out, stderr bytes.Buffer
	code := decideCommand(t.Context(), []string{"--artifact", "demo", "--otlp-endpoint", rec.url},
		stdio{In: bytes.NewReader(requests.Bytes()), Out: &out, Err: &stderr})
	if code != exitOK {
		t.Fatalf("decide: exit %d; stderr:\n%s", code, stderr.String())
	}
	spans, metrics, _ := rec.received()
	chunks := spansNamed(spans, "targetflow.decide.chunk")
	lines := 0
	for _, c := range chunks {
		n, _ := strconv.Atoi(c.attrs["targetflow.decide.lines"])
		lines += n
		if c.service != "targetflow-decide" {
			t.Errorf("chunk span of service %q", c.service)
		}
	}
	if len(chunks) == 0 || lines != 300 {
		t.Errorf("%d chunk spans covering %d lines; want them to cover the 300", len(chunks), lines)
	}
	if metrics["targetflow.pipeline.items"] == 0 || metrics["targetflow.pipeline.completed"] == 0 {
		t.Errorf("metrics %v; want the pipeline's", metrics)
	}
}

// TestUnreachableCollector: telemetry that cannot be exported is a warning,
// not a failed run, and the flush at exit is bounded. The collector closes
// every connection at once.
func TestUnreachableCollector(t *testing.T) {
	closed := stalled.HangUpURL(t)
	input := writeFile(t, "v.jsonl", visitorLines(20, func(i int) string { return fmt.Sprintf(`{"id":{"tntId":"u-%d"}}`, i) }))
	code, out, stderr := runCLI(t, t.Context(), []string{"--input", input, "--execute", "hero", "--otlp-endpoint", closed}, nil, false)
	if code != exitOK || len(parseResults(t, out)) != 20 {
		t.Fatalf("exit %d with %d results; want 0 and 20; stderr:\n%s", code, len(parseResults(t, out)), stderr)
	}
	if !strings.Contains(stderr, "warning: exporting the last spans and metrics") {
		t.Errorf("stderr %q; want the export's failure as a warning", stderr)
	}
	var decideErr bytes.Buffer
	if code := decideCommand(t.Context(), []string{"--artifact", "demo", "--generate", "3", "--otlp-endpoint", closed},
		stdio{In: strings.NewReader(""), Out: io.Discard, Err: &decideErr}); code != exitOK {
		t.Errorf("decide: exit %d; stderr %s", code, decideErr.String())
	}
}
