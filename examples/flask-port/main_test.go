package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/sourcegraph/conc"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/stalled"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testApp is the app served on a loopback port, as main serves it, with an
// HTTP client to drive it.
type testApp struct {
	t    testing.TB
	app  *app
	base string
	logs *observer.ObservedLogs
	// http has a cookie jar, like a browser.
	http *http.Client
}

// startApp serves a new app for cfg (offline unless cfg says otherwise) on
// 127.0.0.1 and stops it at the end of the test. cfg.Addr is ignored.
func startApp(t testing.TB, cfg config, edgeOpts ...edge.Option) *testApp {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	logger := zap.New(core)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := newApp(ctx, cfg, logger, edgeOpts...)
	if err != nil {
		cancel()
		_ = ln.Close()
		t.Fatalf("newApp: %v", err)
	}
	served := make(chan error, 1)
	go func() {
		served <- serve(ctx, newHTTPServer(a.Handler(), cfg, logger), limitListener(ln, connectionLimit(cfg.MaxConnections)), logger)
	}()

	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	transport := &http.Transport{}
	ta := &testApp{
		t:    t,
		app:  a,
		base: "http://" + ln.Addr().String(),
		logs: logs,
		http: &http.Client{Jar: jar, Transport: transport, Timeout: 30 * time.Second},
	}
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
		transport.CloseIdleConnections()
		if err := a.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return ta
}

// offlineConfig is the default configuration, offline, on any port.
func offlineConfig() config {
	cfg := defaultConfig()
	cfg.Addr = "127.0.0.1:0"
	return cfg
}

