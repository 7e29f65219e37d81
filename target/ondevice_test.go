package target

import (
	"context"
	"errors"
	"testing"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/ondevice"
)

func onDeviceClient(t *testing.T, e *testEdge, method delivery.DecisioningMethod, opts ...Option) *Client {
	t.Helper()
	base := []Option{
		WithClient(demo.Client),
		WithOrganizationID(demo.OrganizationID),
		WithDecisioningMethod(method),
		WithOnDevice(ondevice.WithArtifactPayload(demo.Artifact())),
	}
	return e.newClient(append(base, opts...)...)
}

func TestOnDeviceGetOffersDecidesLocallyAndNotifies(t *testing.T) {
	e := newTestEdge(t)
	c := onDeviceClient(t, e, delivery.DecisioningOnDevice)
	req := executeMboxes(demo.MboxHero, demo.MboxCart)
	req.Context = &delivery.Context{Channel: delivery.ChannelWeb}
	resp, err := c.GetOffers(context.Background(), GetOffersOptions{Request: req, SessionID: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Meta.DecisioningMethod != delivery.DecisioningOnDevice || len(resp.Meta.RemoteMboxes) != 0 {
		t.Errorf("meta = %+v", resp.Meta)
	}
	mboxes := resp.Response.Execute.Mboxes
	if len(mboxes) != 2 || len(mboxes[0].Options) != 1 || len(mboxes[1].Options) != 1 {
		t.Fatalf("mboxes = %+v", mboxes)
	}
	if tok := mboxes[0].Options[0].ResponseTokens["activity.decisioningMethod"]; tok != "on-device" {
		t.Errorf("activity.decisioningMethod = %v", tok)
	}
	if resp.TargetCookie == nil || resp.Response.ID == nil || resp.Response.ID.TntID == "" {
		t.Errorf("no visitor id minted: %+v", resp.Response.ID)
	}
	if err := c.Close(); err != nil { // waits for the notification send
		t.Fatal(err)
	}
	calls := e.recorded()
	if len(calls) != 1 {
		t.Fatalf("edge received %d calls; want only the notification call", len(calls))
	}
	sent := calls[0].Request
	if len(sent.Notifications) != 2 || sent.Execute != nil || sent.Prefetch != nil {
		t.Fatalf("notification call = %+v", sent)
	}
	for i, n := range sent.Notifications {
		if n.Type != delivery.MetricDisplay || n.Mbox == nil || n.Mbox.Name != mboxes[i].Name || len(n.Tokens) != 1 {
			t.Errorf("notification %d = %+v", i, n)
		}
	}
	if sent.ID == nil || sent.ID.TntID != resp.Response.ID.TntID {
		t.Errorf("notification visitor %+v; want %s", sent.ID, resp.Response.ID.TntID)
	}
	if sent.Telemetry == nil || len(sent.Telemetry.Entries) != 1 {
		t.Fatalf("telemetry = %+v", sent.Telemetry)
	}
	entry := sent.Telemetry.Entries[0]
	if entry.Mode != delivery.ExecutionLocal || entry.Features == nil || entry.Features.DecisioningMethod != delivery.DecisioningOnDevice || entry.Features.ExecuteMboxCount != 2 {
		t.Errorf("telemetry entry = %+v", entry)
	}
}

func TestOnDevicePrefetchSendsNothingWithoutTelemetry(t *testing.T) {
	e := newTestEdge(t)
	c := onDeviceClient(t, e, delivery.DecisioningOnDevice, WithTelemetry(false))
	req := &delivery.DeliveryRequest{Prefetch: &delivery.PrefetchRequest{Views: []delivery.ViewRequest{{Name: demo.ViewHome}}}}
	resp, err := c.GetOffers(context.Background(), GetOffersOptions{Request: req})
	if err != nil {
		t.Fatal(err)
	}
	if v := resp.Response.Prefetch.Views; len(v) != 1 || v[0].Options[0].EventToken == "" {
		t.Errorf("views = %+v", v)
	}
	c.Close()
	if calls := e.recorded(); len(calls) != 0 {
		t.Errorf("edge received %d calls; want none", len(calls))
	}
}

func TestHybridRoutesRemoteMboxesToTheEdge(t *testing.T) {
	e := newTestEdge(t)
	c := onDeviceClient(t, e, delivery.DecisioningHybrid, WithTelemetry(false))
	remote, err := c.GetOffers(context.Background(), GetOffersOptions{Request: executeMboxes(demo.MboxHero, demo.MboxRecommendations)})
	if err != nil {
		t.Fatal(err)
	}
	if remote.Meta.DecisioningMethod != delivery.DecisioningServerSide || len(remote.Meta.RemoteMboxes) != 1 || remote.Meta.RemoteMboxes[0] != demo.MboxRecommendations {
		t.Errorf("remote meta = %+v", remote.Meta)
	}
	if n := len(e.recorded()); n != 1 {
		t.Fatalf("edge received %d calls; want the delivery call", n)
	}
	local, err := c.GetOffers(context.Background(), GetOffersOptions{Request: executeMboxes(demo.MboxHero)})
	if err != nil {
		t.Fatal(err)
	}
	if local.Meta.DecisioningMethod != delivery.DecisioningOnDevice || len(local.Response.Execute.Mboxes[0].Options) != 1 {
		t.Errorf("local = %+v", local.Meta)
	}
	c.Close()
	calls := e.recorded()
	if len(calls) != 2 || len(calls[1].Request.Notifications) != 1 {
		t.Errorf("edge calls = %d; want the delivery call then one notification call", len(calls))
	}
}

func TestOnDeviceGetAttributes(t *testing.T) {
	e := newTestEdge(t)
	c := onDeviceClient(t, e, delivery.DecisioningOnDevice, WithTelemetry(false))
	attrs, err := c.GetAttributes(context.Background(), []string{demo.MboxFeatureFlags}, GetOffersOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if flow, err := attrs.String(demo.MboxFeatureFlags, "checkoutFlow"); err != nil || (flow != "multi-step" && flow != "one-page") {
		t.Errorf("checkoutFlow = %q, %v", flow, err)
	}
}

func TestOnDeviceErrors(t *testing.T) {
	e := newTestEdge(t)
	server := e.newClient()
	_, err := server.GetOffers(context.Background(), GetOffersOptions{Request: executeMboxes("a"), DecisioningMethod: delivery.DecisioningOnDevice})
	if !errors.Is(err, ErrNotReady) {
		t.Errorf("on-device call on a server-side client: %v; want ErrNotReady", err)
	}
	_, err = New(WithClient("c"), WithOrganizationID("o"), WithDecisioningMethod(delivery.DecisioningOnDevice),
		WithOnDevice(ondevice.WithArtifactPayload([]byte(`{"version":"99.0.0"}`))))
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != "artifactPayload" || !errors.Is(err, ondevice.ErrUnsupportedArtifactVersion) {
		t.Errorf("unsupported artifact: %v; want a ConfigError for artifactPayload", err)
	}
	unreachable, err := New(WithClient("c"), WithOrganizationID("o"), WithDecisioningMethod(delivery.DecisioningOnDevice),
		WithOnDevice(ondevice.WithArtifactURL("http://127.0.0.1:1/rules.json"), ondevice.WithRetry(1, 0), ondevice.WithPollingInterval(0)))
	if err != nil {
		t.Fatalf("New with an unreachable artifact: %v; want a client at once", err)
	}
	defer unreachable.Close()
	if err := unreachable.WaitReady(t.Context()); !errors.Is(err, ErrNotReady) {
		t.Errorf("unreachable artifact: WaitReady = %v; want ErrNotReady", err)
	}
	if _, err := unreachable.GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("a")}); !errors.Is(err, ErrNotReady) {
		t.Errorf("unreachable artifact: GetOffers = %v; want ErrNotReady", err)
	}
}

// TestHybridWithoutEngineGoesServerSide: as in the official SDKs, a hybrid
// call that finds no ready decisioning engine is fulfilled remotely instead
// of failing (an on-device call fails with ErrNotReady, see TestOnDeviceErrors).
func TestHybridWithoutEngineGoesServerSide(t *testing.T) {
	e := newTestEdge(t)
	c := e.newClient(WithTelemetry(false))
	resp, err := c.GetOffers(context.Background(), GetOffersOptions{Request: executeMboxes(demo.MboxHero), DecisioningMethod: delivery.DecisioningHybrid})
	if err != nil {
		t.Fatalf("hybrid call on a client without an engine: %v; want a server-side answer", err)
	}
	if resp.Meta.DecisioningMethod != delivery.DecisioningServerSide {
		t.Errorf("meta.decisioningMethod = %q; want server-side", resp.Meta.DecisioningMethod)
	}
	if calls := e.recorded(); len(calls) != 1 || calls[0].Request.Execute == nil || calls[0].Request.Execute.Mboxes[0].Name != demo.MboxHero {
		t.Errorf("edge received %d calls; want the delivery call for %s", len(calls), demo.MboxHero)
	}
}
