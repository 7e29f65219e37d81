package target

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
)

func TestGetOffersSendsDeliveryCall(t *testing.T) {
	t.Parallel()
	e := newTestEdge(t)
	c := e.newClient(WithServerDomain("target.acme.com"), WithVersion("2.11.0"))
	resp, err := c.GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("hero", "footer"), SessionID: "visit-1"})
	if err != nil {
		t.Fatal(err)
	}
	call := e.last()
	if call.Host != "target.acme.com" {
		t.Errorf("host %q", call.Host)
	}
	wantQuery := map[string]string{"imsOrgId": "ACME@AdobeOrg", "sessionId": "visit-1", "version": "2.11.0"}
	for k, v := range wantQuery {
		if got := call.Query.Get(k); got != v {
			t.Errorf("query %s=%q, want %q", k, got, v)
		}
	}
	wantHeaders := map[string]string{"Content-Type": "application/json", "X-EXC-SDK": "AdobeTargetGo", "X-EXC-SDK-Version": Version}
	for k, v := range wantHeaders {
		if got := call.Header.Get(k); got != v {
			t.Errorf("header %s=%q, want %q", k, got, v)
		}
	}
	if id := call.Header.Get("X-Request-Id"); len(id) != 36 {
		t.Errorf("X-Request-Id %q is not a UUID", id)
	}
	if call.Request.RequestID != resp.Request.RequestID || call.Request.RequestID == "" {
		t.Errorf("sent requestId %q, response.Request has %q", call.Request.RequestID, resp.Request.RequestID)
	}
	if got := len(resp.Response.Execute.Mboxes); got != 2 {
		t.Fatalf("%d execute mboxes, want 2", got)
	}
	if resp.Meta.DecisioningMethod != delivery.DecisioningServerSide || resp.Meta.RemoteMboxes == nil || resp.Meta.RemoteViews == nil {
		t.Errorf("meta %+v", resp.Meta)
	}
}

func TestGetOffersValidation(t *testing.T) {
	t.Parallel()
	e := newTestEdge(t)
	c := e.newClient()
	tests := []struct {
		name      string
		opts      GetOffersOptions
		wantField string
		wantText  string
	}{
		{"nil request", GetOffersOptions{}, "request", "request is required"},
		{"empty request", GetOffersOptions{Request: &delivery.DeliveryRequest{}}, "request", "request is required"},
		{"execute without pageLoad or mboxes", GetOffersOptions{Request: &delivery.DeliveryRequest{Execute: &delivery.ExecuteRequest{}}},
			"request.execute", "either pageLoad or mboxes is required in execute"},
		{"prefetch without pageLoad, views or mboxes", GetOffersOptions{Request: &delivery.DeliveryRequest{Prefetch: &delivery.PrefetchRequest{}}},
			"request.prefetch", "either views, pageLoad or mboxes is required in prefetch"},
		{"unknown decisioning method", GetOffersOptions{Request: executeMboxes("a"), DecisioningMethod: "edge"},
			"decisioningMethod", `"edge" must be one of server-side, on-device, hybrid`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for method, call := range map[string]func() error{
				"GetOffers": func() error { _, err := c.GetOffers(t.Context(), tt.opts); return err },
				"GetOffersAsync": func() error {
					_, err := c.GetOffersAsync(t.Context(), tt.opts).Wait(t.Context())
					return err
				},
			} {
				err := call()
				var ve *ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("%s: error %v (%T), want *ValidationError", method, err, err)
				}
				if ve.Method != "GetOffers" || ve.Field != tt.wantField || !strings.Contains(ve.Error(), tt.wantText) {
					t.Errorf("%s: %v, want field %q and %q", method, err, tt.wantField, tt.wantText)
				}
				if IsRetryable(err) {
					t.Errorf("%s: validation error is retryable", method)
				}
			}
		})
	}
	if n := len(e.recorded()); n != 0 {
		t.Errorf("the edge received %d calls for invalid options, want 0", n)
	}
}

func TestSendNotifications(t *testing.T) {
	t.Parallel()
	e := newTestEdge(t)
	c := e.newClient(WithTelemetry(false))
	resp, err := c.SendNotifications(t.Context(), SendNotificationsOptions{
		Request: &delivery.DeliveryRequest{Notifications: []delivery.Notification{
			{ID: "n1", Type: delivery.MetricDisplay, Timestamp: 1_700_000_000_000, Mbox: &delivery.NotificationMbox{Name: "hero", State: "s"}, Tokens: []string{"t1"}},
			{ID: "dropped", Type: "hover", Timestamp: 1},
		}},
		TargetCookie: "session#visit-9#9999999999|PC#v.12_0#9999999999",
	})
	if err != nil {
		t.Fatal(err)
	}
	call := e.last()
	if len(call.Request.Notifications) != 1 || call.Request.Notifications[0].ID != "n1" {
		t.Errorf("sent notifications %+v, want only n1", call.Request.Notifications)
	}
	if call.Query.Get("sessionId") != "visit-9" || call.Request.ID.TntID != "v.12_0" || call.Host != "mboxedge12.tt.omtrdc.net" {
		t.Errorf("session %q tntId %q host %q", call.Query.Get("sessionId"), call.Request.ID.TntID, call.Host)
	}
	if resp.Meta.DecisioningMethod != delivery.DecisioningServerSide || len(resp.Response.Notifications) != 1 {
		t.Errorf("response %+v", resp)
	}
}