// answer is one HTTP answer of the app.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// do sends method path (with body, when not empty) and reads the answer.
func (ta *testApp) do(method, path, body string, mutate ...func(*http.Request)) answer {
	ta.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ta.base+path, rd)
	if err != nil {
		ta.t.Fatal(err)
	}
	for _, m := range mutate {
		m(req)
	}
	resp, err := ta.http.Do(req)
	if err != nil {
		ta.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		ta.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

func (ta *testApp) get(path string, mutate ...func(*http.Request)) answer {
	ta.t.Helper()
	return ta.do(http.MethodGet, path, "", mutate...)
}

// deliveryResponse checks a 200 application/json answer and decodes it.
func (a answer) deliveryResponse(t testing.TB) *delivery.DeliveryResponse {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", a.status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	var resp delivery.DeliveryResponse
	if err := json.Unmarshal(a.body, &resp); err != nil {
		t.Fatalf("body is not a Delivery API response: %v\n%s", err, a.body)
	}
	return &resp
}

// jsonError checks an error answer: the status and a JSON body whose
// message contains want.
func (a answer) jsonError(t *testing.T, status int, want string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d; body %s", a.status, status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	var e errorBody
	if err := json.Unmarshal(a.body, &e); err != nil {
		t.Fatalf("error body is not JSON: %v\n%s", err, a.body)
	}
	if e.Status != status || !strings.Contains(e.Message, want) {
		t.Fatalf("error body %+v, want status %d and a message containing %q", e, status, want)
	}
}

// cookie returns the Set-Cookie of the answer named name, or nil.
func (a answer) cookie(name string) *http.Cookie {
	for _, c := range (&http.Response{Header: a.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestReadyEventIsLogged(t *testing.T) {
	t.Parallel()
	ta := startApp(t, offlineConfig())
	deadline := time.Now().Add(10 * time.Second)
	for ta.logs.FilterMessage(readyMessage).Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no %q log line; logs: %v", readyMessage, ta.logs.All())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSampleREADMECurls runs the curl commands of the sample's README
// (samples/README.md of adobe/target-python-sdk), port adjusted.
func TestSampleREADMECurls(t *testing.T) {
	t.Parallel()
	ta := startApp(t, offlineConfig())
	const readmeToken = "rI03nB2aB/8ANKbtolR1i2qipfsIHvVzTQxHolz2IpSCnQ9Y9OaLL2gsdrWQTvE54PwSz67rmXWmSnkXpSSS2Q=="
	tests := []struct {
		name   string
		method string
		path   string
		body   string
		check  func(t *testing.T, r *delivery.DeliveryResponse)
	}{
		{name: "executePageload", method: "GET", path: "/executePageload?tntId=12345",
			check: func(t *testing.T, r *delivery.DeliveryResponse) {
				if r.Execute == nil || r.Execute.PageLoad == nil {
					t.Errorf("no execute.pageLoad in %+v", r)
				}
			}},
		{name: "executeMbox", method: "GET", path: "/executeMbox?mbox=navbar&tntId=12345",
			check: func(t *testing.T, r *delivery.DeliveryResponse) {
				if r.Execute == nil || len(r.Execute.Mboxes) != 1 || r.Execute.Mboxes[0].Name != "navbar" || r.Execute.Mboxes[0].Index != 0 {
					t.Errorf("execute.mboxes = %+v, want navbar at index 0", r.Execute)
				}
			}},
		{name: "prefetchMbox", method: "GET", path: "/prefetchMbox?prefetch=cart&mbox=navbar&tntId=12345",
			check: func(t *testing.T, r *delivery.DeliveryResponse) {
				if r.Execute == nil || len(r.Execute.Mboxes) != 1 || r.Execute.Mboxes[0].Name != "navbar" {
					t.Errorf("execute = %+v, want navbar", r.Execute)
				}
				if r.Prefetch == nil || len(r.Prefetch.Mboxes) != 1 || r.Prefetch.Mboxes[0].Name != "cart" {
					t.Errorf("prefetch = %+v, want cart", r.Prefetch)
				}
			}},
		{name: "prefetchView", method: "GET", path: "/prefetchView?view=home,cart&tntId=12345", check: checkViewPrefetch},
		{name: "prefetchView async (callback)", method: "GET", path: "/prefetchView?view=home&tntId=12345&async=true", check: checkViewPrefetch},
		{name: "prefetchViewAsyncio async (future)", method: "GET", path: "/prefetchViewAsyncio?view=home,cart&tntId=12345&async=true", check: checkViewPrefetch},
		{name: "sendNotifications", method: "POST", path: "/sendNotifications?tntId=12345",
			body: `{"mboxes":[{"name":"cart","event_tokens":["` + readmeToken + `"]}]}`,
			check: func(t *testing.T, r *delivery.DeliveryResponse) {
				if len(r.Notifications) != 1 || r.Notifications[0].ID == "" {
					t.Errorf("notifications = %+v, want one, with its id", r.Notifications)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := ta.do(tt.method, tt.path, tt.body).deliveryResponse(t)
			if resp.ID == nil || resp.ID.TntID != "12345" {
				t.Errorf("id = %+v, want tntId 12345", resp.ID)
			}
			if resp.Client != "acmeclient" {
				t.Errorf("client = %q, want the sample's acmeclient", resp.Client)
			}
			tt.check(t, resp)
		})
	}

	var found bool
	for _, n := range ta.app.edge.Server().Notifications() {
		if n.Mbox == "cart" && len(n.Tokens) == 1 && n.Tokens[0] == readmeToken && n.Type == delivery.MetricDisplay {
			found = true
		}
	}
	if !found {
		t.Errorf("the embedded edge did not record the README's display notification: %+v", ta.app.edge.Server().Notifications())
	}
}

func checkViewPrefetch(t *testing.T, r *delivery.DeliveryResponse) {
	t.Helper()
	if _, err := uuid.Parse(r.RequestID); err != nil {
		t.Errorf("requestId %q is not the fresh uuid the sample sends: %v", r.RequestID, err)
	}
	if r.ID == nil || len(r.ID.CustomerIDs) != 2 || r.ID.CustomerIDs[0].IntegrationCode != "userid" || r.ID.CustomerIDs[1].IntegrationCode != "puuid" {
		t.Errorf("id = %+v, want the sample's userid and puuid customer ids", r.ID)
	}
	var home bool
	if r.Prefetch != nil {
		for _, v := range r.Prefetch.Views {
			if v.Name == "home" && len(v.Options) > 0 && v.Options[0].EventToken != "" {
				home = true
			}
		}
	}
	if !home {
		t.Errorf("prefetch = %+v, want view home with an offer and its event token", r.Prefetch)
	}
}

func TestExecutePageLoadAnswersBothSpellings(t *testing.T) {
	t.Parallel()
	ta := startApp(t, offlineConfig())
	for _, path := range []string{"/executePageLoad", "/executePageload"} {
		resp := ta.get(path).deliveryResponse(t)
		if resp.Execute == nil || resp.Execute.PageLoad == nil {
			t.Errorf("%s: no execute.pageLoad", path)
		}
	}
}

// TestCookieRoundTrip: the first answer sets the Target cookie (and the
// location-hint cookie) with their max-age; a second request that sends
// them back (a browser's cookie jar) continues the same session, as the
// same visitor; the edge records a notification under that session.
func TestCookieRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		decisioning delivery.DecisioningMethod
		// incomingHint is a location-hint cookie the browser already has.
		// On-device decisions make no edge call, so the client learns the
		// cluster from the cookie (or from an earlier edge answer).
		incomingHint string
	}{
		{decisioning: delivery.DecisioningServerSide},
		{decisioning: delivery.DecisioningOnDevice, incomingHint: "35"},
		{decisioning: delivery.DecisioningHybrid, incomingHint: "31"},
	}
	for _, tt := range tests {
		t.Run(string(tt.decisioning), func(t *testing.T) {
			t.Parallel()
			cfg := offlineConfig()
			cfg.Decisioning = tt.decisioning
			ta := startApp(t, cfg)
			base, err := url.Parse(ta.base)
			if err != nil {
				t.Fatal(err)
			}
			if tt.incomingHint != "" {
				ta.http.Jar.SetCookies(base, []*http.Cookie{{Name: "mboxEdgeCluster", Value: tt.incomingHint, Path: "/"}})
			}

			first := ta.get("/executeMbox?mbox=hero")
			r1 := first.deliveryResponse(t)
			mbox := first.cookie("mbox")
			if mbox == nil || mbox.MaxAge <= 0 || mbox.Path != "/" {
				t.Fatalf("mbox cookie = %+v, want one with a positive max-age and path /", mbox)
			}
			hint := first.cookie("mboxEdgeCluster")
			if hint == nil || hint.MaxAge <= 0 || hint.Value == "" || (tt.incomingHint != "" && hint.Value != tt.incomingHint) {
				t.Fatalf("mboxEdgeCluster cookie = %+v, want one with value %q and a positive max-age", hint, tt.incomingHint)
			}
			entries1 := parseTargetCookie(mbox.Value)
			if r1.ID == nil || r1.ID.TntID == "" || entries1["PC"] != r1.ID.TntID || entries1["session"] == "" {
				t.Fatalf("first answer: tntId %+v, cookie entries %v: want a minted tntId in the PC entry and a session", r1.ID, entries1)
			}

			// The second request carries no tntId: the visitor is known
			// only by the cookies the jar sends back.
			second := ta.get("/executeMbox?mbox=hero")
			r2 := second.deliveryResponse(t)
			if r2.ID == nil || r2.ID.TntID != r1.ID.TntID {
				t.Fatalf("second answer tntId %+v, want the first one's %q", r2.ID, r1.ID.TntID)
			}
			entries2 := parseTargetCookie(second.cookie("mbox").Value)
			if entries2["session"] != entries1["session"] {
				t.Fatalf("session %q then %q: the second request did not reuse the session", entries1["session"], entries2["session"])
			}

			ta.do(http.MethodPost, "/sendNotifications", `{"mboxes":[{"name":"hero","event_tokens":["t1"]}]}`).deliveryResponse(t)
			var recorded bool
			for _, n := range ta.app.edge.Server().Notifications() {
				if n.Mbox == "hero" && n.SessionID == entries1["session"] && n.TntID == r1.ID.TntID && n.Tokens[0] == "t1" {
					recorded = true
				}
			}
			if !recorded {
				t.Fatalf("no notification recorded with session %q and tntId %q: %+v", entries1["session"], r1.ID.TntID, ta.app.edge.Server().Notifications())
			}
		})
	}
}

// parseTargetCookie returns the entry values of a composite mbox cookie.
func parseTargetCookie(raw string) map[string]string {
	out := map[string]string{}
	for _, entry := range strings.Split(raw, "|") {
		parts := strings.Split(entry, "#")
		if len(parts) == 3 {
			v, err := url.QueryUnescape(parts[1])
			if err == nil {
				out[parts[0]] = v
			}
		}
	}
	return out
}

func TestNoContentWithoutLocations(t *testing.T) {
	t.Parallel()
	ta := startApp(t, offlineConfig())
	for _, path := range []string{
		"/executeMbox", "/executeMbox?mbox=", "/prefetchMbox", "/prefetchMbox?mbox=&prefetch=",
		"/prefetchView", "/prefetchView?async=true", "/prefetchViewAsyncio", "/prefetchViewAsyncio?view=&async=true",
	} {
		a := ta.get(path + sepFor(path) + "tntId=12345")
		if a.status != http.StatusNoContent || len(a.body) != 0 {
			t.Errorf("%s: status %d body %q, want 204 and no body", path, a.status, a.body)
		}
	}
}

func sepFor(path string) string {
	if strings.Contains(path, "?") {
		return "&"
	}
	return "?"
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	cfg := offlineConfig()
	cfg.MaxBodyBytes = 4096
	ta := startApp(t, cfg)
	big := `{"mboxes":[{"name":"cart","event_tokens":["` + strings.Repeat("x", 5000) + `"]}]}`
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"malformed query", "GET", "/executeMbox?mbox=%zz", "", 400, "query string"},
		{"empty mbox name", "GET", "/executeMbox?mbox=a,,b", "", 400, `query parameter mbox "a,,b": name 2 of 3 is empty`},
		{"empty prefetch name", "GET", "/prefetchMbox?prefetch=,", "", 400, "query parameter prefetch"},
		{"empty view name", "GET", "/prefetchViewAsyncio?view=home,", "", 400, "query parameter view"},
		{"bad async", "GET", "/prefetchView?view=home&async=maybe", "", 400, `query parameter async "maybe"`},
		{"malformed JSON", "POST", "/sendNotifications", `{"mboxes":`, 400, "body: is truncated JSON"},
		{"not JSON", "POST", "/sendNotifications", `mboxes=cart`, 400, "body: is not valid JSON"},
		{"empty body", "POST", "/sendNotifications", ``, 400, "body: is empty"},
		{"nothing to notify", "POST", "/sendNotifications", `{}`, 400, `names no "mboxes"`},
		{"oversized body", "POST", "/sendNotifications", big, 413, "larger than 4096 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ta.do(tt.method, tt.path, tt.body).jsonError(t, tt.status, tt.want)
		})
	}
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	ta := startApp(t, offlineConfig())
	if a := ta.get("/no-such-page"); a.status != http.StatusNotFound {
		t.Errorf("GET /no-such-page: status %d, want 404", a.status)
	}
	if a := ta.do(http.MethodPost, "/executeMbox?mbox=hero", "{}"); a.status != http.StatusMethodNotAllowed {
		t.Errorf("POST /executeMbox: status %d, want 405", a.status)
	}
	if a := ta.get("/sendNotifications"); a.status != http.StatusMethodNotAllowed {
		t.Errorf("GET /sendNotifications: status %d, want 405", a.status)
	}
	a := ta.get("/")
	if a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(a.body), `id="btn-executeMbox"`) {
		t.Errorf("GET /: status %d, type %q, want the HTML explorer page", a.status, a.header.Get("Content-Type"))
	}
	if csp := a.header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("GET /: Content-Security-Policy %q, want one limiting calls to this server", csp)
	}
}

