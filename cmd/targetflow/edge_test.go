package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
)

// edgeTestBuffer is a bytes.Buffer safe for the command's goroutines.
type edgeTestBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *edgeTestBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *edgeTestBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var edgeBannerAddr = regexp.MustCompile(`--server-domain (\S+)`)

// runEdgeCommand starts serveEdge and returns the address it printed, a
// function that stops it and returns its exit code, and its stderr.
func runEdgeCommand(t *testing.T, args []string, reload chan os.Signal) (addr string, stop func() int, stderr *edgeTestBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := &edgeTestBuffer{}, &edgeTestBuffer{}
	code := make(chan int, 1)
	go func() { code <- serveEdge(ctx, args, stdio{In: strings.NewReader(""), Out: out, Err: errOut}, reload) }()
	stopped := false
	stop = func() int {
		if stopped {
			return -1
		}
		stopped = true
		cancel()
		return <-code
	}
	t.Cleanup(func() { stop() })
	for range 4000 {
		if m := edgeBannerAddr.FindStringSubmatch(out.String()); m != nil {
			return m[1], stop, errOut
		}
		select {
		case c := <-code:
			stopped = true
			cancel()
			t.Fatalf("edge exited with %d before serving; stderr:\n%s", c, errOut.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	t.Fatalf("edge printed no address; stdout %q stderr %q", out.String(), errOut.String())
	return "", nil, nil
}

func edgeGet(t *testing.T, url string, header map[string]string) (int, http.Header, []byte) {
	t.Helper()
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

func TestEdgeCommandServesTheDemo(t *testing.T) {
	addr, stop, stderr := runEdgeCommand(t, []string{"--addr", "127.0.0.1:0", "--log-level", "debug"}, nil)
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	body := `{"id":{"tntId":"cli-visitor.28_0"},"context":{"channel":"web"},"execute":{"mboxes":[{"index":0,"name":"hero"}]}}`
	resp, err := (&http.Client{Transport: transport}).Post("http://"+addr+"/rest/v1/delivery?imsOrgId=o&sessionId=s", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var answer struct {
		Status int    `json:"status"`
		Client string `json:"client"`
	}
	err = json.NewDecoder(resp.Body).Decode(&answer)
	resp.Body.Close()
	if err != nil || answer.Status != 200 || answer.Client != demo.Client {
		t.Fatalf("delivery answer %+v, %v", answer, err)
	}
	status, _, _ := edgeGet(t, "http://"+addr+"/"+demo.Client+"/production/rules/v1/rules.bin", nil)
	if status != http.StatusOK {
		t.Errorf("demo rules.bin answered %d", status)
	}
	if code := stop(); code != exitOK {
		t.Errorf("exit code %d after shutdown, want %d", code, exitOK)
	}
	for _, want := range []string{`"msg":"delivery"`, `"tntId":"cli-visitor.28_0"`, `"msg":"edge stopped"`} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("debug log lacks %s:\n%s", want, stderr.String())
		}
	}
}

func TestEdgeCommandReloadsOnSIGHUP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.json")
	if err := os.WriteFile(path, demo.Artifact(), 0o600); err != nil {
		t.Fatal(err)
	}
	reload := make(chan os.Signal, 1)
	addr, _, stderr := runEdgeCommand(t, []string{"--addr", "127.0.0.1:0", "--artifact", path, "--organization-id", "ABC@AdobeOrg"}, reload)
	rulesURL := "http://" + addr + "/" + demo.Client + "/production/rules/v1/rules.json"
	_, header, _ := edgeGet(t, rulesURL, nil)
	first := header.Get("ETag")

	// A broken file is refused and the old artifact keeps serving.
	if err := os.WriteFile(path, []byte(`{"version":"1.0.0"`), 0o600); err != nil {
		t.Fatal(err)
	}
	reload <- syscall.SIGHUP
	waitFor(t, func() bool { return strings.Contains(stderr.String(), "artifact refused") }, "the refusal to be logged")
	if status, _, _ := edgeGet(t, rulesURL, map[string]string{"If-None-Match": first}); status != http.StatusNotModified {
		t.Fatalf("after a refused reload, the old ETag answered %d, want 304", status)
	}

	changed := bytes.Replace(demo.Artifact(), []byte("Weekend sale"), []byte("Holiday sale"), 1)
	if err := os.WriteFile(path, changed, 0o600); err != nil {
		t.Fatal(err)
	}
	reload <- syscall.SIGHUP
	waitFor(t, func() bool {
		status, _, body := edgeGet(t, rulesURL, map[string]string{"If-None-Match": first})
		return status == http.StatusOK && bytes.Equal(body, changed)
	}, "the new artifact to be served")
}

// TestEdgeCommandRealSIGHUP sends the process a real SIGHUP: the command
// must catch it (the test process would otherwise die) and reload.
func TestEdgeCommandRealSIGHUP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.json")
	if err := os.WriteFile(path, demo.Artifact(), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := &edgeTestBuffer{}, &edgeTestBuffer{}
	code := make(chan int, 1)
	go func() {
		code <- edgeCommand(ctx, []string{"--addr", "127.0.0.1:0", "--artifact", path}, stdio{Out: out, Err: errOut})
	}()
	defer func() { cancel(); <-code }()
	waitFor(t, func() bool { return edgeBannerAddr.MatchString(out.String()) }, "the banner")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(errOut.String(), "SIGHUP: artifact reloaded") }, "the reload to be logged")
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for range 2000 {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestEdgeCommandUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--no-such-flag"}, "flag provided but not defined"},
		{"extra argument", []string{"serve"}, `unexpected argument "serve"`},
		{"bad rate", []string{"--error-rate", "1.5"}, "error rate 1.5"},
		{"rates over one", []string{"--error-rate", "0.6", "--reset-rate", "0.6"}, "add up to 1.2"},
		{"bad distribution", []string{"--jitter-dist", "pareto"}, `"pareto"`},
		{"bad log level", []string{"--log-level", "loud"}, "--log-level"},
		{"missing artifact", []string{"--artifact", "/nonexistent/rules.json"}, "/nonexistent/rules.json"},
		{"bad address", []string{"--addr", "nonsense"}, "nonsense"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := serveEdge(context.Background(), tc.args, stdio{Out: &out, Err: &errOut}, nil)
			if code != exitUsage && code != exitFailed {
				t.Fatalf("exit code %d, want %d or %d", code, exitUsage, exitFailed)
			}
			if !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("stderr %q does not contain %q", errOut.String(), tc.want)
			}
		})
	}
}

func TestEdgeCommandHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := serveEdge(context.Background(), []string{"-h"}, stdio{Out: &out, Err: &errOut}, nil); code != exitOK {
		t.Fatalf("-h exit code %d", code)
	}
	for _, flag := range []string{"-addr", "-artifact", "-organization-id", "-jitter-dist", "-stall-rate", "-seed"} {
		if !strings.Contains(errOut.String(), flag) {
			t.Errorf("usage lacks %s", flag)
		}
	}
}

// edgeDecisions is the part of a response that carries decisions, as generic
// JSON, without the token that says where they were made.
func edgeDecisions(t *testing.T, line []byte) [2]any {
	t.Helper()
	var resp struct {
		Execute  any `json:"execute"`
		Prefetch any `json:"prefetch"`
	}
	if err := json.Unmarshal(line, &resp); err != nil {
		t.Fatalf("decoding %s: %v", line, err)
	}
	var strip func(v any)
	strip = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			delete(v, "activity.decisioningMethod")
			for _, child := range v {
				strip(child)
			}
		case []any:
			for _, child := range v {
				strip(child)
			}
		}
	}
	strip(resp.Execute)
	strip(resp.Prefetch)
	return [2]any{resp.Execute, resp.Prefetch}
}

// TestEdgeDecidesAsDecideCommand: the edge's decisions equal "targetflow
// decide" on the same artifact (the demo) and requests (decide's own
// generated sample traffic, plus requests for the remote-only mbox).
func TestEdgeDecidesAsDecideCommand(t *testing.T) {
	var requests, stderr bytes.Buffer
	if code := decideCommand(context.Background(), []string{"--artifact", "demo", "--generate", "300"},
		stdio{In: strings.NewReader(""), Out: &requests, Err: &stderr}); code != exitOK {
		t.Fatalf("decide --generate exit %d: %s", code, stderr.String())
	}
	for _, extra := range []string{
		`{"id":{"tntId":"remote-visitor-1.28_0"},"context":{"channel":"web"},"execute":{"mboxes":[{"index":0,"name":"recommendations"},{"index":1,"name":"hero"}]}}`,
		`{"id":{"tntId":"remote-visitor-2.28_0"},"context":{"channel":"web"},"prefetch":{"mboxes":[{"index":0,"name":"recommendations"}],"views":[{}]}}`,
	} {
		requests.WriteString(extra + "\n")
	}
	lines := strings.Split(strings.TrimSpace(requests.String()), "\n")

	var decided bytes.Buffer
	stderr.Reset()
	if code := decideCommand(context.Background(), []string{"--artifact", "demo"},
		stdio{In: strings.NewReader(requests.String()), Out: &decided, Err: &stderr}); code != exitOK {
		t.Fatalf("decide exit %d: %s", code, stderr.String())
	}
	server, err := edge.New(demo.Artifact())
	if err != nil {
		t.Fatal(err)
	}
	scanner := bufio.NewScanner(&decided)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	i, withDecisions := 0, 0
	for ; scanner.Scan(); i++ {
		if i >= len(lines) {
			t.Fatalf("decide wrote more lines than it read")
		}
		rec := httptest.NewRecorder()
		server.ServeHTTP(rec, httptest.NewRequest(http.MethodPost,
			"/rest/v1/delivery?imsOrgId=o&sessionId=s", strings.NewReader(lines[i])))
		if rec.Code != http.StatusOK {
			t.Fatalf("request %d: edge answered %d: %s", i, rec.Code, rec.Body.Bytes())
		}
		want, got := edgeDecisions(t, scanner.Bytes()), edgeDecisions(t, rec.Body.Bytes())
		if want[0] != nil || want[1] != nil {
			withDecisions++
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("request %d %s:\ndecide %s\nedge   %s", i, lines[i], scanner.Bytes(), rec.Body.Bytes())
		}
	}
	if err := scanner.Err(); err != nil {
		t.Fatal(err)
	}
	if i != len(lines) || withDecisions == 0 {
		t.Fatalf("compared %d responses (%d with decisions) for %d requests", i, withDecisions, len(lines))
	}
}

