package stages_test

import (
	"context"
	"testing"
	"time"

	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
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
	srv, err := edge.New(append([]edge.Option{edge.WithShutdownTimeout(time.Second)}, opts...)...)
	if err != nil {
		t.Fatalf("edge.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr, err := srv.Start(ctx, "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatalf("edge Start: %v", err)
	}
	transport := edge.RoutingTransport(addr) // cluster-routed calls stay on the local edge
	client, err := target.New(append([]target.Option{
		target.WithClient(demo.Client),
		target.WithOrganizationID(demo.OrganizationID),
		target.WithServerDomain(addr),
		target.WithSecure(false),
		target.WithTransport(transport),
		target.WithTelemetry(false),
	}, clientOpts...)...)
	if err != nil {
		cancel()
		t.Fatalf("target.New: %v", err)
	}
	t.Cleanup(func() {
		client.Close()
		transport.CloseIdleConnections()
		cancel()
		if err := srv.Wait(); err != nil {
			t.Errorf("edge stopped with %v", err)
		}
	})
	return srv, client
}
