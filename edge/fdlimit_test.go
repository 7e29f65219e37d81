//go:build linux

package edge_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/childproc"
)

// fdLimitChild names the variable that makes the test binary the edge of
// TestHealthzAnswersUnderAFileLimit, with that many open files at most.
const fdLimitChild = "TARGETFLOW_EDGE_TEST_FD_LIMIT"

// TestHealthzAnswersUnderAFileLimit re-runs the test binary as an edge
// limited to 256 open files (its automatic connection limit is then 160)
// and holds 300 connections open on it with bodies that never arrive (the
// issue's attack: under ulimit -n 1024, 1,100 slow bodies made /healthz
// time out for 30 s). /healthz and /metrics are still answered, on the
// connections reserved beyond the limit; a delivery request arriving there
// is answered 503 with Retry-After, never left hanging.
func TestHealthzAnswersUnderAFileLimit(t *testing.T) {
	if os.Getenv(fdLimitChild) != "" {
		serveUnderFileLimit(t)
		return
	}
	t.Parallel()
	child := childproc.Start(t, "TestHealthzAnswersUnderAFileLimit", fdLimitChild, "256")
	addr := child.Addr

	// 300 slow bodies: headers, one byte of a 1,000-byte body, then nothing.
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 300 {
		c, err := net.DialTimeout("tcp", addr, safetyNet)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: edge\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", deliveryPath)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: safetyNet}
	defer client.CloseIdleConnections()
	get := func(path string) (int, string, error) {
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), err
	}
	// Every regular connection is held: wait for the edge to say so.
	var metrics string
	for range 200 {
		status, body, err := get("/metrics")
		if err == nil && status == http.StatusOK && strings.Contains(body, `targetflow_edge_connections{slot="regular"} 160`+"\n") {
			metrics = body
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if metrics == "" {
		t.Fatal("the edge never reported its 160 regular connections held")
	}
	if !strings.Contains(metrics, "targetflow_edge_connections_refused_total") {
		t.Error("metrics lack the refused connections")
	}
	for i := range 5 {
		status, body, err := get("/healthz")
		if err != nil || status != http.StatusOK || !strings.Contains(body, `"status":"ok"`) {
			t.Fatalf("healthz %d with every connection held: %d %q %v", i, status, body, err)
		}
	}
	resp, err := client.Post("http://"+addr+deliveryPath, "application/json", strings.NewReader(validRequest))
	if err != nil {
		t.Fatalf("delivery with every connection held: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("delivery with every connection held: %d, Retry-After %q; want 503 with one", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if _, body, _ := get("/metrics"); !strings.Contains(body, `targetflow_edge_requests_total{endpoint="over-limit",status="503"}`) {
		t.Error("metrics do not count the 503s of the reserved connections")
	}
	// The slow bodies beyond the limit were answered 503 or closed at once;
	// those within it are still waiting (the child's body timeout is long).
	var open, overflow int
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, c := range conns {
		wg.Go(func() {
			_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			data, err := io.ReadAll(c)
			mu.Lock()
			defer mu.Unlock()
			var netErr net.Error
			if errors.As(err, &netErr) && netErr.Timeout() && len(data) == 0 {
				open++
				return
			}
			if len(data) > 0 && !strings.HasPrefix(string(data), "HTTP/1.1 503") {
				t.Errorf("a slow body beyond the limit got %.40q", data)
			}
			overflow++
		})
	}
	wg.Wait()
	if open != 160 || overflow != 140 {
		t.Errorf("%d slow bodies still open and %d turned away, want 160 and 140", open, overflow)
	}
	if err := child.Stop(); err != nil {
		t.Fatalf("the child edge: %v", err)
	}
}

// serveUnderFileLimit is the child of TestHealthzAnswersUnderAFileLimit: an
// edge limited to the open files of its variable, serving until its
// standard input closes.
func serveUnderFileLimit(t *testing.T) {
	if err := childproc.LimitOpenFilesFromEnv(fdLimitChild); err != nil {
		t.Fatal(err)
	}
	s, err := edge.New(edge.DemoArtifact(), edge.WithBodyTimeout(time.Minute), edge.WithShutdownTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr, err := s.Start(ctx, "")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	childproc.AnnounceAndWait(addr)
	cancel()
	_ = s.Wait() // in-flight slow bodies are cut short at shutdown
}
