package target

import (
	"net/http"
	"testing"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/ondevice"
)

func TestSubscribe(t *testing.T) {
	t.Parallel()
	e := newTestEdge(t)
	location := "http://" + e.hostPort() + "/" + demo.Client + "/production/rules/v1/rules.json"
	c := e.newClient(WithClient(demo.Client), WithOrganizationID(demo.OrganizationID), WithDecisioningMethod(delivery.DecisioningOnDevice),
		WithOnDevice(ondevice.WithArtifactURL(location), ondevice.WithRetry(2, 0)))
	if err := c.WaitReady(t.Context()); err != nil {
		t.Fatal(err)
	}
	first, barrier := make(chan Event, 8), make(chan Event, 8)
	unsubscribe := c.Subscribe(EventArtifactDownloadFailed, func(ev Event) { first <- ev })
	c.Subscribe(EventArtifactDownloadFailed, func(ev Event) { barrier <- ev })
	c.Subscribe(EventArtifactDownloadFailed, nil) // ignored

	refreshAfter503 := func() {
		t.Helper()
		e.control(func(r *edge.Request) (edge.Answer, bool) {
			return edge.Answer{Status: http.StatusServiceUnavailable}, r.Endpoint == edge.EndpointRulesJSON
		})
		// The second attempt is answered 304: the artifact in use is current.
		if installed, err := c.OnDeviceEngine().Refresh(t.Context()); err != nil || installed {
			t.Fatalf("Refresh: installed %v, %v; want the 503 retried into a 304", installed, err)
		}
		select {
		case ev := <-barrier:
			if ev.Err == nil {
				t.Error("artifactDownloadFailed without its error")
			}
		case <-time.After(time.Minute):
			t.Fatal("no artifactDownloadFailed event")
		}
	}
	refreshAfter503()
	if len(first) != 1 {
		t.Fatalf("the first subscriber got %d events; want 1", len(first))
	}
	<-first
	unsubscribe()
	unsubscribe() // twice is harmless
	refreshAfter503()
	// Handlers run in order: the barrier ran, so the removed one would have.
	if len(first) != 0 {
		t.Errorf("an unsubscribed handler got %d events", len(first))
	}
}
