package target

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/edgeserver"
	"github.com/targetflow/targetflow/internal/sdktesting"
	"github.com/targetflow/targetflow/ondevice"
)

// mockGeoLookup answers every geo lookup with a case's mockGeo, the x-geo-*
// keys the Target geo service answers (no location without one).
func mockGeoLookup(t *testing.T, mock json.RawMessage) ondevice.GeoLookupFunc {
	var keys map[string]any
	if len(mock) > 0 {
		if err := json.Unmarshal(mock, &keys); err != nil {
			t.Fatal(err)
		}
	}
	return func(context.Context, string) (*delivery.Geo, error) {
		if keys == nil {
			return nil, nil
		}
		return ondevice.GeoFromValues(func(key string) (string, bool) {
			v, ok := keys[key]
			if !ok || v == nil {
				return "", false
			}
			return fmt.Sprint(v), true
		}), nil
	}
}

type fixedEngineClock struct{ t time.Time }

func (c fixedEngineClock) Now() time.Time                     { return c.t }
func (fixedEngineClock) After(time.Duration) <-chan time.Time { return nil }

// TestOnDeviceConformanceThroughClient runs every case of Adobe's
// on-device suites through Client.GetOffers: the artifact is downloaded
// from a local CDN, decisions are made by the engine, and the notification
// call the client sends is captured and compared with notificationOutput.
func TestOnDeviceConformanceThroughClient(t *testing.T) {
	root := sdktesting.Dir(t)
	files := sdktesting.SuiteFiles(t)
	cases := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var suite struct {
			Artifact json.RawMessage            `json:"artifact"`
			Conf     json.RawMessage            `json:"conf"`
			Test     map[string]json.RawMessage `json:"test"`
		}
		if err := json.Unmarshal(data, &suite); err != nil {
			t.Fatal(err)
		}
		for name, raw := range suite.Test {
			cases++
			t.Run(strings.TrimSuffix(filepath.Base(file), ".json")+"/"+name, func(t *testing.T) {
				runClientConformanceCase(t, root, suite.Artifact, suite.Conf, raw)
			})
		}
	}
	if cases != 66 {
		t.Errorf("ran %d cases; the 18 suites hold 66", cases)
	}
}

func runClientConformanceCase(t *testing.T, root string, suiteArtifact, suiteConf, raw json.RawMessage) {
	var tc struct {
		Conf     json.RawMessage `json:"conf"`
		Artifact json.RawMessage `json:"artifact"`
		Input    struct {
			Request      *delivery.DeliveryRequest `json:"request"`
			SessionID    string                    `json:"sessionId"`
			LocationHint string                    `json:"locationHint"`
		} `json:"input"`
		Output             json.RawMessage  `json:"output"`
		NotificationOutput *json.RawMessage `json:"notificationOutput"`
		MockDate           *struct{ Year, Month, Date, Hours, Minutes, Seconds int }
		MockGeo            json.RawMessage `json:"mockGeo"`
	}
	if err := json.Unmarshal(raw, &tc); err != nil {
		t.Fatal(err)
	}
	confRaw, artifactRaw := suiteConf, suiteArtifact
	if len(tc.Conf) > 0 {
		confRaw = tc.Conf
	}
	if len(tc.Artifact) > 0 {
		artifactRaw = tc.Artifact
	}
	var conf struct {
		Client           string `json:"client"`
		OrganizationID   string `json:"organizationId"`
		TelemetryEnabled *bool  `json:"telemetryEnabled"`
	}
	if err := json.Unmarshal(confRaw, &conf); err != nil {
		t.Fatal(err)
	}
	telemetry := conf.TelemetryEnabled == nil || *conf.TelemetryEnabled
	artifact := []byte(artifactRaw)
	var artifactName string
	if json.Unmarshal(artifactRaw, &artifactName) == nil {
		var err error
		if artifact, err = os.ReadFile(filepath.Join(root, "artifacts", artifactName+".json")); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if md := tc.MockDate; md != nil {
		now = time.Date(md.Year, time.Month(md.Month+1), md.Date, md.Hours, md.Minutes, md.Seconds, 0, time.UTC)
	}

	// The project's edge serves the case's artifact at its CDN path and
	// records the notification calls the client sends.
	srv, addr := edgeserver.StartWith(t, artifact, edge.WithClient(conf.Client))
	var mu sync.Mutex
	var calls []map[string]any
	srv.Control(func(r *edge.Request) (edge.Answer, bool) {
		if r.Endpoint == edge.EndpointDelivery {
			var call map[string]any
			if err := json.Unmarshal(r.Body, &call); err != nil {
				t.Errorf("notification call is not JSON: %v", err)
			}
			mu.Lock()
			calls = append(calls, call)
			mu.Unlock()
		}
		return edge.Answer{}, false
	})
	transport := edge.RoutingTransport(addr)
	defer transport.CloseIdleConnections()

	engine, err := ondevice.New(
		ondevice.WithClient(conf.Client),
		ondevice.WithOrganizationID(conf.OrganizationID),
		ondevice.WithArtifactURL("http://"+addr+"/"+conf.Client+"/production/rules/v1/rules.json"),
		ondevice.WithGeoLookup(mockGeoLookup(t, tc.MockGeo)),
		ondevice.WithPollingInterval(0),
		ondevice.WithRetry(1, 0),
		ondevice.WithHTTPClient(&http.Client{Transport: transport}),
		ondevice.WithClock(fixedEngineClock{now}),
		ondevice.WithTelemetry(telemetry))
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	defer engine.Close()
	if err := engine.WaitReady(t.Context()); err != nil {
		t.Fatalf("engine: %v", err)
	}
	client, err := New(WithClient(conf.Client), WithOrganizationID(conf.OrganizationID),
		WithDecisioningMethod(delivery.DecisioningOnDevice), WithOnDeviceEngine(engine),
		WithSecure(false), WithTransport(transport), WithTelemetry(telemetry))
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	resp, err := client.GetOffers(context.Background(), GetOffersOptions{
		Request: tc.Input.Request, SessionID: tc.Input.SessionID, TargetLocationHint: tc.Input.LocationHint,
	})
	client.Close() // waits for the notification call
	if err != nil {
		t.Fatalf("GetOffers: %v", err)
	}
	if len(tc.Output) > 0 {
		var want any
		if err := json.Unmarshal(tc.Output, &want); err != nil {
			t.Fatal(err)
		}
		if err := sdktesting.MatchSubset(sdktesting.RenderResponse(t, resp.Response), want, "response"); err != nil {
			t.Error(err)
		}
	}
	if tc.NotificationOutput == nil {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	if string(*tc.NotificationOutput) == "null" {
		if len(calls) != 0 {
			t.Errorf("want no notification call, got %d", len(calls))
		}
		return
	}
	if len(calls) != 1 {
		t.Fatalf("want one notification call, got %d", len(calls))
	}
	var want any
	if err := json.Unmarshal(*tc.NotificationOutput, &want); err != nil {
		t.Fatal(err)
	}
	if err := sdktesting.MatchSubset(map[string]any{"request": calls[0]}, want, "notification"); err != nil {
		t.Error(err)
	}
}
