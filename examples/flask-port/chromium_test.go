package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
)

// chromiumPath is where Debian's chromium package installs the browser.
const chromiumPath = "/usr/bin/chromium"

// TestIndexPageInHeadlessChromium loads GET / in headless Chromium, clicks
// buttons through the DevTools protocol and checks what the page shows:
// offers, cookies and timings; then that a prefetch followed by the notify
// button reaches the edge as display notifications.
func TestIndexPageInHeadlessChromium(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("headless browser check skipped: %s not found (apt-get install -y chromium)", chromiumPath)
	}
	if testing.Short() {
		t.Skip("headless browser check skipped in -short mode")
	}
	ta := startApp(t, offlineConfig())
	page := startChromium(t, ta.base+"/")

	page.waitFor(t, `document.body && document.body.dataset.ready === "true"`)

	// Execute mboxes: a click fetches offers and the page shows them.
	page.eval(t, `document.getElementById("tntId").value = "browser-visitor"; document.getElementById("btn-executeMbox").click(); true`)
	page.waitFor(t, `document.body.dataset.lastCall === "execute mboxes"`)
	if got := page.evalString(t, `document.getElementById("status").textContent`); got != "execute mboxes: HTTP 200" {
		t.Fatalf("status shows %q", got)
	}
	offers := page.evalString(t, `Array.from(document.querySelectorAll("#offers li.offer")).map(li => li.textContent).join("\n")`)
	for _, want := range []string{"execute mbox hero", "execute mbox cart"} {
		if !strings.Contains(offers, want) {
			t.Errorf("offers shown:\n%s\nwant a line for %q", offers, want)
		}
	}
	if cookies := page.evalString(t, `document.getElementById("cookies").textContent`); !strings.Contains(cookies, "mbox=session#") {
		t.Errorf("cookies shown: %q, want the mbox cookie", cookies)
	}
	if timing := page.evalString(t, `document.getElementById("timing-client").textContent`); !strings.HasSuffix(timing, " ms") {
		t.Errorf("timing shown: %q, want a round trip in ms", timing)
	}

	// Prefetch views, then notify their display.
	page.eval(t, `document.getElementById("btn-prefetchViewAsyncio").click(); true`)
	page.waitFor(t, `document.body.dataset.lastCall === "prefetch views (future)"`)
	views := page.evalString(t, `document.getElementById("offers").textContent`)
	if !strings.Contains(views, "prefetch view home") {
		t.Fatalf("offers shown after the view prefetch:\n%s", views)
	}
	page.eval(t, `document.getElementById("btn-sendNotifications").click(); true`)
	page.waitFor(t, `document.body.dataset.lastCall === "send notifications"`)
	if got := page.evalString(t, `document.getElementById("status").textContent`); got != "send notifications: HTTP 200" {
		t.Fatalf("status after notifying shows %q", got)
	}
	var viewNotified bool
	for _, n := range ta.app.edge.Server().Notifications() {
		if n.View == "home" && n.Type == delivery.MetricDisplay && n.TntID == "browser-visitor" {
			viewNotified = true
		}
	}
	if !viewNotified {
		t.Errorf("the edge recorded no display notification of view home from the page: %+v", ta.app.edge.Server().Notifications())
	}

	// A test ECID: the page writes the AMCV_ cookie as VisitorAPI.js does,
	// GET / reads it back, and the calls the page makes pass it on.
	page.eval(t, `document.getElementById("ecid-value").value = "31817839174716582270412305427436433330"; document.getElementById("btn-setECID").click(); true`)
	page.waitFor(t, `document.body && document.body.dataset.ready === "true" && document.getElementById("ecid").textContent.includes("31817839174716582270412305427436433330")`)
	page.eval(t, `document.getElementById("btn-executeMbox").click(); true`)
	page.waitFor(t, `document.body.dataset.lastCall === "execute mboxes"`)
	if raw := page.evalString(t, `document.getElementById("raw").textContent`); !strings.Contains(raw, `"marketingCloudVisitorId":"31817839174716582270412305427436433330"`) {
		t.Errorf("the execute answer does not show the ECID the call sent:\n%s", raw)
	}
}

