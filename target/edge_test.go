package target

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/targetflow/targetflow/delivery"
)

// recordedCall is one request the test edge received.
type recordedCall struct {
	Host    string
	Query   url.Values
	Header  http.Header
	Request delivery.DeliveryRequest
}

// testEdge is a real HTTP server speaking the Delivery API. By default it
// answers like Target: a response with the request id, a tntId (minted, or
// the request's), and a JSON offer per requested mbox. Tests replace answer
// to script other answers.
type testEdge struct {
	t      testing.TB
	server *httptest.Server

	mu     sync.Mutex
	calls  []recordedCall
	answer func(w http.ResponseWriter, call recordedCall)
}

func newTestEdge(t testing.TB) *testEdge {
	t.Helper()
	e := &testEdge{t: t, answer: answerLikeTarget}
	e.server = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.server.Close)
	return e
}

func (e *testEdge) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != deliveryPath {
		http.Error(w, `{"status":404,"message":"not a delivery call"}`, http.StatusNotFound)
		return
	}
	call := recordedCall{Host: r.Host, Query: r.URL.Query(), Header: r.Header.Clone()}
	if err := json.Unmarshal(body, &call.Request); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"status":400,"message":"invalid JSON"}`)
		return
	}
	e.mu.Lock()
	e.calls = append(e.calls, call)
	answer := e.answer
	e.mu.Unlock()
	answer(w, call)
}

func (e *testEdge) setAnswer(answer func(w http.ResponseWriter, call recordedCall)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.answer = answer
}

func (e *testEdge) recorded() []recordedCall {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]recordedCall(nil), e.calls...)
}

func (e *testEdge) last() recordedCall {
	e.t.Helper()
	calls := e.recorded()
	if len(calls) == 0 {
		e.t.Fatal("the edge received no call")
	}
	return calls[len(calls)-1]
}

// hostPort is the server's address, for WithServerDomain.
func (e *testEdge) hostPort() string { return strings.TrimPrefix(e.server.URL, "http://") }

// routeAll returns a transport that sends every host (mboxedge35.tt.omtrdc.net,
// acme.tt.omtrdc.net, ...) to the test edge, so routing can be observed in
// the Host header.
func (e *testEdge) routeAll() *http.Transport {
	addr := e.server.Listener.Addr().String()
	dialer := &net.Dialer{}
	return &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost: 64,
	}
}

// newClient returns a client sending to the edge through routeAll, with
// options appended; it is closed at the end of the test.
func (e *testEdge) newClient(opts ...Option) *Client {
	e.t.Helper()
	transport := e.routeAll()
	base := []Option{
		WithClient("acme"),
		WithOrganizationID("ACME@AdobeOrg"),
		WithSecure(false),
		WithTransport(transport),
		// Generous, so that a busy machine under -race does not turn slow
		// answers into timeouts; tests of the timeout set their own.
		WithTimeout(time.Minute),
	}
	c, err := New(append(base, opts...)...)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	e.t.Cleanup(func() {
		_ = c.Close()
		transport.CloseIdleConnections()
	})
	return c
}

// answerLikeTarget answers as Target would for a request without scripted
// content: every execute and prefetch mbox gets a JSON offer naming it.
func answerLikeTarget(w http.ResponseWriter, call recordedCall) {
	req := call.Request
	resp := delivery.DeliveryResponse{
		Status:    200,
		RequestID: req.RequestID,
		Client:    "acme",
		ID:        &delivery.VisitorID{TntID: "minted-visitor.28_0"},
		EdgeHost:  "mboxedge28.tt.omtrdc.net",
	}
	if req.ID != nil && req.ID.TntID != "" {
		resp.ID.TntID = req.ID.TntID
	}
	offer := func(name string, index int) delivery.MboxResponse {
		content, _ := json.Marshal(map[string]any{"mbox": name, "index": index})
		return delivery.MboxResponse{Index: index, Name: name, Options: []delivery.Option{{
			Type: delivery.OptionJSON, Content: content,
			ResponseTokens: delivery.ResponseTokens{"offer.name": name},
		}}}
	}
	if req.Execute != nil {
		resp.Execute = &delivery.ExecuteResponse{}
		for _, m := range req.Execute.Mboxes {
			resp.Execute.Mboxes = append(resp.Execute.Mboxes, offer(m.Name, m.Index))
		}
	}
	if req.Prefetch != nil {
		resp.Prefetch = &delivery.PrefetchResponse{}
		for _, m := range req.Prefetch.Mboxes {
			pm := offer(m.Name, m.Index)
			pm.State = "state-" + m.Name
			resp.Prefetch.Mboxes = append(resp.Prefetch.Mboxes, pm)
		}
	}
	for _, n := range req.Notifications {
		resp.Notifications = append(resp.Notifications, delivery.NotificationResponse{ID: n.ID})
	}
	writeJSON(w, http.StatusOK, resp)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// mboxRequest is a shorthand for tests.
func executeMboxes(names ...string) *delivery.DeliveryRequest {
	r := &delivery.DeliveryRequest{Execute: &delivery.ExecuteRequest{}}
	for i, name := range names {
		r.Execute.Mboxes = append(r.Execute.Mboxes, delivery.MboxRequest{Name: name, Index: i + 1})
	}
	return r
}

func withTntID(r *delivery.DeliveryRequest, tntID string) *delivery.DeliveryRequest {
	r.ID = &delivery.VisitorID{TntID: tntID}
	return r
}