// TestEdgeBannerNamesRulesBinOnlyWhenServed: rules.bin is served for the demo
// artifact and for an artifact with --organization-id, not otherwise, and the
// banner says so.
func TestEdgeBannerNamesRulesBinOnlyWhenServed(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rules.json")
	if err := os.WriteFile(path, demo.Artifact(), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"demo artifact", nil, "(and rules.bin)"},
		{"artifact with an organization id", []string{"--artifact", path, "--organization-id", "ABC@AdobeOrg"}, "(and rules.bin)"},
		{"artifact without an organization id", []string{"--artifact", path}, "(rules.bin needs --organization-id)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := parseEdgeFlags(tt.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			var artifact []byte
			if f.artifact != "" {
				artifact = demo.Artifact()
			}
			opts, err := f.options(artifact, nil)
			if err != nil {
				t.Fatal(err)
			}
			server, err := edge.New(demo.Artifact(), opts...)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			printEdgeBanner(&out, server, "127.0.0.1:8080", f)
			if !strings.Contains(out.String(), tt.want) {
				t.Errorf("banner lacks %q:\n%s", tt.want, out.String())
			}
			binURL := "/" + server.Client() + "/production/rules/v1/rules.bin"
			rec := httptest.NewRecorder()
			server.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, binURL, nil))
			if served := rec.Code == http.StatusOK; served != (tt.want == "(and rules.bin)") {
				t.Errorf("GET %s answered %d while the banner says %q", binURL, rec.Code, tt.want)
			}
		})
	}
}
