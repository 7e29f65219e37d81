package target

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/ondevice"
)

// recorder is a hook implementing every hook interface: it writes one
// line per hook call, and checks that end hooks get the context their start
// hook returned.
type recorder struct {
	mu    sync.Mutex
	lines []string
}

type recorderKey struct{}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
}

func (r *recorder) recorded() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.lines...)
}

func (r *recorder) OnCallStart(ctx context.Context, c *Call) context.Context {
	r.add("call start %s %s mboxes=%d views=%d notifications=%d background=%v", c.Method, c.DecisioningMethod, c.Mboxes, c.Views, c.Notifications, c.Background)
	return context.WithValue(ctx, recorderKey{}, "call "+c.Method)
}

func (r *recorder) OnCallEnd(ctx context.Context, c *Call) {
	r.add("call end %s decided=%s remote=%d/%d kind=%q ctx=%v requestId=%v", c.Method, c.DecidedBy, c.RemoteMboxes, c.RemoteViews, c.ErrorKind, ctx.Value(recorderKey{}), c.RequestID != "")
}

func (r *recorder) OnHTTPAttemptStart(ctx context.Context, a *HTTPAttempt) context.Context {
	a.Header.Set("X-Recorder", "yes")
	r.add("attempt start %s %s:%d attempt=%d session=%v ctx=%v", a.Method, a.ServerAddress, a.ServerPort, a.Attempt, a.URL.Query().Get("sessionId") != "", ctx.Value(recorderKey{}))
	return context.WithValue(ctx, recorderKey{}, fmt.Sprint("attempt of ", ctx.Value(recorderKey{})))
}

func (r *recorder) OnHTTPAttemptEnd(ctx context.Context, a *HTTPAttempt) {
	r.add("attempt end status=%d kind=%q bytes>0=%v ctx=%v", a.StatusCode, a.ErrorKind, a.ResponseBytes > 0, ctx.Value(recorderKey{}))
}

func (r *recorder) OnArtifactDownload(_ context.Context, d *ArtifactDownload) {
	r.add("artifact %s status=%d bytes>0=%v err=%v", d.URL.Path, d.StatusCode, d.Bytes > 0, d.Err)
}

func (r *recorder) OnDeviceDecision(ctx context.Context, d *OnDeviceDecision) {
	r.add("decision mboxes=%d views=%d notifications=%d remote=%d kind=%q ctx=%v", d.Mboxes, d.Views, d.Notifications, d.RemoteMboxes, d.ErrorKind, ctx.Value(recorderKey{}))
}

func checkLines(t *testing.T, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("hooks saw:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestHooksServerSide(t *testing.T) {
	t.Parallel()
	e := newTestEdge(t)
	rec := &recorder{}
	c := e.newClient(WithHooks(rec), WithServerDomain(e.hostPort()), WithTelemetry(false))
	port := e.hostPort()[strings.LastIndex(e.hostPort(), ":")+1:]

	if _, err := c.GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("hero", "cart")}); err != nil {
		t.Fatal(err)
	}
	if got := e.last().Header.Get("X-Recorder"); got != "yes" {
		t.Errorf("header added by the start hook: %q", got)
	}
	e.answer(body(503, `{"status":503,"message":"busy"}`))
	retry := ContextWithResendCount(t.Context(), 2)
	if _, err := c.GetAttributes(retry, []string{"feature-flags"}, GetOffersOptions{}); err == nil {
		t.Fatal("GetAttributes succeeded against a 503")
	}
	if _, err := c.GetOffers(t.Context(), GetOffersOptions{}); err == nil {
		t.Fatal("GetOffers of nothing succeeded")
	}
	if _, err := c.SendNotifications(t.Context(), SendNotificationsOptions{Request: &delivery.DeliveryRequest{
		Notifications: []delivery.Notification{{ID: "n1", Type: delivery.MetricDisplay, Timestamp: 1, Mbox: &delivery.NotificationMbox{Name: "hero"}}},
	}}); err != nil {
		t.Fatal(err)
	}
	// The first answer names cluster 28: later calls go there (the routing
	// transport brings them back to the edge).
	cluster := "mboxedge28.tt.omtrdc.net:80"
	checkLines(t, rec.recorded(), []string{
		"call start GetOffers server-side mboxes=2 views=0 notifications=0 background=false",
		"attempt start POST 127.0.0.1:" + port + " attempt=1 session=true ctx=call GetOffers",
		"attempt end status=200 kind=\"\" bytes>0=true ctx=attempt of call GetOffers",
		"call end GetOffers decided=server-side remote=0/0 kind=\"\" ctx=call GetOffers requestId=true",
		"call start GetAttributes server-side mboxes=1 views=0 notifications=0 background=false",
		"attempt start POST " + cluster + " attempt=3 session=true ctx=call GetAttributes",
		"attempt end status=503 kind=\"http\" bytes>0=true ctx=attempt of call GetAttributes",
		"call end GetAttributes decided= remote=0/0 kind=\"http\" ctx=call GetAttributes requestId=false",
		"call start GetOffers server-side mboxes=0 views=0 notifications=0 background=false",
		"call end GetOffers decided= remote=0/0 kind=\"invalid\" ctx=call GetOffers requestId=false",
		"call start SendNotifications server-side mboxes=0 views=0 notifications=1 background=false",
		"attempt start POST " + cluster + " attempt=1 session=true ctx=call SendNotifications",
		"attempt end status=200 kind=\"\" bytes>0=true ctx=attempt of call SendNotifications",
		"call end SendNotifications decided=server-side remote=0/0 kind=\"\" ctx=call SendNotifications requestId=true",
	})
}

