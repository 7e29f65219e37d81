package targetflow_test

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reugn/go-streams/flow"
	"go.uber.org/goleak"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/internal/edgetest"
	"github.com/targetflow/targetflow/ondevice"
	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/sink"
	"github.com/targetflow/targetflow/source"
	"github.com/targetflow/targetflow/stages"
	"github.com/targetflow/targetflow/target"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// localEdge serves the demo artifact on loopback for one test and returns a
// client of the given decisioning method whose calls all go to it.
func localEdge(t *testing.T, method delivery.DecisioningMethod, opts ...edge.Option) (*edge.Server, *target.Client) {
	t.Helper()
	srv, addr := edgetest.Start(t, opts...)
	clientOpts := []target.Option{target.WithDecisioningMethod(method)}
	if method != delivery.DecisioningServerSide {
		// The pipeline's Notify stage sends what on-device decisions owe.
		clientOpts = append(clientOpts, target.WithOnDevice(ondevice.WithArtifactPayload(demo.Artifact())),
			target.WithOnDeviceNotifications(false))
	}
	return srv, edgetest.Client(t, addr, clientOpts...)
}

// decisioningMethodOf returns the decisioning method response token of the
// first option of the named executed mbox.
func decisioningMethodOf(resp *delivery.DeliveryResponse, mbox string) string {
	if resp == nil || resp.Execute == nil {
		return ""
	}
	for _, m := range resp.Execute.Mboxes {
		if m.Name == mbox && len(m.Options) > 0 {
			s, _ := m.Options[0].ResponseTokens["activity.decisioningMethod"].(string)
			return s
		}
	}
	return ""
}

// TestEndToEnd runs the bundled sample visitors through the whole pipeline
// (JSONL source, BuildRequest, Deliver, Notify, a custom stage, a go-streams
// operator, a sink) against a real local edge, for each decisioning method.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method delivery.DecisioningMethod
		// where the hero mbox (local) and recommendations (remote-only) are
		// decided; "" is not checked. Under hybrid decisioning a request
		// that asks for a remote mbox goes to the edge whole, as in the
		// SDKs, so hero is decided server-side in those.
		heroBy, heroWithRemoteBy, recommendationsBy string
	}{
		{delivery.DecisioningServerSide, "server-side", "server-side", "server-side"},
		{delivery.DecisioningOnDevice, "on-device", "on-device", ""},
		{delivery.DecisioningHybrid, "on-device", "server-side", "server-side"},
	}
	for _, tt := range tests {
		t.Run(string(tt.method), func(t *testing.T) {
			t.Parallel()
			srv, client := localEdge(t, tt.method)
			var tagged atomic.Int64
			tag := stages.Map("tag", func(_ context.Context, it *pipeline.Item) error {
				tagged.Add(1)
				return nil
			})
			keepAll := flow.NewFilter(func(*pipeline.Item) bool { return true }, 1)
			var items []*pipeline.Item
			stats, err := pipeline.From(source.JSONL(bytes.NewReader(demo.Visitors()))).
				Via(
					stages.BuildRequest(stages.RequestDefaults{}),
					stages.Deliver(client, stages.WithConcurrency(32), stages.WithOrdered(true)),
					stages.Notify(client, stages.WithConcurrency(8), stages.WithOrdered(true)),
					tag,
					keepAll,
				).
				To(sink.Collect(&items)).Run(context.Background())
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if stats.Emitted != demo.VisitorCount || stats.Written != demo.VisitorCount || int64(len(items)) != demo.VisitorCount {
				t.Fatalf("emitted %d written %d collected %d, want %d each", stats.Emitted, stats.Written, len(items), demo.VisitorCount)
			}
			if stats.Completed != demo.VisitorCount || tagged.Load() != demo.VisitorCount {
				t.Errorf("completed %d tagged %d, want %d", stats.Completed, tagged.Load(), demo.VisitorCount)
			}
			var notified, heroChecked, recoChecked int
			for i, it := range items {
				if it.Seq != int64(i+1) {
					t.Fatalf("item %d has seq %d: order lost", i, it.Seq)
				}
				if it.Err != nil {
					t.Fatalf("seq %d failed: %v", it.Seq, it.Err)
				}
				if it.Response == nil || it.Attempts != 1 {
					t.Fatalf("seq %d: response %v attempts %d", it.Seq, it.Response, it.Attempts)
				}
				notified += it.Notifications
				remote := decisioningMethodOf(it.Response, demo.MboxRecommendations) != ""
				if got := decisioningMethodOf(it.Response, demo.MboxHero); got != "" {
					heroChecked++
					want := tt.heroBy
					if remote {
						want = tt.heroWithRemoteBy
					}
					if got != want {
						t.Fatalf("seq %d: hero decided %s, want %s (remote mbox asked: %t)", it.Seq, got, want, remote)
					}
				}
				if got := decisioningMethodOf(it.Response, demo.MboxRecommendations); got != "" && tt.recommendationsBy != "" {
					recoChecked++
					if got != tt.recommendationsBy {
						t.Fatalf("seq %d: recommendations decided %s, want %s", it.Seq, got, tt.recommendationsBy)
					}
				}
			}
			// Under on-device decisioning the executed mboxes of visitors
			// asking for notifications are reported by the Notify stage.
			var executedReported int
			for _, rec := range srv.Notifications() {
				if rec.Mbox == demo.MboxHero {
					executedReported++
				}
			}
			if wantExecuted := tt.heroBy == "on-device"; (executedReported > 0) != wantExecuted {
				t.Errorf("%d notifications of the executed hero mbox reached the edge; want some: %t", executedReported, wantExecuted)
			}
			if heroChecked == 0 || notified == 0 {
				t.Errorf("%d hero decisions checked, %d notifications sent: want some of each", heroChecked, notified)
			}
			if tt.recommendationsBy != "" && recoChecked == 0 {
				t.Errorf("no recommendations decision checked")
			}
		})
	}
}

