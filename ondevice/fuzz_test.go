package ondevice

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/internal/sdktesting"
)

// suiteSeeds returns the suites' inline artifacts and their requests.
func suiteSeeds(tb testing.TB) (artifacts, requests [][]byte) {
	tb.Helper()
	for _, file := range sdktesting.SuiteFiles(tb) {
		data, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		var suite struct {
			Artifact json.RawMessage `json:"artifact"`
			Test     map[string]struct {
				Artifact json.RawMessage `json:"artifact"`
				Input    struct {
					Request json.RawMessage `json:"request"`
				} `json:"input"`
			} `json:"test"`
		}
		if err := json.Unmarshal(data, &suite); err != nil {
			tb.Fatal(err)
		}
		for _, tc := range suite.Test {
			if len(tc.Artifact) > 0 && tc.Artifact[0] == '{' {
				artifacts = append(artifacts, tc.Artifact)
			}
			requests = append(requests, tc.Input.Request)
		}
	}
	return artifacts, requests
}

func FuzzParseArtifact(f *testing.F) {
	for _, file := range sdktesting.ArtifactFiles(f) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	inline, _ := suiteSeeds(f)
	for _, a := range inline {
		f.Add(a)
	}
	f.Add(demo.Artifact())
	f.Add([]byte(`{"version":"1.0.0","rules":{"mboxes":{"m":[{"condition":{"var":[{"cat":["a"]}]}}]}}}`))
	req, err := delivery.DecodeRequest([]byte(`{"context":{"channel":"web","address":{"url":"http://a.example.com/?q#f"}},
		"execute":{"mboxes":[{"index":1,"name":"m","parameters":{"a.b":"C"}}],"pageLoad":{}},
		"prefetch":{"views":[{}],"mboxes":[{"index":2,"name":"m"}]},"trace":{}}`))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseArtifact(data, nil)
		if err != nil {
			var ae *ArtifactError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v is not an *ArtifactError", err)
			}
			return
		}
		// Every parsed artifact decides without panicking, whatever its rules.
		e := &Engine{config: config{client: "fuzz", clock: systemClock{}, logger: nopLogger(), telemetryEnabled: true}}
		e.current.Store(a)
		if _, err := e.Decide(context.Background(), req); err != nil {
			t.Fatalf("Decide: %v", err)
		}
	})
}

// FuzzDecideDecodedRequest: every request the one decoder accepts is
// decided, and the answer encodes.
func FuzzDecideDecodedRequest(f *testing.F) {
	_, requests := suiteSeeds(f)
	for _, r := range requests {
		f.Add(r)
	}
	f.Add([]byte(`{"context":{"channel":"web"},"execute":{"mboxes":[{"name":""}]}}`))
	f.Add([]byte(`{"context":{"channel":"web"}} trailing`))
	f.Add([]byte(`[]`))
	engine, err := New(WithClient(demo.Client), WithArtifactPayload(demo.Artifact()),
		WithClock(fixedClock{time.Date(2026, 3, 25, 1, 5, 0, 0, time.UTC)}), WithGeoLookup(noGeo))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { engine.Close() })
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := delivery.DecodeRequest(data)
		if err != nil {
			var fe *delivery.FieldError
			if !errors.As(err, &fe) || fe.Reason == "" {
				t.Fatalf("error %v is not a *delivery.FieldError saying why", err)
			}
			return
		}
		d, err := engine.Decide(context.Background(), req)
		if err != nil {
			t.Fatalf("Decide: %v", err)
		}
		if _, err := json.Marshal(d.Response); err != nil {
			t.Fatalf("encoding the response: %v", err)
		}
	})
}

func nopLogger() *zap.Logger { return zap.NewNop() }

func noGeo(context.Context, string) (*delivery.Geo, error) { return nil, nil }