func TestHooksOnDeviceAndHybrid(t *testing.T) {
	t.Parallel()
	e := newTestEdge(t)
	rec := &recorder{}
	c := onDeviceClient(t, e, delivery.DecisioningHybrid, WithHooks(rec), WithServerDomain(e.hostPort()), WithTelemetry(false))
	port := e.hostPort()[strings.LastIndex(e.hostPort(), ":")+1:]

	if _, err := c.GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes(demo.MboxHero)}); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil { // waits for the background notifications
		t.Fatal(err)
	}
	if _, err := c.GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes(demo.MboxHero, demo.MboxRecommendations)}); err != nil {
		t.Fatal(err)
	}
	// The background send runs concurrently with the end of the first
	// call: check its lines apart.
	var calls, background []string
	for _, line := range rec.recorded() {
		if strings.Contains(line, "SendNotifications") {
			background = append(background, line)
		} else {
			calls = append(calls, line)
		}
	}
	checkLines(t, calls, []string{
		"call start GetOffers hybrid mboxes=1 views=0 notifications=0 background=false",
		"decision mboxes=1 views=0 notifications=1 remote=0 kind=\"\" ctx=call GetOffers",
		"call end GetOffers decided=on-device remote=0/0 kind=\"\" ctx=call GetOffers requestId=true",
		"call start GetOffers hybrid mboxes=2 views=0 notifications=0 background=false",
		// The notification call's answer named cluster 28.
		"attempt start POST mboxedge28.tt.omtrdc.net:80 attempt=1 session=true ctx=call GetOffers",
		"attempt end status=200 kind=\"\" bytes>0=true ctx=attempt of call GetOffers",
		"call end GetOffers decided=server-side remote=1/0 kind=\"\" ctx=call GetOffers requestId=true",
	})
	checkLines(t, background, []string{
		"call start SendNotifications server-side mboxes=0 views=0 notifications=1 background=true",
		"attempt start POST 127.0.0.1:" + port + " attempt=1 session=true ctx=call SendNotifications",
		"attempt end status=200 kind=\"\" bytes>0=true ctx=attempt of call SendNotifications",
		"call end SendNotifications decided=server-side remote=0/0 kind=\"\" ctx=call SendNotifications requestId=true",
	})
}

