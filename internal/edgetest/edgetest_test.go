package edgetest_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/internal/edgetest"
	"github.com/targetflow/targetflow/target"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A client made by Client reaches the edge made by Start, twice: the
// second call goes to the cluster the first answer named, and still lands
// on the local edge.
func TestClientReachesTheEdge(t *testing.T) {
	srv, addr := edgetest.Start(t)
	client := edgetest.Client(t, addr)
	req := &delivery.DeliveryRequest{
		Context: &delivery.Context{Channel: delivery.ChannelWeb},
		Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Name: demo.MboxHero}}},
	}
	first, err := client.GetOffers(t.Context(), target.GetOffersOptions{Request: req})
	if err != nil {
		t.Fatal(err)
	}
	if client.LocationHint() == "" {
		t.Fatalf("no cluster learned from %+v", first.Response)
	}
	if _, err := client.GetOffers(t.Context(), target.GetOffersOptions{Request: req, TargetCookie: first.TargetCookie.Value}); err != nil {
		t.Fatalf("second call (cluster-routed): %v", err)
	}
	if srv.Client() != demo.Client {
		t.Errorf("edge client %q, want the demo's", srv.Client())
	}
}
