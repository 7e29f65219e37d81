package ondevice

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/internal/obfuscation"
	"github.com/targetflow/targetflow/internal/sdktesting"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// manualClock is a clock that moves only when the test advances it.
type manualClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []clockWaiter
	waiting chan struct{}
}

type clockWaiter struct {
	at time.Time
	ch chan time.Time
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Date(2026, 3, 25, 1, 5, 0, 0, time.UTC), waiting: make(chan struct{}, 100)}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, clockWaiter{at: c.now.Add(d), ch: ch})
	c.waiting <- struct{}{}
	return ch
}

// awaitWaiter blocks until some goroutine waits on the clock.
func (c *manualClock) awaitWaiter(t *testing.T) {
	t.Helper()
	select {
	case <-c.waiting:
	case <-time.After(10 * time.Second):
		t.Fatal("nothing waited on the clock")
	}
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
			continue
		}
		kept = append(kept, w)
	}
	c.waiters = kept
}

// scriptedTransport answers artifact downloads from a script of responses
// and records the requests; the last response repeats.
type scriptedTransport struct {
	mu        sync.Mutex
	responses []scriptedResponse
	requests  []*http.Request
	served    chan struct{}
}

type scriptedResponse struct {
	status int
	body   []byte
	header http.Header
	err    error
}

func newScriptedTransport(responses ...scriptedResponse) *scriptedTransport {
	return &scriptedTransport{responses: responses, served: make(chan struct{}, 100)}
}

func (s *scriptedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.requests = append(s.requests, r)
	resp := s.responses[0]
	if len(s.responses) > 1 {
		s.responses = s.responses[1:]
	}
	s.mu.Unlock()
	defer func() { s.served <- struct{}{} }()
	if resp.err != nil {
		return nil, resp.err
	}
	h := resp.header
	if h == nil {
		h = http.Header{}
	}
	return &http.Response{StatusCode: resp.status, Header: h, Body: io.NopCloser(bytes.NewReader(resp.body)), Request: r}, nil
}

func (s *scriptedTransport) push(responses ...scriptedResponse) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.responses = append(s.responses[:0:0], responses...)
}

func (s *scriptedTransport) awaitServed(t *testing.T) {
	t.Helper()
	select {
	case <-s.served:
	case <-time.After(10 * time.Second):
		t.Fatal("no download happened")
	}
}

func (s *scriptedTransport) request(i int) *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[i]
}

func artifactWithOffer(offer string) []byte {
	return []byte(`{"version":"1.0.0","globalMbox":"target-global-mbox","responseTokens":[],
	"remoteMboxes":[],"localMboxes":["hero"],"remoteViews":[],"localViews":[],"meta":{"environment":"production"},
	"rules":{"mboxes":{"hero":[{"ruleKey":"1","meta":{"activity.id":1},"condition":true,
	"consequence":{"name":"hero","options":[{"type":"html","content":"` + offer + `"}]}}]},"views":{}}}`)
}

func heroContent(t *testing.T, e *Engine) string {
	t.Helper()
	d, err := e.Decide(context.Background(), &delivery.DeliveryRequest{
		ID:      &delivery.VisitorID{TntID: "v1"},
		Context: &delivery.Context{Channel: delivery.ChannelWeb},
		Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Index: 1, Name: "hero"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var html string
	if err := json.Unmarshal(d.Response.Execute.Mboxes[0].Options[0].Content, &html); err != nil {
		t.Fatal(err)
	}
	return html
}

// eventLog records engine events, safe for the polling goroutine.
type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, s)
}

func (l *eventLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.events...)
}

func (l *eventLog) events4() Events {
	return Events{
		ClientReady:               func(ClientReadyEvent) { l.add("ready") },
		ArtifactDownloadSucceeded: func(ArtifactDownloadSucceededEvent) { l.add("succeeded") },
		ArtifactDownloadFailed:    func(e ArtifactDownloadFailedEvent) { l.add(fmt.Sprintf("failed#%d", e.Attempt)) },
		GeoLocationUpdated:        func(GeoLocationUpdatedEvent) { l.add("geo") },
	}
}

