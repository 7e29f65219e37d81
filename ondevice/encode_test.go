package ondevice

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/internal/sdktesting"
)

func stdEncode(t testing.TB, r *delivery.DeliveryResponse) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func checkSameEncoding(t *testing.T, what string, r *delivery.DeliveryResponse) {
	t.Helper()
	want, err := stdEncode(t, r)
	if err != nil {
		t.Fatalf("%s: encoding/json: %v", what, err)
	}
	if got := delivery.AppendResponseJSON(nil, r); !bytes.Equal(got, want) {
		t.Fatalf("%s: encodings differ\n got  %s\n want %s", what, got, want)
	}
}

// TestAppendResponseJSONMatchesEncodingJSON compares the fast encoder with
// encoding/json on every conformance decision (traces included) and on
// varied decisions of the demo artifact.
func TestAppendResponseJSONMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	root := sdktesting.Dir(t)
	for _, file := range sdktesting.SuiteFiles(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var suite conformanceSuite
		if err := json.Unmarshal(data, &suite); err != nil {
			t.Fatal(err)
		}
		for name, raw := range suite.Test {
			var tc conformanceCase
			if err := json.Unmarshal(raw, &tc); err != nil {
				t.Fatal(err)
			}
			artifactRaw := suite.Artifact
			if len(tc.Artifact) > 0 {
				artifactRaw = tc.Artifact
			}
			e, err := New(WithClient("c"), WithArtifactPayload(loadSuiteArtifact(t, root, artifactRaw)), WithGeoLookup(noGeo))
			if err != nil {
				t.Fatal(err)
			}
			req, err := delivery.DecodeRequest(tc.Input.Request)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			d, err := e.Decide(context.Background(), req, WithSessionID("s"))
			e.Close()
			if err != nil {
				t.Fatal(err)
			}
			checkSameEncoding(t, name, d.Response)
		}
	}
	e, err := New(WithClient(demo.Client), WithArtifactPayload(demo.Artifact()))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	agents := []string{"", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"}
	for i := 0; i < 200; i++ {
		req := &delivery.DeliveryRequest{
			RequestID: fmt.Sprintf("r%d\u2028<&>", i),
			ID:        &delivery.VisitorID{TntID: fmt.Sprintf("v%d", i), CustomerIDs: []delivery.CustomerID{{ID: "c\x01", IntegrationCode: "x", AuthenticatedState: delivery.AuthAuthenticated}}},
			Context:   &delivery.Context{Channel: delivery.ChannelWeb, UserAgent: agents[i%2]},
			Execute: &delivery.ExecuteRequest{PageLoad: &delivery.RequestDetails{}, Mboxes: []delivery.MboxRequest{
				{Index: 1, Name: demo.MboxHero}, {Index: 2, Name: demo.MboxCart, Parameters: delivery.Parameters{demo.ParamLoyaltyTier: "gold"}},
				{Index: 3, Name: demo.MboxRecommendations}, {Index: 4, Name: "unknown"}}},
			Prefetch: &delivery.PrefetchRequest{Views: []delivery.ViewRequest{{}}, PageLoad: &delivery.RequestDetails{},
				Mboxes: []delivery.MboxRequest{{Index: 1, Name: demo.MboxFeatureFlags}}},
		}
		if i%7 == 0 {
			req.Trace = &delivery.Trace{}
		}
		d, err := e.Decide(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		checkSameEncoding(t, fmt.Sprintf("demo request %d", i), d.Response)
	}
}

// TestAppendResponseJSONKnowsEveryField fails when the wire model gains a
// field the fast encoder does not write: update AppendResponseJSON with it.
func TestAppendResponseJSONKnowsEveryField(t *testing.T) {
	t.Parallel()
	known := map[string][]string{
		"DeliveryResponse":     {"status", "requestId", "id", "client", "edgeHost", "execute", "prefetch", "notifications", "telemetryServerToken"},
		"VisitorID":            {"tntId", "thirdPartyId", "marketingCloudVisitorId", "customerIds"},
		"CustomerID":           {"id", "integrationCode", "authenticatedState"},
		"ExecuteResponse":      {"pageLoad", "mboxes"},
		"PrefetchResponse":     {"views", "pageLoad", "mboxes", "metrics"},
		"MboxResponse":         {"index", "name", "options", "metrics", "analytics", "trace", "state"},
		"PageLoadResponse":     {"options", "metrics", "analytics", "state", "trace"},
		"View":                 {"id", "name", "key", "options", "metrics", "analytics", "state", "trace"},
		"Option":               {"type", "content", "eventToken", "responseTokens"},
		"Metric":               {"type", "selector", "eventToken", "analytics"},
		"NotificationResponse": nil, // encoded by encoding/json
		"AnalyticsResponse":    nil, // encoded by encoding/json
		"AnalyticsPayload":     nil,
	}
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || seen[typ] {
			return
		}
		seen[typ] = true
		want, ok := known[typ.Name()]
		if !ok {
			t.Errorf("type delivery.%s is not known to AppendResponseJSON", typ.Name())
			return
		}
		var names []string
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			names = append(names, name+"/"+opts)
			walk(f.Type)
		}
		if want == nil {
			return
		}
		var got []string
		for _, n := range names {
			name, _, _ := strings.Cut(n, "/")
			got = append(got, name)
		}
		if !slices.Equal(got, want) {
			t.Errorf("delivery.%s fields %v; AppendResponseJSON writes %v", typ.Name(), names, want)
		}
	}
	walk(reflect.TypeOf(delivery.DeliveryResponse{}))
}

func FuzzAppendResponseJSON(f *testing.F) {
	f.Add([]byte(`{"status":200,"requestId":"r","id":{"tntId":"t"},"execute":{"mboxes":[{"index":1,"name":"m","options":[{"type":"html","content":"<b>\u2028</b>","responseTokens":{"a":1e-7,"b":[true,null,{"c":"d"}]}}]}]}}`))
	f.Add([]byte(`{"prefetch":{"views":[{"id":3,"name":"v","metrics":[{"type":"click","selector":"#a","eventToken":"e","analytics":{"payload":{"pe":"x"}}}],"trace":{"k":[1,2]}}],"metrics":[{}]},"notifications":[{"id":"n","trace":{"a":"b"}}]}`))
	f.Add([]byte(`{"execute":{"pageLoad":{"options":[{"content":{ "a" : [ 1 , 2 ] }}],"state":"s"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r delivery.DeliveryResponse
		if json.Unmarshal(data, &r) != nil {
			return
		}
		want, err := stdEncode(t, &r)
		if err != nil {
			return
		}
		if got := delivery.AppendResponseJSON(nil, &r); !bytes.Equal(got, want) {
			t.Fatalf("encodings differ\n got  %s\n want %s", got, want)
		}
	})
}

func BenchmarkAppendResponseJSON(b *testing.B) {
	e, err := New(WithClient(demo.Client), WithArtifactPayload(demo.Artifact()))
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	d, err := e.Decide(context.Background(), benchRequest([]string{demo.MboxHero, demo.MboxCart, demo.MboxFeatureFlags}))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("AppendResponseJSON", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 8<<10)
		for b.Loop() {
			buf = delivery.AppendResponseJSON(buf[:0], d.Response)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		for b.Loop() {
			buf.Reset()
			if err := enc.Encode(d.Response); err != nil {
				b.Fatal(err)
			}
		}
	})
}
