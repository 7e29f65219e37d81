package target

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/internal/edgeserver"
	"github.com/targetflow/targetflow/internal/stalled"
	"github.com/targetflow/targetflow/ondevice"
)

// TestNewWithStalledArtifactURL: a client whose artifact URL accepts and
// never answers is made at once. Until an artifact arrives it behaves as
// the Node.js SDK does: an on-device call fails with ErrNotReady, a hybrid
// call is answered by the edge, and clientReady is not emitted. WaitReady
// honours its context; Close ends the download, and goleak (TestMain)
// shows nothing outlives it.
func TestNewWithStalledArtifactURL(t *testing.T) {
	t.Parallel()
	url := stalled.URL(t) + "/" + demo.Client + "/production/rules/v1/rules.json"
	_, addr := edgeserver.Start(t, edge.WithClusterRouting(false))
	for _, method := range []delivery.DecisioningMethod{delivery.DecisioningOnDevice, delivery.DecisioningHybrid} {
		t.Run(string(method), func(t *testing.T) {
			t.Parallel()
			var ready, failed atomic.Int32
			c, err := New(WithClient(demo.Client), WithOrganizationID(demo.OrganizationID),
				WithServerDomain(addr), WithSecure(false), WithTelemetry(false),
				WithDecisioningMethod(method),
				WithOnDevice(ondevice.WithArtifactURL(url)),
				WithEventHandler(EventClientReady, func(Event) { ready.Add(1) }),
				WithEventHandler(EventArtifactDownloadFailed, func(Event) { failed.Add(1) }))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
			defer cancel()
			if err := c.WaitReady(ctx); !errors.Is(err, ErrNotReady) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("WaitReady = %v; want ErrNotReady and the context's deadline", err)
			}
			req := &delivery.DeliveryRequest{Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Name: demo.MboxHero, Index: 1}}}}
			resp, err := c.GetOffers(t.Context(), GetOffersOptions{Request: req})
			switch method {
			case delivery.DecisioningOnDevice:
				if !errors.Is(err, ErrNotReady) {
					t.Errorf("on-device GetOffers = %v; want ErrNotReady", err)
				}
			case delivery.DecisioningHybrid:
				if err != nil {
					t.Fatalf("hybrid GetOffers = %v; want the edge's answer", err)
				}
				if resp.Meta.DecisioningMethod != delivery.DecisioningServerSide || len(resp.Response.Execute.Mboxes[0].Options) == 0 {
					t.Errorf("hybrid answer %+v; want the edge's offer", resp.Meta)
				}
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if n, f := ready.Load(), failed.Load(); n != 0 || f != 0 {
				t.Errorf("events: clientReady ×%d, artifactDownloadFailed ×%d; want none", n, f)
			}
		})
	}
}
