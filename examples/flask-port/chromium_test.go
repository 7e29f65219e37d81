package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"github.com/targetflow/targetflow/delivery"
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
