package target

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/ondevice"
)

func TestNewRejectsInvalidConfig(t *testing.T) {
	t.Parallel()
	required := []Option{WithClient("acme"), WithOrganizationID("ACME@AdobeOrg")}
	with := func(extra ...Option) []Option { return append(append([]Option(nil), required...), extra...) }
	engine, err := ondevice.New(ondevice.WithClient(demo.Client), ondevice.WithArtifactPayload(demo.Artifact()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })

	tests := []struct {
		name      string
		opts      []Option
		wantField string
		wantValue string
	}{
		{"no options", nil, "client", ""},
		{"missing client", []Option{WithOrganizationID("ACME@AdobeOrg")}, "client", ""},
		{"blank client", []Option{WithClient("  "), WithOrganizationID("ACME@AdobeOrg")}, "client", ""},
		{"client with slash", []Option{WithClient("ac/me"), WithOrganizationID("ACME@AdobeOrg")}, "client", "ac/me"},
		{"missing organization", []Option{WithClient("acme")}, "organizationId", ""},
		{"zero timeout", with(WithTimeout(0)), "timeout", "0s"},
		{"negative timeout", with(WithTimeout(-time.Second)), "timeout", "-1s"},
		{"server domain with scheme", with(WithServerDomain("https://acme.tt.omtrdc.net")), "serverDomain", "https://acme.tt.omtrdc.net"},
		{"server domain with path", with(WithServerDomain("acme.tt.omtrdc.net/rest")), "serverDomain", "acme.tt.omtrdc.net/rest"},
		{"empty server domain", with(WithServerDomain("")), "serverDomain", ""},
		{"location hint with dot", with(WithTargetLocationHint("35.evil")), "targetLocationHint", "35.evil"},
		{"empty location hint", with(WithTargetLocationHint("")), "targetLocationHint", ""},
		{"negative environment", with(WithEnvironmentID(-2)), "environmentId", "-2"},
		{"unknown decisioning method", with(WithDecisioningMethod("edge")), "decisioningMethod", "edge"},
		{"on-device with an invalid artifact", with(WithDecisioningMethod(delivery.DecisioningOnDevice), WithOnDevice(ondevice.WithArtifactPayload([]byte("{}")))), "artifactPayload", ""},
		{"hybrid with an unsupported artifact", with(WithDecisioningMethod(delivery.DecisioningHybrid), WithOnDevice(ondevice.WithArtifactPayload([]byte(`{"version":"2.0.0"}`)))), "artifactPayload", ""},
		{"negative polling interval", with(WithOnDevice(ondevice.WithPollingInterval(-time.Second))), "pollingInterval", "-1s"},
		{"nil engine", with(WithOnDeviceEngine(nil)), "onDeviceEngine", ""},
		{"engine and engine options", with(WithOnDeviceEngine(engine), WithOnDevice(ondevice.WithPollingInterval(0))), "onDevice", ""},
		{"notifications without on-device", with(WithOnDeviceNotifications(false)), "onDeviceNotifications", ""},
		{"notification concurrency without on-device", with(WithNotificationConcurrency(4)), "notificationConcurrency", ""},
		{"idle conns with a transport", with(WithTransport(http.DefaultTransport), WithMaxIdleConnsPerHost(8)), "maxIdleConnsPerHost", "8"},
		{"nil http client", with(WithHTTPClient(nil)), "httpClient", ""},
		{"nil transport", with(WithTransport(nil)), "transport", ""},
		{"client and transport", with(WithHTTPClient(http.DefaultClient), WithTransport(http.DefaultTransport)), "transport", ""},
		{"zero idle conns", with(WithMaxIdleConnsPerHost(0)), "maxIdleConnsPerHost", "0"},
		{"zero answer bound", with(WithMaxResponseBytes(0)), "maxResponseBytes", "0"},
		{"budget below the answer bound", with(WithMaxResponseBytes(8<<20), WithResponseBudget(4<<20)), "responseBudget", "4194304"},
		{"budget below the default answer bound", with(WithResponseBudget(1 << 20)), "responseBudget", "1048576"},
		{"empty version", with(WithVersion("")), "version", ""},
		{"nil event handler", with(WithEventHandler(EventClientReady, nil)), "events.clientReady", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := New(tt.opts...)
			if err == nil {
				_ = c.Close()
				t.Fatal("New succeeded, want a *ConfigError")
			}
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T) is not a *ConfigError", err, err)
			}
			if ce.Field != tt.wantField || ce.Value != tt.wantValue {
				t.Errorf("ConfigError field %q value %q, want field %q value %q (%v)", ce.Field, ce.Value, tt.wantField, tt.wantValue, err)
			}
		})
	}
}

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	c, err := New(WithClient("acme"), WithOrganizationID("ACME@AdobeOrg"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.cfg.timeout != 3*time.Second {
		t.Errorf("timeout %v, want 3s", c.cfg.timeout)
	}
	if !c.cfg.secure {
		t.Error("secure is false by default, want true")
	}
	if c.DecisioningMethod() != delivery.DecisioningServerSide {
		t.Errorf("decisioning method %q, want server-side", c.DecisioningMethod())
	}
	if !c.cfg.telemetryEnabled {
		t.Error("telemetry is off by default, want on")
	}
	if c.ownTransport == nil || c.ownTransport.MaxIdleConnsPerHost != DefaultMaxIdleConnsPerHost {
		t.Errorf("own transport not sized for concurrency: %+v", c.ownTransport)
	}
	if got := c.LocationHint(); got != "" {
		t.Errorf("location hint %q, want none", got)
	}
	endpoint := c.deliveryEndpoint(targetHost("", "", "acme"), "s1")
	if got := endpoint.String(); got != "https://acme.tt.omtrdc.net/rest/v1/delivery?imsOrgId=ACME%40AdobeOrg&sessionId=s1&version="+Version {
		t.Errorf("default URL %s", got)
	}
}

func TestNewWithLocationHintRoutesToCluster(t *testing.T) {
	t.Parallel()
	e := newTestEdge(t)
	c := e.newClient(WithTargetLocationHint("35"), WithServerDomain(e.hostPort()))
	if got := c.LocationHint(); got != "35" {
		t.Fatalf("LocationHint %q, want 35", got)
	}
	if _, err := c.GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("a")}); err != nil {
		t.Fatal(err)
	}
	if host := e.last().Host; host != "mboxedge35.tt.omtrdc.net" {
		t.Errorf("host %q, want mboxedge35.tt.omtrdc.net", host)
	}
}
