package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
)

// TestOnDeviceNeedsNoEdgeToDecide: with the edge failing every call,
// on-device decisions still answer 200 (they are made in-process), hybrid
// ones too for local mboxes, while the remote-only mbox fails under hybrid
// (it needs the edge) and is left undecided under on-device.
func TestOnDeviceNeedsNoEdgeToDecide(t *testing.T) {
	t.Parallel()
	tests := []struct {
		decisioning delivery.DecisioningMethod
		path        string
		status      int
	}{
		{delivery.DecisioningOnDevice, "/executeMbox?mbox=hero,cart&tntId=od-1", http.StatusOK},
		{delivery.DecisioningOnDevice, "/prefetchViewAsyncio?view=home&async=true&tntId=od-1", http.StatusOK},
		{delivery.DecisioningOnDevice, "/executeMbox?mbox=" + demo.MboxRecommendations + "&tntId=od-1", http.StatusOK},
		{delivery.DecisioningHybrid, "/executeMbox?mbox=hero&tntId=od-1", http.StatusOK},
		{delivery.DecisioningHybrid, "/executeMbox?mbox=" + demo.MboxRecommendations + "&tntId=od-1", http.StatusInternalServerError},
		{delivery.DecisioningServerSide, "/executeMbox?mbox=hero&tntId=od-1", http.StatusInternalServerError},
	}
	apps := map[delivery.DecisioningMethod]*testApp{}
	for _, m := range []delivery.DecisioningMethod{delivery.DecisioningOnDevice, delivery.DecisioningHybrid, delivery.DecisioningServerSide} {
		cfg := offlineConfig()
		cfg.Decisioning = m
		apps[m] = startApp(t, cfg, edge.WithFaults(edge.Faults{ErrorRate: 1}))
	}
	for _, tt := range tests {
		a := apps[tt.decisioning].get(tt.path)
		if a.status != tt.status {
			t.Errorf("%s %s: status %d, want %d; body %s", tt.decisioning, tt.path, a.status, tt.status, a.body)
		}
	}
}

// TestOnDeviceExecuteNotifiesTheEdge: an mbox executed on-device is
// counted by a display notification the client sends to the embedded edge
// in the background.
func TestOnDeviceExecuteNotifiesTheEdge(t *testing.T) {
	t.Parallel()
	ta := startApp(t, offlineConfig())
	resp := ta.get("/executeMbox?mbox=hero&tntId=notified-visitor").deliveryResponse(t)
	if len(resp.Execute.Mboxes) != 1 || len(resp.Execute.Mboxes[0].Options) == 0 {
		t.Fatalf("execute = %+v, want an offer for hero", resp.Execute)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, n := range ta.app.edge.Server().Notifications() {
			if n.Mbox == "hero" && n.TntID == "notified-visitor" && n.Type == delivery.MetricDisplay {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no display notification of hero reached the edge: %+v", ta.app.edge.Server().Notifications())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestArtifactFlag: --artifact with a file decides from it (the client and
// the embedded edge both).
func TestArtifactFlag(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rules.json")
	if err := os.WriteFile(path, demo.Artifact(), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := offlineConfig()
	cfg.Artifact = path
	ta := startApp(t, cfg)
	if got := ta.app.targetDescription(); got != "embedded edge http://"+ta.app.edge.Addr()+", artifact: "+path {
		t.Errorf("target description %q does not name the artifact file", got)
	}
	resp := ta.get("/executeMbox?mbox=cart&tntId=file-visitor").deliveryResponse(t)
	if len(resp.Execute.Mboxes) != 1 || len(resp.Execute.Mboxes[0].Options) != 1 {
		t.Fatalf("execute = %+v, want the cart offer", resp.Execute)
	}
}

func TestRemoteArtifactOptions(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rules.json")
	if err := os.WriteFile(path, demo.Artifact(), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		decisioning delivery.DecisioningMethod
		artifact    string
		wantOpts    int
		wantSource  string
		wantErr     bool
	}{
		{"server-side needs none", delivery.DecisioningServerSide, path, 0, "", false},
		{"CDN by default", delivery.DecisioningOnDevice, "", 0, "the Target CDN", false},
		{"URL downloaded by the client", delivery.DecisioningHybrid, "https://assets.example/rules.json", 1, "https://assets.example/rules.json", false},
		{"file read once", delivery.DecisioningOnDevice, path, 1, path, false},
		{"missing file", delivery.DecisioningOnDevice, path + ".missing", 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := defaultConfig()
			cfg.Decisioning, cfg.Artifact, cfg.ServerDomain = tt.decisioning, tt.artifact, "edge.example"
			opts, source, err := remoteArtifactOptions(context.Background(), cfg)
			if (err != nil) != tt.wantErr || len(opts) != tt.wantOpts || source != tt.wantSource {
				t.Fatalf("remoteArtifactOptions = %d options, %q, %v; want %d, %q, error %v", len(opts), source, err, tt.wantOpts, tt.wantSource, tt.wantErr)
			}
		})
	}
}
