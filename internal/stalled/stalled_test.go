package stalled_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/targetflow/targetflow/internal/stalled"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A request to the stalled peer gets no answer: it ends only with its
// context.
func TestURLNeverAnswers(t *testing.T) {
	url := stalled.URL(t)
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/rules.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := transport.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("the stalled peer answered %d", resp.StatusCode)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v; want the request's deadline", err)
	}
}

// A request to the peer that hangs up fails at once, well before its
// context would end it.
func TestHangUpURLClosesEveryConnection(t *testing.T) {
	url := stalled.HangUpURL(t)
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for range 3 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/rules.json", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := transport.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("the peer that hangs up answered %d", resp.StatusCode)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v; want a closed connection, not the deadline", err)
		}
	}
}
