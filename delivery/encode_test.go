package delivery_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/targetflow/targetflow/delivery"
)

// AppendResponseJSON writes what encoding/json writes with HTML escaping
// off: checked here on the specification's example responses and a response
// that uses every field; the ondevice package checks it on every decision
// of the conformance suites and fuzzes it.
func TestAppendResponseJSONMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	lat := 1.5
	rich := &delivery.DeliveryResponse{
		Status: 200, RequestID: "r", Client: "c", EdgeHost: "mboxedge1.tt.omtrdc.net", TelemetryServerToken: "tok",
		ID: &delivery.VisitorID{TntID: "t", ThirdPartyID: "p", MarketingCloudVisitorID: "m",
			CustomerIDs: []delivery.CustomerID{{ID: "u", IntegrationCode: "crm", AuthenticatedState: delivery.AuthAuthenticated}}},
		Execute: &delivery.ExecuteResponse{
			PageLoad: &delivery.PageLoadResponse{Options: []delivery.Option{{Type: delivery.OptionActions, Content: json.RawMessage(`[{"type":"setHtml","content":"<p>&</p>"}]`)}}, State: "s"},
			Mboxes: []delivery.MboxResponse{{Index: 0, Name: "hero", Options: []delivery.Option{{Type: delivery.OptionJSON,
				Content: json.RawMessage(`{ "a" : [1.50, 2e3] }`), ResponseTokens: delivery.ResponseTokens{"n": 1.0, "s": "x", "l": []any{"a", 2.0}, "f": lat}}},
				Metrics:   []delivery.Metric{{Type: delivery.MetricClick, Selector: "#b", EventToken: "e"}},
				Analytics: &delivery.AnalyticsResponse{Payload: &delivery.AnalyticsPayload{PE: "tnt", TNTA: "1:2:3"}},
				Trace:     delivery.TraceResponse{"k": map[string]any{"v": true}}}},
		},
		Prefetch: &delivery.PrefetchResponse{
			Views:   []delivery.View{{ID: 3, Name: "home", Key: "k", Metrics: []delivery.Metric{}, State: "st"}},
			Mboxes:  []delivery.PrefetchMboxResponse{{Index: 2, Name: "cart", State: "st", Options: []delivery.Option{{Type: delivery.OptionHTML, Content: json.RawMessage(`"<b>x</b>"`), EventToken: "ev"}}}},
			Metrics: []delivery.Metric{{Type: delivery.MetricDisplay, EventToken: "m"}},
		},
		Notifications: []delivery.NotificationResponse{{ID: "n1"}},
	}
	responses := map[string]*delivery.DeliveryResponse{"every field": rich, "empty": {}}
	dir := sharedPath("TARGETFLOW_OPENAPI", "target-openapi")
	for _, name := range []string{"responseForPrefetchViewsForMobileChannel.json", "responseForPrefetchViewsForWebChannel.json"} {
		raw, err := os.ReadFile(filepath.Join(dir, "delivery", "examples", name))
		if err != nil {
			continue // the specification is optional here; the rich response covers the encoder
		}
		var r delivery.DeliveryResponse
		if err := json.Unmarshal(trailingComma.ReplaceAll(raw, []byte("$1")), &r); err != nil {
			t.Fatal(err)
		}
		responses[name] = &r
	}
	for name, r := range responses {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			t.Fatal(err)
		}
		got := delivery.AppendResponseJSON(nil, r)
		if w := bytes.TrimSuffix(want.Bytes(), []byte("\n")); !bytes.Equal(got, w) {
			t.Errorf("%s:\nAppendResponseJSON %s\nencoding/json      %s", name, got, w)
		}
	}
}