func TestSendNotificationsValidation(t *testing.T) {
	t.Parallel()
	e := newTestEdge(t)
	c := e.newClient(WithTelemetry(false))
	tests := []struct {
		name      string
		opts      SendNotificationsOptions
		wantField string
		wantText  string
	}{
		{"nil request", SendNotificationsOptions{}, "request", "request is required"},
		{"empty request", SendNotificationsOptions{Request: &delivery.DeliveryRequest{}}, "request", "request is required"},
		{"no notifications", SendNotificationsOptions{Request: &delivery.DeliveryRequest{Context: &delivery.Context{Channel: delivery.ChannelWeb}}},
			"request.notifications", "notifications are required"},
		{"only invalid notifications", SendNotificationsOptions{Request: &delivery.DeliveryRequest{Notifications: []delivery.Notification{{ID: "x"}}}},
			"request.notifications", "no valid notification"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := c.SendNotificationsAsync(t.Context(), tt.opts).Wait(t.Context())
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Method != "SendNotifications" || ve.Field != tt.wantField || !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %v, want SendNotifications ValidationError on %q saying %q", err, tt.wantField, tt.wantText)
			}
		})
	}
	if n := len(e.recorded()); n != 0 {
		t.Errorf("the edge received %d calls, want 0", n)
	}
}

func TestCookieAndLocationHintRoundTrip(t *testing.T) {
	t.Parallel()
	e := newTestEdge(t)
	c := e.newClient(WithTelemetry(false))

	// First visit: no cookies; the edge mints a visitor on its cluster, 28.
	first, err := c.GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("hero")})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.last().Host; got != "acme.tt.omtrdc.net" {
		t.Errorf("first call host %q, want acme.tt.omtrdc.net", got)
	}
	firstSession := e.last().Query.Get("sessionId")
	minted := first.Response.ID.TntID
	entries := ParseTargetCookie(first.TargetCookie.Value, time.Now())
	if !strings.HasSuffix(minted, ".28_0") || entries["session"].Value != firstSession || entries["PC"].Value != minted {
		t.Errorf("target cookie %q: entries %+v", first.TargetCookie.Value, entries)
	}
	if first.TargetCookie.MaxAge < deviceIDMaxAge || first.TargetCookie.MaxAge > deviceIDMaxAge+1 {
		t.Errorf("target cookie max-age %d, want about %d", first.TargetCookie.MaxAge, deviceIDMaxAge)
	}
	hint := first.TargetLocationHintCookie
	if hint == nil || hint.Name != "mboxEdgeCluster" || hint.Value != "28" || hint.MaxAge != locationHintMaxAge {
		t.Fatalf("location hint cookie %+v, want mboxEdgeCluster=28 for 1860s", hint)
	}
	if got := c.LocationHint(); got != "28" {
		t.Errorf("client remembered location hint %q, want 28", got)
	}

	// Second visit with the cookies the first call returned.
	second, err := c.GetOffers(t.Context(), GetOffersOptions{
		Request:            executeMboxes("hero"),
		TargetCookie:       first.TargetCookie.Value,
		TargetLocationHint: hint.Value,
	})
	if err != nil {
		t.Fatal(err)
	}
	call := e.last()
	if call.Host != "mboxedge28.tt.omtrdc.net" || call.Query.Get("sessionId") != firstSession || call.Request.ID.TntID != minted {
		t.Errorf("second call host %q session %q tntId %+v", call.Host, call.Query.Get("sessionId"), call.Request.ID)
	}
	if second.TargetLocationHintCookie.Value != "28" {
		t.Errorf("second location hint %+v", second.TargetLocationHintCookie)
	}

	// Another visitor without cookies goes to the remembered cluster.
	if _, err := c.GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("hero")}); err != nil {
		t.Fatal(err)
	}
	if got := e.last().Host; got != "mboxedge28.tt.omtrdc.net" {
		t.Errorf("cookieless call after a hint went to %q, want mboxedge28.tt.omtrdc.net", got)
	}
}