func TestHooksArtifactDownloads(t *testing.T) {
	t.Parallel()
	e := newTestEdge(t)
	e.control(func(r *edge.Request) (edge.Answer, bool) {
		return edge.Answer{Status: http.StatusServiceUnavailable}, r.Endpoint == edge.EndpointRulesBin
	})
	rec := &recorder{}
	location := "http://" + e.hostPort() + "/" + demo.Client + "/production/rules/v1/rules.bin"
	c := e.newClient(WithClient(demo.Client), WithOrganizationID(demo.OrganizationID), WithDecisioningMethod(delivery.DecisioningOnDevice),
		WithHooks(rec), WithTelemetry(false),
		WithOnDevice(ondevice.WithArtifactURL(location), ondevice.WithRetry(2, 0)))
	if err := c.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	resp, err := c.GetOffers(t.Context(), GetOffersOptions{Request: &delivery.DeliveryRequest{
		Prefetch: &delivery.PrefetchRequest{Mboxes: []delivery.MboxRequest{{Name: "not-in-the-artifact"}}}}})
	if err != nil || resp.Meta.DecisioningMethod != delivery.DecisioningOnDevice {
		t.Fatalf("GetOffers: %v %+v", err, resp)
	}
	path := "/" + demo.Client + "/production/rules/v1/rules.bin"
	checkLines(t, rec.recorded(), []string{
		"artifact " + path + " status=503 bytes>0=true err=<nil>",
		"artifact " + path + " status=200 bytes>0=true err=<nil>",
		"call start GetOffers on-device mboxes=1 views=0 notifications=0 background=false",
		"decision mboxes=1 views=0 notifications=0 remote=1 kind=\"\" ctx=call GetOffers",
		"call end GetOffers decided=on-device remote=1/0 kind=\"\" ctx=call GetOffers requestId=true",
	})
}

func TestHooksGeoLookupIsAnAttemptOfTheCall(t *testing.T) {
	t.Parallel()
	var geoLookups int
	var mu sync.Mutex
	geo := newGeoServer(t, func() { mu.Lock(); geoLookups++; mu.Unlock() })
	rec := &recorder{}
	artifact := strings.Replace(string(demo.Artifact()), `"geoTargetingEnabled": false`, `"geoTargetingEnabled": true`, 1)
	// The client's own transport: the geo service is not the edge.
	c, err := New(WithClient(demo.Client), WithOrganizationID(demo.OrganizationID), WithDecisioningMethod(delivery.DecisioningOnDevice),
		WithHooks(rec), WithTelemetry(false), WithOnDeviceNotifications(false),
		WithOnDevice(ondevice.WithArtifactPayload([]byte(artifact)), ondevice.WithGeoLookupURL(geo)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := &delivery.DeliveryRequest{Context: &delivery.Context{Channel: delivery.ChannelWeb, Geo: &delivery.Geo{IPAddress: "192.0.2.7"}},
		Prefetch: &delivery.PrefetchRequest{Mboxes: []delivery.MboxRequest{{Name: demo.MboxHero}}}}
	if _, err := c.GetOffers(t.Context(), GetOffersOptions{Request: req}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if geoLookups != 1 {
		t.Fatalf("%d geo lookups; want 1", geoLookups)
	}
	lines := rec.recorded()
	if len(lines) != 5 || !strings.HasPrefix(lines[1], "attempt start GET 127.0.0.1:") ||
		!strings.HasSuffix(lines[1], "ctx=call GetOffers") || lines[2] != `attempt end status=200 kind="" bytes>0=true ctx=attempt of call GetOffers` {
		t.Errorf("hooks saw:\n  %s\nwant the geo lookup as an attempt of the call", strings.Join(lines, "\n  "))
	}
}

func TestHooksConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		hooks []Hook
		want  string
	}{
		{"not a hook", []Hook{"a string"}, `hooks "0: string": implements no hook interface`},
		{"nil", []Hook{&recorder{}, nil}, `hooks "1: <nil>": implements no hook interface`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(WithClient("acme"), WithOrganizationID("ACME@AdobeOrg"), WithHooks(tc.hooks...))
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v; want a ConfigError containing %q", err, tc.want)
			}
		})
	}
	if ResendCountFromContext(t.Context()) != 0 || ResendCountFromContext(ContextWithResendCount(t.Context(), 4)) != 4 {
		t.Error("resend count does not round-trip through the context")
	}
}

// newGeoServer is a geo service answering every lookup with a location, as
// the Target geo service does; each lookup calls seen.
func newGeoServer(t *testing.T, seen func()) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"x-geo-country-code":"US","x-geo-region-code":"CA","x-geo-city":"SANFRANCISCO"}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1/geo"
}
