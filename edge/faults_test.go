package edge_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/targetflow/targetflow/edge"
)

const validRequest = `{"context":{"channel":"web"},"execute":{"mboxes":[{"index":0,"name":"hero"}]}}`

func TestInjectedFaultsOverHTTP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		faults     edge.Faults
		status     int
		retryAfter string
		reset      bool
	}{
		{"error", edge.Faults{ErrorRate: 1, RetryAfter: 2 * time.Second}, http.StatusServiceUnavailable, "2", false},
		{"throttle", edge.Faults{ThrottleRate: 1}, http.StatusTooManyRequests, "1", false},
		{"reset", edge.Faults{ResetRate: 1}, 0, "", true},
		{"stall", edge.Faults{StallRate: 1, Stall: time.Millisecond}, http.StatusOK, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newEdge(t, edge.WithFaults(tc.faults), edge.WithSeed(1))
			base := startEdge(t, s)
			client := httpClient(t)
			req, _ := http.NewRequest(http.MethodPost, base+deliveryPath, strings.NewReader(validRequest))
			resp, err := client.Do(req)
			if tc.reset {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("reset fault answered %d", resp.StatusCode)
				}
				if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "reset") && !strings.Contains(err.Error(), "EOF") {
					t.Errorf("reset fault gave %v, want a dropped connection", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || resp.Header.Get("Retry-After") != tc.retryAfter {
				t.Fatalf("status %d Retry-After %q, want %d %q (%s)", resp.StatusCode, resp.Header.Get("Retry-After"), tc.status, tc.retryAfter, body)
			}
			if tc.status >= 400 {
				var e errorAnswer
				decodeJSON(t, body, &e)
				if e.Status == nil || *e.Status != tc.status {
					t.Errorf("fault body %s", body)
				}
			}
		})
	}
}

// TestFaultCountsWithSeed sends a fixed number of requests one after another
// through a seeded edge and checks the metrics: the counts are those of the
// seed, and each kind is near its rate.
func TestFaultCountsWithSeed(t *testing.T) {
	t.Parallel()
	faults := edge.Faults{ErrorRate: 0.2, ThrottleRate: 0.1, ResetRate: 0.1}
	run := func() map[string]int {
		s := newEdge(t, edge.WithFaults(faults), edge.WithSeed(2026))
		base := startEdge(t, s)
		client := httpClient(t)
		statuses := map[string]int{}
		for range 400 {
			resp, err := client.Post(base+deliveryPath, "application/json", strings.NewReader(validRequest))
			if err != nil {
				statuses["reset"]++
				continue
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			statuses[http.StatusText(resp.StatusCode)]++
		}
		return statuses
	}
	first, second := run(), run()
	for k, v := range first {
		if second[k] != v {
			t.Fatalf("same seed, different outcomes: %v vs %v", first, second)
		}
	}
	// 400 draws: expected 80 / 40 / 40 / 240; 4σ bands.
	bands := map[string][2]int{"Service Unavailable": {48, 112}, "Too Many Requests": {16, 64}, "reset": {16, 64}, "OK": {201, 279}}
	for k, band := range bands {
		if first[k] < band[0] || first[k] > band[1] {
			t.Errorf("%s: %d of 400, want within %v (all: %v)", k, first[k], band, first)
		}
	}
}

func TestLatencyWaitEndsWithTheRequest(t *testing.T) {
	t.Parallel()
	s := newEdge(t, edge.WithLatency(edge.Latency{Fixed: time.Hour}), edge.WithShutdownTimeout(time.Hour))
	base := startEdge(t, s)
	client := httpClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+deliveryPath, strings.NewReader(validRequest))
	done := make(chan error, 1)
	go func() {
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	// Wait until the edge holds the request, then give up on it.
	waitForMetric(t, client, base, "targetflow_edge_delivery_in_flight 1")
	cancel()
	waitForMetric(t, client, base, `targetflow_edge_requests_total{endpoint="delivery",status="canceled"} 1`)
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("client error %v, want context.Canceled", err)
	}
	// The cleanup's shutdown only returns once the handler has: with an hour
	// of latency and an hour of shutdown timeout, that proves the wait ended
	// with the request.
}
