package edge_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/target"
)

func newTargetClient(t testing.TB, addr string, opts ...target.Option) *target.Client {
	t.Helper()
	base := []target.Option{
		target.WithClient(demo.Client),
		target.WithOrganizationID(demo.OrganizationID),
		target.WithServerDomain(addr),
		target.WithSecure(false),
		target.WithTelemetry(false),
	}
	client, err := target.New(append(base, opts...)...)
	if err != nil {
		t.Fatalf("target.New: %v", err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func heroRequest() *delivery.DeliveryRequest {
	return &delivery.DeliveryRequest{
		Context: &delivery.Context{Channel: delivery.ChannelWeb},
		Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Index: 0, Name: demo.MboxHero}}},
	}
}

// TestTargetClientAgainstTheEdge drives the project's client against the
// edge: the first call mints a visitor with the edge's cluster; the client
// then routes to mboxedge28.tt.omtrdc.net, which RoutingTransport brings
// back to the edge.
func TestTargetClientAgainstTheEdge(t *testing.T) {
	t.Parallel()
	s := newEdge(t)
	addr := strings.TrimPrefix(startEdge(t, s), "http://")
	transport := edge.RoutingTransport(addr)
	t.Cleanup(transport.CloseIdleConnections)
	client := newTargetClient(t, addr, target.WithTransport(transport))

	first, err := client.GetOffers(context.Background(), target.GetOffersOptions{Request: heroRequest()})
	if err != nil {
		t.Fatalf("GetOffers: %v", err)
	}
	tnt := first.Response.ID.TntID
	if !strings.HasSuffix(tnt, ".28_0") || first.Response.EdgeHost != "mboxedge28.tt.omtrdc.net" {
		t.Fatalf("first answer tntId %q edgeHost %q", tnt, first.Response.EdgeHost)
	}
	if client.LocationHint() != "28" {
		t.Fatalf("client location hint %q, want 28", client.LocationHint())
	}
	second, err := client.GetOffers(context.Background(), target.GetOffersOptions{
		Request: heroRequest(), TargetCookie: first.TargetCookie.Value,
	})
	if err != nil {
		t.Fatalf("second GetOffers (routed to the cluster host): %v", err)
	}
	if second.Response.ID.TntID != tnt {
		t.Errorf("the visitor changed: %q then %q", tnt, second.Response.ID.TntID)
	}
	a, b := first.Response.Execute.Mboxes[0].Options[0].Content, second.Response.Execute.Mboxes[0].Options[0].Content
	if string(a) != string(b) {
		t.Errorf("the same visitor got different hero offers: %s then %s", a, b)
	}
}

var bareTntID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestWithoutClusterRouting(t *testing.T) {
	t.Parallel()
	s := newEdge(t, edge.WithClusterRouting(false))
	addr := strings.TrimPrefix(startEdge(t, s), "http://")
	client := newTargetClient(t, addr) // the client's own transport: only the server domain works
	for i := range 3 {
		resp, err := client.GetOffers(context.Background(), target.GetOffersOptions{Request: heroRequest()})
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if !bareTntID.MatchString(resp.Response.ID.TntID) || resp.Response.EdgeHost != "" {
			t.Fatalf("call %d: tntId %q edgeHost %q, want no cluster", i, resp.Response.ID.TntID, resp.Response.EdgeHost)
		}
	}
	if hint := client.LocationHint(); hint != "" {
		t.Errorf("client picked up location hint %q", hint)
	}
	// A raw request too.
	got := do(t, httpClient(t), http.MethodPost, "http://"+addr+deliveryPath, validRequest, nil)
	if strings.Contains(string(got.body), "edgeHost") {
		t.Errorf("answer has an edgeHost: %s", got.body)
	}
}
