package stages_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/ondevice"
	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/sink"
	"github.com/targetflow/targetflow/source"
	"github.com/targetflow/targetflow/stages"
	"github.com/targetflow/targetflow/target"
)

func TestDeliverAgainstEdge(t *testing.T) {
	t.Parallel()
	_, client := startEdge(t)
	const n = 300
	vs := visitors(n, func(i int) pipeline.Visitor {
		return pipeline.Visitor{ID: &delivery.VisitorID{ThirdPartyID: fmt.Sprint("v", i)}}
	})
	for _, ordered := range []bool{true, false} {
		t.Run(fmt.Sprint("ordered=", ordered), func(t *testing.T) {
			items, stats := run(t, vs,
				stages.BuildRequest(stages.RequestDefaults{Execute: []string{demo.MboxHero, demo.MboxCart}}),
				stages.Deliver(client, stages.WithConcurrency(32), stages.WithOrdered(ordered)),
			)
			if stats.OK != n {
				t.Fatalf("ok %d of %d; first failure: %v", stats.OK, n, firstErr(items))
			}
			for i, it := range items {
				if ordered && it.Seq != int64(i+1) {
					t.Fatalf("item %d has seq %d: order lost", i, it.Seq)
				}
				if it.Attempts != 1 || it.Response == nil || it.Response.Execute == nil || len(it.Response.Execute.Mboxes) != 2 {
					t.Fatalf("item %d: attempts %d response %+v", i, it.Attempts, it.Response)
				}
				if it.TargetCookie == nil || it.TargetCookie.Name != "mbox" || it.Timings.Delivery <= 0 {
					t.Fatalf("item %d: cookie %+v delivery time %v", i, it.TargetCookie, it.Timings.Delivery)
				}
				if it.Request.RequestID == "" {
					t.Fatalf("item %d: Request is not the completed request sent", i)
				}
			}
		})
	}
}

func TestDeliverRetriesFaults(t *testing.T) {
	t.Parallel()
	_, client := startEdge(t, edge.WithSeed(7), edge.WithFaults(edge.Faults{ErrorRate: 0.2, ThrottleRate: 0.05, ResetRate: 0.05}))
	const n = 300
	vs := visitors(n, func(i int) pipeline.Visitor { return pipeline.Visitor{Execute: []string{demo.MboxHero}} })
	items, stats := run(t, vs,
		stages.BuildRequest(stages.RequestDefaults{}),
		stages.Deliver(client, stages.WithConcurrency(16), stages.WithRetry(stages.RetryPolicy{
			MaxRetries: 8, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond,
		})),
	)
	if stats.OK != n {
		t.Fatalf("ok %d of %d after retries; first failure: %v", stats.OK, n, firstErr(items))
	}
	if deliver := stats.Components[2]; deliver.Retried == 0 {
		t.Errorf("no retries counted with 30%% faults: %+v", deliver)
	}
	var retried int
	for _, it := range items {
		if it.Attempts > 1 {
			retried++
		}
	}
	if retried == 0 {
		t.Error("no item shows more than one attempt")
	}
}

func TestDeliverFailuresKeepTheirKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		faults   edge.Faults
		opts     []stages.Option
		kind     pipeline.ErrorKind
		status   int
		attempts int
	}{
		{"503 after retries", edge.Faults{ErrorRate: 1}, []stages.Option{stages.WithRetry(stages.RetryPolicy{MaxRetries: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond})},
			pipeline.KindHTTP, 503, 3},
		{"per-call timeout", edge.Faults{StallRate: 1, Stall: 5 * time.Second}, []stages.Option{stages.WithTimeout(50 * time.Millisecond), stages.WithRetries(1),
			stages.WithRetry(stages.RetryPolicy{MaxRetries: 1, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond})},
			pipeline.KindTimeout, 0, 2},
		{"connection reset", edge.Faults{ResetRate: 1}, []stages.Option{stages.WithRetries(0)}, pipeline.KindNetwork, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, client := startEdge(t, edge.WithFaults(tt.faults))
			items, _ := run(t, []pipeline.Visitor{{Execute: []string{demo.MboxHero}}},
				stages.BuildRequest(stages.RequestDefaults{}), stages.Deliver(client, tt.opts...))
			var ie *pipeline.ItemError
			if !errors.As(items[0].Err, &ie) || ie.Kind != tt.kind || ie.Status != tt.status || ie.Stage != "deliver" {
				t.Fatalf("error %v (%+v), want kind %s status %d from deliver", items[0].Err, ie, tt.kind, tt.status)
			}
			if items[0].Attempts != tt.attempts {
				t.Errorf("attempts %d, want %d", items[0].Attempts, tt.attempts)
			}
		})
	}
}

func TestNotifySendsDisplayNotifications(t *testing.T) {
	t.Parallel()
	srv, client := startEdge(t)
	yes := true
	vs := visitors(20, func(i int) pipeline.Visitor {
		v := pipeline.Visitor{ID: &delivery.VisitorID{ThirdPartyID: fmt.Sprint("n", i)}, Prefetch: []string{demo.MboxHero}, Views: []string{demo.ViewHome}}
		if i%2 == 0 {
			v.Notify = &yes
		}
		return v
	})
	items, stats := run(t, vs,
		stages.BuildRequest(stages.RequestDefaults{}),
		stages.Deliver(client, stages.WithConcurrency(4)),
		stages.Notify(client, stages.WithConcurrency(4)),
	)
	if stats.OK != 20 {
		t.Fatalf("ok %d of 20; first failure %v", stats.OK, firstErr(items))
	}
	if items[0].Response.Prefetch == nil {
		t.Skip("the edge answered no prefetched content: its decisioning engine does not decide prefetch yet")
	}
	var sent int
	for _, it := range items {
		switch {
		case it.Seq%2 == 1 && it.Notifications == 0:
			t.Errorf("seq %d asked to notify but sent none", it.Seq)
		case it.Seq%2 == 0 && it.Notifications != 0:
			t.Errorf("seq %d did not ask to notify but sent %d", it.Seq, it.Notifications)
		}
		sent += it.Notifications
	}
	records := srv.Notifications()
	if len(records) != sent {
		t.Fatalf("edge recorded %d notifications, items say %d were sent", len(records), sent)
	}
	for _, r := range records {
		if r.Type != delivery.MetricDisplay || len(r.Tokens) == 0 || (r.Mbox != demo.MboxHero && r.View != demo.ViewHome) {
			t.Errorf("notification %+v: want a display of hero or home with tokens", r)
		}
	}
}

