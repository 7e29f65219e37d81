package target_test

import (
	"errors"
	"testing"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/internal/edgetest"
	"github.com/targetflow/targetflow/target"
)

// localEdge serves the project's local Delivery API edge (the bundled demo
// artifact) and returns a client pointed at it, with telemetry on as by
// default.
func localEdge(t testing.TB, edgeOpts ...edge.Option) (*edge.Server, *target.Client) {
	t.Helper()
	server, addr := edgetest.Start(t, edgeOpts...)
	return server, edgetest.Client(t, addr, target.WithTelemetry(true))
}

func TestLocalEdgeVisitorJourney(t *testing.T) {
	t.Parallel()
	server, client := localEdge(t)

	// First page view: no cookies. The edge mints a visitor, decides both
	// mboxes, and names its cluster.
	first, err := client.GetOffers(t.Context(), target.GetOffersOptions{Request: &delivery.DeliveryRequest{
		Context:  &delivery.Context{Channel: delivery.ChannelWeb, Address: &delivery.Address{URL: "https://shop.example/"}},
		Execute:  &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Name: demo.MboxHero, Index: 1}}},
		Prefetch: &delivery.PrefetchRequest{Mboxes: []delivery.MboxRequest{{Name: demo.MboxFeatureFlags, Index: 2}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tntID := first.Response.ID.TntID
	if target.ClusterFromTntID(tntID) == "" {
		t.Fatalf("minted tntId %q carries no cluster", tntID)
	}
	entries := target.ParseTargetCookie(first.TargetCookie.Value, time.Now())
	if entries["PC"].Value != tntID || entries["session"].Value == "" {
		t.Errorf("target cookie %q does not carry the visitor and the session", first.TargetCookie.Value)
	}
	if first.TargetLocationHintCookie == nil || first.TargetLocationHintCookie.Value != target.ClusterFromTntID(tntID) {
		t.Errorf("location hint cookie %+v, want the tntId's cluster", first.TargetLocationHintCookie)
	}
	hero := first.Response.Execute.Mboxes
	if len(hero) != 1 || hero[0].Name != demo.MboxHero || len(hero[0].Options) == 0 {
		t.Fatalf("execute answer %+v, want a hero offer", hero)
	}
	flags := first.Response.Prefetch.Mboxes
	if len(flags) != 1 || len(flags[0].Options) == 0 || flags[0].Options[0].EventToken == "" {
		t.Fatalf("prefetch answer %+v, want a feature-flags offer with an event token", flags)
	}

	// Second page view with the cookies: same visitor, same session, same
	// experience (sticky allocation), and the call goes to the cluster.
	second, err := client.GetOffers(t.Context(), target.GetOffersOptions{
		Request:            &delivery.DeliveryRequest{Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Name: demo.MboxHero, Index: 1}}}},
		TargetCookie:       first.TargetCookie.Value,
		TargetLocationHint: first.TargetLocationHintCookie.Value,
	})
	if err != nil {
		t.Fatal(err)
	}
	if second.Response.ID.TntID != tntID || second.Request.ID.TntID != tntID {
		t.Errorf("second call visitor %q, want %q", second.Response.ID.TntID, tntID)
	}
	if got, want := string(second.Response.Execute.Mboxes[0].Options[0].Content), string(hero[0].Options[0].Content); got != want {
		t.Errorf("the visitor's hero offer changed between page views:\n%s\n%s", want, got)
	}

	// The prefetched flags were displayed: notify with their event token.
	_, err = client.SendNotifications(t.Context(), target.SendNotificationsOptions{
		TargetCookie: second.TargetCookie.Value,
		Request: &delivery.DeliveryRequest{Notifications: []delivery.Notification{{
			ID: "flags-shown", Type: delivery.MetricDisplay, Timestamp: time.Now().UnixMilli(),
			Mbox:   &delivery.NotificationMbox{Name: demo.MboxFeatureFlags, State: flags[0].State},
			Tokens: []string{flags[0].Options[0].EventToken},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var recorded *edge.NotificationRecord
	for _, n := range server.Notifications() {
		if n.ID == "flags-shown" {
			recorded = &n
		}
	}
	if recorded == nil || recorded.TntID != tntID || recorded.Mbox != demo.MboxFeatureFlags || recorded.Type != delivery.MetricDisplay {
		t.Errorf("edge recorded %+v, want the display notification of %s", recorded, tntID)
	}
}

func TestLocalEdgeGetAttributes(t *testing.T) {
	t.Parallel()
	_, client := localEdge(t)
	attrs, err := client.GetAttributes(t.Context(), []string{demo.MboxFeatureFlags}, target.GetOffersOptions{})
	if err != nil {
		t.Fatal(err)
	}
	flags := attrs.AsMap(demo.MboxFeatureFlags)
	if len(flags) == 0 {
		t.Fatalf("no attributes for %s: %+v", demo.MboxFeatureFlags, attrs.Response().Response)
	}
	for key := range flags {
		if _, err := attrs.Value(demo.MboxFeatureFlags, key); err != nil {
			t.Errorf("Value(%s) after AsMap listed it: %v", key, err)
		}
	}
	if _, err := attrs.Value(demo.MboxFeatureFlags, "no-such-flag"); !errors.Is(err, target.ErrAttributeNotFound) {
		t.Errorf("missing flag: %v, want ErrAttributeNotFound", err)
	}
}

func TestLocalEdgeFaultsAreRetryable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		faults edge.Faults
		status int
	}{
		{"503", edge.Faults{ErrorRate: 1, RetryAfter: 2 * time.Second}, 503},
		{"429", edge.Faults{ThrottleRate: 1, RetryAfter: 2 * time.Second}, 429},
		{"reset", edge.Faults{ResetRate: 1}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, client := localEdge(t, edge.WithFaults(tt.faults))
			_, err := client.GetOffers(t.Context(), target.GetOffersOptions{Request: &delivery.DeliveryRequest{
				Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Name: demo.MboxHero, Index: 1}}},
			}})
			if !target.IsRetryable(err) {
				t.Fatalf("error %v is not retryable", err)
			}
			var he *target.HTTPError
			switch {
			case tt.status == 0:
				var te *target.TransportError
				if !errors.As(err, &te) {
					t.Errorf("error %v (%T), want a *TransportError", err, err)
				}
			case !errors.As(err, &he) || he.Status != tt.status || he.RetryAfter() != 2*time.Second:
				t.Errorf("error %v, want HTTP %d with Retry-After 2s", err, tt.status)
			}
		})
	}
}