// TestTargetFailureAnswers500 makes the edge fail every delivery call (503)
// and checks that every endpoint, on every path, answers 500 with the
// sample's JSON error.
func TestTargetFailureAnswers500(t *testing.T) {
	t.Parallel()
	cfg := offlineConfig()
	cfg.Decisioning = delivery.DecisioningServerSide
	ta := startApp(t, cfg, edge.WithFaults(edge.Faults{ErrorRate: 1}))
	tests := []struct{ method, path, body, want string }{
		{"GET", "/executePageLoad?tntId=1", "", "Exception during get_offers call"},
		{"GET", "/executeMbox?mbox=hero&tntId=1", "", "Exception during get_offers call"},
		{"GET", "/prefetchMbox?prefetch=cart&tntId=1", "", "Exception during get_offers call"},
		{"GET", "/prefetchView?view=home&tntId=1", "", "Exception during get_offers call"},
		{"GET", "/prefetchView?view=home&tntId=1&async=true", "", "Exception during get_offers call"},
		{"GET", "/prefetchViewAsyncio?view=home&tntId=1&async=true", "", "Exception during get_offers call"},
		{"GET", "/page?mbox=hero&tntId=1", "", "Exception during get_offers call"},
		{"POST", "/sendNotifications?tntId=1", `{"mboxes":[{"name":"cart","event_tokens":["t"]}]}`, "Exception during send_notifications call"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			ta.do(tt.method, tt.path, tt.body).jsonError(t, http.StatusInternalServerError, tt.want)
		})
	}
}

