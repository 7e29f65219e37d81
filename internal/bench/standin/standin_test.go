package standin

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/targetflow/targetflow/delivery"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The answer is a Delivery API answer of two mboxes that the wire model
// decodes, and the bare loop's request one that the one request decoder
// accepts, with the visitor's tntId.
func TestAnswerAndRequestAreDeliveryAPI(t *testing.T) {
	t.Parallel()
	var answer delivery.DeliveryResponse
	if err := json.Unmarshal(Answer, &answer); err != nil {
		t.Fatalf("answer: %v", err)
	}
	if answer.Execute == nil || len(answer.Execute.Mboxes) != 2 || answer.Execute.Mboxes[0].Name != "hero" || answer.Execute.Mboxes[1].Name != "cart" {
		t.Fatalf("answer mboxes = %+v, want hero and cart", answer.Execute)
	}
	body := AppendRequest(nil, 42, "11111111-2222-4333-8444-555555555555", []string{"hero", "cart"})
	req, err := delivery.DecodeRequest(body)
	if err != nil {
		t.Fatalf("request %s: %v", body, err)
	}
	if got, want := req.ID.TntID, "0000000000000000000000000000002a"; got != want {
		t.Errorf("tntId = %q, want %q", got, want)
	}
	if req.Execute == nil || len(req.Execute.Mboxes) != 2 || req.Telemetry == nil || len(req.Telemetry.Entries) != 1 {
		t.Errorf("request = %s, want 2 mboxes and a telemetry entry", body)
	}
}

func TestHandler(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(Handler(0))
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		method string
		status int
		body   []byte
	}{
		{http.MethodPost, http.StatusOK, Answer},
		{http.MethodGet, http.StatusMethodNotAllowed, []byte("POST only\n")},
	} {
		req, err := http.NewRequest(tc.method, srv.URL+"/rest/v1/delivery", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tc.status || !bytes.Equal(body, tc.body) {
			t.Errorf("%s: %d %q, want %d %q", tc.method, resp.StatusCode, body, tc.status, tc.body)
		}
	}
}

func TestLoopCountsEveryVisitor(t *testing.T) {
	t.Parallel()
	notJSON := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "<html>") })
	for _, tc := range []struct {
		name       string
		handler    http.Handler
		timeout    time.Duration
		decode     bool
		ok, failed int64
		firstError string
	}{
		{name: "answered", handler: Handler(0), ok: 300},
		{name: "refused", handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "no", http.StatusServiceUnavailable)
		}), failed: 300, firstError: "503"},
		{name: "decoded", handler: Handler(0), decode: true, ok: 300},
		{name: "refused, decoding", handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "no", http.StatusServiceUnavailable)
		}), decode: true, failed: 300, firstError: "503"},
		{name: "not JSON, discarded", handler: notJSON, ok: 300},
		{name: "not JSON, decoded", handler: notJSON, decode: true, failed: 300, firstError: "answer"},
		{name: "within the timeout", handler: Handler(time.Millisecond), timeout: 10 * time.Second, decode: true, ok: 300},
		{name: "past the timeout", handler: Handler(time.Minute), timeout: 20 * time.Millisecond, failed: 300, firstError: "deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tc.handler)
			t.Cleanup(srv.Close)
			res, err := Loop(context.Background(), LoopConfig{BaseURL: srv.URL, OrganizationID: "ACME@AdobeOrg", Visitors: 300, Concurrency: 16,
				Timeout: tc.timeout, Decode: tc.decode})
			if err != nil {
				t.Fatal(err)
			}
			if res.OK != tc.ok || res.Failed != tc.failed || (tc.failed > 0) != (res.FirstError != nil) {
				t.Errorf("Loop = %+v, want %d ok and %d failed", res, tc.ok, tc.failed)
			}
			if tc.firstError != "" && (res.FirstError == nil || !strings.Contains(res.FirstError.Error(), tc.firstError)) {
				t.Errorf("first error %v, want one naming %q", res.FirstError, tc.firstError)
			}
		})
	}
}

func TestLoopRefusesABadURL(t *testing.T) {
	t.Parallel()
	if _, err := Loop(context.Background(), LoopConfig{BaseURL: "", Visitors: 1}); err == nil || !strings.Contains(err.Error(), "base URL") {
		t.Errorf("Loop without a URL: %v, want an error naming the base URL", err)
	}
}

// The hostile stand-in writes what it was told to, as the start of an
// answer that never ends.
func TestHugeHandler(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(HugeHandler(1 << 20))
	t.Cleanup(srv.Close)
	resp, err := srv.Client().Post(srv.URL, "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n < 1<<20 || resp.ContentLength != -1 {
		t.Errorf("read %d bytes (Content-Length %d), %v; want more than 1 MiB, chunked", n, resp.ContentLength, err)
	}
}
