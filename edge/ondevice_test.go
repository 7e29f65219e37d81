package edge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/ondevice"
)

// TestOnDeviceEnginePollsTheEdge points the on-device engine at the edge's
// artifact endpoints: it loads the artifact, gets 304s while nothing
// changes, picks up a swapped artifact, and keeps the one it has when the
// edge refuses a broken one.
func TestOnDeviceEnginePollsTheEdge(t *testing.T) {
	t.Parallel()
	for _, format := range []ondevice.ArtifactFormat{ondevice.FormatJSON, ondevice.FormatBinary} {
		t.Run("rules."+string(format), func(t *testing.T) {
			t.Parallel()
			s := newEdge(t)
			base := startEdge(t, s)
			client := httpClient(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			engine, err := ondevice.New(
				ondevice.WithClient(demo.Client),
				ondevice.WithOrganizationID(demo.OrganizationID),
				ondevice.WithArtifactURL(base+"/"+demo.Client+"/production/rules/v1/rules."+string(format)),
				ondevice.WithArtifactFormat(format),
				ondevice.WithPollingInterval(0),
				ondevice.WithHTTPClient(client),
				ondevice.WithTelemetry(false),
			)
			if err != nil {
				t.Fatalf("ondevice.New against the edge: %v", err)
			}
			defer engine.Close()
			if err := engine.WaitReady(ctx); err != nil {
				t.Fatalf("the engine did not load the edge's artifact: %v", err)
			}
			if !bytes.Equal(engine.Artifact().Raw(), demo.Artifact()) {
				t.Fatal("the engine did not load the edge's artifact")
			}

			installed, err := engine.Refresh(ctx)
			if err != nil || installed {
				t.Fatalf("Refresh with nothing changed: installed %v, %v; want a 304", installed, err)
			}
			metrics := string(do(t, client, http.MethodGet, base+"/metrics", "", nil).body)
			if !strings.Contains(metrics, `targetflow_edge_requests_total{endpoint="rules.`+string(format)+`",status="304"} 1`) {
				t.Errorf("the edge did not answer the poll with 304:\n%s", metrics)
			}

			// The edge refuses a broken artifact; the engine keeps its own.
			if err := s.SetArtifact([]byte(`{"version":"1.0.0","rules":`)); err == nil {
				t.Fatal("the edge accepted a broken artifact")
			}
			if installed, err := engine.Refresh(ctx); err != nil || installed {
				t.Fatalf("Refresh after a refused artifact: installed %v, %v", installed, err)
			}

			changed := bytes.Replace(demo.Artifact(), []byte(`"checkoutFlow": "one-page"`), []byte(`"checkoutFlow": "express"`), 1)
			if bytes.Equal(changed, demo.Artifact()) {
				t.Fatal("test artifact edit did not apply")
			}
			if err := s.SetArtifact(changed); err != nil {
				t.Fatalf("SetArtifact: %v", err)
			}
			if installed, err := engine.Refresh(ctx); err != nil || !installed {
				t.Fatalf("Refresh after a swap: installed %v, %v", installed, err)
			}
			if !bytes.Equal(engine.Artifact().Raw(), changed) {
				t.Fatal("the engine did not pick up the swapped artifact")
			}
			// The engine (on-device) and the edge now decide alike on the new artifact.
			req := &delivery.DeliveryRequest{
				ID:      &delivery.VisitorID{TntID: "demo-visitor-1.28_0"},
				Context: &delivery.Context{Channel: delivery.ChannelWeb},
				Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Index: 0, Name: demo.MboxFeatureFlags}}},
			}
			local, err := engine.Decide(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, local.Response.Execute.Mboxes[0].Options[0].Content); err != nil {
				t.Fatal(err)
			}
			content := compact.String()
			if !strings.Contains(content, `"express"`) {
				t.Fatalf("on-device decision %s does not come from the swapped artifact", content)
			}
			remote := do(t, client, http.MethodPost, base+deliveryPath,
				`{"id":{"tntId":"demo-visitor-1.28_0"},"context":{"channel":"web"},"execute":{"mboxes":[{"index":0,"name":"feature-flags"}]}}`, nil)
			if !strings.Contains(string(remote.body), content) {
				t.Fatalf("edge answered %s, on-device decided %s", remote.body, content)
			}
		})
	}
}