// TestUnreachableEdgeAnswers500 points the app at a server domain whose
// every connection is closed at once.
func TestUnreachableEdgeAnswers500(t *testing.T) {
	t.Parallel()
	closed := strings.TrimPrefix(stalled.HangUpURL(t), "http://")

	cfg := offlineConfig()
	cfg.Decisioning = delivery.DecisioningServerSide
	cfg.ServerDomain = closed
	cfg.Insecure = true
	ta := startApp(t, cfg)
	ta.get("/executeMbox?mbox=hero").jsonError(t, http.StatusInternalServerError, "Exception during get_offers call")
}

func TestPrefetchViewOptions(t *testing.T) {
	t.Parallel()
	r, err := http.NewRequest(http.MethodGet, "http://localhost:5000/prefetchView?view=home,cart&async=true&tntId=9", nil)
	if err != nil {
		t.Fatal(err)
	}
	opts, async, err := prefetchViewOptions(r, defaultOrganizationID, func() string { return "req-1" })
	if err != nil || opts == nil || !async {
		t.Fatalf("prefetchViewOptions = %+v, %v, %v", opts, async, err)
	}
	req := opts.Request
	if req.RequestID != "req-1" || req.ID.TntID != "9" || len(req.Prefetch.Views) != 2 ||
		req.Prefetch.Views[0].Name != "home" || req.Prefetch.Views[1].Name != "cart" || req.Execute != nil {
		t.Errorf("request = %+v", req)
	}
	if len(opts.CustomerIDs) != 2 || opts.CustomerIDs[0].AuthenticatedState != delivery.AuthAuthenticated ||
		opts.CustomerIDs[1].AuthenticatedState != delivery.AuthUnknown {
		t.Errorf("customer ids = %+v, want the sample's", opts.CustomerIDs)
	}
}