func TestPollingETagNotModifiedAndRefresh(t *testing.T) {
	clock := newManualClock()
	transport := newScriptedTransport(scriptedResponse{status: 200, body: artifactWithOffer("first"), header: http.Header{"Etag": {`"v1"`}, "X-Geo-City": {"PARIS"}}})
	var log eventLog
	engine, err := New(WithClient("acme"), WithClock(clock),
		WithHTTPClient(&http.Client{Transport: transport}), WithEvents(log.events4()))
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	transport.awaitServed(t)
	if err := engine.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := transport.request(0).URL.String(); got != "https://assets.adobetarget.com/acme/production/rules/v1/rules.json" {
		t.Errorf("default location = %s", got)
	}
	if got := heroContent(t, engine); got != "first" {
		t.Fatalf("content = %q", got)
	}

	transport.push(scriptedResponse{status: http.StatusNotModified})
	clock.awaitWaiter(t)
	clock.Advance(DefaultPollingInterval)
	transport.awaitServed(t)
	if got := transport.request(1).Header.Get("If-None-Match"); got != `"v1"` {
		t.Errorf("If-None-Match = %q; want the last ETag", got)
	}
	if got := heroContent(t, engine); got != "first" {
		t.Errorf("after 304 content = %q; want the artifact kept", got)
	}

	transport.push(scriptedResponse{status: 200, body: artifactWithOffer("second"), header: http.Header{"Etag": {`"v2"`}}})
	clock.awaitWaiter(t)
	clock.Advance(DefaultPollingInterval)
	transport.awaitServed(t)
	clock.awaitWaiter(t) // the poller is waiting again: the download is installed
	if got := heroContent(t, engine); got != "second" {
		t.Errorf("after refresh content = %q; want second", got)
	}
	want := []string{"succeeded", "geo", "ready", "succeeded", "geo"}
	if got := log.list(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events = %v; want %v", got, want)
	}
	if entries := engine.TakeTelemetry(); len(entries) != 3 || entries[0].RequestID != artifactDownloadRequestID {
		t.Errorf("telemetry = %+v; want three artifact download entries", entries)
	}
}

func TestFailedOrInvalidDownloadKeepsLastGood(t *testing.T) {
	clock := newManualClock()
	transport := newScriptedTransport(scriptedResponse{status: 200, body: artifactWithOffer("good")})
	var log eventLog
	engine, err := New(WithClient("acme"), WithClock(clock), WithRetry(2, time.Second),
		WithHTTPClient(&http.Client{Transport: transport}), WithEvents(log.events4()))
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	transport.awaitServed(t)
	if err := engine.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}

	// A server error, retried after the backoff, then an unsupported artifact.
	transport.push(scriptedResponse{status: 503}, scriptedResponse{status: 200, body: []byte(`{"version":"2.0.0","rules":{"mboxes":{},"views":{}}}`)})
	clock.awaitWaiter(t)
	clock.Advance(DefaultPollingInterval)
	transport.awaitServed(t)
	clock.awaitWaiter(t) // the retry backoff: 1s ± 50% jitter
	clock.Advance(3 * time.Second / 2)
	transport.awaitServed(t)
	clock.awaitWaiter(t) // polling again
	if got := heroContent(t, engine); got != "good" {
		t.Errorf("content = %q; want the last good artifact", got)
	}
	want := []string{"succeeded", "geo", "ready", "failed#1", "failed#2"}
	if got := log.list(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events = %v; want %v", got, want)
	}
}

func TestNewRetriesUntilDownloaded(t *testing.T) {
	t.Parallel()
	transport := newScriptedTransport(
		scriptedResponse{err: errors.New("connection refused")},
		scriptedResponse{status: 500},
		scriptedResponse{status: 200, body: artifactWithOffer("ok")})
	engine, err := New(WithClient("acme"), WithRetry(3, 0), WithPollingInterval(0),
		WithHTTPClient(&http.Client{Transport: transport}))
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	if err := engine.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := heroContent(t, engine); got != "ok" {
		t.Errorf("content = %q", got)
	}
}

func TestNewFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    []Option
		wantErr error
		wantAs  any
	}{
		{"no client", []Option{WithArtifactPayload(artifactWithOffer("x"))}, nil, new(*ConfigError)},
		{"unsupported version", []Option{WithClient("c"), WithArtifactPayload([]byte(`{"version":"99.0.0","rules":{"mboxes":{},"views":{}}}`))}, ErrUnsupportedArtifactVersion, nil},
		{"not json", []Option{WithClient("c"), WithArtifactPayload([]byte(`<html>`))}, ErrMalformedArtifact, nil},
		{"no version", []Option{WithClient("c"), WithArtifactPayload([]byte(`{"rules":{}}`))}, ErrMalformedArtifact, nil},
		{"bad polling", []Option{WithClient("c"), WithPollingInterval(-time.Second)}, nil, new(*ConfigError)},
		{"missing file", []Option{WithClient("c"), WithArtifactFile(filepath.Join(t.TempDir(), "none.json"))}, os.ErrNotExist, nil},
		{"404 is not retried", []Option{WithClient("c"), WithHTTPClient(&http.Client{Transport: newScriptedTransport(scriptedResponse{status: 404})})}, errUnexpectedStatus, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := New(tt.opts...)
			if err == nil {
				// A file or a download fails in the background: WaitReady says why.
				err = e.WaitReady(t.Context())
				e.Close()
				if err == nil {
					t.Fatal("New and WaitReady succeeded; want an error")
				}
				if !errors.Is(err, ErrNotReady) {
					t.Errorf("WaitReady error %v does not wrap ErrNotReady", err)
				}
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v; want %v", err, tt.wantErr)
			}
			if tt.wantAs != nil && !errors.As(err, tt.wantAs) {
				t.Errorf("error %v (%T); want %T", err, err, tt.wantAs)
			}
		})
	}
}

func TestMaximumWaitReady(t *testing.T) {
	t.Parallel()
	blocking := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		<-r.Context().Done()
		return nil, r.Context().Err()
	})
	e, err := New(WithClient("c"), WithMaximumWaitReady(time.Millisecond),
		WithHTTPClient(&http.Client{Transport: blocking}))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	err = e.WaitReady(t.Context())
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrNotReady) {
		t.Fatalf("error = %v; want the wait to end with ErrNotReady and context.DeadlineExceeded", err)
	}
}

// newReady makes an engine and waits for its first artifact; the engine is
// closed when the test ends, and at once when it is not ready.
func newReady(t *testing.T, opts ...Option) (*Engine, error) {
	t.Helper()
	e, err := New(opts...)
	if err != nil {
		return nil, err
	}
	if err := e.WaitReady(t.Context()); err != nil {
		e.Close()
		return nil, err
	}
	t.Cleanup(func() { e.Close() })
	return e, nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestCDNLocation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		opts []Option
		want string
	}{
		{[]Option{WithClient("acme")}, "https://assets.adobetarget.com/acme/production/rules/v1/rules.json"},
		{[]Option{WithClient("acme"), WithEnvironment("Staging"), WithArtifactFormat(FormatBinary)}, "https://assets.adobetarget.com/acme/staging/rules/v1/rules.bin"},
		{[]Option{WithClient("acme"), WithPropertyToken("tok")}, "https://assets.adobetarget.com/acme/production/rules/v1/tok/rules.json"},
	}
	for _, tt := range tests {
		c := defaultConfig()
		for _, o := range tt.opts {
			o.apply(&c)
		}
		if got := c.cdnLocation(); got != tt.want {
			t.Errorf("cdnLocation = %s; want %s", got, tt.want)
		}
	}
}