func TestResponseProcessing(t *testing.T) {
	t.Parallel()
	e := newTestEdge(t)
	e.answer(body(200, `{"status":200,"requestId":"r","id":{"tntId":"t.9_0"},
		"execute":{
			"pageLoad":{"options":[{"type":"html","content":"<b>x</b>","responseTokens":{"k":"execute-pageLoad"}}],
				"analytics":{"payload":{"pe":"tnt","tnta":"a1"}},"trace":{"n":1}},
			"mboxes":[{"index":1,"name":"m1","options":[{"type":"json","content":{"a":1},"responseTokens":{"k":"execute-m1"}}],
				"analytics":{"payload":{"pe":"tnt","tnta":"a2"}},"trace":{"n":2}}]},
		"prefetch":{
			"views":[{"name":"home","options":[{"type":"actions","content":[],"responseTokens":{"k":"view"}}],"analytics":{"payload":{"tnta":"a3"}},"trace":{"n":3}}],
			"mboxes":[{"index":2,"name":"m2","state":"s","options":[{"type":"json","content":{"b":2},"responseTokens":{"k":"prefetch-m2"}},{"type":"json","content":{"c":3}}],
				"trace":{"n":4}}]}}`))
	c := e.newClient(WithTelemetry(false))
	resp, err := c.GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("m1")})
	if err != nil {
		t.Fatal(err)
	}
	var tnta, tokens []string
	for _, a := range resp.AnalyticsDetails {
		tnta = append(tnta, a.Payload.TNTA)
	}
	for _, rt := range resp.ResponseTokens {
		tokens = append(tokens, rt["k"].(string))
	}
	var traces []float64
	for _, tr := range resp.Trace {
		traces = append(traces, tr["n"].(float64))
	}
	if !reflect.DeepEqual(tnta, []string{"a1", "a2", "a3"}) {
		t.Errorf("analytics details %v", tnta)
	}
	if !reflect.DeepEqual(tokens, []string{"execute-pageLoad", "execute-m1", "view", "prefetch-m2"}) {
		t.Errorf("response tokens %v", tokens)
	}
	if !reflect.DeepEqual(traces, []float64{1, 2, 3, 4}) {
		t.Errorf("traces %v", traces)
	}
	// The tntId carries cluster 9 but the call was routed without one and
	// the answer has no edgeHost: the SDKs set no location-hint cookie.
	if resp.TargetLocationHintCookie != nil {
		t.Errorf("location hint cookie %+v, want none", resp.TargetLocationHintCookie)
	}
	if entries := ParseTargetCookie(resp.TargetCookie.Value, time.Now()); entries["PC"].Value != "t.9_0" {
		t.Errorf("target cookie %q", resp.TargetCookie.Value)
	}

	e.answer(body(200, `{"status":200}`))
	empty, err := c.GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("m1")})
	if err != nil {
		t.Fatal(err)
	}
	if empty.AnalyticsDetails != nil || empty.Trace != nil || empty.ResponseTokens != nil {
		t.Errorf("empty answer gave details %+v %+v %+v", empty.AnalyticsDetails, empty.Trace, empty.ResponseTokens)
	}
	if entries := ParseTargetCookie(empty.TargetCookie.Value, time.Now()); len(entries) != 1 || entries["session"].Value == "" {
		t.Errorf("without a tntId the cookie %q should hold only the session", empty.TargetCookie.Value)
	}
}

func TestHTTPErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status      int
		body        string
		wantMessage string
		retryable   bool
	}{
		{400, `{"status":400,"message":"Invalid request: mbox name is required"}`, "Invalid request: mbox name is required", false},
		{401, `{"status":401,"message":"Unauthorized"}`, "Unauthorized", false},
		{404, "not found", "not found", false},
		{408, "", "", true},
		{429, `{"status":429,"message":"Too many requests"}`, "Too many requests", true},
		{500, `{"status":500,"message":"Internal error"}`, "Internal error", true},
		{502, "<html>bad gateway</html>", "<html>bad gateway</html>", true},
		{503, `{"status":503,"message":"unavailable"}`, "unavailable", true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			t.Parallel()
			e := newTestEdge(t)
			e.answer(body(tt.status, tt.body))
			c := e.newClient()
			_, err := c.GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("a")})
			var he *HTTPError
			if !errors.As(err, &he) {
				t.Fatalf("error %v (%T), want *HTTPError", err, err)
			}
			if he.Status != tt.status || he.Message != tt.wantMessage || he.Retryable() != tt.retryable || IsRetryable(err) != tt.retryable {
				t.Errorf("HTTPError %+v retryable %v, want status %d message %q retryable %v", he, he.Retryable(), tt.status, tt.wantMessage, tt.retryable)
			}
			if he.RequestID != e.last().Header.Get("X-Request-Id") || !strings.Contains(he.URL, "/rest/v1/delivery?") {
				t.Errorf("HTTPError request id %q url %q", he.RequestID, he.URL)
			}
			if !strings.Contains(err.Error(), fmt.Sprint(tt.status)) {
				t.Errorf("message %q does not name the status", err)
			}
		})
	}
}