// TestPageServerTiming: with a Target call of about 60ms (edge latency)
// and 60ms of other work, the page's Server-Timing shows that the two ran
// in parallel: target + work > total.
func TestPageServerTiming(t *testing.T) {
	t.Parallel()
	cfg := offlineConfig()
	cfg.Decisioning = delivery.DecisioningServerSide
	cfg.Work = 60 * time.Millisecond
	ta := startApp(t, cfg, edge.WithLatency(edge.Latency{Fixed: 60 * time.Millisecond}))

	a := ta.get("/page?mbox=hero,cart&tntId=12345")
	if a.status != http.StatusOK || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d type %q, want an HTML page; body %s", a.status, a.header.Get("Content-Type"), a.body)
	}
	timings, err := parseServerTiming(a.header.Get("Server-Timing"))
	if err != nil {
		t.Fatal(err)
	}
	target, work, total := timings["target"], timings["work"], timings["total"]
	if target < 60 || work < 60 {
		t.Fatalf("Server-Timing %v: target and work should each be at least 60ms", timings)
	}
	if !(target+work > total) {
		t.Fatalf("Server-Timing %v: target + work = %.3f is not above total %.3f", timings, target+work, total)
	}
	if total < target || total < work {
		t.Fatalf("Server-Timing %v: total is below one of its parts", timings)
	}
	for _, want := range []string{"mbox hero", "mbox cart", `id="promo-bar"`, `id="timing-hidden"`, `<svg class="waterfall"`} {
		if !strings.Contains(string(a.body), want) {
			t.Errorf("page does not show %q", want)
		}
	}
	if a.cookie("mbox") == nil {
		t.Error("page did not set the mbox cookie")
	}
	if csp := a.header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'; script-src 'nonce-") || strings.Contains(csp, "unsafe-inline'; img") && strings.Contains(csp, "script-src 'unsafe") {
		t.Errorf("page Content-Security-Policy %q, want one that runs the page's own script only", csp)
	}
}

func TestPageBadInput(t *testing.T) {
	t.Parallel()
	ta := startApp(t, offlineConfig())
	ta.get("/page?mbox=,").jsonError(t, http.StatusBadRequest, "query parameter mbox")
}