func TestObfuscatedArtifactVector(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(sdktesting.Dir(t), "obfuscation")
	plain, err := os.ReadFile(filepath.Join(dir, "rules.json"))
	if err != nil {
		t.Fatal(err)
	}
	binPath := filepath.Join(dir, "rules.bin")
	const org = "74F652E95F1B16FE0A495C92@AdobeOrg"

	e, err := newReady(t, WithClient("targettesting"), WithOrganizationID(org), WithArtifactFile(binPath))
	if err != nil {
		t.Fatalf("right organization id: %v", err)
	}
	var got, want any
	if err := json.Unmarshal(e.Artifact().Raw(), &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(plain, &want); err != nil {
		t.Fatal(err)
	}
	if mustJSON(got) != mustJSON(want) {
		t.Error("deobfuscated artifact differs from rules.json")
	}

	_, err = newReady(t, WithClient("targettesting"), WithOrganizationID("WRONG@AdobeOrg"), WithArtifactFile(binPath))
	if !errors.Is(err, obfuscation.ErrWrongKey) {
		t.Errorf("wrong organization id: error %v; want obfuscation.ErrWrongKey", err)
	}
	_, err = newReady(t, WithClient("targettesting"), WithArtifactFile(binPath))
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != "organizationId" {
		t.Errorf("no organization id: error %v; want a ConfigError naming organizationId", err)
	}
	data, err := os.ReadFile(binPath)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := append([]byte(nil), data...)
	corrupt[len(corrupt)/2] ^= 0x5a
	corrupt[len(corrupt)/3] ^= 0x33
	_, err = New(WithClient("targettesting"), WithOrganizationID(org), WithArtifactPayload(corrupt))
	if err == nil {
		t.Error("corrupt rules.bin was accepted")
	}
}

func TestUncompilableRuleIsSkippedWithWarning(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zap.WarnLevel)
	artifact := []byte(`{"version":"1.0.0","rules":{"mboxes":{"hero":[
	 {"ruleKey":"1","meta":{"activity.id":1},"condition":{"regex_match":["a",{"var":"page.url"}]},
	  "consequence":{"name":"hero","options":[{"type":"html","content":"wrong"}]}},
	 {"ruleKey":"2","meta":{"activity.id":2},"condition":{"==":[1,1]},
	  "consequence":{"name":"hero","options":[{"type":"html","content":"right"}]}}]},"views":{}}}`)
	e, err := New(WithClient("c"), WithArtifactPayload(artifact), WithLogger(zap.New(core)))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if got := heroContent(t, e); got != "right" {
		t.Errorf("content = %q; want the rule after the skipped one", got)
	}
	skipped := e.Artifact().Skipped()
	if len(skipped) != 1 || skipped[0].RuleKey != "1" || skipped[0].Location != "mboxes/hero[0]" {
		t.Errorf("skipped = %+v", skipped)
	}
	if logs.FilterMessageSnippet("skipping a rule").Len() != 1 {
		t.Errorf("want one warning, got %v", logs.All())
	}
}

func TestRemoteMboxesAndDecideAll(t *testing.T) {
	t.Parallel()
	artifact := []byte(`{"version":"1.0.0","remoteMboxes":["recs"],"localMboxes":["hero"],"rules":{"mboxes":{
	 "hero":[{"ruleKey":"1","meta":{"activity.id":1},"condition":true,"consequence":{"name":"hero","options":[{"type":"html","content":"h"}]}}],
	 "recs":[{"ruleKey":"2","meta":{"activity.id":2},"condition":true,"consequence":{"name":"recs","options":[{"type":"html","content":"r"}]}}]},"views":{}}}`)
	req := &delivery.DeliveryRequest{
		ID:       &delivery.VisitorID{TntID: "v"},
		Context:  &delivery.Context{Channel: delivery.ChannelWeb},
		Prefetch: &delivery.PrefetchRequest{Mboxes: []delivery.MboxRequest{{Index: 1, Name: "hero"}, {Index: 2, Name: "recs"}, {Index: 3, Name: "unknown"}}},
	}
	for _, all := range []bool{false, true} {
		e, err := New(WithClient("c"), WithArtifactPayload(artifact), WithDecideAll(all))
		if err != nil {
			t.Fatal(err)
		}
		d, err := e.Decide(context.Background(), req)
		e.Close()
		if err != nil {
			t.Fatal(err)
		}
		method := d.Response.Prefetch.Mboxes[0].Options[0].ResponseTokens["activity.decisioningMethod"]
		if all {
			if d.RemoteNeeded || d.Response.Status != 200 || len(d.Response.Prefetch.Mboxes[1].Options) != 1 {
				t.Errorf("decide all: %+v", d)
			}
			if method != "server-side" {
				t.Errorf("decide all: activity.decisioningMethod = %v, want server-side (the engine answers as the edge)", method)
			}
			continue
		}
		if method != "on-device" {
			t.Errorf("activity.decisioningMethod = %v, want on-device", method)
		}
		if !d.RemoteNeeded || d.Response.Status != 206 || fmt.Sprint(d.RemoteMboxes) != "[recs unknown]" {
			t.Errorf("remote: needed=%v status=%d mboxes=%v", d.RemoteNeeded, d.Response.Status, d.RemoteMboxes)
		}
	}
}

