package targetotel_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/internal/edgetest"
	"github.com/targetflow/targetflow/ondevice"
	"github.com/targetflow/targetflow/target"
	"github.com/targetflow/targetflow/targetotel"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// telemetry is an OpenTelemetry SDK whose spans go to the SDK's in-memory
// exporter and whose metrics are read on demand.
type telemetry struct {
	spans   *tracetest.InMemoryExporter
	tp      *sdktrace.TracerProvider
	metrics *sdkmetric.ManualReader
	inst    *targetotel.Instrumentation
}

func newTelemetry(t *testing.T, opts ...targetotel.Option) *telemetry {
	t.Helper()
	tel := &telemetry{spans: tracetest.NewInMemoryExporter(), metrics: sdkmetric.NewManualReader()}
	tel.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(tel.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.metrics))
	t.Cleanup(func() {
		_ = tel.tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	inst, err := targetotel.New(append([]targetotel.Option{targetotel.WithTracerProvider(tel.tp), targetotel.WithMeterProvider(mp)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	tel.inst = inst
	return tel
}

// ended returns the spans ended so far, in the order they ended.
func (tel *telemetry) ended() tracetest.SpanStubs { return tel.spans.GetSpans() }

func named(spans tracetest.SpanStubs, name string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

func one(t *testing.T, spans tracetest.SpanStubs, name string) tracetest.SpanStub {
	t.Helper()
	found := named(spans, name)
	if len(found) != 1 {
		t.Fatalf("%d spans named %q in %v; want 1", len(found), name, spanNames(spans))
	}
	return found[0]
}

func spanNames(spans tracetest.SpanStubs) []string {
	var names []string
	for _, s := range spans {
		names = append(names, s.Name)
	}
	return names
}

func attrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

// wantAttrs checks that s has each of want (values as their Emit text);
// an empty value means the attribute must be absent.
func wantAttrs(t *testing.T, s tracetest.SpanStub, want map[string]string) {
	t.Helper()
	got := attrs(s)
	for k, v := range want {
		value, ok := got[attribute.Key(k)]
		switch {
		case v == "" && ok:
			t.Errorf("span %s: %s = %s; want it absent", s.Name, k, value.String())
		case v != "" && !ok:
			t.Errorf("span %s: no %s; want %s", s.Name, k, v)
		case v != "" && value.String() != v:
			t.Errorf("span %s: %s = %s; want %s", s.Name, k, value.String(), v)
		}
	}
}

func childOf(t *testing.T, child, parent tracetest.SpanStub) {
	t.Helper()
	if child.Parent.SpanID() != parent.SpanContext.SpanID() || child.SpanContext.TraceID() != parent.SpanContext.TraceID() {
		t.Errorf("span %s is not a child of %s", child.Name, parent.Name)
	}
}

// headers records the headers of the edge's delivery calls.
type headers struct {
	mu  sync.Mutex
	got []http.Header
}

func observe(srv *edge.Server) *headers {
	h := &headers{}
	srv.Control(func(r *edge.Request) (edge.Answer, bool) {
		if r.Endpoint == edge.EndpointDelivery {
			h.mu.Lock()
			h.got = append(h.got, r.HTTP.Header.Clone())
			h.mu.Unlock()
		}
		return edge.Answer{}, false
	})
	return h
}

func (h *headers) all() []http.Header {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got)
}

func TestServerSideSpans(t *testing.T) {
	t.Parallel()
	srv, addr := edgetest.Start(t)
	seen := observe(srv)
	tel := newTelemetry(t)
	client := edgetest.Client(t, addr, target.WithHooks(tel.inst))

	parentCtx, parent := tel.tp.Tracer("test").Start(t.Context(), "page")
	resp, err := client.GetOffers(parentCtx, target.GetOffersOptions{
		SessionID: "visitor-session-1",
		Request: &delivery.DeliveryRequest{
			Execute:  &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Name: demo.MboxHero}, {Name: demo.MboxCart}}},
			Prefetch: &delivery.PrefetchRequest{Views: []delivery.ViewRequest{{Name: demo.ViewHome}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	parent.End()
	spans := tel.ended()
	call, post := one(t, spans, "target.GetOffers"), one(t, spans, "POST")
	childOf(t, call, one(t, spans, "page"))
	childOf(t, post, call)
	if call.SpanKind != trace.SpanKindInternal || post.SpanKind != trace.SpanKindClient {
		t.Errorf("kinds: call %v, POST %v", call.SpanKind, post.SpanKind)
	}
	wantAttrs(t, call, map[string]string{
		"target.decisioning.method":  "server-side",
		"target.decisioning.outcome": "server-side",
		"target.mbox.count":          "2",
		"target.view.count":          "1",
		"target.request.id":          resp.Request.RequestID,
		"error.type":                 "",
	})
	host, port, _ := strings.Cut(addr, ":")
	wantAttrs(t, post, map[string]string{
		"http.request.method":       "POST",
		"server.address":            host,
		"server.port":               port,
		"url.full":                  "http://" + addr + "/rest/v1/delivery?imsOrgId=" + strings.ReplaceAll(demo.OrganizationID, "@", "%40") + "&sessionId=REDACTED&version=" + target.Version,
		"http.response.status_code": "200",
		"http.request.resend_count": "",
		"error.type":                "",
	})
	if call.Status.Code == codes.Error || post.Status.Code == codes.Error {
		t.Errorf("status: call %v, POST %v", call.Status, post.Status)
	}
	for _, h := range seen.all() {
		if tp := h.Get("Traceparent"); tp != "" {
			t.Errorf("traceparent %q sent to Target without WithPropagator", tp)
		}
	}
}

func TestFailuresAndRetries(t *testing.T) {
	t.Parallel()
	srv, addr := edgetest.Start(t)
	tel := newTelemetry(t)
	client := edgetest.Client(t, addr, target.WithHooks(tel.inst))
	request := &delivery.DeliveryRequest{Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Name: demo.MboxHero}}}}
	opts := target.GetOffersOptions{Request: request, SessionID: "s-3f1a9c"}

	// A 503, then its retry (resend 1) reset by the edge, then the second
	// retry answered.
	srv.Control(func(r *edge.Request) (edge.Answer, bool) {
		return edge.Answer{Status: http.StatusServiceUnavailable, Header: http.Header{"Retry-After": {"1"}}}, r.Endpoint == edge.EndpointDelivery
	})
	if _, err := client.GetOffers(t.Context(), opts); err == nil {
		t.Fatal("GetOffers succeeded against a 503")
	}
	srv.Control(func(r *edge.Request) (edge.Answer, bool) {
		return edge.Answer{Reset: true}, r.Endpoint == edge.EndpointDelivery
	})
	if _, err := client.GetOffers(target.ContextWithResendCount(t.Context(), 1), opts); err == nil {
		t.Fatal("GetOffers succeeded against a reset")
	}
	if _, err := client.GetOffers(target.ContextWithResendCount(t.Context(), 2), opts); err != nil {
		t.Fatal(err)
	}
	// Options refused before sending: a call span without attempts.
	if _, err := client.GetOffers(t.Context(), target.GetOffersOptions{}); err == nil {
		t.Fatal("GetOffers of nothing succeeded")
	}
	// Notifications the edge refuses are counted as failed.
	srv.Control(func(r *edge.Request) (edge.Answer, bool) {
		return edge.Answer{Status: http.StatusServiceUnavailable}, r.Endpoint == edge.EndpointDelivery
	})
	if _, err := client.SendNotifications(t.Context(), target.SendNotificationsOptions{Request: &delivery.DeliveryRequest{
		Notifications: []delivery.Notification{
			{ID: "n1", Type: delivery.MetricDisplay, Timestamp: 1, Mbox: &delivery.NotificationMbox{Name: demo.MboxHero}},
			{ID: "n2", Type: delivery.MetricClick, Timestamp: 1, Mbox: &delivery.NotificationMbox{Name: demo.MboxHero}},
		}}}); err == nil {
		t.Fatal("SendNotifications succeeded against a 503")
	}
	var rm metricdata.ResourceMetrics
	if err := tel.metrics.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	if got := sums(rm); got["target.client.notifications{target.notification.outcome=failed}"] != 2 ||
		got["target.client.decisions{target.decisioning.outcome=server-side,target.operation=GetOffers}"] != 1 {
		t.Errorf("counters %v; want 2 failed notifications and 1 server-side decision", got)
	}

	spans := tel.ended()
	posts, calls := named(spans, "POST"), named(spans, "target.GetOffers")
	if len(posts) != 4 || len(calls) != 4 {
		t.Fatalf("spans %v; want 4 POST (3 for GetOffers) and 4 target.GetOffers", spanNames(spans))
	}
	wantAttrs(t, posts[0], map[string]string{"http.response.status_code": "503", "error.type": "503", "http.request.resend_count": ""})
	wantAttrs(t, posts[1], map[string]string{"http.response.status_code": "", "error.type": "network", "http.request.resend_count": "1"})
	wantAttrs(t, posts[2], map[string]string{"http.response.status_code": "200", "error.type": "", "http.request.resend_count": "2"})
	wantAttrs(t, calls[0], map[string]string{"error.type": "http", "target.decisioning.outcome": ""})
	wantAttrs(t, calls[1], map[string]string{"error.type": "network"})
	wantAttrs(t, calls[2], map[string]string{"error.type": "", "target.decisioning.outcome": "server-side"})
	wantAttrs(t, calls[3], map[string]string{"error.type": "invalid", "target.mbox.count": "0"})
	for i, s := range append(slices.Clone(posts[:2]), calls[0], calls[1], calls[3]) {
		if s.Status.Code != codes.Error {
			t.Errorf("failed span %d (%s): status %v; want Error", i, s.Name, s.Status)
		}
		if strings.Contains(s.Status.Description, "s-3f1a9c") {
			t.Errorf("span %s status names the session id: %q", s.Name, s.Status.Description)
		}
	}
	if !strings.Contains(calls[1].Status.Description, "sessionId=REDACTED") {
		t.Errorf("transport failure status %q; want its URL with the session id redacted", calls[1].Status.Description)
	}
}

func TestPropagatorInjectsTraceContext(t *testing.T) {
	t.Parallel()
	srv, addr := edgetest.Start(t)
	seen := observe(srv)
	tel := newTelemetry(t, targetotel.WithPropagator(propagation.TraceContext{}))
	client := edgetest.Client(t, addr, target.WithHooks(tel.inst))
	if _, err := client.GetOffers(t.Context(), target.GetOffersOptions{Request: &delivery.DeliveryRequest{
		Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Name: demo.MboxHero}}}}}); err != nil {
		t.Fatal(err)
	}
	post := one(t, tel.ended(), "POST")
	got := seen.all()
	want := "00-" + post.SpanContext.TraceID().String() + "-" + post.SpanContext.SpanID().String() + "-01"
	if len(got) != 1 || got[0].Get("Traceparent") != want {
		t.Errorf("edge received traceparent %q; want %q (the POST span's)", got[0].Get("Traceparent"), want)
	}
}