// TestNoPanicOnOddQueriesAndCookies throws odd queries and cookies at every
// endpoint: every answer is a well-formed 2xx or 4xx, never the recovery
// middleware's 500.
func TestNoPanicOnOddQueriesAndCookies(t *testing.T) {
	t.Parallel()
	cfg := offlineConfig()
	cfg.Work = 0
	ta := startApp(t, cfg)
	queries := []string{
		"", "mbox=%E2%82%AC,%F0%9F%98%80", "mbox=" + strings.Repeat("m", 4000), "view=%00", "tntId=%ff%fe",
		"mbox=a&mbox=b", "async=%20", "prefetch=x&mcid=" + strings.Repeat("9", 300), "thirdPartyId=<script>",
		"view=home&async=TRUE", "mbox=a;b", "mbox=%",
	}
	cookies := []string{
		"", "mbox=", "mbox=garbage", "mbox=session#%zz#1|PC##x", "mbox=" + strings.Repeat("|#", 500),
		"mboxEdgeCluster=-1", "mboxEdgeCluster=" + strings.Repeat("9", 40), "mbox=\"quoted\"; mboxEdgeCluster=abc",
		"AMCV_1234567890%40AdobeOrg=%E0%A4%A", "AMCV_1234567890@AdobeOrg=MCMID|</script>|MCAAMB|%ZZ",
		"AMCV_1234567890%40AdobeOrg=" + strings.Repeat("%7C", 2000), "AMCV_1234567890%40AdobeOrg=MCOPTOUT%7Cglobal%7CMCAAMLH%7C-9",
	}
	paths := []string{"/executePageLoad", "/executeMbox", "/prefetchMbox", "/prefetchView", "/prefetchViewAsyncio", "/page"}
	for _, p := range paths {
		for _, q := range queries {
			for _, c := range cookies {
				a := ta.get(p+"?"+q, func(r *http.Request) {
					if c != "" {
						r.Header.Set("Cookie", c)
					}
				})
				if a.status >= 500 {
					t.Errorf("GET %s?%s with cookie %q: status %d: %s", p, truncate(q, 60), truncate(c, 60), a.status, a.body)
				}
			}
		}
	}
	if n := ta.logs.FilterMessage("handler panicked").Len(); n != 0 {
		t.Fatalf("%d handler panics", n)
	}
}

func TestRecoveryMiddleware(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.DebugLevel)
	logger := zap.New(core)
	mux := http.NewServeMux()
	mux.HandleFunc("/boom", func(http.ResponseWriter, *http.Request) { panic("boom") })
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	cfg := defaultConfig()
	cfg.MaxBodyBytes = 1024
	go func() { served <- serve(ctx, newHTTPServer(mux, cfg, logger), ln, logger) }()
	transport := &http.Transport{}
	client := &http.Client{Transport: transport}
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
		transport.CloseIdleConnections()
	}()

	resp, err := client.Get("http://" + ln.Addr().String() + "/boom")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	answer{status: resp.StatusCode, header: resp.Header, body: body}.jsonError(t, http.StatusInternalServerError, "internal error while handling /boom")
	if logs.FilterMessage("handler panicked").Len() != 1 {
		t.Errorf("the panic was not logged: %v", logs.All())
	}
	resp, err = client.Get("http://" + ln.Addr().String() + "/ok")
	if err != nil {
		t.Fatalf("server down after a panic: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after a panic: status %d", resp.StatusCode)
	}
	var logged bool
	for _, e := range logs.FilterMessage("request").All() {
		if e.ContextMap()["path"] == "/boom" && e.ContextMap()["status"] == int64(500) {
			logged = true
		}
	}
	if !logged {
		t.Errorf("no request log line with status 500 for /boom: %v", logs.All())
	}
}

// TestGracefulShutdown runs the server as main does and cancels its
// context (what SIGINT/SIGTERM do) while a request is in flight: the
// request completes, then runServer returns cleanly.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	cfg := offlineConfig()
	cfg.Work = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	core, logs := observer.New(zapcore.DebugLevel)
	go func() { done <- runServer(ctx, cfg, zap.New(core), func(a net.Addr) { addrs <- a }) }()
	var addr net.Addr
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatalf("runServer: %v", err)
	}

	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	type result struct {
		status int
		err    error
	}
	inFlight := make(chan result, 1)
	go func() {
		resp, err := client.Get("http://" + addr.String() + "/page?mbox=hero")
		if err != nil {
			inFlight <- result{err: err}
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		inFlight <- result{status: resp.StatusCode}
	}()
	// Once the handler runs, shut down: the request must still be answered,
	// and only then may the server stop.
	deadline := time.Now().Add(10 * time.Second)
	for logs.FilterMessage("request started").FilterField(zap.String("path", "/page")).Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the request never reached the handler")
		}
		time.Sleep(2 * time.Millisecond)
	}
	cancel()

	r := <-inFlight
	if r.err != nil || r.status != http.StatusOK {
		t.Fatalf("in-flight request: status %d, %v; want it to complete with 200", r.status, r.err)
	}
	if err := <-done; err != nil {
		t.Fatalf("runServer after shutdown: %v", err)
	}
	if _, err := net.DialTimeout("tcp", addr.String(), time.Second); err == nil {
		t.Fatal("still accepting connections after shutdown")
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	t.Parallel()
	var out strings.Builder
	if code := run(context.Background(), []string{"--decisioning", "magic"}, &out); code != 2 {
		t.Fatalf("exit code %d, want 2", code)
	}
	if !strings.Contains(out.String(), `--decisioning "magic"`) {
		t.Fatalf("output %q does not name the bad flag", out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"--help"}, &out); code != 0 || !strings.Contains(out.String(), "Usage: flask-port") {
		t.Fatalf("--help: exit code %d, output %q", code, out.String())
	}
}

