package delivery_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/targetflow/targetflow/delivery"
)

// optionWithoutMethod is delivery.Option as the v2 engine decodes it by
// reflection: the oracle for Option's own decoder.
type optionWithoutMethod struct {
	Type           delivery.OptionType `json:"type,omitempty"`
	Content        json.RawMessage     `json:"content,omitempty"`
	EventToken     string              `json:"eventToken,omitempty"`
	ResponseTokens map[string]any      `json:"responseTokens,omitempty"`
}

// decodeBoth decodes data as an Option with its decoder and with the v2
// engine's reflection, with the options the client uses.
func decodeBoth(data []byte) (fast delivery.Option, fastErr error, slow optionWithoutMethod, slowErr error) {
	opts := jsontext.AllowInvalidUTF8(true)
	fastErr = jsonv2.Unmarshal(data, &fast, opts)
	slowErr = jsonv2.Unmarshal(data, &slow, opts)
	return
}

func sameOption(fast delivery.Option, slow optionWithoutMethod) bool {
	return fast.Type == slow.Type && bytes.Equal(fast.Content, slow.Content) &&
		fast.EventToken == slow.EventToken &&
		reflect.DeepEqual(map[string]any(fast.ResponseTokens), slow.ResponseTokens)
}

// The option decoder gives what the engine's reflection gives, value for
// value, and fails where it fails.
func TestOptionDecoderMatchesEngine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{"json offer", `{"type":"json","content":{"a":[1.50, 2e3]},"responseTokens":{"activity.id":910001,"activity.name":"Hero","experience.id":0,"offer.name":"/o","option.id":2,"activity.decisioningMethod":"server-side"}}`, false},
		{"html offer with event token", `{"type":"html","content":"<b>x</b>","eventToken":"abc=="}`, false},
		{"actions", `{"type":"actions","content":[{"type":"setHtml","selector":"#a","content":"x"}]}`, false},
		{"whitespace kept in content", "{ \"content\" : { \"a\" :\n 1 } , \"type\" : \"json\" }", false},
		{"null content", `{"type":"html","content":null}`, false},
		{"null members", `{"type":null,"eventToken":null,"responseTokens":null}`, false},
		{"unknown members ignored", `{"extra":{"x":[1,{"y":null}]},"type":"html","more":true}`, false},
		{"escaped names", `{"\u0074ype":"html","event\u0054oken":"e","responseTokens":{"activity\u002eid":1,"\u00e9t\u00e9":"summer"}}`, false},
		{"non-ASCII names and values", `{"responseTokens":{"profile.ville":"Zürich","géo":"été"}}`, false},
		{"invalid UTF-8 allowed and replaced", "{\"eventToken\":\"a\xffb\",\"responseTokens\":{\"k\xfe\":\"v\xfd\"}}", false},
		{"token values of every kind", `{"responseTokens":{"s":"x","n":-1.25e-3,"t":true,"f":false,"z":null,"l":["a",2],"o":{"k":[true]}}}`, false},
		{"empty tokens", `{"responseTokens":{}}`, false},
		{"option null", `null`, false},
		{"type of the wrong kind", `{"type":5}`, true},
		{"event token of the wrong kind", `{"eventToken":{}}`, true},
		{"tokens of the wrong kind", `{"responseTokens":[1]}`, true},
		{"duplicate name", `{"type":"html","type":"json"}`, true},
		{"duplicate token", `{"responseTokens":{"a":1,"a":2}}`, true},
		{"option of the wrong kind", `[]`, true},
		{"truncated", `{"type":"html","responseTokens":{"a":`, true},
		{"bad number", `{"responseTokens":{"a":01}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fast, fastErr, slow, slowErr := decodeBoth([]byte(tt.in))
			if (fastErr != nil) != tt.wantErr || (slowErr != nil) != tt.wantErr {
				t.Fatalf("errors: decoder %v, engine %v; want error: %v", fastErr, slowErr, tt.wantErr)
			}
			if !tt.wantErr && !sameOption(fast, slow) {
				t.Errorf("decoder %+v\nengine  %+v", fast, slow)
			}
		})
	}
}

// Inside a response the decoders meet the options the client passes, and a
// wrong member names where it is.
func TestResponseDecodeNamesTheBadMember(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, at string }{
		{`{"execute":{"mboxes":[{"index":0,"name":"a","options":[{"type":"html","responseTokens":{"ok":1}},{"type":7}]}]}}`, "/execute/mboxes/0/options/1/type"},
		{`{"execute":{"mboxes":[{"index":0},{"index":1.5}]}}`, "/execute/mboxes/1/index"},
		{`{"prefetch":{"mboxes":[{"index":"0"}]}}`, "/prefetch/mboxes/0/index"},
		{`{"status":"200"}`, "/status"},
		{`{"id":{"tntId":5}}`, "/id/tntId"},
		{`{"execute":{"mboxes":[{"index":0,"options":[{"responseTokens":{"a":[1,}}]}]}}`, ""},
	}
	for _, tt := range tests {
		var r delivery.DeliveryResponse
		err := jsonv2.Unmarshal([]byte(tt.in), &r)
		if tt.at == "" {
			var syntactic *jsontext.SyntacticError
			if !errors.As(err, &syntactic) {
				t.Errorf("%s: error %v (%T), want a *jsontext.SyntacticError", tt.in, err, err)
			}
			continue
		}
		var semantic *jsonv2.SemanticError
		if !errors.As(err, &semantic) {
			t.Errorf("%s: error %v (%T), want a *json.SemanticError", tt.in, err, err)
			continue
		}
		if semantic.JSONPointer != jsontext.Pointer(tt.at) {
			t.Errorf("%s: error at %q, want %q (%v)", tt.in, semantic.JSONPointer, tt.at, err)
		}
	}
}

// Every response of the specification's examples and the conformance
// suites decodes to what encoding/json (which does not know the decoders)
// decodes.
func TestResponsesDecodeAsEncodingJSONDoes(t *testing.T) {
	t.Parallel()
	var corpus [][]byte
	openapi := sharedPath("TARGETFLOW_OPENAPI", "target-openapi")
	for _, name := range []string{"responseForPrefetchViewsForMobileChannel.json", "responseForPrefetchViewsForWebChannel.json"} {
		if raw, err := os.ReadFile(filepath.Join(openapi, "delivery", "examples", name)); err == nil {
			corpus = append(corpus, trailingComma.ReplaceAll(raw, []byte("$1")))
		}
	}
	for _, tc := range conformanceCases(t) {
		if bytes.HasPrefix(bytes.TrimSpace(tc.Output), []byte("{")) {
			corpus = append(corpus, tc.Output)
		}
	}
	if len(corpus) == 0 {
		t.Skip("neither the OpenAPI examples nor the conformance suites found; set TARGETFLOW_OPENAPI / TARGETFLOW_SDK_TESTING")
	}
	compared := 0
	for i, raw := range corpus {
		var want, got delivery.DeliveryResponse
		if err := json.Unmarshal(raw, &want); err != nil {
			// Some suite outputs are patterns for a matcher ("expect.any"
			// in place of the response tokens), not responses.
			continue
		}
		compared++
		if err := jsonv2.Unmarshal(raw, &got, jsontext.AllowInvalidUTF8(true)); err != nil {
			t.Fatalf("response %d: v2 with the decoders: %v", i, err)
		}
		if !reflect.DeepEqual(want, got) {
			t.Errorf("response %d decodes differently:\nencoding/json %s\ndecoders      %s", i,
				delivery.AppendResponseJSON(nil, &want), delivery.AppendResponseJSON(nil, &got))
		}
		// And read from a buffer, by the quick path when it takes it.
		if read, err := delivery.ReadResponse(bytes.NewBuffer(raw)); err == nil && !reflect.DeepEqual(&want, read) {
			t.Errorf("response %d reads differently:\nencoding/json %s\nReadResponse  %s", i,
				delivery.AppendResponseJSON(nil, &want), delivery.AppendResponseJSON(nil, read))
		}
	}
	if compared < len(corpus)/2 {
		t.Errorf("only %d of %d responses decode with encoding/json", compared, len(corpus))
	}
	t.Logf("%d responses decode alike", compared)
}

// The answer as the v2 engine decodes it by reflection, down to the
// options: the oracle for the decoders of the answer's sections.
type (
	responseWithoutMethods struct {
		Status               int                             `json:"status,omitempty"`
		RequestID            string                          `json:"requestId,omitempty"`
		ID                   *visitorIDWithoutMethod         `json:"id,omitempty"`
		Client               string                          `json:"client,omitempty"`
		EdgeHost             string                          `json:"edgeHost,omitempty"`
		Execute              *executeWithoutMethod           `json:"execute,omitempty"`
		Prefetch             *prefetchWithoutMethod          `json:"prefetch,omitempty"`
		Notifications        []delivery.NotificationResponse `json:"notifications,omitempty"`
		TelemetryServerToken string                          `json:"telemetryServerToken,omitempty"`
	}
	visitorIDWithoutMethod struct {
		TntID                   string                `json:"tntId,omitempty"`
		ThirdPartyID            string                `json:"thirdPartyId,omitempty"`
		MarketingCloudVisitorID string                `json:"marketingCloudVisitorId,omitempty"`
		CustomerIDs             []delivery.CustomerID `json:"customerIds,omitempty"`
	}
	executeWithoutMethod struct {
		PageLoad *delivery.PageLoadResponse `json:"pageLoad,omitempty"`
		Mboxes   []mboxWithoutMethod        `json:"mboxes,omitempty"`
	}
	prefetchWithoutMethod struct {
		Views    []delivery.View            `json:"views,omitempty"`
		PageLoad *delivery.PageLoadResponse `json:"pageLoad,omitempty"`
		Mboxes   []mboxWithoutMethod        `json:"mboxes,omitempty"`
		Metrics  []delivery.Metric          `json:"metrics,omitempty"`
	}
	mboxWithoutMethod struct {
		Index     int                         `json:"index"`
		Name      string                      `json:"name,omitempty"`
		Options   []optionWithoutMethod       `json:"options,omitempty"`
		Metrics   []delivery.Metric           `json:"metrics,omitempty"`
		Analytics *delivery.AnalyticsResponse `json:"analytics,omitempty"`
		Trace     delivery.TraceResponse      `json:"trace,omitempty"`
		State     string                      `json:"state,omitempty"`
	}
)

// compareResponseDecoders decodes data with the decoders and with the
// engine's reflection, as the client does, and reports a difference: in
// whether it fails, or in what it decodes to (compared as encoding/json
// writes both).
func compareResponseDecoders(t *testing.T, data []byte) {
	t.Helper()
	opts := jsonv2.JoinOptions(jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))
	var fast delivery.DeliveryResponse
	var slow responseWithoutMethods
	fastErr := jsonv2.Unmarshal(data, &fast, opts)
	slowErr := jsonv2.Unmarshal(data, &slow, opts)
	if (fastErr != nil) != (slowErr != nil) {
		t.Fatalf("%q: decoder error %v, engine error %v", data, fastErr, slowErr)
	}
	if fastErr != nil {
		return
	}
	fastJSON, fastErr := json.Marshal(&fast)
	slowJSON, slowErr := json.Marshal(&slow)
	if (fastErr != nil) != (slowErr != nil) || !bytes.Equal(fastJSON, slowJSON) {
		t.Fatalf("%q:\ndecoders %s (%v)\nengine   %s (%v)", data, fastJSON, fastErr, slowJSON, slowErr)
	}
}

func TestResponseDecodersMatchEngine(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{"status":200,"requestId":"r","id":{"tntId":"t.28_0","thirdPartyId":"p","customerIds":[{"id":"u","integrationCode":"c","authenticatedState":"authenticated"}]},"client":"c","edgeHost":"mboxedge28.tt.omtrdc.net","execute":{"pageLoad":{"options":[{"type":"html","content":"x"}]},"mboxes":[{"index":0,"name":"a","options":[{"type":"json","content":{"k":1}}],"metrics":[{"type":"click","selector":"#b","eventToken":"e"}],"analytics":{"payload":{"pe":"tnt","tnta":"1:2:3"}},"trace":{"k":[1]}}]},"telemetryServerToken":"s"}`,
		`{"prefetch":{"views":[{"name":"home","options":[{"type":"actions","content":[]}],"metrics":[]}],"mboxes":[{"index":1,"name":"b","state":"st","options":[{"type":"html","content":"<b>","eventToken":"e"}]}],"metrics":[{"type":"display","eventToken":"m"}]},"notifications":[{"id":"n"}]}`,
		`{"id":null,"execute":null,"prefetch":{"mboxes":[]}}`,
		`{"execute":{"mboxes":[{"index":0,"options":[]},{"index":2}]}}`,
		`{"execute":{"mboxes":[{"name":"x","index":-3}]},"status":204}`,
		`{"execute":{"mboxes":[{"index":1}]},"execute":{"pageLoad":{}}}`,
		`{"execute":{"mboxes":[{"index":1}]},"execute":{"mboxes":[{"name":"again"}]}}`,
		`{"unknown":[{"a":{}}],"id":{"other":1,"tntId":"t"},"execute":{"more":null,"mboxes":[{"extra":true,"index":0}]}}`,
		`{"status":null,"requestId":null,"execute":{"mboxes":null}}`,
		`null`,
		`{"execute":{"mboxes":[{"index":1.5}]}}`,
		`{"execute":{"mboxes":[{"index":"1"}]}}`,
		`{"execute":{"mboxes":[{"index":99999999999999999999}]}}`,
		`{"status":"200"}`,
		`{"id":[]}`,
		`{"execute":[]}`,
		`{"execute":{"mboxes":{}}}`,
		`{"prefetch":{"mboxes":[1]}}`,
		`{"execute":{"mboxes":[null,{"index":1,"options":[null,{"type":"html"}]}]}}`,
		`{"execute":{"mboxes":[{"index":0,"options":[{"responseTokens":null}]}]},"id":{"tntId":null}}`,
		`{"execute":{"mboxes":[{"index":0,"options":[{"type":1}]}]}}`,
		`{"execute":{"mboxes":[{"index":0`,
		`[]`,
	} {
		compareResponseDecoders(t, []byte(in))
	}
}

