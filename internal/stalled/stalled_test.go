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
	err := get(t, stalled.URL(t), 50*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v; want the request's deadline", err)
	}
}

// A request to the peer that hangs up fails at once, well before its
// context would end it, every time.
func TestHangUpURLClosesEveryConnection(t *testing.T) {
	url := stalled.HangUpURL(t)
	for range 3 {
		if err := get(t, url, time.Minute); errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error %v; want a closed connection, not the deadline", err)
		}
	}
}

// get asks url for /rules.json within timeout and returns the request's
// error, failing the test if the peer answered.
func get(t *testing.T, url string, timeout time.Duration) error {
	t.Helper()
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/rules.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := transport.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("%s answered %d", url, resp.StatusCode)
	}
	return err
}