func TestLongErrorBodyIsTruncated(t *testing.T) {
	t.Parallel()
	e := newTestEdge(t)
	e.answer(body(http.StatusBadGateway, strings.Repeat("é", 2000)))
	_, err := e.newClient().GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("a")})
	var he *HTTPError
	if !errors.As(err, &he) || len(he.Message) > maxErrorMessage || !strings.HasPrefix(he.Message, "éé") || !strings.HasSuffix(he.Message, "é") {
		t.Errorf("message of %d bytes: %.40q", len(he.Message), he.Message)
	}
}

func TestTransportErrors(t *testing.T) {
	t.Parallel()
	t.Run("undecodable answer", func(t *testing.T) {
		t.Parallel()
		e := newTestEdge(t)
		e.answer(body(200, `{"status":`))
		_, err := e.newClient().GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("a")})
		var te *TransportError
		if !errors.As(err, &te) || te.Op != "decode" || te.Retryable() || IsRetryable(err) {
			t.Errorf("error %v, want a non-retryable decode TransportError", err)
		}
	})
	t.Run("oversized answer", func(t *testing.T) {
		t.Parallel()
		e := newTestEdge(t)
		e.answer(edge.Answer{Status: 200, Body: bytes.Repeat([]byte(" "), DefaultMaxResponseBytes+1)})
		_, err := e.newClient().GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("a")})
		var te *TransportError
		if !errors.As(err, &te) || te.Op != "decode" || IsRetryable(err) || !strings.Contains(err.Error(), "larger than") {
			t.Errorf("error %v, want a non-retryable TransportError saying the answer is too large", err)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		addr := refusedAddr(t)
		c, err := New(WithClient("acme"), WithOrganizationID("ACME@AdobeOrg"), WithSecure(false), WithServerDomain(addr))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = c.GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("a")})
		var te *TransportError
		if !errors.As(err, &te) || te.Op != "send" || te.Timeout || !IsRetryable(err) {
			t.Errorf("error %v, want a retryable send TransportError", err)
		}
	})
	t.Run("client timeout", func(t *testing.T) {
		t.Parallel()
		e := newTestEdge(t)
		e.answer(edge.Answer{Delay: time.Hour}) // the client gives up first
		c := e.newClient(WithTimeout(50 * time.Millisecond))
		_, err := c.GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("a")})
		var te *TransportError
		if !errors.As(err, &te) || !te.Timeout || !IsRetryable(err) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v, want a retryable timeout TransportError", err)
		}
		if errors.Is(err, context.Canceled) {
			t.Errorf("client timeout reported as cancellation: %v", err)
		}
	})
}

// The client's timeout adds a context only when it is the sooner deadline.
func TestClientTimeoutOnlyWhenSooner(t *testing.T) {
	t.Parallel()
	c, err := New(WithClient("c"), WithOrganizationID("o"), WithTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		callerWait time.Duration // 0: no deadline
		wantOwn    bool
	}{
		{"no caller deadline", 0, true},
		{"caller deadline later", time.Hour, true},
		{"caller deadline sooner", 100 * time.Millisecond, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			if tt.callerWait > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.callerWait)
				defer cancel()
			}
			callCtx, cancel := c.withTimeout(ctx)
			defer cancel()
			if own := callCtx != ctx; own != tt.wantOwn {
				t.Fatalf("own context %v, want %v", own, tt.wantOwn)
			}
			deadline, ok := callCtx.Deadline()
			if !ok || time.Until(deadline) > time.Second {
				t.Errorf("deadline %v (set %v), want within the client timeout", time.Until(deadline), ok)
			}
		})
	}
}