func TestAttributesAgainstEdge(t *testing.T) {
	t.Parallel()
	_, client := startEdge(t)
	items, stats := run(t, visitors(10, func(int) pipeline.Visitor { return pipeline.Visitor{Execute: []string{demo.MboxFeatureFlags}} }),
		stages.BuildRequest(stages.RequestDefaults{}),
		stages.Attributes(client, stages.WithConcurrency(4)),
	)
	if stats.OK != 10 {
		t.Fatalf("ok %d of 10; first failure %v", stats.OK, firstErr(items))
	}
	for _, it := range items {
		if len(it.Attributes[demo.MboxFeatureFlags]) == 0 || it.Response == nil {
			t.Fatalf("seq %d: attributes %v", it.Seq, it.Attributes)
		}
	}
}

func TestDeliverInterruptedByCancel(t *testing.T) {
	t.Parallel()
	_, client := startEdge(t, edge.WithLatency(edge.Latency{Fixed: 20 * time.Millisecond}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	vs := visitors(2000, func(int) pipeline.Visitor { return pipeline.Visitor{Execute: []string{demo.MboxHero}} })
	var written atomic.Int64
	var items []*pipeline.Item
	collect := sink.Func(func(_ context.Context, it *pipeline.Item) error {
		items = append(items, it)
		if written.Add(1) == 100 {
			cancel()
		}
		return nil
	})
	stats, err := pipeline.From(source.Slice(vs), pipeline.WithGrace(5*time.Second)).
		Via(stages.BuildRequest(stages.RequestDefaults{}), stages.Deliver(client, stages.WithConcurrency(16))).
		To(collect).Run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v, want context.Canceled", err)
	}
	if stats.Emitted != stats.Written || stats.Written >= 2000 {
		t.Fatalf("emitted %d written %d: want every read record written and the input not exhausted", stats.Emitted, stats.Written)
	}
	for _, it := range items {
		kind, _ := pipeline.Classify(it.Err)
		if it.Err != nil && kind != pipeline.KindCanceled {
			t.Errorf("seq %d: %v, want ok or canceled", it.Seq, it.Err)
		}
		if it.Seq <= stats.Completed && it.Err != nil {
			t.Errorf("seq %d is below the resume point %d but failed", it.Seq, stats.Completed)
		}
	}
}

// TestNotifySendsWhatOnDeviceDecisionsOwe: a client that leaves the display
// notifications of its on-device decisions to the caller puts them in the
// item, and Notify always sends them (they count the impressions); the
// notifications of prefetched content go only for visitors that ask.
func TestNotifySendsWhatOnDeviceDecisionsOwe(t *testing.T) {
	t.Parallel()
	srv, client := startEdgeClient(t, []target.Option{
		target.WithDecisioningMethod(delivery.DecisioningOnDevice),
		target.WithOnDevice(ondevice.WithArtifactPayload(demo.Artifact())),
		target.WithOnDeviceNotifications(false),
	})
	yes, no := true, false
	vs := []pipeline.Visitor{
		{ID: &delivery.VisitorID{ThirdPartyID: "asks"}, Execute: []string{demo.MboxHero}, Prefetch: []string{demo.MboxFeatureFlags}, Notify: &yes},
		{ID: &delivery.VisitorID{ThirdPartyID: "does-not-ask"}, Execute: []string{demo.MboxHero}, Prefetch: []string{demo.MboxFeatureFlags}, Notify: &no},
	}
	items, stats := run(t, vs,
		stages.BuildRequest(stages.RequestDefaults{}),
		stages.Deliver(client, stages.WithOrdered(true)),
		stages.Notify(client, stages.WithOrdered(true)),
	)
	if stats.OK != 2 {
		t.Fatalf("ok %d of 2: %v", stats.OK, firstErr(items))
	}
	if items[0].Notifications != 2 || items[1].Notifications != 1 {
		t.Errorf("notifications sent: %d and %d, want 2 (executed hero, prefetched flags) and 1 (executed hero)", items[0].Notifications, items[1].Notifications)
	}
	for _, it := range items {
		if len(it.OwedNotifications) != 0 {
			t.Errorf("seq %d still owes %d notifications after Notify", it.Seq, len(it.OwedNotifications))
		}
	}
	byMbox := map[string]int{}
	for _, r := range srv.Notifications() {
		if r.Type != delivery.MetricDisplay || len(r.Tokens) == 0 {
			t.Errorf("edge received %+v, want display notifications with tokens", r)
		}
		byMbox[r.Mbox]++
	}
	if byMbox[demo.MboxHero] != 2 || byMbox[demo.MboxFeatureFlags] != 1 || len(byMbox) != 2 {
		t.Fatalf("edge received notifications by mbox %v, want hero ×2 and feature-flags ×1", byMbox)
	}
}
