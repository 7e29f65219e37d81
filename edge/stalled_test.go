package edge_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/stalled"
)

// TestStalledArtifactURL: edge.New does no I/O (it is given its artifact),
// and LoadArtifact, which reads one from a URL beforehand, ends with its
// context when the URL accepts and never answers.
func TestStalledArtifactURL(t *testing.T) {
	t.Parallel()
	url := stalled.URL(t) + "/rules.json"
	client := httpClient(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := edge.LoadArtifact(ctx, client, url); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("LoadArtifact from a stalled URL = %v; want the context's deadline", err)
	}
	s, err := edge.New(edge.DemoArtifact())
	if err != nil {
		t.Fatal(err)
	}
	if s.ArtifactETag() == "" {
		t.Error("an edge made at once serves no artifact")
	}
}
