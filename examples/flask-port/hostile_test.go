package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
)

// TestEveryAnswerIsNoSniff: JSON, HTML, images, 204, 4xx and the mux's own
// answers all carry X-Content-Type-Options: nosniff.
func TestEveryAnswerIsNoSniff(t *testing.T) {
	t.Parallel()
	ta := startApp(t, offlineConfig())
	for _, tc := range []struct{ method, path, body string }{
		{"GET", "/executeMbox?mbox=hero&tntId=1", ""},
		{"GET", "/executeMbox", ""}, // 204
		{"GET", "/prefetchView?view=home&async=true", ""},
		{"POST", "/sendNotifications?tntId=1", `{"mboxes":[{"name":"cart","event_tokens":["t"]}]}`},
		{"POST", "/sendNotifications", `{`}, // 400
		{"POST", "/executeMbox", ""},        // 405 from the mux
		{"GET", "/no-such-page", ""},        // 404 from the mux
		{"GET", "/", ""},                    // HTML
		{"GET", "/page?mbox=hero", ""},      // HTML
		{"GET", "/img/hero-season.jpg", ""}, // SVG
	} {
		a := ta.do(tc.method, tc.path, tc.body)
		if got := a.header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s %s (%d): X-Content-Type-Options %q, want nosniff", tc.method, tc.path, a.status, got)
		}
	}
}

// TestEdgeClientErrorsPassThrough: the edge's 4xx about what the visitor
// sent reach the visitor as that status with the edge's message, not as a
// 500: a notifications body that makes a request too large for the edge is
// its 413 (the issue: 10,000 mboxes got a 500), and a 429 keeps its
// Retry-After; another 4xx (a 403: the app's set-up) is a 502.
func TestEdgeClientErrorsPassThrough(t *testing.T) {
	t.Parallel()
	t.Run("413", func(t *testing.T) {
		t.Parallel()
		ta := startApp(t, offlineConfig())
		var b strings.Builder
		b.WriteString(`{"mboxes":[`)
		for i := range 10_000 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"name":"cart","event_tokens":["t%d"]}`, i)
		}
		b.WriteString(`]}`)
		if b.Len() >= defaultMaxBodyBytes {
			t.Fatalf("the body (%d bytes) is over the app's own limit", b.Len())
		}
		ta.do("POST", "/sendNotifications?tntId=1", b.String()).
			jsonError(t, http.StatusRequestEntityTooLarge, "request body is larger than 1048576 bytes")
	})
	t.Run("another 4xx is the app's set-up: 502", func(t *testing.T) {
		t.Parallel()
		cfg := offlineConfig()
		cfg.Decisioning = delivery.DecisioningServerSide
		ta := startApp(t, cfg)
		ta.app.edge.Server().Control(func(r *edge.Request) (edge.Answer, bool) {
			return edge.Answer{Status: http.StatusForbidden, Body: []byte(`{"status":403,"message":"client not allowed"}`)}, r.Endpoint == edge.EndpointDelivery
		})
		ta.get("/executeMbox?mbox=hero&tntId=1").jsonError(t, http.StatusBadGateway, "client not allowed")
	})
	t.Run("429", func(t *testing.T) {
		t.Parallel()
		cfg := offlineConfig()
		cfg.Decisioning = delivery.DecisioningServerSide
		ta := startApp(t, cfg, edge.WithFaults(edge.Faults{ThrottleRate: 1, RetryAfter: 7e9}))
		a := ta.get("/executeMbox?mbox=hero&tntId=1")
		a.jsonError(t, http.StatusTooManyRequests, "too many requests (injected fault)")
		if got := a.header.Get("Retry-After"); got != "7" {
			t.Errorf("Retry-After %q, want the edge's 7", got)
		}
	})
}

// TestOverloadAnswers503: with every Target call of the app held at the
// edge, one more visitor is answered 503 with Retry-After once the wait for
// a call runs out, never 500; the held calls then complete.
func TestOverloadAnswers503(t *testing.T) {
	t.Parallel()
	cfg := offlineConfig()
	cfg.Decisioning = delivery.DecisioningServerSide
	ta := startApp(t, cfg)
	arrived := make(chan struct{}, maxCallsInFlight)
	release := make(chan struct{})
	srv := ta.app.edge.Server()
	srv.Control(func(r *edge.Request) (edge.Answer, bool) {
		if r.Endpoint != edge.EndpointDelivery {
			return edge.Answer{}, false
		}
		srv.KeepControl()
		arrived <- struct{}{}
		srv.SleepControl(func() { <-release })
		return edge.Answer{}, true // the edge's own answer, once released
	})
	var wg sync.WaitGroup
	statuses := make([]int, maxCallsInFlight)
	for i := range statuses {
		wg.Go(func() { statuses[i] = ta.get(fmt.Sprintf("/executeMbox?mbox=hero&tntId=held-%d", i)).status })
	}
	for range maxCallsInFlight {
		<-arrived
	}
	over := ta.get("/prefetchMbox?prefetch=cart&tntId=one-too-many")
	close(release)
	wg.Wait()
	over.jsonError(t, http.StatusServiceUnavailable, "the server is busy")
	if got := over.header.Get("Retry-After"); got != retryAfterSeconds {
		t.Errorf("Retry-After %q, want %s", got, retryAfterSeconds)
	}
	for i, status := range statuses {
		if status != http.StatusOK {
			t.Errorf("held call %d answered %d, want 200", i, status)
		}
	}
}

func TestAutomaticConnectionLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		soft  uint64
		known bool
		want  int
	}{
		{0, false, defaultMaxConnections},
		{1 << 20, true, defaultMaxConnections},
		{1024, true, 768 - 2*(outboundConnections+maxIdleOutbound)},
		{256, true, minConnections},
	} {
		if got := automaticConnectionLimit(tc.soft, tc.known); got != tc.want {
			t.Errorf("automaticConnectionLimit(%d, %v) = %d, want %d", tc.soft, tc.known, got, tc.want)
		}
	}
}

// TestBurstMemoryIsReturnedOnceQuiet: after requests in flight reached the
// burst threshold, the memory is returned once no request has started for
// the quiet period, and only then.
func TestBurstMemoryIsReturnedOnceQuiet(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.DebugLevel)
	b := newBurstMemory(zap.New(core), 10*time.Millisecond)
	defer b.stop()
	hold := make(chan struct{})
	var arrived sync.WaitGroup
	arrived.Add(burstThreshold)
	h := b.wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		arrived.Done()
		<-hold
	}))
	var wg sync.WaitGroup
	for range burstThreshold {
		wg.Go(func() { h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil)) })
	}
	arrived.Wait()
	if n := logs.FilterMessageSnippet("a burst is over").Len(); n != 0 {
		t.Fatalf("memory returned %d times while the burst was in flight", n)
	}
	close(hold)
	wg.Wait()
	for range 1000 {
		if logs.FilterMessageSnippet("a burst is over").Len() == 1 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	entries := logs.FilterMessageSnippet("a burst is over").All()
	if len(entries) != 1 || entries[0].ContextMap()["peakInFlight"] != int64(burstThreshold) {
		t.Fatalf("memory returned after the burst: %v, want once, for a peak of %d", entries, burstThreshold)
	}
}