func TestOnDeviceSpansAndMetrics(t *testing.T) {
	t.Parallel()
	srv, addr := edgetest.Start(t)
	srv.Control(func(r *edge.Request) (edge.Answer, bool) {
		return edge.Answer{Status: http.StatusServiceUnavailable}, r.Endpoint == edge.EndpointRulesJSON
	})
	tel := newTelemetry(t)
	location := "http://" + addr + "/" + demo.Client + "/production/rules/v1/rules.json"
	client := edgetest.Client(t, addr, target.WithHooks(tel.inst), target.WithDecisioningMethod(delivery.DecisioningHybrid),
		target.WithOnDevice(ondevice.WithArtifactURL(location), ondevice.WithRetry(2, 0)))
	if err := client.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := client.GetOffers(t.Context(), target.GetOffersOptions{Request: &delivery.DeliveryRequest{
		Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Name: demo.MboxHero}}}}}); err != nil {
		t.Fatal(err)
	}
	attrs, err := client.GetAttributes(t.Context(), []string{demo.MboxRecommendations}, target.GetOffersOptions{})
	if err != nil || attrs.Response().Meta.DecisioningMethod != delivery.DecisioningServerSide {
		t.Fatalf("GetAttributes of the remote mbox: %v", err)
	}
	if err := client.Close(); err != nil { // the background notifications are sent
		t.Fatal(err)
	}

	spans := tel.ended()
	downloads := named(spans, targetotel.SpanArtifactDownload)
	if len(downloads) != 2 {
		t.Fatalf("%d artifact download spans in %v; want 2 (a 503, then the artifact)", len(downloads), spanNames(spans))
	}
	wantAttrs(t, downloads[0], map[string]string{"http.response.status_code": "503", "error.type": "503", "http.request.method": "GET", "url.full": location})
	wantAttrs(t, downloads[1], map[string]string{"http.response.status_code": "200", "error.type": ""})
	if downloads[1].Parent.IsValid() {
		t.Error("an artifact download span has a parent; the engine downloads on its own")
	}

	call := one(t, spans, "target.GetOffers")
	decision := one(t, spans, targetotel.SpanOnDeviceDecision)
	childOf(t, decision, call)
	wantAttrs(t, call, map[string]string{"target.decisioning.method": "hybrid", "target.decisioning.outcome": "on-device"})
	wantAttrs(t, decision, map[string]string{"target.mbox.count": "1", "target.notification.count": "1"})
	notify := one(t, spans, "target.SendNotifications")
	childOf(t, notify, call)
	wantAttrs(t, notify, map[string]string{"target.background": "true", "target.notification.count": "1", "target.decisioning.outcome": "server-side"})
	remote := one(t, spans, "target.GetAttributes")
	wantAttrs(t, remote, map[string]string{"target.decisioning.outcome": "server-side", "target.remote_mbox.count": "1", "target.mbox.count": "1"})
	for _, post := range named(spans, "POST") {
		if post.Parent.SpanID() != notify.SpanContext.SpanID() && post.Parent.SpanID() != remote.SpanContext.SpanID() {
			t.Errorf("a POST span is not under the notification or the GetAttributes call")
		}
	}

	var rm metricdata.ResourceMetrics
	if err := tel.metrics.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	got := sums(rm)
	for series, want := range map[string]int64{
		"target.client.decisions{target.decisioning.outcome=on-device,target.operation=GetOffers}":           1,
		"target.client.decisions{target.decisioning.outcome=server-side,target.operation=GetAttributes}":     1,
		"target.client.notifications{target.notification.outcome=sent}":                                      1,
		"http.client.request.duration{http.request.method=GET,http.response.status_code=503,error.type=503}": 1,
		"http.client.request.duration{http.request.method=GET,http.response.status_code=200}":                1,
		"http.client.request.duration{http.request.method=POST,http.response.status_code=200}":               2,
	} {
		if got[series] != want {
			t.Errorf("%s = %d; want %d", series, got[series], want)
		}
	}
	if t.Failed() {
		t.Logf("series: %v", got)
	}
}

