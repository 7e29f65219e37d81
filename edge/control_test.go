package edge_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
)

const deliveryCall = "/rest/v1/delivery?imsOrgId=O&sessionId=s"

// mboxCall is a delivery call body executing mbox.
func mboxCall(mbox string) string {
	return `{"id":{"tntId":"visitor-1"},"context":{"channel":"web"},"execute":{"mboxes":[{"index":1,"name":"` + mbox + `"}]}}`
}

// executes reports whether r is a delivery call executing mbox.
func executes(r *edge.Request, mbox string) bool {
	return r.Delivery != nil && r.Delivery.Execute != nil && len(r.Delivery.Execute.Mboxes) > 0 && r.Delivery.Execute.Mboxes[0].Name == mbox
}

// TestControlScriptsOneAnswer: a control function that handles a request
// answers it once (status, headers, body), then is dropped; requests it
// does not match are the edge's own all along.
func TestControlScriptsOneAnswer(t *testing.T) {
	t.Parallel()
	s := newEdge(t)
	base := startEdge(t, s)
	client := httpClient(t)
	s.Control(func(r *edge.Request) (edge.Answer, bool) {
		return edge.Answer{Status: 503, Header: http.Header{"Retry-After": {"7"}}}, executes(r, demo.MboxCart)
	})
	if got := do(t, client, http.MethodPost, base+deliveryCall, mboxCall(demo.MboxHero), nil); got.status != 200 {
		t.Fatalf("unmatched call: %d %s; want the edge's answer", got.status, got.body)
	}
	got := do(t, client, http.MethodPost, base+deliveryCall, mboxCall(demo.MboxCart), nil)
	if got.status != 503 || got.header.Get("Retry-After") != "7" || !strings.Contains(string(got.body), `"message":"scripted answer: Service Unavailable"`) {
		t.Fatalf("matched call: %d %v %s; want the scripted 503", got.status, got.header, got.body)
	}
	if again := do(t, client, http.MethodPost, base+deliveryCall, mboxCall(demo.MboxCart), nil); again.status != 200 {
		t.Fatalf("second matching call: %d; want the edge's answer (the function is used once)", again.status)
	}
}

// TestControlKeepAndDrop: KeepControl keeps a function answering;
// DropControl drops one, handled or not.
func TestControlKeepAndDrop(t *testing.T) {
	t.Parallel()
	s := newEdge(t)
	base := startEdge(t, s)
	client := httpClient(t)
	var mu sync.Mutex
	var seen []string
	answered := 0
	s.Control(func(r *edge.Request) (edge.Answer, bool) {
		s.KeepControl()
		if answered == 2 {
			s.DropControl()
		}
		answered++
		return edge.Answer{Body: []byte(`{"status":200,"scripted":true}`)}, true
	})
	s.Control(func(r *edge.Request) (edge.Answer, bool) { // an observer: it never handles, so it stays
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r.Delivery.Execute.Mboxes[0].Name)
		return edge.Answer{}, false
	})
	for i := range 4 {
		got := do(t, client, http.MethodPost, base+deliveryCall, mboxCall(demo.MboxHero), nil)
		scripted := string(got.body) == `{"status":200,"scripted":true}`
		if want := i < 3; scripted != want || got.status != 200 {
			t.Errorf("call %d: %d %s; scripted %v, want %v", i+1, got.status, got.body, scripted, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0] != demo.MboxHero {
		t.Errorf("the observer saw %v; want only the call the first function no longer answered", seen)
	}
}

// TestControlDelayAndReset: a delay alone is the edge's own answer, late
// (a client with a shorter timeout gives up); a reset drops the
// connection.
func TestControlDelayAndReset(t *testing.T) {
	t.Parallel()
	s := newEdge(t)
	base := startEdge(t, s)
	client := httpClient(t)
	s.Control(func(r *edge.Request) (edge.Answer, bool) { return edge.Answer{Delay: time.Hour}, true })
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+deliveryCall, strings.NewReader(mboxCall(demo.MboxHero)))
	if resp, err := client.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		if err == nil {
			resp.Body.Close()
		}
		t.Fatalf("delayed call: %v; want the client's deadline first", err)
	}
	s.Control(func(r *edge.Request) (edge.Answer, bool) { return edge.Answer{Delay: time.Millisecond}, true })
	if got := do(t, client, http.MethodPost, base+deliveryCall, mboxCall(demo.MboxHero), nil); got.status != 200 || !strings.Contains(string(got.body), `"name":"hero"`) {
		t.Fatalf("delayed call: %d %s; want the edge's answer", got.status, got.body)
	}
	s.Control(func(r *edge.Request) (edge.Answer, bool) { return edge.Answer{Reset: true}, true })
	req, _ = http.NewRequest(http.MethodPost, base+deliveryCall, strings.NewReader(mboxCall(demo.MboxHero)))
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("reset call answered %d; want no answer", resp.StatusCode)
	}
}