// TestEndToEndCancellation cancels a run against a slow edge: the input
// stops, every record read is written exactly once, and every record up to
// the resume point succeeded.
func TestEndToEndCancellation(t *testing.T) {
	t.Parallel()
	_, client := localEdge(t, delivery.DecisioningServerSide, edge.WithLatency(edge.Latency{Fixed: 10 * time.Millisecond}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var items []*pipeline.Item
	collect := sink.Func(func(_ context.Context, it *pipeline.Item) error {
		items = append(items, it)
		if len(items) == 300 {
			cancel()
		}
		return nil
	})
	stats, err := pipeline.From(source.JSONL(bytes.NewReader(demo.Visitors())), pipeline.WithGrace(5*time.Second)).
		Via(stages.BuildRequest(stages.RequestDefaults{}), stages.Deliver(client, stages.WithConcurrency(64))).
		To(collect).Run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v, want context.Canceled", err)
	}
	if stats.Written != stats.Emitted || stats.Written >= demo.VisitorCount {
		t.Fatalf("emitted %d written %d: want all read records written, input not exhausted", stats.Emitted, stats.Written)
	}
	seen := map[int64]bool{}
	for _, it := range items {
		if seen[it.Seq] {
			t.Fatalf("seq %d written twice", it.Seq)
		}
		seen[it.Seq] = true
		if kind, _ := pipeline.Classify(it.Err); it.Err != nil && kind != pipeline.KindCanceled {
			t.Errorf("seq %d: %v, want ok or canceled", it.Seq, it.Err)
		}
	}
	for seq := int64(1); seq <= stats.Completed; seq++ {
		if !seen[seq] {
			t.Fatalf("seq %d is below the resume point %d but was not written", seq, stats.Completed)
		}
	}
	if stats.Completed < 300-64 {
		t.Errorf("resume point %d, want close to the 300 written before the cancel", stats.Completed)
	}
}
