package stages_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
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
	"github.com/targetflow/targetflow/visitor"
)

func TestDeliverAgainstEdge(t *testing.T) {
	t.Parallel()
	_, client := startEdge(t)
	const n = 300
	vs := visitors(n, func(i int) visitor.Record {
		return visitor.Record{ID: &delivery.VisitorID{ThirdPartyID: fmt.Sprint("v", i)}}
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
				if ordered && it.Pos.Seq != int64(i+1) {
					t.Fatalf("item %d has seq %d: order lost", i, it.Pos.Seq)
				}
				if it.Value.Attempts != 1 || it.Value.Response == nil || it.Value.Response.Execute == nil || len(it.Value.Response.Execute.Mboxes) != 2 {
					t.Fatalf("item %d: attempts %d response %+v", i, it.Value.Attempts, it.Value.Response)
				}
				if it.Value.TargetCookie == nil || it.Value.TargetCookie.Name != "mbox" || it.Value.Delivery <= 0 {
					t.Fatalf("item %d: cookie %+v delivery time %v", i, it.Value.TargetCookie, it.Value.Delivery)
				}
				if it.Value.Request.RequestID == "" {
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
	vs := visitors(n, func(i int) visitor.Record { return visitor.Record{Execute: []string{demo.MboxHero}} })
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
		if it.Value.Attempts > 1 {
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
		opts     []stages.DeliverOption
		kind     visitor.Kind
		status   int
		attempts int
	}{
		{"503 after retries", edge.Faults{ErrorRate: 1}, []stages.DeliverOption{stages.WithRetry(stages.RetryPolicy{MaxRetries: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond})},
			visitor.KindHTTP, 503, 3},
		{"per-call timeout", edge.Faults{StallRate: 1, Stall: 5 * time.Second}, []stages.DeliverOption{stages.WithTimeout(50 * time.Millisecond), stages.WithRetries(1),
			stages.WithRetry(stages.RetryPolicy{MaxRetries: 1, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond})},
			visitor.KindTimeout, 0, 2},
		{"connection reset", edge.Faults{ResetRate: 1}, []stages.DeliverOption{stages.WithRetries(0)}, visitor.KindNetwork, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, client := startEdge(t, edge.WithFaults(tt.faults))
			items, _ := run(t, []visitor.Record{{Execute: []string{demo.MboxHero}}},
				stages.BuildRequest(stages.RequestDefaults{}), stages.Deliver(client, tt.opts...))
			var ie *visitor.Error
			if !errors.As(items[0].Err, &ie) || ie.Kind != tt.kind || ie.Status != tt.status || ie.Stage != "deliver" {
				t.Fatalf("error %v (%+v), want kind %s status %d from deliver", items[0].Err, ie, tt.kind, tt.status)
			}
			if items[0].Value.Attempts != tt.attempts {
				t.Errorf("attempts %d, want %d", items[0].Value.Attempts, tt.attempts)
			}
		})
	}
}

func TestNotifySendsDisplayNotifications(t *testing.T) {
	t.Parallel()
	srv, client := startEdge(t)
	yes := true
	vs := visitors(20, func(i int) visitor.Record {
		v := visitor.Record{ID: &delivery.VisitorID{ThirdPartyID: fmt.Sprint("n", i)}, Prefetch: []string{demo.MboxHero}, Views: []string{demo.ViewHome}}
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
	if items[0].Value.Response.Prefetch == nil {
		t.Skip("the edge answered no prefetched content: its decisioning engine does not decide prefetch yet")
	}
	var sent int
	for _, it := range items {
		switch {
		case it.Pos.Seq%2 == 1 && it.Value.Notifications == 0:
			t.Errorf("seq %d asked to notify but sent none", it.Pos.Seq)
		case it.Pos.Seq%2 == 0 && it.Value.Notifications != 0:
			t.Errorf("seq %d did not ask to notify but sent %d", it.Pos.Seq, it.Value.Notifications)
		}
		sent += it.Value.Notifications
	}
	// The visitors that owe nothing bypass the stage's workers, and it
	// counts them all the same.
	for _, c := range stats.Components {
		if c.Name == "notify" && (c.In != 20 || c.OK != 20) {
			t.Errorf("notify stage: in %d, ok %d; want 20 and 20", c.In, c.OK)
		}
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
	items, stats := run(t, visitors(10, func(int) visitor.Record { return visitor.Record{Execute: []string{demo.MboxFeatureFlags}} }),
		stages.BuildRequest(stages.RequestDefaults{}),
		stages.Attributes(client, stages.WithConcurrency(4)),
	)
	if stats.OK != 10 {
		t.Fatalf("ok %d of 10; first failure %v", stats.OK, firstErr(items))
	}
	for _, it := range items {
		if len(it.Value.Attributes[demo.MboxFeatureFlags]) == 0 || it.Value.Response == nil {
			t.Fatalf("seq %d: attributes %v", it.Pos.Seq, it.Value.Attributes)
		}
	}
}

func TestDeliverInterruptedByCancel(t *testing.T) {
	t.Parallel()
	_, client := startEdge(t, edge.WithLatency(edge.Latency{Fixed: 20 * time.Millisecond}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	vs := visitors(2000, func(int) visitor.Record { return visitor.Record{Execute: []string{demo.MboxHero}} })
	var written atomic.Int64
	var items []*visitor.Item
	collect := sink.Func(func(_ context.Context, it *visitor.Item) error {
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
	if stats.Emitted != stats.Written+stats.Given || stats.Written >= 2000 || stats.Given == 0 {
		t.Fatalf("emitted %d written %d given back %d: want every read record written or given back, and the input not exhausted", stats.Emitted, stats.Written, stats.Given)
	}
	// Calls in flight finish within the grace period; the records Deliver
	// had not started are given back, not written: the output is exactly
	// the records up to the resume point.
	for _, it := range items {
		if it.Err != nil || it.Pos.Seq > stats.Completed {
			t.Errorf("seq %d written with %v, resume point %d: want only ok records up to it", it.Pos.Seq, it.Err, stats.Completed)
		}
	}
	if int64(len(items)) != stats.Completed {
		t.Errorf("%d written, resume point %d", len(items), stats.Completed)
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
	vs := []visitor.Record{
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
	if items[0].Value.Notifications != 2 || items[1].Value.Notifications != 1 {
		t.Errorf("notifications sent: %d and %d, want 2 (executed hero, prefetched flags) and 1 (executed hero)", items[0].Value.Notifications, items[1].Value.Notifications)
	}
	for _, it := range items {
		if len(it.Value.OwedNotifications) != 0 {
			t.Errorf("seq %d still owes %d notifications after Notify", it.Pos.Seq, len(it.Value.OwedNotifications))
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

// Deliver with WithResponseBody keeps each answer's bytes as the edge sent
// them, and the JSON lines sink writes them; without it Deliver keeps none.
// A Map stage that changes the answer in place gets the changed answer
// written, and one that replaces it keeps the new answer.
func TestDeliverKeepsTheAnswerAsSent(t *testing.T) {
	t.Parallel()
	_, client := startEdge(t)
	const n = 20
	vs := visitors(n, func(i int) visitor.Record {
		return visitor.Record{ID: &delivery.VisitorID{ThirdPartyID: fmt.Sprint("v", i)}}
	})
	build := func() *pipeline.Stage[visitor.Envelope] {
		return stages.BuildRequest(stages.RequestDefaults{Execute: []string{demo.MboxHero, demo.MboxCart}})
	}
	plain, stats := run(t, vs, build(), stages.Deliver(client, stages.WithConcurrency(4)))
	if stats.OK != n {
		t.Fatalf("ok %d of %d; first failure: %v", stats.OK, n, firstErr(plain))
	}
	for _, it := range plain {
		if body := it.Value.ResponseBody(); body != nil {
			t.Fatalf("item %d: answer bytes kept without WithResponseBody: %s", it.Pos.Seq, body)
		}
	}
	items, stats := run(t, vs, build(), stages.Deliver(client, stages.WithConcurrency(4), stages.WithResponseBody(true)))
	if stats.OK != n {
		t.Fatalf("ok %d of %d; first failure: %v", stats.OK, n, firstErr(items))
	}
	for _, it := range items {
		body := it.Value.ResponseBody()
		if body == nil {
			t.Fatalf("item %d: no answer bytes kept", it.Pos.Seq)
		}
		// The local edge writes answers as the wire model's encoder does.
		if want := delivery.AppendResponseJSON(nil, it.Value.Response); !bytes.Equal(body, want) {
			t.Fatalf("item %d: kept %s\nwant %s", it.Pos.Seq, body, want)
		}
	}

	var out bytes.Buffer
	edit := stages.Map("edit", func(_ context.Context, it *visitor.Item) error {
		it.Value.Response.Client = "edited"
		return nil
	})
	_, err := pipeline.From(source.Slice(vs)).
		Via(stages.BuildRequest(stages.RequestDefaults{Execute: []string{demo.MboxHero}}), stages.Deliver(client, stages.WithResponseBody(true)), edit).
		To(sink.JSONL(&out)).Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(out.String(), `"client":"edited"`); got != n {
		t.Errorf("%d of %d lines show the edited answer:\n%s", got, n, out.String())
	}

	replaced := &delivery.DeliveryResponse{Status: 200, Client: "replaced"}
	replace := stages.Map("replace", func(_ context.Context, it *visitor.Item) error {
		it.Value.Response = replaced
		return nil
	})
	items, stats = run(t, vs, build(), stages.Deliver(client, stages.WithResponseBody(true)), replace)
	if stats.OK != n {
		t.Fatalf("ok %d of %d; first failure: %v", stats.OK, n, firstErr(items))
	}
	for _, it := range items {
		if it.Value.Response != replaced || it.Value.ResponseBody() != nil {
			t.Fatalf("item %d: after the Map, response %+v and %d bytes kept; want the replacing answer and none",
				it.Pos.Seq, it.Value.Response, len(it.Value.ResponseBody()))
		}
	}
}
