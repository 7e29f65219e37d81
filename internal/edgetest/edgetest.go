// Package edgetest starts targetflow's local Delivery API edge for tests,
// as net/http/httptest starts servers: on loopback, shut down and waited for
// when the test ends, with a target.Client whose every call — those routed
// to an edge cluster's host included — reaches it.
package edgetest

import (
	"context"
	"testing"
	"time"

	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/target"
)

// Start serves an edge of the bundled demo artifact (rules.bin for the
// demo's organization id) made with opts on a free loopback port until the
// test ends, and returns it with its address. In-flight requests get a
// second to finish at the end.
func Start(t testing.TB, opts ...edge.Option) (*edge.Server, string) {
	t.Helper()
	return StartWith(t, demo.Artifact(), append([]edge.Option{edge.WithOrganizationID(demo.OrganizationID)}, opts...)...)
}

// StartWith is Start serving artifact.
func StartWith(t testing.TB, artifact []byte, opts ...edge.Option) (*edge.Server, string) {
	t.Helper()
	srv, err := edge.New(artifact, append([]edge.Option{edge.WithShutdownTimeout(time.Second)}, opts...)...)
	if err != nil {
		t.Fatalf("edge.New: %v", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	addr, err := srv.Start(ctx, "127.0.0.1:0")
	if err != nil {
		stop()
		t.Fatalf("edge Start: %v", err)
	}
	t.Cleanup(func() {
		stop()
		if err := srv.Wait(); err != nil {
			t.Errorf("edge stopped with %v", err)
		}
	})
	return srv, addr
}

// Client returns a client of the demo site calling the edge at addr over
// plain HTTP, closed when the test ends (before the edge stops). Telemetry
// is off unless opts turn it on; opts come last and win.
func Client(t testing.TB, addr string, opts ...target.Option) *target.Client {
	t.Helper()
	transport := edge.RoutingTransport(addr)
	client, err := target.New(append([]target.Option{
		target.WithClient(demo.Client),
		target.WithOrganizationID(demo.OrganizationID),
		target.WithServerDomain(addr),
		target.WithSecure(false),
		target.WithTransport(transport),
		target.WithTelemetry(false),
	}, opts...)...)
	if err != nil {
		t.Fatalf("target.New: %v", err)
	}
	t.Cleanup(func() {
		_ = client.Close()
		transport.CloseIdleConnections()
	})
	return client
}