func TestCancellationReturnsContextError(t *testing.T) {
	t.Parallel()
	e := newTestEdge(t)
	arrived := make(chan struct{}, 8)
	e.control(func(r *edge.Request) (edge.Answer, bool) {
		e.srv.KeepControl()
		arrived <- struct{}{}
		return edge.Answer{Delay: time.Hour}, true // answered once the caller has gone
	})
	c := e.newClient()

	t.Run("cancelled while in flight", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		f := c.GetOffersAsync(ctx, GetOffersOptions{Request: executeMboxes("a")})
		<-arrived
		cancel()
		_, err := f.Wait(t.Context())
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
		var te *TransportError
		if errors.As(err, &te) || IsRetryable(err) {
			t.Errorf("cancellation reported as %T, retryable %v", err, IsRetryable(err))
		}
	})
	t.Run("caller deadline shorter than the client timeout", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
		defer cancel()
		// The call may end before it reaches the edge on a busy machine, so
		// this subtest does not wait for it to arrive.
		_, err := c.GetOffers(ctx, GetOffersOptions{Request: executeMboxes("a")})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v, want context.DeadlineExceeded", err)
		}
		var te *TransportError
		if errors.As(err, &te) {
			t.Errorf("caller's deadline reported as a TransportError: %v", err)
		}
	})
	t.Run("already cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		before := len(e.recorded())
		if _, err := c.GetOffers(ctx, GetOffersOptions{Request: executeMboxes("a")}); !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
		if len(e.recorded()) != before {
			t.Error("a call with a cancelled context was sent")
		}
	})
}