// sums flattens the counters' sums and the histograms' counts into
// name{key=value,...} series (server.address and server.port left out).
func sums(rm metricdata.ResourceMetrics) map[string]int64 {
	out := map[string]int64{}
	key := func(name string, set attribute.Set) string {
		var parts []string
		for _, kv := range set.ToSlice() {
			if kv.Key == "server.address" || kv.Key == "server.port" {
				continue
			}
			parts = append(parts, string(kv.Key)+"="+kv.Value.String())
		}
		// Histogram series are written in the order the tests name them.
		order := map[string]int{"http.request.method": 0, "target.operation": 0, "http.response.status_code": 1, "target.decisioning.method": 1, "error.type": 2}
		slices.SortStableFunc(parts, func(a, b string) int {
			ka, _, _ := strings.Cut(a, "=")
			kb, _, _ := strings.Cut(b, "=")
			oa, okA := order[ka]
			ob, okB := order[kb]
			if okA && okB {
				return oa - ob
			}
			return strings.Compare(a, b)
		})
		return name + "{" + strings.Join(parts, ",") + "}"
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range data.DataPoints {
					out[key(m.Name, dp.Attributes)] += dp.Value
				}
			case metricdata.Histogram[float64]:
				for _, dp := range data.DataPoints {
					out[key(m.Name, dp.Attributes)] += int64(dp.Count)
				}
			}
		}
	}
	return out
}
