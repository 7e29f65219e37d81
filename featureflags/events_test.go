package featureflags_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/featureflags"
	"github.com/targetflow/targetflow/ondevice"
	"github.com/targetflow/targetflow/target"
)

func TestEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{fromURL: true, provider: []featureflags.Option{featureflags.WithRecoveryInterval(10 * time.Millisecond)}})
	if _, before := e.events.wait(t, openfeature.ProviderReady); !reflect.DeepEqual(before, []openfeature.EventType{openfeature.ProviderReady}) {
		t.Errorf("events at SetProviderAndWait: %v; want PROVIDER_READY", before)
	}
	engine := e.target.OnDeviceEngine()
	a := evalCtx(visitorA, nil)

	// A new artifact: PROVIDER_CONFIGURATION_CHANGED naming the flag keys
	// whose offers changed, and the new values.
	if err := e.srv.SetArtifact(flagsArtifact(t, false, func(c map[string]any) { c["color"], c["limit"] = "purple", 11 })); err != nil {
		t.Fatal(err)
	}
	if installed, err := engine.Refresh(t.Context()); err != nil || !installed {
		t.Fatalf("Refresh: %v, %v", installed, err)
	}
	changed, _ := e.events.wait(t, openfeature.ProviderConfigChange)
	if !reflect.DeepEqual(changed.FlagChanges, []string{"color", "limit"}) {
		t.Errorf("flag changes %v; want [color limit]", changed.FlagChanges)
	}
	if got, _ := e.flags.StringValue(t.Context(), "color", "", a); got != "purple" {
		t.Errorf("color after the change %q; want purple", got)
	}

	// A failed download: PROVIDER_STALE, the artifact in use kept; the
	// provider asks again and is READY when the edge answers (304: the
	// artifact is current).
	e.srv.Control(func(r *edge.Request) (edge.Answer, bool) {
		return edge.Answer{Status: http.StatusServiceUnavailable}, r.Endpoint == edge.EndpointRulesJSON
	})
	if _, err := engine.Refresh(t.Context()); err == nil {
		t.Fatal("Refresh succeeded against a 503")
	}
	stale, _ := e.events.wait(t, openfeature.ProviderStale)
	if !strings.Contains(stale.Message, "503") {
		t.Errorf("PROVIDER_STALE message %q; want the failure", stale.Message)
	}
	if got, _ := e.flags.StringValue(t.Context(), "color", "", a); got != "purple" {
		t.Errorf("color while stale %q; want purple, from the artifact kept", got)
	}
	if _, before := e.events.wait(t, openfeature.ProviderReady); !reflect.DeepEqual(before, []openfeature.EventType{openfeature.ProviderReady}) {
		t.Errorf("events after STALE: %v; want PROVIDER_READY", before)
	}
	if state := e.flags.State(); state != openfeature.ReadyState {
		t.Errorf("state %s; want READY", state)
	}

	// A downloaded artifact the engine refuses: PROVIDER_ERROR; then READY
	// again.
	e.srv.Control(func(r *edge.Request) (edge.Answer, bool) {
		return edge.Answer{Status: http.StatusOK, Body: []byte(`{"version":"1.0.0","rules":`)}, r.Endpoint == edge.EndpointRulesJSON
	})
	if _, err := engine.Refresh(t.Context()); err == nil {
		t.Fatal("Refresh installed a broken artifact")
	}
	refused, _ := e.events.wait(t, openfeature.ProviderError)
	if !strings.Contains(refused.Message, "refused") {
		t.Errorf("PROVIDER_ERROR message %q; want the refusal", refused.Message)
	}
	e.events.wait(t, openfeature.ProviderReady)

	// After Shutdown nothing more is reported.
	if err := e.provider.ShutdownWithContext(t.Context()); err != nil {
		t.Fatal(err)
	}
	e.srv.Control(func(r *edge.Request) (edge.Answer, bool) {
		return edge.Answer{Status: http.StatusServiceUnavailable}, r.Endpoint == edge.EndpointRulesJSON
	})
	_, _ = engine.Refresh(t.Context())
	select {
	case ev := <-e.provider.EventChannel():
		t.Errorf("event %s after Shutdown", ev.EventType)
	default:
	}
}

func TestReadyWhenTheFirstArtifactComesLate(t *testing.T) {
	t.Parallel()
	srv, addr := startEdge(t)
	var refuse atomic.Bool
	refuse.Store(true)
	srv.Control(func(r *edge.Request) (edge.Answer, bool) {
		if refuse.Load() {
			srv.KeepControl()
			return edge.Answer{Status: http.StatusServiceUnavailable}, r.Endpoint == edge.EndpointRulesJSON
		}
		srv.DropControl()
		return edge.Answer{}, false
	})
	e := &env{addr: addr}
	client := newTargetClient(t, addr, target.WithDecisioningMethod(delivery.DecisioningOnDevice),
		target.WithOnDevice(ondevice.WithArtifactURL(e.artifactURL()), ondevice.WithRetry(1, 0)))
	api := isolated.NewAPI()
	events := collectEvents(api)
	defer func() { _ = api.Shutdown(context.Background()) }()
	if err := api.SetProviderAndWait(t.Context(), featureflags.NewProvider(client, featureflags.WithMbox(mboxFlags))); err == nil {
		t.Fatal("SetProviderAndWait succeeded without an artifact")
	}
	if _, before := events.wait(t, openfeature.ProviderError); !reflect.DeepEqual(before, []openfeature.EventType{openfeature.ProviderError}) {
		t.Errorf("events: %v; want PROVIDER_ERROR", before)
	}
	refuse.Store(false)
	if _, err := client.OnDeviceEngine().Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	events.wait(t, openfeature.ProviderReady)
	flags := api.NewClient()
	if got, err := flags.IntValue(t.Context(), "limit", 0, evalCtx(visitorA, nil)); err != nil || got != 10 {
		t.Errorf("limit %d, %v; want 10", got, err)
	}
}