func TestTelemetry(t *testing.T) {
	t.Parallel()
	e := newTestEdge(t)
	e.answerEvery(body(200, `{"status":200,"edgeHost":"mboxedge28.tt.omtrdc.net","telemetryServerToken":"server-token"}`))
	c := e.newClient()
	first, err := c.GetOffers(t.Context(), GetOffersOptions{Request: &delivery.DeliveryRequest{
		Execute:  &delivery.ExecuteRequest{PageLoad: &delivery.RequestDetails{}, Mboxes: []delivery.MboxRequest{{Name: "a"}, {Name: "b"}}},
		Prefetch: &delivery.PrefetchRequest{Views: []delivery.ViewRequest{{Name: "home"}}, Mboxes: []delivery.MboxRequest{{Name: "c"}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if e.last().Request.Telemetry != nil {
		t.Errorf("first call carried telemetry %+v", e.last().Request.Telemetry)
	}
	// With telemetry pending, SendNotifications needs no notifications.
	if _, err := c.SendNotifications(t.Context(), SendNotificationsOptions{Request: &delivery.DeliveryRequest{Context: &delivery.Context{Channel: delivery.ChannelWeb}}}); err != nil {
		t.Fatal(err)
	}
	tel := e.last().Request.Telemetry
	if tel == nil || len(tel.Entries) != 1 {
		t.Fatalf("second call telemetry %+v, want one entry", tel)
	}
	entry := tel.Entries[0]
	wantFeatures := delivery.TelemetryFeatures{DecisioningMethod: delivery.DecisioningServerSide, ExecutePageLoad: true,
		ExecuteMboxCount: 2, PrefetchMboxCount: 1, PrefetchViewCount: 1}
	if entry.RequestID != first.Request.RequestID || entry.Mode != delivery.ExecutionEdge || entry.TelemetryServerToken != "server-token" ||
		entry.Features == nil || *entry.Features != wantFeatures || entry.Execution <= 0 || entry.Timestamp <= 0 {
		t.Errorf("telemetry entry %+v features %+v", entry, entry.Features)
	}
	if entry.Request == nil || entry.Request.ResponseSize <= 0 {
		t.Errorf("telemetry request timings %+v, want the response size", entry.Request)
	}
	// The entry was sent once; the notification call's own entry is next.
	if _, err := c.GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("a")}); err != nil {
		t.Fatal(err)
	}
	if tel := e.last().Request.Telemetry; tel == nil || len(tel.Entries) != 1 || tel.Entries[0].RequestID == first.Request.RequestID {
		t.Errorf("third call telemetry %+v, want only the second call's entry", tel)
	}
}

func TestTelemetryDisabled(t *testing.T) {
	t.Parallel()
	e := newTestEdge(t)
	c := e.newClient(WithTelemetry(false))
	for range 3 {
		if _, err := c.GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("a")}); err != nil {
			t.Fatal(err)
		}
		if tel := e.last().Request.Telemetry; tel != nil {
			t.Fatalf("telemetry sent while disabled: %+v", tel)
		}
	}
}

func TestTelemetryStoreIsBounded(t *testing.T) {
	t.Parallel()
	s := newTelemetryStore(true)
	for i := range maxPendingTelemetry + 10 {
		s.add(delivery.TelemetryEntry{RequestID: fmt.Sprint(i)})
	}
	entries := s.takeAll()
	if len(entries) != maxPendingTelemetry || entries[0].RequestID != "10" {
		t.Errorf("%d entries starting at %q, want %d starting at 10", len(entries), entries[0].RequestID, maxPendingTelemetry)
	}
	if s.hasEntries() {
		t.Error("entries left after takeAll")
	}
}

func TestClientReadyEvent(t *testing.T) {
	t.Parallel()
	var order []string
	var mu sync.Mutex
	record := func(name string) EventHandler {
		return func(ev Event) {
			mu.Lock()
			defer mu.Unlock()
			order = append(order, name+":"+string(ev.Type))
		}
	}
	c, err := New(WithClient("acme"), WithOrganizationID("ACME@AdobeOrg"),
		WithEventHandler(EventClientReady, record("first")),
		WithEventHandler(EventClientReady, func(Event) { panic("handler bug") }),
		WithEventHandler(EventClientReady, record("second")))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !reflect.DeepEqual(order, []string{"first:clientReady", "second:clientReady"}) {
		t.Errorf("handlers ran %v, want first then second (past a panicking one)", order)
	}
}

func TestFutureWaitHonoursItsContext(t *testing.T) {
	t.Parallel()
	e := newTestEdge(t)
	release := make(chan struct{})
	e.control(func(r *edge.Request) (edge.Answer, bool) {
		select { // the edge's own answer, once released
		case <-release:
		case <-r.HTTP.Context().Done():
		}
		return edge.Answer{}, true
	})
	c := e.newClient()
	f := c.GetOffersAsync(t.Context(), GetOffersOptions{Request: executeMboxes("a")})
	waitCtx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	if _, err := f.Wait(waitCtx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait error %v, want its own context's deadline", err)
	}
	select {
	case <-f.Done():
		t.Fatal("future done before the edge answered")
	default:
	}
	close(release)
	<-f.Done()
	resp, err := f.Wait(t.Context())
	if err != nil || resp.Response.Execute.Mboxes[0].Name != "a" {
		t.Errorf("after the answer: %v, %v", resp, err)
	}
}

func TestConcurrentGetOffers(t *testing.T) {
	t.Parallel()
	e := newTestEdge(t)
	c := e.newClient()
	const calls = 1000
	var failures atomic.Int64
	var wg sync.WaitGroup
	for i := range calls {
		wg.Go(func() {
			name := fmt.Sprintf("mbox-%d", i)
			tnt := fmt.Sprintf("visitor-%d.%d_0", i, i%7)
			resp, err := c.GetOffers(t.Context(), GetOffersOptions{
				Request:      executeMboxes(name, "shared"),
				TargetCookie: fmt.Sprintf("session#s-%d#9999999999|PC#%s#9999999999", i, tnt),
			})
			if err != nil {
				failures.Add(1)
				t.Errorf("call %d: %v", i, err)
				return
			}
			got := resp.Response.Execute.Mboxes
			if len(got) != 2 || got[0].Name != name || resp.Request.ID.TntID != tnt {
				failures.Add(1)
				t.Errorf("call %d got %+v for tntId %s", i, got, resp.Request.ID.TntID)
			}
			if entries := ParseTargetCookie(resp.TargetCookie.Value, time.Now()); entries["session"].Value != fmt.Sprintf("s-%d", i) {
				failures.Add(1)
				t.Errorf("call %d cookie %q carries another visitor's session", i, resp.TargetCookie.Value)
			}
		})
	}
	wg.Wait()
	if n := len(e.recorded()); n != calls {
		t.Errorf("edge received %d calls, want %d", n, calls)
	}
	// Every finished call left a telemetry entry or sent it along.
	var carried int
	for _, call := range e.recorded() {
		if call.Request.Telemetry != nil {
			carried += len(call.Request.Telemetry.Entries)
		}
	}
	pending := len(c.telemetry.takeAll())
	if carried+pending != calls {
		t.Errorf("telemetry: %d entries carried + %d pending, want %d", carried, pending, calls)
	}
	if failures.Load() > 0 {
		t.Fatalf("%d of %d calls failed", failures.Load(), calls)
	}
}

// TestResponseDecodesLikeTheSpec checks that an answer is decoded into the
// wire model and kept as is in Response.Response.
func TestResponseDecodesLikeTheSpec(t *testing.T) {
	t.Parallel()
	answer := `{"status":200,"requestId":"r1","client":"acme","id":{"tntId":"x.1_0"},"edgeHost":"mboxedge1.tt.omtrdc.net",` +
		`"execute":{"mboxes":[{"index":1,"name":"m","options":[{"type":"json","content":{"k":[1,2,{"z":null}]},"eventToken":"e"}]}]}}`
	e := newTestEdge(t)
	e.answer(body(200, answer))
	resp, err := e.newClient().GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("m")})
	if err != nil {
		t.Fatal(err)
	}
	var want delivery.DeliveryResponse
	if err := json.Unmarshal([]byte(answer), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(resp.Response, &want) {
		t.Errorf("response %+v, want %+v", resp.Response, want)
	}
	if got := string(resp.Response.Execute.Mboxes[0].Options[0].Content); got != `{"k":[1,2,{"z":null}]}` {
		t.Errorf("offer content %s not preserved", got)
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 15, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"":                              0,
		"3":                             3 * time.Second,
		" 120 ":                         2 * time.Minute,
		"0":                             0,
		"-5":                            0,
		"soon":                          0,
		"999999999":                     0,
		"Sun, 22 Nov 2026 15:00:30 GMT": 30 * time.Second,
		"Sun, 22 Nov 2026 14:59:00 GMT": 0,
	}
	for header, want := range tests {
		if got := parseRetryAfter(header, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", header, got, want)
		}
	}
}

