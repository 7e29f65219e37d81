package stages_test

import (
	"testing"

	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/edgetest"
	"github.com/targetflow/targetflow/target"
)

// startEdge serves a local edge with the demo artifact for the test and
// returns a client whose every connection goes to it (the edge answers with
// edge-cluster tntIds, which would otherwise route to Adobe's hosts).
func startEdge(t *testing.T, opts ...edge.Option) (*edge.Server, *target.Client) {
	t.Helper()
	return startEdgeClient(t, nil, opts...)
}

// startEdgeClient is startEdge with more client options.
func startEdgeClient(t *testing.T, clientOpts []target.Option, opts ...edge.Option) (*edge.Server, *target.Client) {
	t.Helper()
	srv, addr := edgetest.Start(t, opts...)
	return srv, edgetest.Client(t, addr, clientOpts...)
}
