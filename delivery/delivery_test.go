package delivery_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/targetflow/targetflow/delivery"
)

// trailingComma matches the trailing commas that make one of the
// specification's own examples invalid JSON.
var trailingComma = regexp.MustCompile(`,(\s*[}\]])`)

func generic(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("decode as generic JSON: %v", err)
	}
	return v
}

func TestSpecExamplesRoundTrip(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(sharedDir(t, "TARGETFLOW_OPENAPI", "target-openapi"), "delivery", "examples")
	tests := []struct {
		file string
		into func() any
	}{
		{"notificationsForDisplayedContent.json", func() any { return new(delivery.DeliveryRequest) }},
		{"responseForPrefetchViewsForMobileChannel.json", func() any { return new(delivery.DeliveryResponse) }},
		{"responseForPrefetchViewsForWebChannel.json", func() any { return new(delivery.DeliveryResponse) }},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			raw = trailingComma.ReplaceAll(raw, []byte("$1"))
			v := tt.into()
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(v); err != nil {
				t.Fatalf("decode %s strictly: %v", tt.file, err)
			}
			encoded, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if want, got := generic(t, raw), generic(t, encoded); !reflect.DeepEqual(want, got) {
				t.Errorf("round trip changed %s:\nwant %v\n got %v", tt.file, want, got)
			}
		})
	}
}

// TestConformanceRequestsDecode decodes every request of Adobe's conformance
// suites and checks that encoding is stable: decode, encode, decode again
// gives the same value.
func TestConformanceRequestsDecode(t *testing.T) {
	t.Parallel()
	sharedDir(t, "TARGETFLOW_SDK_TESTING", "target-sdk-testing")
	count := 0
	for _, tc := range conformanceCases(t) {
		if len(tc.Request) == 0 {
			continue
		}
		var first, second delivery.DeliveryRequest
		if err := json.Unmarshal(tc.Request, &first); err != nil {
			t.Errorf("%s: decode: %v", tc.Name, err)
			continue
		}
		encoded, err := json.Marshal(&first)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(encoded, &second); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(first, second) {
			t.Errorf("%s: encoding is not stable:\n%+v\n%+v", tc.Name, first, second)
		}
		count++
	}
	if count < 50 {
		t.Errorf("decoded %d conformance requests, want all of them (more than 50)", count)
	}
}