func TestDecideValidatesAndCompletesRequest(t *testing.T) {
	t.Parallel()
	e, err := New(WithClient("c"), WithArtifactPayload(artifactWithOffer("x")))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var fe *delivery.FieldError
	if _, err := e.Decide(context.Background(), nil); !errors.As(err, &fe) {
		t.Errorf("nil request: %v; want a *delivery.FieldError", err)
	}
	if _, err := e.Decide(context.Background(), &delivery.DeliveryRequest{}); !errors.As(err, &fe) || fe.Field != "context" {
		t.Errorf("request without a context: %v; want a *delivery.FieldError naming context", err)
	}
	req := &delivery.DeliveryRequest{Context: &delivery.Context{Channel: delivery.ChannelWeb},
		Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Index: 1, Name: "hero"}}}}
	d, err := e.Decide(context.Background(), req, WithLocationHint("28"))
	if err != nil {
		t.Fatal(err)
	}
	if req.ID != nil || req.RequestID != "" {
		t.Error("Decide modified the caller's request")
	}
	if id := d.Response.ID; id == nil || len(id.TntID) != 36+5 || id.TntID[36:] != ".28_0" {
		t.Errorf("minted id = %+v; want a uuid with the location hint", d.Response.ID)
	}
	if d.Response.RequestID == "" || d.Request.RequestID != d.Response.RequestID {
		t.Errorf("request id not minted: %q", d.Response.RequestID)
	}
	n := d.NotificationRequest()
	if n == nil || len(n.Notifications) != 0 || n.Telemetry == nil || len(n.Telemetry.Entries) != 1 {
		t.Errorf("notification request = %+v; want telemetry only (the offer has no event token)", n)
	}
	if _, err := e.Refresh(context.Background()); err == nil {
		t.Error("Refresh of a payload artifact succeeded")
	}
}

func TestGeoFromHeaders(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	h.Set("X-Geo-Latitude", "37.75")
	h.Set("X-Geo-Longitude", "-122.4")
	h.Set("X-Geo-City", "SAN FRANCISCO")
	h.Set("X-Geo-Region-Code", "CA")
	h.Set("X-Geo-Country-Code", "US")
	h.Set("X-Forwarded-For", "10.0.0.1")
	g := GeoFromHeaders(h)
	if g.City != "SAN FRANCISCO" || g.StateCode != "CA" || g.CountryCode != "US" || g.IPAddress != "10.0.0.1" ||
		g.Latitude == nil || *g.Latitude != 37.75 || g.Longitude == nil || *g.Longitude != -122.4 {
		t.Errorf("GeoFromHeaders = %+v", g)
	}
}