// cdpPage is a DevTools protocol session with one page of a headless
// Chromium: just enough of the protocol to evaluate JavaScript.
type cdpPage struct {
	conn   *websocket.Conn
	nextID int
}

// startChromium starts headless Chromium on url with remote debugging on a
// free port, connects to the page, and stops the browser at the end of the
// test.
func startChromium(t *testing.T, url string) *cdpPage {
	t.Helper()
	profile := t.TempDir()
	cmd := exec.Command(chromiumPath,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+profile, "--remote-debugging-port=0", "--remote-allow-origins=*", url)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var page *cdpPage
	t.Cleanup(func() {
		if page != nil {
			_ = page.send("Browser.close", nil)
			_ = page.conn.Close()
		}
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the browser's own process group
			<-exited
		}
	})

	port := readDevToolsPort(t, profile, exited)
	wsURL := pageDebuggerURL(t, port, url)
	conn, err := websocket.Dial(wsURL, "", "http://127.0.0.1/")
	if err != nil {
		t.Fatalf("connecting to the page's DevTools socket %s: %v", wsURL, err)
	}
	page = &cdpPage{conn: conn}
	return page
}

// readDevToolsPort waits for Chromium to write the DevTools port into its
// profile's DevToolsActivePort file.
func readDevToolsPort(t *testing.T, profile string, exited <-chan error) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		data, err := os.ReadFile(filepath.Join(profile, "DevToolsActivePort"))
		if err == nil {
			if port, _, ok := strings.Cut(string(data), "\n"); ok && port != "" {
				return port
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("chromium exited before opening DevTools: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("chromium did not open DevTools within 60s")
		}
	}
}

