// Package edgetest starts targetflow's local Delivery API edge for tests,
// as net/http/httptest starts servers: on loopback, shut down and waited for
// when the test ends, with a target.Client whose every call — those routed
// to an edge cluster's host included — reaches it.
package edgetest

import (
	"testing"

	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/internal/edgeserver"
	"github.com/targetflow/targetflow/target"
)

// Start serves an edge of the bundled demo artifact (rules.bin for the
// demo's organization id) made with opts on a free loopback port until the
// test ends, and returns it with its address (edgeserver.Start).
func Start(t testing.TB, opts ...edge.Option) (*edge.Server, string) {
	t.Helper()
	return edgeserver.Start(t, opts...)
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