// Offer content is kept exactly as decoded; encoding keeps key order, number
// literals and string escapes, and drops only insignificant white space
// (encoding/json compacts every raw value it writes).
func TestOptionContentPreserved(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, content string }{
		{"object with odd spacing and key order", `{ "z":1,  "a" : [1.50, 2e3, 12345678901234567890] }`},
		{"html string with escapes", `"<p class=\"x\">caf\u00e9 &amp; more</p>"`},
		{"actions array", `[{"type":"setHtml","selector":"#hero","content":"Hi"}]`},
		{"null", `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := `{"type":"json","content":` + tt.content + `,"eventToken":"tok"}`
			var o delivery.Option
			if err := json.Unmarshal([]byte(in), &o); err != nil {
				t.Fatal(err)
			}
			if string(o.Content) != tt.content {
				t.Fatalf("decoded content = %s, want it byte for byte: %s", o.Content, tt.content)
			}
			var out bytes.Buffer
			enc := json.NewEncoder(&out)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(o); err != nil {
				t.Fatal(err)
			}
			want := `{"type":"json","content":` + string(compact(t, []byte(tt.content))) + `,"eventToken":"tok"}` + "\n"
			if out.String() != want {
				t.Errorf("encoded\n%s want\n%s", out.String(), want)
			}
		})
	}
}

func compact(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestMeaningfulZeroValuesSurvive(t *testing.T) {
	t.Parallel()
	in := `{"context":{"channel":"web","timeOffsetInMinutes":0,"geo":{"latitude":0,"longitude":0},"clientHints":{"mobile":false}},"execute":{"mboxes":[{"index":0,"name":"hero"}]}}`
	var r delivery.DeliveryRequest
	if err := json.Unmarshal([]byte(in), &r); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(&r)
	if err != nil {
		t.Fatal(err)
	}
	if want, got := generic(t, []byte(in)), generic(t, out); !reflect.DeepEqual(want, got) {
		t.Errorf("zero values lost:\nwant %s\n got %s", in, out)
	}
}

func TestParametersAcceptScalars(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     delivery.Parameters
		wantErr  string
	}{
		{"strings", `{"a":"1","b":"x"}`, delivery.Parameters{"a": "1", "b": "x"}, ""},
		{"number and bool kept as text", `{"w":1024,"f":1.5e2,"ok":true,"s":"y"}`, delivery.Parameters{"w": "1024", "f": "1.5e2", "ok": "true", "s": "y"}, ""},
		{"null is empty", `{"a":null,"b":"2"}`, delivery.Parameters{"a": "", "b": "2"}, ""},
		{"null among numbers is empty", `{"a":null,"b":2}`, delivery.Parameters{"a": "", "b": "2"}, ""},
		{"object refused", `{"a":"1","nested":{"x":1}}`, nil, `parameter "nested"`},
		{"array refused", `{"list":[1]}`, nil, `parameter "list"`},
		{"not an object", `[1]`, nil, "parameters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var p delivery.Parameters
			err := json.Unmarshal([]byte(tt.in), &p)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p, tt.want) {
				t.Errorf("got %v, want %v", p, tt.want)
			}
		})
	}
}

func TestEnumsValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		valid bool
	}{
		{"web", delivery.ChannelType("web").Valid()},
		{"mobile", delivery.ChannelMobile.Valid()},
		{"tv channel", !delivery.ChannelType("tv").Valid()},
		{"hybrid", delivery.DecisioningHybrid.Valid()},
		{"on-device", delivery.DecisioningMethod("on-device").Valid()},
		{"edge-side", !delivery.DecisioningMethod("edge-side").Valid()},
		{"display", delivery.MetricDisplay.Valid()},
		{"hover", !delivery.MetricType("hover").Valid()},
		{"actions", delivery.OptionActions.Valid()},
		{"image", !delivery.OptionType("image").Valid()},
		{"server_side", delivery.LoggingServerSide.Valid()},
		{"local", delivery.ExecutionLocal.Valid()},
		{"tablet", delivery.DeviceTablet.Valid()},
		{"ios", delivery.PlatformIOS.Valid()},
		{"landscape", delivery.OrientationLandscape.Valid()},
		{"logged_out", delivery.AuthLoggedOut.Valid()},
		{"empty state", !delivery.AuthenticatedState("").Valid()},
	}
	for _, tt := range tests {
		if !tt.valid {
			t.Errorf("%s: Valid() answered wrongly", tt.name)
		}
	}
}

func TestOptionActions(t *testing.T) {
	t.Parallel()
	o := delivery.Option{Type: delivery.OptionActions, Content: json.RawMessage(`[{"type":"setHtml","selector":"#a","cssSelector":"#a","content":"x"}]`)}
	actions, err := o.Actions()
	if err != nil {
		t.Fatal(err)
	}
	if len(actions) != 1 || actions[0].Type != "setHtml" || string(actions[0].Content) != `"x"` {
		t.Errorf("actions = %+v", actions)
	}
	if _, err := (&delivery.Option{Type: delivery.OptionJSON, Content: json.RawMessage(`{}`)}).Actions(); err == nil {
		t.Error("Actions on a json option: want an error naming the type")
	}
	if _, err := (&delivery.Option{Type: delivery.OptionActions, Content: json.RawMessage(`{}`)}).Actions(); err == nil {
		t.Error("Actions on an object: want a decode error")
	}
}

func TestUnexpectedErrorMessage(t *testing.T) {
	t.Parallel()
	var e delivery.UnexpectedError
	if err := json.Unmarshal([]byte(`{"status":400,"message":"imsOrgId is required"}`), &e); err != nil {
		t.Fatal(err)
	}
	if got, want := e.Error(), "delivery API error 400: imsOrgId is required"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

const richRequest = `{
  "requestId":"r1","impressionId":"i1",
  "id":{"tntId":"t.28_0","customerIds":[{"id":"u1","integrationCode":"crm","authenticatedState":"authenticated"}]},
  "environmentId":42,"property":{"token":"p"},"trace":{"authorizationToken":"a","usage":{"k":"v"}},
  "context":{"channel":"web","address":{"url":"https://x/"},"geo":{"latitude":1.5},"timeOffsetInMinutes":60,
    "clientHints":{"mobile":true},"screen":{"width":100},"browser":{"host":"x"},"window":{"width":1},
    "mobilePlatform":{"deviceType":"phone","platformType":"ios"},"application":{"id":"a"}},
  "experienceCloud":{"analytics":{"logging":"server_side"},"audienceManager":{"locationHint":3}},
  "execute":{"pageLoad":{"parameters":{"a":"1"},"order":{"total":3,"purchasedProductIds":["p"]}},
    "mboxes":[{"index":1,"name":"hero","parameters":{"b":"2"},"profileParameters":{"c":"3"},"address":{"url":"u"},"product":{"id":"p"}}]},
  "prefetch":{"views":[{"name":"home","parameters":{"d":"4"}}],"pageLoad":{},"mboxes":[{"index":2,"name":"cart"}]},
  "telemetry":{"entries":[{"requestId":"r0","features":{"executeMboxCount":1},"request":{"dns":1}}]},
  "notifications":[{"id":"n1","type":"display","timestamp":1,"tokens":["t"],"mbox":{"name":"hero"},"parameters":{"e":"5"}}],
  "qaMode":{"token":"q","evaluateAsTrueAudienceIds":[1],"previewIndexes":[{"activityIndex":1}]},
  "preview":{"token":"pv"}
}`

func TestCloneIsDeep(t *testing.T) {
	t.Parallel()
	var orig delivery.DeliveryRequest
	if err := json.Unmarshal([]byte(richRequest), &orig); err != nil {
		t.Fatal(err)
	}
	before, _ := json.Marshal(&orig)
	c := orig.Clone()
	if got, _ := json.Marshal(c); !bytes.Equal(got, before) {
		t.Fatalf("clone differs from original:\n%s\n%s", got, before)
	}
	// Change everything reachable in the clone; the original must not move.
	c.ID.TntID = "other"
	c.ID.CustomerIDs[0].ID = "other"
	c.Trace.Usage["k"] = "other"
	c.Context.Address.URL = "other"
	*c.Context.Geo.Latitude = 9
	*c.Context.TimeOffsetInMinutes = 9
	*c.Context.ClientHints.Mobile = false
	c.Context.Screen.Width = 9
	c.Context.MobilePlatform.DeviceType = delivery.DeviceTablet
	c.ExperienceCloud.Analytics.Logging = delivery.LoggingClientSide
	c.Execute.PageLoad.Parameters["a"] = "other"
	*c.Execute.PageLoad.Order.Total = 9
	c.Execute.PageLoad.Order.PurchasedProductIDs[0] = "other"
	c.Execute.Mboxes[0].Parameters["b"] = "other"
	c.Execute.Mboxes[0].ProfileParameters["c"] = "other"
	c.Execute.Mboxes[0].Address.URL = "other"
	c.Execute.Mboxes[0].Product.ID = "other"
	c.Prefetch.Views[0].Parameters["d"] = "other"
	c.Prefetch.Mboxes[0].Name = "other"
	c.Telemetry.Entries[0].Features.ExecuteMboxCount = 9
	c.Telemetry.Entries[0].Request.DNS = 9
	c.Notifications[0].Tokens[0] = "other"
	c.Notifications[0].Mbox.Name = "other"
	c.Notifications[0].Parameters["e"] = "other"
	c.QAMode.EvaluateAsTrueAudienceIDs[0] = 9
	c.QAMode.PreviewIndexes[0].ActivityIndex = 9
	c.Preview.Token = "other"
	c.Property.Token = "other"
	if after, _ := json.Marshal(&orig); !bytes.Equal(after, before) {
		t.Errorf("changing the clone changed the original:\nbefore %s\nafter  %s", before, after)
	}
	if (*delivery.DeliveryRequest)(nil).Clone() != nil {
		t.Error("Clone of nil should be nil")
	}
}

func TestViewMetricsEmptyIsWrittenNilIsNot(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		view delivery.View
		want string
	}{
		{"nil metrics omitted", delivery.View{Name: "home"}, `{"name":"home"}`},
		{"empty metrics written", delivery.View{Name: "home", Metrics: []delivery.Metric{}}, `{"name":"home","metrics":[]}`},
	}
	for _, tt := range tests {
		got, err := json.Marshal(tt.view)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestTelemetryFeaturesCountWhatIsAsked(t *testing.T) {
	t.Parallel()
	r := &delivery.DeliveryRequest{
		Execute:  &delivery.ExecuteRequest{PageLoad: &delivery.RequestDetails{}, Mboxes: []delivery.MboxRequest{{Name: "a"}, {Name: "b", Index: 1}}},
		Prefetch: &delivery.PrefetchRequest{Mboxes: []delivery.MboxRequest{{Name: "c"}}, Views: []delivery.ViewRequest{{}, {Name: "home"}, {Name: "cart"}}},
	}
	got := r.TelemetryFeatures(delivery.DecisioningHybrid)
	want := &delivery.TelemetryFeatures{DecisioningMethod: delivery.DecisioningHybrid, ExecutePageLoad: true, ExecuteMboxCount: 2, PrefetchMboxCount: 1, PrefetchViewCount: 3}
	if *got != *want {
		t.Errorf("got %+v, want %+v", *got, *want)
	}
	if got := (&delivery.DeliveryRequest{}).TelemetryFeatures(delivery.DecisioningServerSide); *got != (delivery.TelemetryFeatures{DecisioningMethod: delivery.DecisioningServerSide}) {
		t.Errorf("empty request: %+v", *got)
	}
}
