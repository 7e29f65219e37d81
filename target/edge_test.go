package target

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/edgeserver"
)

// recordedCall is one delivery call the test edge received.
type recordedCall struct {
	Host   string
	Query  url.Values
	Header http.Header
	// Request is the body as sent, decoded by encoding/json (whether or not
	// the edge accepted it).
	Request delivery.DeliveryRequest
}

// testEdge is the project's own local edge for the client's tests: the
// demo artifact, cluster routing as the real edge's (internal/edgeserver),
// with a control function that records every delivery call. Tests script
// single answers with the edge's control hook (answer, answerEvery,
// control); without one the edge answers as it does.
type testEdge struct {
	t    testing.TB
	srv  *edge.Server
	addr string

	mu    sync.Mutex
	calls []recordedCall
}

func newTestEdge(t testing.TB, opts ...edge.Option) *testEdge {
	t.Helper()
	srv, addr := edgeserver.Start(t, opts...)
	e := &testEdge{t: t, srv: srv, addr: addr}
	srv.Control(func(r *edge.Request) (edge.Answer, bool) { // observes: it never handles, so it stays first
		if r.Endpoint == edge.EndpointDelivery {
			call := recordedCall{Host: r.HTTP.Host, Query: r.HTTP.URL.Query(), Header: r.HTTP.Header.Clone()}
			_ = json.Unmarshal(r.Body, &call.Request)
			e.mu.Lock()
			e.calls = append(e.calls, call)
			e.mu.Unlock()
		}
		return edge.Answer{}, false
	})
	return e
}

// answer scripts the edge's answer to the next delivery call.
func (e *testEdge) answer(a edge.Answer) {
	e.srv.Control(func(r *edge.Request) (edge.Answer, bool) { return a, r.Endpoint == edge.EndpointDelivery })
}

// answerEvery scripts the edge's answer to every delivery call from now on.
func (e *testEdge) answerEvery(a edge.Answer) {
	e.srv.Control(func(r *edge.Request) (edge.Answer, bool) {
		e.srv.KeepControl()
		return a, r.Endpoint == edge.EndpointDelivery
	})
}

// control adds a control function of the test's own.
func (e *testEdge) control(fn edge.ControlFunc) { e.srv.Control(fn) }

// body is an answer of status with body as is.
func body(status int, text string) edge.Answer {
	return edge.Answer{Status: status, Body: []byte(text)}
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

// hostPort is the edge's address, for WithServerDomain.
func (e *testEdge) hostPort() string { return e.addr }

// newClient returns a client whose every call (to any host: acme.tt.omtrdc.net,
// mboxedge35.tt.omtrdc.net ...) reaches the edge with its Host header kept,
// so that routing shows in recordedCall.Host, with opts appended; it is
// closed at the end of the test.
func (e *testEdge) newClient(opts ...Option) *Client {
	e.t.Helper()
	transport := edge.RoutingTransport(e.addr)
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

// executeMboxes is a request executing the named mboxes.
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
