package target

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/internal/sdktesting"
	"github.com/targetflow/targetflow/ondevice"
)

// conformanceEdge serves a suite case: the artifact at its CDN path, the
// geo lookup, and the Delivery API, recording the notification calls.
type conformanceEdge struct {
	artifact []byte
	geo      []byte

	mu    sync.Mutex
	calls []map[string]any
}

func (s *conformanceEdge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/rules.json"):
		w.Write(s.artifact)
	case r.Method == http.MethodGet && r.URL.Path == "/v1/geo" && s.geo != nil:
		w.Write(s.geo)
	case r.Method == http.MethodPost && r.URL.Path == deliveryPath:
		body, _ := io.ReadAll(r.Body)
		var call map[string]any
		if err := json.Unmarshal(body, &call); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.calls = append(s.calls, call)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"status": 200, "requestId": call["requestId"]})
	default:
		http.NotFound(w, r)
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

	edge := &conformanceEdge{artifact: artifact}
	if len(tc.MockGeo) > 0 {
		edge.geo = tc.MockGeo
	}
	server := httptest.NewServer(edge)
	defer server.Close()
	addr := server.Listener.Addr().String()
	transport := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	defer transport.CloseIdleConnections()

	engine, err := ondevice.New(
		ondevice.WithClient(conf.Client),
		ondevice.WithOrganizationID(conf.OrganizationID),
		ondevice.WithArtifactURL(server.URL+"/"+conf.Client+"/production/rules/v1/rules.json"),
		ondevice.WithGeoLookupURL(server.URL+"/v1/geo"),
		ondevice.WithPollingInterval(0),
		ondevice.WithRetry(1, 0),
		ondevice.WithHTTPClient(server.Client()),
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
	edge.mu.Lock()
	calls := edge.calls
	edge.mu.Unlock()
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
