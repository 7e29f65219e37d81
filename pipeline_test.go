package targetflow_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
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
	"github.com/targetflow/targetflow/visitor"
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
			tag := stages.Map("tag", func(_ context.Context, it *visitor.Item) error {
				tagged.Add(1)
				return nil
			})
			keepAll := flow.NewFilter(func(*visitor.Item) bool { return true }, 1)
			var items []*visitor.Item
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
				if it.Pos.Seq != int64(i+1) {
					t.Fatalf("item %d has seq %d: order lost", i, it.Pos.Seq)
				}
				if it.Err != nil {
					t.Fatalf("seq %d failed: %v", it.Pos.Seq, it.Err)
				}
				if it.Value.Response == nil || it.Value.Attempts != 1 {
					t.Fatalf("seq %d: response %v attempts %d", it.Pos.Seq, it.Value.Response, it.Value.Attempts)
				}
				notified += it.Value.Notifications
				remote := decisioningMethodOf(it.Value.Response, demo.MboxRecommendations) != ""
				if got := decisioningMethodOf(it.Value.Response, demo.MboxHero); got != "" {
					heroChecked++
					want := tt.heroBy
					if remote {
						want = tt.heroWithRemoteBy
					}
					if got != want {
						t.Fatalf("seq %d: hero decided %s, want %s (remote mbox asked: %t)", it.Pos.Seq, got, want, remote)
					}
				}
				if got := decisioningMethodOf(it.Value.Response, demo.MboxRecommendations); got != "" && tt.recommendationsBy != "" {
					recoChecked++
					if got != tt.recommendationsBy {
						t.Fatalf("seq %d: recommendations decided %s, want %s", it.Pos.Seq, got, tt.recommendationsBy)
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
	var items []*visitor.Item
	collect := sink.Func(func(_ context.Context, it *visitor.Item) error {
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
	if stats.Written+stats.Given != stats.Emitted || stats.Written >= demo.VisitorCount {
		t.Fatalf("emitted %d written %d given back %d: want every read record written or given back, input not exhausted", stats.Emitted, stats.Written, stats.Given)
	}
	// The records not started are given back, not written as canceled: the
	// output is exactly the records up to the resume point.
	if stats.Completed != stats.Written || stats.DoneAbove != 0 {
		t.Errorf("resume point %d with %d written and %d done above it: want exactly 1..%d written", stats.Completed, stats.Written, stats.DoneAbove, stats.Written)
	}
	seen := map[int64]bool{}
	for _, it := range items {
		if seen[it.Pos.Seq] {
			t.Fatalf("seq %d written twice", it.Pos.Seq)
		}
		seen[it.Pos.Seq] = true
		if it.Err != nil {
			t.Errorf("seq %d written with %v, want ok", it.Pos.Seq, it.Err)
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

// TestCheckpointedRunResumes runs a checkpointed pipeline of files against
// a slow local edge, cancels it mid-run, and runs it again with the same
// checkpoint: the output holds every record exactly once, none canceled.
func TestCheckpointedRunResumes(t *testing.T) {
	t.Parallel()
	_, client := localEdge(t, delivery.DecisioningServerSide, edge.WithLatency(edge.Latency{Fixed: 5 * time.Millisecond}))
	dir := t.TempDir()
	in, out, ckpt := filepath.Join(dir, "in.jsonl"), filepath.Join(dir, "out.jsonl"), filepath.Join(dir, "run.checkpoint")
	if err := os.WriteFile(in, demo.Visitors(), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(ctx context.Context, stopAfter int64) (pipeline.Stats, error) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var delivered atomic.Int64
		stop := stages.Tap("stop", func(*visitor.Item) {
			if delivered.Add(1) == stopAfter {
				cancel()
			}
		})
		return pipeline.From(source.JSONLFile(in), pipeline.WithCheckpoint(ckpt), pipeline.WithGrace(5*time.Second)).
			Via(stages.BuildRequest(stages.RequestDefaults{}), stages.Deliver(client, stages.WithConcurrency(32)), stop).
			To(sink.JSONLFile(out)).Run(ctx)
	}
	first, err := run(context.Background(), 500)
	if !errors.Is(err, context.Canceled) || first.Written == 0 || first.Written >= demo.VisitorCount {
		t.Fatalf("first run: %v, %d written: want it stopped part way", err, first.Written)
	}
	second, err := run(context.Background(), -1)
	if err != nil {
		t.Fatal(err)
	}
	if first.Written+second.Written != demo.VisitorCount {
		t.Errorf("written %d then %d, want %d in all", first.Written, second.Written, demo.VisitorCount)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]int{}
	for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var r struct {
			Seq int64 `json:"seq"`
			OK  bool  `json:"ok"`
		}
		if err := json.Unmarshal(line, &r); err != nil || !r.OK {
			t.Fatalf("line %q: %v", line, err)
		}
		seen[r.Seq]++
	}
	for seq := int64(1); seq <= demo.VisitorCount; seq++ {
		if seen[seq] != 1 {
			t.Fatalf("seq %d written %d times", seq, seen[seq])
		}
	}
}
