package ondevice

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/internal/sdktesting"
)

// conformanceSuite is a models/TEST_SUITE_*.json file.
type conformanceSuite struct {
	Description string                     `json:"description"`
	Artifact    json.RawMessage            `json:"artifact"`
	Conf        *conformanceConf           `json:"conf"`
	Test        map[string]json.RawMessage `json:"test"`
}

type conformanceConf struct {
	Client           string `json:"client"`
	OrganizationID   string `json:"organizationId"`
	PollingInterval  *int64 `json:"pollingInterval"`
	TelemetryEnabled *bool  `json:"telemetryEnabled"`
}

type conformanceCase struct {
	Description string           `json:"description"`
	Conf        *conformanceConf `json:"conf"`
	Artifact    json.RawMessage  `json:"artifact"`
	Input       struct {
		Request      json.RawMessage `json:"request"`
		SessionID    string          `json:"sessionId"`
		LocationHint string          `json:"locationHint"`
	} `json:"input"`
	Output             json.RawMessage  `json:"output"`
	NotificationOutput *json.RawMessage `json:"notificationOutput"`
	MockDate           *struct {
		Year, Month, Date, Hours, Minutes, Seconds int
	} `json:"mockDate"`
	MockGeo json.RawMessage `json:"mockGeo"`
}

// fixedClock is a clock that never moves; After never fires.
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time                     { return c.t }
func (fixedClock) After(time.Duration) <-chan time.Time { return nil }

// routeTransport answers requests from a map of URL path to body.
type routeTransport struct {
	routes map[string][]byte
	calls  []*http.Request
}

func (rt *routeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.calls = append(rt.calls, r)
	body, ok := rt.routes[r.URL.Path]
	status := http.StatusOK
	if !ok {
		status, body = http.StatusNotFound, []byte("not found")
	}
	return &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
}

func loadSuiteArtifact(t *testing.T, root string, raw json.RawMessage) []byte {
	t.Helper()
	var name string
	if err := json.Unmarshal(raw, &name); err == nil {
		data, err := os.ReadFile(filepath.Join(root, "artifacts", name+".json"))
		if err != nil {
			t.Fatalf("artifact %s: %v", name, err)
		}
		return data
	}
	return raw
}

func TestConformance(t *testing.T) {
	files := sdktesting.SuiteFiles(t)
	root := sdktesting.Dir(t)
	if len(files) != 18 {
		t.Errorf("found %d suites; want the 18 of target-sdk-testing", len(files))
	}
	total := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var suite conformanceSuite
		if err := json.Unmarshal(data, &suite); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		names := make([]string, 0, len(suite.Test))
		for name := range suite.Test {
			names = append(names, name)
		}
		sort.Strings(names)
		suiteName := strings.TrimSuffix(filepath.Base(file), ".json")
		for _, name := range names {
			total++
			raw := suite.Test[name]
			t.Run(suiteName+"/"+name, func(t *testing.T) {
				t.Parallel()
				runConformanceCase(t, root, &suite, raw)
			})
		}
	}
	if total == 0 {
		t.Fatal("no conformance cases found")
	}
}

func runConformanceCase(t *testing.T, root string, suite *conformanceSuite, raw json.RawMessage) {
	var tc conformanceCase
	if err := json.Unmarshal(raw, &tc); err != nil {
		t.Fatalf("case: %v", err)
	}
	conf := suite.Conf
	if tc.Conf != nil {
		conf = tc.Conf
	}
	artifactRaw := suite.Artifact
	if len(tc.Artifact) > 0 {
		artifactRaw = tc.Artifact
	}
	artifact := loadSuiteArtifact(t, root, artifactRaw)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if md := tc.MockDate; md != nil {
		now = time.Date(md.Year, time.Month(md.Month+1), md.Date, md.Hours, md.Minutes, md.Seconds, 0, time.UTC)
	}
	transport := &routeTransport{routes: map[string][]byte{
		fmt.Sprintf("/%s/production/rules/v1/rules.json", conf.Client): artifact,
	}}
	if len(tc.MockGeo) > 0 {
		transport.routes["/v1/geo"] = tc.MockGeo
	}
	opts := []Option{
		WithClient(conf.Client),
		WithOrganizationID(conf.OrganizationID),
		WithHTTPClient(&http.Client{Transport: transport}),
		WithClock(fixedClock{now}),
		WithArtifactFormat(FormatJSON),
		WithRetry(1, 0),
	}
	if conf.PollingInterval != nil {
		opts = append(opts, WithPollingInterval(time.Duration(*conf.PollingInterval)*time.Millisecond))
	}
	if conf.TelemetryEnabled != nil {
		opts = append(opts, WithTelemetry(*conf.TelemetryEnabled))
	}
	engine, err := New(opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer engine.Close()
	if err := engine.WaitReady(t.Context()); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	if !bytes.Equal(engine.Artifact().Raw(), artifact) {
		t.Errorf("raw artifact differs from the one served")
	}

	parseStart := time.Now()
	var req delivery.DeliveryRequest
	if err := json.Unmarshal(tc.Input.Request, &req); err != nil {
		t.Fatalf("decoding request: %v", err)
	}
	parsing := durationMillis(time.Since(parseStart))
	decision, err := engine.Decide(context.Background(), &req,
		WithSessionID(tc.Input.SessionID), WithLocationHint(tc.Input.LocationHint), WithParsingTime(parsing))
	if err != nil {
		t.Fatalf("Decide: %v", err)
	}
	if len(tc.Output) > 0 {
		var want any
		if err := json.Unmarshal(tc.Output, &want); err != nil {
			t.Fatal(err)
		}
		got := sdktesting.RenderResponse(t, decision.Response)
		if err := sdktesting.MatchSubset(got, want, "response"); err != nil {
			t.Errorf("%v\ngot: %s", err, mustJSON(got))
		}
	}
	if tc.NotificationOutput != nil {
		notification := decision.NotificationRequest(engine.TakeTelemetry()...)
		if string(*tc.NotificationOutput) == "null" {
			if notification != nil {
				t.Errorf("want no notification call, got %s", mustJSON(notification))
			}
			return
		}
		if notification == nil {
			t.Fatalf("want a notification call, got none")
		}
		var want any
		if err := json.Unmarshal(*tc.NotificationOutput, &want); err != nil {
			t.Fatal(err)
		}
		got := map[string]any{"request": generic(t, notification)}
		if err := sdktesting.MatchSubset(got, want, "notification"); err != nil {
			t.Errorf("%v\ngot: %s", err, mustJSON(got))
		}
	}
}

func generic(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encoding: %v", err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("decoding: %v", err)
	}
	return out
}

func mustJSON(v any) string {
	data, _ := json.Marshal(v)
	return string(data)
}