// TestConcurrentDecisionsMatchSequential decides the same requests from
// several goroutines (the engine recycles per-request state) and checks
// every response equals the one decided alone.
func TestConcurrentDecisionsMatchSequential(t *testing.T) {
	t.Parallel()
	e, err := New(WithClient(demo.Client), WithArtifactPayload(demo.Artifact()),
		WithClock(fixedClock{time.Date(2026, 3, 25, 1, 5, 0, 0, time.UTC)}))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	names := []string{demo.MboxHero, demo.MboxCart, demo.MboxFeatureFlags, demo.MboxRecommendations}
	const n = 200
	requests := make([]*delivery.DeliveryRequest, n)
	want := make([][]byte, n)
	for i := range requests {
		req := &delivery.DeliveryRequest{
			RequestID: fmt.Sprintf("r%d", i),
			ID:        &delivery.VisitorID{TntID: fmt.Sprintf("visitor-%d", i)},
			Context:   &delivery.Context{Channel: delivery.ChannelWeb},
			Execute:   &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Index: 1, Name: names[i%4]}, {Index: 2, Name: names[(i+1)%4], Parameters: delivery.Parameters{demo.ParamLoyaltyTier: "gold"}}}},
			Prefetch:  &delivery.PrefetchRequest{Views: []delivery.ViewRequest{{}}},
		}
		if i%5 == 0 {
			req.Trace = &delivery.Trace{}
		}
		requests[i] = req
		d, err := e.Decide(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = withoutTraceTimes(t, d)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4*n)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range requests {
				d, err := e.Decide(context.Background(), requests[i])
				if err != nil {
					errs <- err
					return
				}
				if got := withoutTraceTimes(t, d); !bytes.Equal(got, want[i]) {
					errs <- fmt.Errorf("request %d decided differently under concurrency", i)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// withoutTraceTimes is the response JSON, without what differs between two
// decisions of one request: the trace's artifact retrieval time and the
// random ids of the notifications it lists.
func withoutTraceTimes(t *testing.T, d *Decision) []byte {
	t.Helper()
	strip := func(trace delivery.TraceResponse) {
		delete(trace, "artifact")
		campaigns, _ := trace["campaigns"].([]any)
		for _, c := range campaigns {
			delete(c.(map[string]any), "notifications")
		}
	}
	for _, m := range d.Response.Execute.Mboxes {
		strip(m.Trace)
	}
	for _, v := range d.Response.Prefetch.Views {
		strip(v.Trace)
	}
	return delivery.AppendResponseJSON(nil, d.Response)
}

func TestGeoLookup(t *testing.T) {
	t.Parallel()
	artifact := []byte(`{"version":"1.0.0","geoTargetingEnabled":true,"responseTokens":["geo.city"],"localMboxes":["m"],"rules":{"mboxes":{"m":[
	 {"ruleKey":"1","meta":{"activity.id":1},"condition":{"==":["PARIS",{"var":"geo.city"}]},"consequence":{"name":"m","options":[{"type":"html","content":"paris"}]}}]},"views":{}}}`)
	request := func(ip string) *delivery.DeliveryRequest {
		return &delivery.DeliveryRequest{ID: &delivery.VisitorID{TntID: "v"},
			Context: &delivery.Context{Channel: delivery.ChannelWeb, Geo: &delivery.Geo{IPAddress: ip}},
			Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Index: 1, Name: "m"}}}}
	}
	tests := []struct {
		name       string
		transport  http.RoundTripper
		ip         string
		wantOffer  bool
		wantLookup bool
	}{
		{"found", newScriptedTransport(scriptedResponse{status: 200, body: []byte(`{"x-geo-city":"PARIS","x-geo-latitude":48.85}`)}), "10.1.2.3", true, true},
		{"lookup fails: decided without geo", newScriptedTransport(scriptedResponse{status: 503}), "10.1.2.3", false, true},
		{"not an IP address: no lookup", newScriptedTransport(scriptedResponse{status: 200, body: []byte(`{"x-geo-city":"PARIS"}`)}), "not-an-ip", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var updated []string
			var mu sync.Mutex
			e, err := New(WithClient("c"), WithArtifactPayload(artifact),
				WithHTTPClient(&http.Client{Transport: tt.transport}),
				WithEvents(Events{GeoLocationUpdated: func(ev GeoLocationUpdatedEvent) {
					mu.Lock()
					defer mu.Unlock()
					updated = append(updated, ev.Geo.City)
				}}))
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			d, err := e.Decide(context.Background(), request(tt.ip))
			if err != nil {
				t.Fatal(err)
			}
			gotOffer := len(d.Response.Execute.Mboxes[0].Options) == 1
			if gotOffer != tt.wantOffer {
				t.Errorf("offer = %v; want %v", gotOffer, tt.wantOffer)
			}
			if gotOffer && d.Response.Execute.Mboxes[0].Options[0].ResponseTokens["geo.city"] != "PARIS" {
				t.Errorf("geo.city token = %v", d.Response.Execute.Mboxes[0].Options[0].ResponseTokens)
			}
			st := tt.transport.(*scriptedTransport)
			st.mu.Lock()
			lookups := len(st.requests)
			var forwarded string
			if lookups > 0 {
				forwarded = st.requests[0].Header.Get(HeaderForwardedFor)
			}
			st.mu.Unlock()
			if (lookups > 0) != tt.wantLookup || (lookups > 0 && forwarded != tt.ip) {
				t.Errorf("lookups %d (x-forwarded-for %q); want lookup=%v for %s", lookups, forwarded, tt.wantLookup, tt.ip)
			}
			mu.Lock()
			defer mu.Unlock()
			if tt.wantOffer && (len(updated) != 1 || updated[0] != "PARIS") {
				t.Errorf("geoLocationUpdated events = %v", updated)
			}
		})
	}
}