func TestRunFailsOnBusyAddress(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var out strings.Builder
	if code := run(context.Background(), []string{"--addr", ln.Addr().String()}, &out); code != 1 {
		t.Fatalf("exit code %d, want 1; output %s", code, out.String())
	}
	if !strings.Contains(out.String(), "--addr "+ln.Addr().String()) {
		t.Fatalf("output %q does not name the address", out.String())
	}
}

func TestNewAppRejectsBadArtifact(t *testing.T) {
	t.Parallel()
	cfg := offlineConfig()
	cfg.Artifact = "/no/such/rules.json"
	_, err := newApp(context.Background(), cfg, zap.NewNop())
	if err == nil || !strings.Contains(err.Error(), "--artifact /no/such/rules.json") {
		t.Fatalf("error = %v, want one naming --artifact", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error = %v, want it to wrap the file's not-exist error", err)
	}
}

// TestConcurrentVisitors: many visitors, each with its own cookie jar, use
// the app at once; each keeps its own tntId and session across its
// requests, and no two visitors share one.
func TestConcurrentVisitors(t *testing.T) {
	t.Parallel()
	ta := startApp(t, offlineConfig())
	const visitors, requestsEach = 16, 8
	paths := []string{"/executeMbox?mbox=hero,cart", "/prefetchView?view=home&async=true",
		"/prefetchViewAsyncio?view=cart&async=true", "/executePageLoad", "/prefetchMbox?prefetch=cart"}

	type visit struct {
		tntIDs, sessions map[string]bool
		err              error
	}
	results := make([]visit, visitors)
	var wg conc.WaitGroup
	for v := range visitors {
		wg.Go(func() {
			jar, _ := cookiejar.New(nil)
			client := &http.Client{Jar: jar, Transport: ta.http.Transport}
			res := visit{tntIDs: map[string]bool{}, sessions: map[string]bool{}}
			for i := range requestsEach {
				// The first request is an mbox execute, which mints the
				// tntId; a first view prefetch carries the sample's
				// authenticated customer id, with which Target (and the
				// SDKs' on-device engine) mints none.
				path := paths[0]
				if i > 0 {
					path = paths[(v+i)%len(paths)]
				}
				resp, err := client.Get(ta.base + path)
				if err != nil {
					res.err = err
					break
				}
				var body delivery.DeliveryResponse
				err = json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK || body.ID == nil {
					res.err = fmt.Errorf("request %d: status %d, %v", i, resp.StatusCode, err)
					break
				}
				res.tntIDs[body.ID.TntID] = true
				for _, c := range jar.Cookies(resp.Request.URL) {
					if c.Name == "mbox" {
						res.sessions[parseTargetCookie(c.Value)["session"]] = true
					}
				}
			}
			results[v] = res
		})
	}
	wg.Wait()

	seen := map[string]int{}
	for v, res := range results {
		if res.err != nil {
			t.Fatalf("visitor %d: %v", v, res.err)
		}
		if len(res.tntIDs) != 1 || len(res.sessions) != 1 {
			t.Fatalf("visitor %d had tntIds %v and sessions %v, want one of each", v, res.tntIDs, res.sessions)
		}
		for id := range res.tntIDs {
			if other, dup := seen[id]; dup {
				t.Fatalf("visitors %d and %d share tntId %s", other, v, id)
			}
			seen[id] = v
		}
	}
}