// HTTPError carries the answer's Retry-After to retry policies that ask
// for it with a RetryAfter method (stages.RetryAfterer).
var _ interface{ RetryAfter() time.Duration } = (*HTTPError)(nil)

func TestAnswerDecoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		answer     string
		wantDecode bool // a non-retryable decode TransportError
		check      func(t *testing.T, r *delivery.DeliveryResponse)
	}{
		{"invalid UTF-8 replaced", "{\"status\":200,\"client\":\"ac\xffme\"}", false, func(t *testing.T, r *delivery.DeliveryResponse) {
			if r.Client != "ac\uFFFDme" {
				t.Errorf("client %q", r.Client)
			}
		}},
		{"unknown fields ignored", `{"status":200,"newField":{"x":[1]},"client":"acme"}`, false, func(t *testing.T, r *delivery.DeliveryResponse) {
			if r.Client != "acme" {
				t.Errorf("client %q", r.Client)
			}
		}},
		{"duplicate names: the last wins", `{"status":200,"client":"a","client":"b"}`, false, func(t *testing.T, r *delivery.DeliveryResponse) {
			if r.Client != "b" {
				t.Errorf("client %q, want the last one", r.Client)
			}
		}},
		{"a status alone is an answer", `{"status":200}`, false, func(t *testing.T, r *delivery.DeliveryResponse) {
			if r.Status != 200 {
				t.Errorf("status %d", r.Status)
			}
		}},
		// A 2xx answer that is not a Delivery API response is not a
		// success, and not a network failure either (issue 12).
		{"empty body", ``, true, nil},
		{"only whitespace", " \r\n", true, nil},
		{"null", `null`, true, nil},
		{"a string", `"ok"`, true, nil},
		{"an HTML page", `<html><body>Service Unavailable</body></html>`, true, nil},
		{"an empty object", `{}`, true, nil},
		{"an object of no answer member", `{"error":"quota exceeded"}`, true, nil},
		{"null members only", `{"execute":null,"status":0}`, true, nil},
		{"data after the object", `{"status":200}{"status":200}`, true, nil},
		{"garbage after the object", `{"status":200}<html>`, true, nil},
		{"a member of the wrong type", `{"status":200,"execute":"hero"}`, true, nil},
		{"truncated", `{"status":200,"execute":{"mboxes":[`, true, nil},
		{"not an object", `[1,2]`, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEdge(t)
			e.answer(body(200, tt.answer))
			resp, err := e.newClient().GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("a")})
			var te *TransportError
			if tt.wantDecode {
				if !errors.As(err, &te) || te.Op != "decode" || te.Timeout || IsRetryable(err) || resp != nil {
					t.Errorf("answer %q: %v, %v; want a non-retryable decode TransportError", tt.answer, resp, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, resp.Response)
		})
	}
}

func TestRequestThatCannotBeEncoded(t *testing.T) {
	t.Parallel()
	e := newTestEdge(t)
	nan := math.NaN()
	_, err := e.newClient().GetOffers(t.Context(), GetOffersOptions{Request: &delivery.DeliveryRequest{
		Context: &delivery.Context{Channel: delivery.ChannelWeb, TimeOffsetInMinutes: &nan},
		Execute: &delivery.ExecuteRequest{PageLoad: &delivery.RequestDetails{}},
	}})
	var te *TransportError
	if !errors.As(err, &te) || te.Op != "encode" || IsRetryable(err) {
		t.Errorf("error %v, want a non-retryable encode TransportError", err)
	}
	if n := len(e.recorded()); n != 0 {
		t.Errorf("edge received %d calls", n)
	}
}

// TestServerSideCallDropsTraceWithoutToken: the Delivery API requires
// trace.authorizationToken, so a server-side call sends the caller's trace
// only when it has one, as the official SDKs do.
func TestServerSideCallDropsTraceWithoutToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		trace *delivery.Trace
		want  *delivery.Trace
	}{
		{"with a token", &delivery.Trace{AuthorizationToken: "tok", Usage: map[string]string{"a": "b"}}, &delivery.Trace{AuthorizationToken: "tok", Usage: map[string]string{"a": "b"}}},
		{"without a token", &delivery.Trace{Usage: map[string]string{"a": "b"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEdge(t)
			c := e.newClient(WithTelemetry(false))
			req := executeMboxes("hero")
			req.Trace = tt.trace
			if _, err := c.GetOffers(t.Context(), GetOffersOptions{Request: req}); err != nil {
				t.Fatal(err)
			}
			if got := e.last().Request.Trace; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("sent trace %+v, want %+v", got, tt.want)
			}
			if req.Trace != tt.trace || (tt.trace != nil && tt.trace.Usage["a"] != "b") {
				t.Error("the caller's request was modified")
			}
		})
	}
}

