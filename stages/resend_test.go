package stages_test

import (
	"context"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/stages"
	"github.com/targetflow/targetflow/target"
	"github.com/targetflow/targetflow/visitor"
)

// attempts records the HTTP attempts the client's hooks see, by method.
type attempts struct {
	mu  sync.Mutex
	got map[string][]int
}

func (a *attempts) OnHTTPAttemptEnd(_ context.Context, at *target.HTTPAttempt) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got[at.Method] = append(a.got[at.Method], at.Attempt)
}

func (a *attempts) OnCallStart(ctx context.Context, c *target.Call) context.Context {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got["call "+c.Method] = append(a.got["call "+c.Method], 0)
	return ctx
}

// TestRetriesReachTheClientHooks checks that the stages' retries are
// resends for the client's hooks: attempt 1, then 2 and 3 (OpenTelemetry's
// http.request.resend_count 1 and 2).
func TestRetriesReachTheClientHooks(t *testing.T) {
	t.Parallel()
	seen := &attempts{got: map[string][]int{}}
	srv, client := startEdgeClient(t, []target.Option{target.WithHooks(seen)})
	// Delivery calls 1 and 2 (GetOffers) and 4 (the notifications) fail;
	// control functions run one at a time, so calls needs no lock.
	calls := 0
	srv.Control(func(r *edge.Request) (edge.Answer, bool) {
		if r.Endpoint != edge.EndpointDelivery {
			return edge.Answer{}, false
		}
		srv.KeepControl()
		calls++
		return edge.Answer{Status: http.StatusServiceUnavailable}, calls == 1 || calls == 2 || calls == 4
	})
	retry := stages.WithRetry(stages.RetryPolicy{MaxRetries: 3, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond})
	items, stats := run(t, visitors(1, func(int) visitor.Record {
		return visitor.Record{ID: &delivery.VisitorID{TntID: "resend-1"}, Prefetch: []string{demo.MboxHero}, Notify: new(true)}
	}),
		stages.BuildRequest(stages.RequestDefaults{}),
		stages.Deliver(client, retry),
		stages.Notify(client, retry),
	)
	if stats.OK != 1 {
		t.Fatalf("the visitor failed: %v", firstErr(items))
	}
	if got := items[0].Value.Attempts; got != 3 {
		t.Errorf("delivery attempts %d; want 3", got)
	}
	want := map[string][]int{
		"POST":                   {1, 2, 3, 1, 2},
		"call GetOffers":         {0, 0, 0},
		"call SendNotifications": {0, 0},
	}
	seen.mu.Lock()
	defer seen.mu.Unlock()
	if !reflect.DeepEqual(seen.got, want) {
		t.Errorf("hooks saw %v; want %v", seen.got, want)
	}
}