// pageDebuggerURL finds the DevTools socket of the page showing url.
func pageDebuggerURL(t *testing.T, port, url string) string {
	t.Helper()
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 5 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := client.Get("http://127.0.0.1:" + port + "/json/list")
		if err == nil {
			var targets []struct {
				Type                 string `json:"type"`
				URL                  string `json:"url"`
				WebSocketDebuggerURL string `json:"webSocketDebuggerUrl"`
			}
			err = json.NewDecoder(resp.Body).Decode(&targets)
			resp.Body.Close()
			for _, tg := range targets {
				if err == nil && tg.Type == "page" && tg.URL == url && tg.WebSocketDebuggerURL != "" {
					return tg.WebSocketDebuggerURL
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no DevTools page target for %s", url)
	return ""
}

// cdpMessage is a DevTools protocol answer or event.
type cdpMessage struct {
	ID     int             `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// send sends one command and returns its result, skipping events.
func (p *cdpPage) send(method string, params any) error {
	_, err := p.call(method, params)
	return err
}

func (p *cdpPage) call(method string, params any) (json.RawMessage, error) {
	p.nextID++
	id := p.nextID
	if err := p.conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return nil, err
	}
	if err := websocket.JSON.Send(p.conn, map[string]any{"id": id, "method": method, "params": params}); err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	for {
		var msg cdpMessage
		if err := websocket.JSON.Receive(p.conn, &msg); err != nil {
			return nil, fmt.Errorf("%s: %w", method, err)
		}
		if msg.ID != id {
			continue
		}
		if msg.Error != nil {
			return nil, fmt.Errorf("%s: %s", method, msg.Error.Message)
		}
		return msg.Result, nil
	}
}

// eval evaluates expression in the page and returns its value.
func (p *cdpPage) eval(t *testing.T, expression string) any {
	t.Helper()
	raw, err := p.call("Runtime.evaluate", map[string]any{"expression": expression, "returnByValue": true, "awaitPromise": true})
	if err != nil {
		t.Fatalf("evaluating %s: %v", expression, err)
	}
	var res struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatalf("evaluating %s: %v", expression, err)
	}
	if res.ExceptionDetails != nil {
		t.Fatalf("evaluating %s: exception %s", expression, res.ExceptionDetails.Text)
	}
	return res.Result.Value
}

func (p *cdpPage) evalString(t *testing.T, expression string) string {
	t.Helper()
	s, _ := p.eval(t, expression).(string)
	return s
}

// waitFor polls condition until it is true, for at most 30 seconds.
func (p *cdpPage) waitFor(t *testing.T, condition string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		if v, _ := p.eval(t, condition).(bool); v {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("page never satisfied %s (status: %q)", condition,
				p.evalString(t, `document.getElementById("status") ? document.getElementById("status").textContent : ""`))
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// TestRenderedPageInHeadlessChromium loads GET /page in headless Chromium
// as a visitor with an AMCV_ cookie would, with a stand-in for
// VisitorAPI.js that records its getInstance calls, and checks what the
// visitor sees (the hero banner with its picture, the cart's HTML offer in
// place, the page-load action applied, the waterfall, the raw JSON folded
// away) and what the page hands over: targetGlobalSettings.serverState for
// at.js and the visitor state for Visitor.getInstance, both parsed by the
// browser, with no Content-Security-Policy violation. With
// TARGETFLOW_SCREENSHOT_DIR set, it saves the page as page.png there.
func TestRenderedPageInHeadlessChromium(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("headless browser check skipped: %s not found (apt-get install -y chromium)", chromiumPath)
	}
	if testing.Short() {
		t.Skip("headless browser check skipped in -short mode")
	}
	const ecid = "31817839174716582270412305427436433332" // the "Weekend sale" bar and the "New season" hero
	cfg := offlineConfig()
	cfg.Decisioning = delivery.DecisioningServerSide
	cfg.Work = 50 * time.Millisecond
	ta := startApp(t, cfg, edge.WithLatency(edge.Latency{Fixed: 30 * time.Millisecond}))
	page := startChromium(t, "about:blank")

	must := func(method string, params any) json.RawMessage {
		t.Helper()
		res, err := page.call(method, params)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	must("Page.enable", nil)
	must("Emulation.setDeviceMetricsOverride", map[string]any{"width": 1100, "height": 1500, "deviceScaleFactor": 1, "mobile": false})
	must("Network.setCookie", map[string]any{"url": ta.base + "/",
		"name":  "AMCV_" + url.QueryEscape(cfg.OrganizationID),
		"value": url.PathEscape("-1124106680|MCIDTS|19000|MCMID|" + ecid + "|vVersion|5.2.0")})
	must("Page.addScriptToEvaluateOnNewDocument", map[string]any{"source": `
		window.cspViolations = [];
		document.addEventListener("securitypolicyviolation", (e) => window.cspViolations.push(e.violatedDirective + " " + e.blockedURI));
		window.visitorCalls = [];
		window.Visitor = { getInstance: function (org, config) { window.visitorCalls.push({ org: org, config: config }); return {}; } };`})
	must("Page.navigate", map[string]any{"url": ta.base + "/page?mbox=hero,cart&view=home&prefetch=feature-flags"})
	page.waitFor(t, `document.readyState === "complete" && !!document.querySelector(".hero img") && document.querySelector(".hero img").complete`)

	// What the page hands to at.js and to the Visitor API, as the browser parsed it.
	var handoff struct {
		Override    bool            `json:"override"`
		ServerState json.RawMessage `json:"serverState"`
		Calls       []struct {
			Org    string `json:"org"`
			Config struct {
				ServerState map[string]struct {
					SDID struct {
						Current string `json:"supplementalDataIDCurrent"`
					} `json:"sdid"`
				} `json:"serverState"`
			} `json:"config"`
		} `json:"calls"`
		Violations []string `json:"violations"`
	}
	raw := page.evalString(t, `JSON.stringify({override: window.targetGlobalSettings.overrideMboxEdgeServer,
		serverState: window.targetGlobalSettings.serverState, calls: window.visitorCalls, violations: window.cspViolations})`)
	if err := json.Unmarshal([]byte(raw), &handoff); err != nil {
		t.Fatalf("the page's handoff %s: %v", raw, err)
	}
	var serverState struct {
		Request  delivery.DeliveryRequest  `json:"request"`
		Response delivery.DeliveryResponse `json:"response"`
	}
	if err := json.Unmarshal(handoff.ServerState, &serverState); err != nil {
		t.Fatalf("targetGlobalSettings.serverState %s: %v", handoff.ServerState, err)
	}
	if !handoff.Override {
		t.Error("targetGlobalSettings.overrideMboxEdgeServer is not true")
	}
	if id := serverState.Request.ID; id == nil || id.MarketingCloudVisitorID != ecid {
		t.Errorf("serverState request id %+v, want the AMCV_ cookie's ECID", id)
	}
	pf := serverState.Response.Prefetch
	if pf == nil || len(pf.Views) != 1 || len(pf.Views[0].Options) == 0 || pf.Views[0].Options[0].EventToken == "" || len(pf.Mboxes) != 1 {
		t.Errorf("serverState response prefetch %+v, want the home view and the feature-flags mbox with event tokens", pf)
	}
	if ex := serverState.Response.Execute; ex != nil && len(ex.Mboxes) > 0 {
		t.Errorf("serverState carries execute mboxes %+v", ex.Mboxes)
	}
	if len(handoff.Calls) != 1 || handoff.Calls[0].Org != cfg.OrganizationID {
		t.Fatalf("Visitor.getInstance calls %+v, want one for %s", handoff.Calls, cfg.OrganizationID)
	}
	sdid := serverState.Request.ExperienceCloud.Analytics.SupplementalDataID
	if got := handoff.Calls[0].Config.ServerState[cfg.OrganizationID].SDID.Current; got == "" || got != sdid {
		t.Errorf("visitor state SDID %q, want the serverState request's %q", got, sdid)
	}
	if len(handoff.Violations) > 0 {
		t.Errorf("Content-Security-Policy violations: %q", handoff.Violations)
	}

	// What the visitor sees.
	seen := map[string]string{
		"headline":  `document.querySelector(".hero h1").textContent`,
		"cta":       `document.querySelector(".hero .cta").textContent`,
		"picture":   `String(document.querySelector(".hero img").naturalWidth > 0)`,
		"cart":      `(document.querySelector('[data-mbox="cart"] .cart-banner') || {}).textContent || ""`,
		"promo":     `getComputedStyle(document.getElementById("promo-bar")).display === "none" ? "hidden" : document.getElementById("promo-bar").textContent`,
		"raw":       `String(!document.getElementById("raw").open && JSON.parse(document.querySelector("#raw pre").textContent).status)`,
		"bars":      `String(document.querySelectorAll("svg.waterfall rect").length)`,
		"parallel":  `String(document.querySelector("svg.waterfall rect.total").width.baseVal.value < document.querySelector("svg.waterfall rect.sum-target").width.baseVal.value + document.querySelector("svg.waterfall rect.sum-work").width.baseVal.value)`,
		"ecidShown": `document.getElementById("ecid").textContent`,
	}
	got := map[string]string{}
	for k, expr := range seen {
		got[k] = page.evalString(t, expr)
	}
	checks := []struct {
		what string
		ok   bool
	}{
		{"the hero banner's headline", got["headline"] == "New season, new gear" || got["headline"] == "Free shipping on every order"},
		{"the hero banner's call to action", got["cta"] == "Shop now" || got["cta"] == "Start shopping"},
		{"the hero picture, loaded", got["picture"] == "true"},
		{"the cart's HTML offer in place", got["cart"] != ""},
		{"the page-load action applied", got["promo"] == "hidden" || got["promo"] == "Weekend sale: 20% off outerwear"},
		{"the raw JSON folded in a <details>", got["raw"] == "200"},
		{"the waterfall's five bars", got["bars"] == "5"},
		{"the parallel total shorter than the sum", got["parallel"] == "true"},
		{"the visitor's ECID", got["ecidShown"] == ecid},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("the page does not show %s: %q", c.what, got)
		}
	}

	if dir := os.Getenv("TARGETFLOW_SCREENSHOT_DIR"); dir != "" {
		shot := must("Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true})
		var res struct {
			Data []byte `json:"data"`
		}
		if err := json.Unmarshal(shot, &res); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, "page.png")
		if err := os.WriteFile(file, res.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot of /page: %s", file)
	}
}
