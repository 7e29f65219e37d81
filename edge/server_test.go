package edge_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/targetflow/targetflow/edge"
)

// TestShutdownLetsInFlightRequestsFinish ends the server's context while a
// request is held by injected latency: the request is still answered, and
// Wait returns once it has been.
func TestShutdownLetsInFlightRequestsFinish(t *testing.T) {
	t.Parallel()
	s := newEdge(t, edge.WithLatency(edge.Latency{Fixed: 300 * time.Millisecond}))
	ctx, cancel := context.WithCancel(context.Background())
	addr, err := s.Start(ctx, "")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	client := httpClient(t)
	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := client.Post("http://"+addr+deliveryPath, "application/json", strings.NewReader(validRequest))
		if err != nil {
			done <- result{err: err}
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- result{status: resp.StatusCode}
	}()
	metricsClient := httpClient(t)
	waitForMetric(t, metricsClient, "http://"+addr, "targetflow_edge_delivery_in_flight 1")
	metricsClient.Transport.(*http.Transport).CloseIdleConnections()
	cancel()
	if err := s.Wait(); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	got := <-done
	if got.err != nil || got.status != http.StatusOK {
		t.Fatalf("in-flight request: status %d, error %v; want 200", got.status, got.err)
	}
	if conn, err := net.Dial("tcp", addr); err == nil {
		conn.Close()
		t.Error("the listener still accepts after Wait")
	}
}

func TestStartAddresses(t *testing.T) {
	t.Parallel()
	s := newEdge(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() {
		cancel()
		if err := s.Wait(); err != nil {
			t.Error(err)
		}
	}()
	addr, err := s.Start(ctx, ":0")
	if err != nil {
		t.Fatal(err)
	}
	if host, _, _ := net.SplitHostPort(addr); host != "127.0.0.1" {
		t.Errorf("empty host bound %s, want loopback", addr)
	}
	if _, err := s.Start(ctx, "no-port"); err == nil || !strings.Contains(err.Error(), "no-port") {
		t.Errorf("Start with a bad address: %v", err)
	}
	if _, err := s.Start(ctx, addr); err == nil {
		t.Error("Start on a port in use succeeded")
	}
}