// TestControlSeesBadRequestsAndArtifacts: a body that does not decode is
// shown as sent (Delivery nil) and may be scripted; artifact downloads are
// controlled too.
func TestControlSeesBadRequestsAndArtifacts(t *testing.T) {
	t.Parallel()
	s := newEdge(t)
	base := startEdge(t, s)
	client := httpClient(t)
	seen := make(chan *edge.Request, 1)
	s.Control(func(r *edge.Request) (edge.Answer, bool) {
		seen <- r
		return edge.Answer{Status: http.StatusTeapot, Body: []byte("tea")}, true
	})
	if a := do(t, client, http.MethodPost, base+deliveryCall, `{"context":`, nil); a.status != http.StatusTeapot || string(a.body) != "tea" {
		t.Fatalf("scripted answer to a bad body: %d %s", a.status, a.body)
	}
	if got := <-seen; got.Endpoint != edge.EndpointDelivery || got.Delivery != nil || string(got.Body) != `{"context":` || got.HTTP.URL.Query().Get("sessionId") != "s" {
		t.Errorf("control saw %+v", got)
	}
	rules := base + "/" + demo.Client + "/production/rules/v1/rules.json"
	s.Control(func(r *edge.Request) (edge.Answer, bool) {
		return edge.Answer{Status: 500}, r.Endpoint == edge.EndpointRulesJSON
	})
	if a := do(t, client, http.MethodGet, rules, "", nil); a.status != 500 {
		t.Fatalf("scripted artifact download: %d", a.status)
	}
	if a := do(t, client, http.MethodGet, rules, "", nil); a.status != 200 {
		t.Fatalf("next artifact download: %d; want the artifact", a.status)
	}
}

// TestControlAddsControls: a control function may add others, which see
// the following requests; what a function sees is its own copy.
func TestControlAddsControls(t *testing.T) {
	t.Parallel()
	s := newEdge(t)
	base := startEdge(t, s)
	client := httpClient(t)
	seen := make(chan *delivery.DeliveryRequest, 1)
	s.Control(func(r *edge.Request) (edge.Answer, bool) {
		seen <- r.Delivery
		s.Control(func(*edge.Request) (edge.Answer, bool) { return edge.Answer{Status: 418}, true })
		return edge.Answer{}, true // handled: the edge's own answer, and dropped
	})
	first := do(t, client, http.MethodPost, base+deliveryCall, mboxCall(demo.MboxHero), nil)
	second := do(t, client, http.MethodPost, base+deliveryCall, mboxCall(demo.MboxHero), nil)
	third := do(t, client, http.MethodPost, base+deliveryCall, mboxCall(demo.MboxHero), nil)
	if first.status != 200 || second.status != 418 || third.status != 200 {
		t.Fatalf("statuses %d %d %d; want 200 418 200", first.status, second.status, third.status)
	}
	if kept := <-seen; kept == nil || kept.RequestID != "" || kept.ID.TntID != "visitor-1" {
		t.Errorf("the request the function kept was changed by the edge: %+v", kept)
	}
}

// TestControlPanicIsContained: a control function that panics gets its
// request answered 500 and is dropped; the edge and its other control
// functions go on.
func TestControlPanicIsContained(t *testing.T) {
	t.Parallel()
	s := newEdge(t)
	base := startEdge(t, s)
	client := httpClient(t)
	s.Control(func(*edge.Request) (edge.Answer, bool) { panic("a test's bug") })
	if got := do(t, client, http.MethodPost, base+deliveryCall, mboxCall(demo.MboxHero), nil); got.status != 500 {
		t.Fatalf("panicking control: %d %s; want 500", got.status, got.body)
	}
	s.Control(func(*edge.Request) (edge.Answer, bool) { return edge.Answer{Status: 418}, true })
	if got := do(t, client, http.MethodPost, base+deliveryCall, mboxCall(demo.MboxHero), nil); got.status != 418 {
		t.Fatalf("after the panic: %d; want the next function's 418", got.status)
	}
}
