package target

import (
	"context"
	"errors"
	"net/http"
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

// TestClientReadyWhenTheArtifactArrives: the edge holds the artifact
// download (its control hook) until the test lets it go. Until then an
// on-device call fails with ErrNotReady; then WaitReady returns, clientReady
// is emitted once, and calls are decided on-device. A client given a
// caller's engine that is not ready yet emits clientReady the same way.
func TestClientReadyWhenTheArtifactArrives(t *testing.T) {
	t.Parallel()
	for _, own := range []bool{true, false} {
		name := "own engine"
		if !own {
			name = "caller's engine"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newTestEdge(t)
			release := make(chan struct{})
			held := make(chan struct{}, 1)
			e.control(func(r *edge.Request) (edge.Answer, bool) {
				if r.Endpoint != edge.EndpointRulesJSON {
					return edge.Answer{}, false
				}
				held <- struct{}{}
				e.srv.SleepControl(func() {
					select {
					case <-release:
					case <-r.HTTP.Context().Done():
					}
				})
				return edge.Answer{}, true // the edge's own answer: the artifact
			})
			readies := make(chan Event, 4)
			url := "http://" + e.addr + "/" + demo.Client + "/production/rules/v1/rules.json"
			opts := []Option{WithClient(demo.Client), WithOrganizationID(demo.OrganizationID),
				WithDecisioningMethod(delivery.DecisioningOnDevice), WithTelemetry(false),
				WithEventHandler(EventClientReady, func(ev Event) { readies <- ev })}
			if own {
				opts = append(opts, WithOnDevice(ondevice.WithArtifactURL(url)))
			} else {
				transport := edge.RoutingTransport(e.addr)
				t.Cleanup(transport.CloseIdleConnections)
				engine, err := ondevice.New(ondevice.WithClient(demo.Client), ondevice.WithArtifactURL(url),
					ondevice.WithHTTPClient(&http.Client{Transport: transport}))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { engine.Close() })
				opts = append(opts, WithOnDeviceEngine(engine))
			}
			c := e.newClient(opts...)
			<-held
			req := &delivery.DeliveryRequest{Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Name: demo.MboxHero, Index: 1}}}}
			if _, err := c.GetOffers(t.Context(), GetOffersOptions{Request: req}); !errors.Is(err, ErrNotReady) {
				t.Fatalf("GetOffers before the artifact = %v; want ErrNotReady", err)
			}
			select {
			case ev := <-readies:
				t.Fatalf("%s before the artifact arrived", ev.Type)
			default:
			}
			close(release)
			if err := c.WaitReady(t.Context()); err != nil {
				t.Fatalf("WaitReady = %v", err)
			}
			if ev := <-readies; ev.Type != EventClientReady {
				t.Errorf("event %q; want clientReady", ev.Type)
			}
			resp, err := c.GetOffers(t.Context(), GetOffersOptions{Request: req})
			if err != nil || resp.Meta.DecisioningMethod != delivery.DecisioningOnDevice || len(resp.Response.Execute.Mboxes[0].Options) == 0 {
				t.Fatalf("GetOffers after the artifact = %+v, %v; want an on-device offer", resp, err)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if len(readies) != 0 {
				t.Errorf("clientReady emitted more than once")
			}
		})
	}
}