func FuzzResponseDecoders(f *testing.F) {
	for _, seed := range []string{
		`{"status":200,"id":{"tntId":"t"},"execute":{"mboxes":[{"index":0,"name":"a","options":[{"type":"html","content":"x","responseTokens":{"a":1}}]}]},"prefetch":{"mboxes":[{"index":1,"state":"s"}]}}`,
		`{"execute":null,"prefetch":{"mboxes":[]}}`,
		`{"execute":{"mboxes":[{"index":1.5}]}}`,
		`{"id":{"tntId":"a"},"id":{"thirdPartyId":"b"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		compareResponseDecoders(t, data)
	})
}

func FuzzOptionDecoder(f *testing.F) {
	for _, seed := range []string{
		`{"type":"json","content":{"a":1},"eventToken":"e","responseTokens":{"activity.id":1,"x":"y","l":[1],"b":true,"n":null}}`,
		`{"\u0074ype":"html","content":"x"}`,
		`{"responseTokens":{"a":1,"a":2}}`,
		`null`, `{"type":1}`, "{\"eventToken\":\"\xff\"}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, fastErr, slow, slowErr := decodeBoth(data)
		if (fastErr != nil) != (slowErr != nil) {
			t.Fatalf("%q: decoder error %v, engine error %v", data, fastErr, slowErr)
		}
		if fastErr == nil && !sameOption(fast, slow) {
			t.Fatalf("%q:\ndecoder %+v\nengine  %+v", data, fast, slow)
		}
	})
}

// responseBenchmarkAnswer is a 2-mbox answer as the demo edge writes it.
var responseBenchmarkAnswer = []byte(`{"status":200,"requestId":"59d7445b-991a-4d89-b724-74f85f702d74","id":{"tntId":"00000000000000000000000000000008"},"client":"targetflow-demo","edgeHost":"mboxedge28.tt.omtrdc.net","execute":{"mboxes":[` +
	`{"index":0,"name":"hero","options":[{"type":"json","content":{"cta":"Start shopping","headline":"Free shipping on every order","image":"/img/hero-shipping.jpg"},"responseTokens":{"activity.decisioningMethod":"server-side","activity.id":910001,"activity.name":"Hero banner test","experience.id":1,"experience.name":"Free shipping","offer.id":9100011,"offer.name":"/hero/experiences/1/offer","option.id":3,"option.name":"Offer3"}}]},` +
	`{"index":1,"name":"cart","options":[{"type":"html","content":"<div class=\"cart-banner\">Free returns within 30 days</div>","responseTokens":{"activity.decisioningMethod":"server-side","activity.id":910002,"activity.name":"Cart incentives","experience.id":2,"experience.name":"Everybody else","offer.id":9100022,"offer.name":"/cart/experiences/2/offer","option.id":4,"option.name":"Offer4"}}]}]}}`)

func BenchmarkDecodeResponse(b *testing.B) {
	raw := responseBenchmarkAnswer
	// The options target.Client decodes with.
	opts := jsonv2.JoinOptions(jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))
	b.Run("v2 with the decoders", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r delivery.DeliveryResponse
			if err := jsonv2.Unmarshal(raw, &r, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ReadResponse streaming", func(b *testing.B) {
		b.ReportAllocs()
		var body bytes.Reader
		for b.Loop() {
			body.Reset(raw)
			if _, err := delivery.ReadResponse(&body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ReadResponse from a buffer", func(b *testing.B) {
		b.ReportAllocs()
		var body bytes.Buffer
		for b.Loop() {
			body.Reset()
			body.Write(raw)
			if _, err := delivery.ReadResponse(&body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("DecodeResponse with shared tokens", func(b *testing.B) {
		// The client's path for an answer read whole into its buffer.
		b.ReportAllocs()
		tokens := delivery.NewSharedObjects(64, 1<<20)
		for b.Loop() {
			if _, _, err := delivery.DecodeResponse(raw, tokens); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r delivery.DeliveryResponse
			if err := json.Unmarshal(raw, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// An answer decoded on the encoding/json/v2 engine goes through the
// decoders, with the options target.Client uses.
func ExampleDeliveryResponse_UnmarshalJSONFrom() {
	answer := []byte(`{"status":200,"id":{"tntId":"abc.28_0"},"execute":{"mboxes":[{"index":0,"name":"hero",` +
		`"options":[{"type":"json","content":{"headline":"Free shipping"},"responseTokens":{"experience.name":"Free shipping","activity.id":910001}}]}]}}`)
	var r delivery.DeliveryResponse
	opts := jsonv2.JoinOptions(jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))
	if err := jsonv2.Unmarshal(answer, &r, opts); err != nil {
		fmt.Println(err)
		return
	}
	option := r.Execute.Mboxes[0].Options[0]
	fmt.Println(r.ID.TntID, r.Execute.Mboxes[0].Name, string(option.Content))
	fmt.Println(option.ResponseTokens["experience.name"], option.ResponseTokens["activity.id"])
	// Output:
	// abc.28_0 hero {"headline":"Free shipping"}
	// Free shipping 910001
}

// BenchmarkDecodeResponseSideBySide decodes the answer of
// BenchmarkDecodeResponse three ways, alternating in batches of 200 within
// one process: by the engine's decoders from bytes (jsonv2.Unmarshal, the
// client's path before ReadResponse), by the quick path (ReadResponse from a
// buffer, the client's path for answers of up to 32 KiB) and by the
// engine's decoders streaming from a reader (ReadResponse from anything
// else, the client's path for longer answers). It reports the process CPU
// per answer of each and the ratios to the first (ns/op counts all three):
// on a shared machine, whose load swings the time of any one run, ratios
// measured side by side hold.
func BenchmarkDecodeResponseSideBySide(b *testing.B) {
	raw := responseBenchmarkAnswer
	opts := jsonv2.JoinOptions(jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true))
	var buf bytes.Buffer
	variants := [3]func(){
		func() {
			var r delivery.DeliveryResponse
			if err := jsonv2.Unmarshal(raw, &r, opts); err != nil {
				b.Fatal(err)
			}
		},
		func() {
			buf.Reset()
			buf.Write(raw)
			if _, err := delivery.ReadResponse(&buf); err != nil {
				b.Fatal(err)
			}
		},
		func() {
			if _, err := delivery.ReadResponse(bytes.NewReader(raw)); err != nil {
				b.Fatal(err)
			}
		},
	}
	const batch = 200
	var cpu [3]time.Duration
	done := 0
	for b.Loop() {
		if done%batch == 0 {
			for v := range variants {
				start := processCPU(b)
				for range batch {
					variants[v]()
				}
				cpu[v] += processCPU(b) - start
			}
		}
		done++
	}
	batches := (done + batch - 1) / batch
	b.ReportMetric(float64(cpu[0].Nanoseconds())/float64(batches*batch), "engine-cpu-ns/op")
	b.ReportMetric(float64(cpu[1].Nanoseconds())/float64(batches*batch), "quick-cpu-ns/op")
	b.ReportMetric(float64(cpu[2].Nanoseconds())/float64(batches*batch), "streamed-cpu-ns/op")
	b.ReportMetric(float64(cpu[1])/float64(cpu[0]), "quick/engine")
	b.ReportMetric(float64(cpu[2])/float64(cpu[0]), "streamed/engine")
}