// TestTelemetryModeOfRemoteCalls: as in the official SDKs, a call answered
// by the Delivery API is reported in mode "edge" whether or not the answer
// names an edge host ("local" is for on-device decisions, whose entries the
// engine makes).
func TestTelemetryModeOfRemoteCalls(t *testing.T) {
	t.Parallel()
	for _, answer := range []*delivery.DeliveryResponse{
		{Status: 200, EdgeHost: "mboxedge28.tt.omtrdc.net"},
		{Status: 200},
		nil,
	} {
		entry := telemetryEntry(executeMboxes("a"), answer, delivery.DecisioningServerSide, callTimings{execution: time.Millisecond}, time.Now())
		if entry.Mode != delivery.ExecutionEdge {
			t.Errorf("answer %+v: telemetry mode %q, want %q", answer, entry.Mode, delivery.ExecutionEdge)
		}
	}
}

// TestNoEmptyEnumSent: a mobile platform without a device type is sent
// without one, as the Node.js SDK sends it (the specification's enum has no
// empty value), and the edge accepts it.
func TestNoEmptyEnumSent(t *testing.T) {
	t.Parallel()
	e := newTestEdge(t)
	bodies := make(chan []byte, 1)
	e.control(func(r *edge.Request) (edge.Answer, bool) {
		bodies <- r.Body
		return edge.Answer{}, true // the edge's own answer
	})
	req := executeMboxes("hero")
	req.Context = &delivery.Context{Channel: delivery.ChannelMobile, MobilePlatform: &delivery.MobilePlatform{PlatformType: delivery.PlatformIOS}}
	if _, err := e.newClient(WithTelemetry(false)).GetOffers(t.Context(), GetOffersOptions{Request: req}); err != nil {
		t.Fatalf("GetOffers = %v; want the edge to accept a mobile platform without a device type", err)
	}
	sent := string(<-bodies)
	if !strings.Contains(sent, `"mobilePlatform":{"platformType":"ios"}`) {
		t.Errorf("sent %s; want the mobile platform without a device type", sent)
	}
}

// KeepBody: Response.Body is the answer's bytes exactly when they hold
// exactly what Response holds; never when not asked for.
func TestKeepBody(t *testing.T) {
	t.Parallel()
	quick := `{"status":200,"client":"acme","requestId":"r1","execute":{"mboxes":[{"index":1,"name":"a",` +
		`"options":[{"type":"json","content":{"x": 1},"responseTokens":{"offer.id":12,"activity.name":"A"}}]}]}}`
	long := `{"status":200,"execute":{"mboxes":[{"index":1,"name":"a","options":[{"type":"html","content":"` +
		strings.Repeat("x", FreeResponseBytes) + `"}]}]}}`
	tests := []struct {
		name     string
		answer   string
		keep     bool
		wantBody bool
	}{
		{"asked, an answer of the wire model's members", quick, true, true},
		{"not asked", quick, false, false},
		{"an unknown member", `{"status":200,"newField":1,"client":"acme"}`, true, false},
		{"a member twice", `{"status":200,"client":"a","client":"b"}`, true, false},
		{"an escape outside content", `{"status":200,"client":"ac\u006de"}`, true, false},
		{"longer than what is read whole", long, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEdge(t)
			e.answer(body(200, tt.answer))
			resp, err := e.newClient().GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("a"), KeepBody: tt.keep})
			if err != nil {
				t.Fatal(err)
			}
			if !tt.wantBody {
				if resp.Body != nil {
					t.Errorf("Body %q, want none", resp.Body)
				}
				return
			}
			if string(resp.Body) != tt.answer {
				t.Fatalf("Body %q, want the answer as sent %q", resp.Body, tt.answer)
			}
			again, err := delivery.ReadResponse(bytes.NewBuffer(bytes.Clone(resp.Body)))
			if err != nil || !reflect.DeepEqual(again, resp.Response) {
				t.Errorf("Body decodes to %+v (%v), Response is %+v", again, err, resp.Response)
			}
		})
	}
}

// refusedAddr is a loopback address that refuses connections for the rest
// of the test: a socket bound to the port and never listening, so that no
// other test's server can take the port meanwhile and answer (as one can a
// port whose listener was closed).
func refusedAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
}
