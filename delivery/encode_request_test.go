package delivery_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/targetflow/targetflow/delivery"
)

// encodeStd is what AppendRequestJSON must write: encoding/json's Encoder
// with HTML escaping off, without the trailing newline.
func encodeStd(tb testing.TB, r *delivery.DeliveryRequest) []byte {
	tb.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		tb.Fatalf("encoding/json: %v", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// checkRequestEncoding fails tb unless AppendRequestJSON and
// MarshalRequestJSON write what encoding/json writes for r, after a prefix
// they must keep.
func checkRequestEncoding(tb testing.TB, name string, r *delivery.DeliveryRequest) {
	tb.Helper()
	want := encodeStd(tb, r)
	prefix := []byte("prefix:")
	got := delivery.AppendRequestJSON(bytes.Clone(prefix), r)
	if !bytes.HasPrefix(got, prefix) {
		tb.Fatalf("%s: AppendRequestJSON lost the bytes of dst: %s", name, got)
	}
	if got = got[len(prefix):]; !bytes.Equal(got, want) {
		tb.Errorf("%s:\nAppendRequestJSON %s\nencoding/json     %s", name, got, want)
	}
	strict, err := delivery.MarshalRequestJSON(nil, r)
	if err != nil || !bytes.Equal(strict, want) {
		tb.Errorf("%s: MarshalRequestJSON = %s, %v; want %s", name, strict, err, want)
	}
}

func ptr[T any](v T) *T { return &v }

// typicalClientRequest is what the Target client sends for a 2-mbox call
// after its first: ids, context, the Analytics integration and the
// telemetry entry of the call before.
func typicalClientRequest() *delivery.DeliveryRequest {
	return &delivery.DeliveryRequest{
		RequestID: "4b8f5c6e-1f2a-4c3d-9e8f-7a6b5c4d3e2f",
		ID:        &delivery.VisitorID{TntID: "338e3c1e51f7416a8e1ccba4f81acea0.28_0"},
		Context: &delivery.Context{
			Channel:             delivery.ChannelWeb,
			Address:             &delivery.Address{URL: "https://www.acme.com/winter?utm_source=mail&utm_campaign=sale"},
			TimeOffsetInMinutes: ptr(0.0),
			UserAgent:           "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
		},
		ExperienceCloud: &delivery.ExperienceCloud{Analytics: &delivery.AnalyticsRequest{
			SupplementalDataID: "5F0E1D2C3B4A5968-7A6B5C4D3E2F1A0B",
			Logging:            delivery.LoggingServerSide,
		}},
		Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{
			{Index: 1, Name: "hero", Parameters: delivery.Parameters{"category": "winter", "browserWidth": "1024"}},
			{Index: 2, Name: "footer"},
		}},
		Telemetry: &delivery.Telemetry{Entries: []delivery.TelemetryEntry{{
			RequestID: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
			Timestamp: 1732280400123,
			Mode:      delivery.ExecutionEdge,
			Execution: 21.73,
			Parsing:   0.05,
			Features:  &delivery.TelemetryFeatures{DecisioningMethod: delivery.DecisioningServerSide, ExecuteMboxCount: 2},
			Request:   &delivery.TelemetryRequest{TimeToFirstByte: 20.91, Download: 0.03, ResponseSize: 812},
		}}},
	}
}

// everyFieldRequest sets every field of a request, with values that test
// the writer's corners: escapes, HTML, invalid UTF-8, numbers that
// encoding/json writes in exponent form, negative zero, maps larger than
// the writer's key buffer.
func everyFieldRequest() *delivery.DeliveryRequest {
	many := delivery.Parameters{}
	for i := range 40 {
		many["p"+strconv.Itoa(39-i)] = strconv.Itoa(i)
	}
	details := func(seed string) (*delivery.Address, delivery.Parameters, delivery.Parameters, *delivery.Order, *delivery.Product) {
		return &delivery.Address{URL: "https://x/" + seed + "?a=1&b=<2>", ReferringURL: "https://r/" + seed},
			delivery.Parameters{"b": seed, "a": "1", "é": "\u2028", "": "empty key", "ctl": "\x00\x1f\t\n\r\b\f"},
			delivery.Parameters{"age": "42", "quote\"key": "back\\slash"},
			&delivery.Order{ID: "o-" + seed, Total: ptr(1e21), PurchasedProductIDs: []string{"p1", "p2"}, Time: "2024-11-22T10:00:00Z",
				ExperienceLocalID: ptr(int32(-7)), Duplicate: true, Outlier: true},
			&delivery.Product{ID: "sku-" + seed, CategoryID: "cat"}
	}
	a1, p1, pp1, o1, pr1 := details("pl")
	a2, p2, pp2, o2, pr2 := details("m")
	a3, p3, pp3, o3, pr3 := details("v")
	a4, p4, pp4, o4, pr4 := details("n")
	return &delivery.DeliveryRequest{
		RequestID:     "r\"1",
		ImpressionID:  "imp\xffbad",
		ID:            &delivery.VisitorID{TntID: "t.28_0", ThirdPartyID: "3p", MarketingCloudVisitorID: "mc", CustomerIDs: []delivery.CustomerID{{ID: "u1", IntegrationCode: "crm", AuthenticatedState: delivery.AuthAuthenticated}, {}}},
		EnvironmentID: -42,
		Property:      &delivery.Property{},
		Trace:         &delivery.Trace{AuthorizationToken: "auth", Usage: map[string]string{"z": "1", "a": "2"}},
		Context: &delivery.Context{
			Channel:             delivery.ChannelMobile,
			MobilePlatform:      &delivery.MobilePlatform{DeviceName: "Pixel", DeviceType: delivery.DevicePhone, PlatformType: delivery.PlatformAndroid, Version: "14"},
			Application:         &delivery.Application{ID: "app", Name: "Shop", Version: "1.2.3"},
			Screen:              &delivery.Screen{Width: 1080, Height: 2400.5, ColorDepth: 24, PixelRatio: 2.625, Orientation: delivery.OrientationPortrait},
			Window:              &delivery.Window{Width: 1e-7, Height: math.Copysign(0, -1)},
			Browser:             &delivery.Browser{Host: "www.acme.com", Language: "fr-CA", WebGLRenderer: "ANGLE"},
			Address:             &delivery.Address{URL: "https://www.acme.com/</script>"},
			Geo:                 &delivery.Geo{IPAddress: "10.0.0.1", Latitude: ptr(math.Copysign(0, -1)), Longitude: ptr(-73.5673), CountryCode: "CA", StateCode: "QC", City: "Montréal", Zip: "H2X"},
			TimeOffsetInMinutes: ptr(-330.0), // whole numbers take a faster path
			UserAgent:           "UA",
			ClientHints:         &delivery.ClientHints{Mobile: ptr(false), Model: "m", Platform: "Android", PlatformVersion: "14", BrowserUAWithMajorVersion: "a", BrowserUAWithFullVersion: "b", Architecture: "arm", Bitness: "64"},
			Beacon:              true,
		},
		ExperienceCloud: &delivery.ExperienceCloud{
			AudienceManager: &delivery.AudienceManager{LocationHint: 9, Blob: "blob"},
			Analytics:       &delivery.AnalyticsRequest{SupplementalDataID: "sdid", Logging: delivery.LoggingClientSide, TrackingServer: "ts", TrackingServerSecure: "tss"},
		},
		Execute: &delivery.ExecuteRequest{
			PageLoad: &delivery.RequestDetails{Address: a1, Parameters: p1, ProfileParameters: pp1, Order: o1, Product: pr1},
			Mboxes: []delivery.MboxRequest{
				{Index: 0, Name: "hero", Address: a2, Parameters: p2, ProfileParameters: pp2, Order: o2, Product: pr2},
				{Index: -3, Parameters: many, Order: &delivery.Order{}},
			},
		},
		Prefetch: &delivery.PrefetchRequest{
			Views:    []delivery.ViewRequest{{Name: "home", Key: "k", Address: a3, Parameters: p3, ProfileParameters: pp3, Order: o3, Product: pr3}, {}},
			PageLoad: &delivery.RequestDetails{Parameters: delivery.Parameters{}},
			Mboxes:   []delivery.MboxRequest{{Index: 7, Name: "cart", Order: &delivery.Order{Total: ptr(0.1)}}},
		},
		Telemetry: &delivery.Telemetry{Entries: []delivery.TelemetryEntry{
			{RequestID: "r0", Timestamp: 1, Mode: delivery.ExecutionLocal, Execution: 1.5, Parsing: 123456789.125,
				Features: &delivery.TelemetryFeatures{DecisioningMethod: delivery.DecisioningHybrid, ExecuteMboxCount: 1, ExecutePageLoad: true, PrefetchMboxCount: 2, PrefetchPageLoad: true, PrefetchViewCount: 3},
				Request:  &delivery.TelemetryRequest{DNS: 1, TLS: 2, TimeToFirstByte: 3, Download: 4, ResponseSize: 5}, TelemetryServerToken: "tst"},
			{Features: &delivery.TelemetryFeatures{}, Request: &delivery.TelemetryRequest{}},
		}},
		Notifications: []delivery.Notification{
			{ID: "n1", ImpressionID: "i", Type: delivery.MetricDisplay, Timestamp: 1732280400123, Tokens: []string{"t1", "t/2+"},
				Mbox: &delivery.NotificationMbox{Name: "hero", State: "s"}, View: &delivery.NotificationView{Name: "home", Key: "k", State: "s"},
				PageLoad: &delivery.NotificationPageLoad{State: "s"}, Address: a4, Parameters: p4, ProfileParameters: pp4, Order: o4, Product: pr4},
			{Mbox: &delivery.NotificationMbox{}, View: &delivery.NotificationView{}, PageLoad: &delivery.NotificationPageLoad{}, Tokens: []string{}},
		},
		QAMode: &delivery.QAMode{Token: "qa", ListedActivitiesOnly: true, EvaluateAsTrueAudienceIDs: []int64{1, 2}, EvaluateAsFalseAudienceIDs: []int64{3},
			PreviewIndexes: []delivery.QAModePreviewIndex{{ActivityIndex: 1, ExperienceIndex: 2}, {}}},
		Preview: &delivery.Preview{Token: "pv"},
	}
}

// TestAppendRequestJSONMatchesEncodingJSON checks the writer on hand-built
// requests, the requests of the delivery tests and the specification's
// example request.
func TestAppendRequestJSONMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	var rich delivery.DeliveryRequest
	if err := json.Unmarshal([]byte(richRequest), &rich); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		r    *delivery.DeliveryRequest
	}{
		{"nil", nil},
		{"empty", &delivery.DeliveryRequest{}},
		{"typical client request", typicalClientRequest()},
		{"every field", everyFieldRequest()},
		{"decoded rich request", &rich},
		{"empty objects", &delivery.DeliveryRequest{
			ID: &delivery.VisitorID{}, Property: &delivery.Property{}, Trace: &delivery.Trace{Usage: map[string]string{}},
			Context: &delivery.Context{MobilePlatform: &delivery.MobilePlatform{}, Application: &delivery.Application{}, Screen: &delivery.Screen{},
				Window: &delivery.Window{}, Browser: &delivery.Browser{}, Address: &delivery.Address{}, Geo: &delivery.Geo{}, ClientHints: &delivery.ClientHints{}},
			ExperienceCloud: &delivery.ExperienceCloud{AudienceManager: &delivery.AudienceManager{}, Analytics: &delivery.AnalyticsRequest{}},
			Execute:         &delivery.ExecuteRequest{PageLoad: &delivery.RequestDetails{}, Mboxes: []delivery.MboxRequest{}},
			Prefetch:        &delivery.PrefetchRequest{Views: []delivery.ViewRequest{}, PageLoad: &delivery.RequestDetails{Address: &delivery.Address{}, Order: &delivery.Order{}, Product: &delivery.Product{}}},
			Telemetry:       &delivery.Telemetry{Entries: []delivery.TelemetryEntry{}},
			Notifications:   []delivery.Notification{},
			QAMode:          &delivery.QAMode{}, Preview: &delivery.Preview{},
		}},
		{"empty execute and prefetch", &delivery.DeliveryRequest{Execute: &delivery.ExecuteRequest{}, Prefetch: &delivery.PrefetchRequest{}, Telemetry: &delivery.Telemetry{}}},
	}
	dir := sharedPath("TARGETFLOW_OPENAPI", "target-openapi")
	if raw, err := os.ReadFile(filepath.Join(dir, "delivery", "examples", "notificationsForDisplayedContent.json")); err == nil {
		var r delivery.DeliveryRequest
		if err := json.Unmarshal(trailingComma.ReplaceAll(raw, []byte("$1")), &r); err != nil {
			t.Fatal(err)
		}
		tests = append(tests, struct {
			name string
			r    *delivery.DeliveryRequest
		}{"specification example notificationsForDisplayedContent", &r})
	}
	for _, tt := range tests {
		checkRequestEncoding(t, tt.name, tt.r)
	}
}

// Numbers: whole ones take the writer's integer path, those with two
// decimals its hundredths path, the others encoding/json's float format;
// all must match encoding/json around their limits.
func TestAppendRequestJSONNumbers(t *testing.T) {
	t.Parallel()
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1, 60, -330, 0.5, -0.25, 1e-6, 1e-7, 123.456, 1e14, 999999999999999, 1e15, -1e15,
		1e20, 1e21, 1e22, math.MaxInt64, math.MinInt64, math.MaxFloat64, math.SmallestNonzeroFloat64, 9007199254740993,
		0.01, 0.05, 0.1, 0.29, 0.07, 4.35, 1.005, 21.73, 20.91, 0.125, 0.001, 123456.78, 999999999.99, 1e9 - 0.01, 1e9 + 0.5, 99999999.99, 0.3 - 0.1, 2.675} {
		r := &delivery.DeliveryRequest{
			Context:   &delivery.Context{TimeOffsetInMinutes: ptr(f), Geo: &delivery.Geo{Latitude: ptr(-f)}, Screen: &delivery.Screen{Width: f}},
			Telemetry: &delivery.Telemetry{Entries: []delivery.TelemetryEntry{{Execution: f, Request: &delivery.TelemetryRequest{DNS: -f}}}},
		}
		checkRequestEncoding(t, strconv.FormatFloat(f, 'g', -1, 64), r)
	}
	// Every number of hundredths near 0 and near the path's limit, and
	// thousandths, which must not take it.
	for _, base := range []int64{0, 99_999_000_000} {
		for n := int64(-3000); n <= 3000; n++ {
			f := float64(base+n) / 100
			thousandths := float64(base+n) / 1000
			r := &delivery.DeliveryRequest{Telemetry: &delivery.Telemetry{Entries: []delivery.TelemetryEntry{{Execution: f, Parsing: thousandths}}}}
			want := encodeStd(t, r)
			if got := delivery.AppendRequestJSON(nil, r); !bytes.Equal(got, want) {
				t.Fatalf("%v and %v:\nAppendRequestJSON %s\nencoding/json     %s", f, thousandths, got, want)
			}
		}
	}
}

// The writer checks strings 8 bytes at a time for bytes that need an
// escape: each such byte, at each position of a word and of the tail, in
// ids, URLs, parameter names and values.
func TestAppendRequestJSONStringEscapes(t *testing.T) {
	t.Parallel()
	specials := []string{"\x00", "\x1f", "\x7f", " ", "\"", "\\", "<", "&", "\x80", "\xff", "é", "\u2028", "\u2029", "\U0001F600", "\xe2\x80"}
	for _, special := range specials {
		for length := range 20 {
			for at := 0; at <= length; at++ {
				plain := bytes.Repeat([]byte("a"), length)
				v := string(plain[:at]) + special + string(plain[at:])
				r := &delivery.DeliveryRequest{
					RequestID: v,
					Context:   &delivery.Context{Channel: delivery.ChannelWeb, Address: &delivery.Address{URL: v}, UserAgent: v},
					Execute:   &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Name: v, Parameters: delivery.Parameters{v: v, "k": v}}}},
				}
				checkRequestEncoding(t, strconv.Quote(v), r)
			}
		}
	}
}

// conformanceRequests returns the requests of Adobe's conformance suites by
// "suite/test" name, or nil when the suites are not on this machine.
func conformanceRequests(tb testing.TB) map[string][]byte {
	tb.Helper()
	requests := map[string][]byte{}
	for _, tc := range conformanceCases(tb) {
		if len(tc.Request) > 0 {
			requests[tc.Name] = tc.Request
		}
	}
	return requests
}

// TestAppendRequestJSONConformanceRequests checks the writer on every
// request of the conformance suites.
func TestAppendRequestJSONConformanceRequests(t *testing.T) {
	t.Parallel()
	sharedDir(t, "TARGETFLOW_SDK_TESTING", "target-sdk-testing")
	requests := conformanceRequests(t)
	if len(requests) < 50 {
		t.Fatalf("found %d conformance requests, want all of them (more than 50)", len(requests))
	}
	names := make([]string, 0, len(requests))
	for name := range requests {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		var r delivery.DeliveryRequest
		if err := json.Unmarshal(requests[name], &r); err != nil {
			t.Errorf("%s: decode: %v", name, err)
			continue
		}
		checkRequestEncoding(t, name, &r)
	}
}

// A number JSON cannot represent fails as it does with encoding/json, and
// the error names the field; AppendRequestJSON writes it as null.
func TestMarshalRequestJSONRefusesNonFiniteNumbers(t *testing.T) {
	t.Parallel()
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name      string
		r         *delivery.DeliveryRequest
		wantField string
	}{
		{"time offset", &delivery.DeliveryRequest{Context: &delivery.Context{TimeOffsetInMinutes: &nan}}, "context.timeOffsetInMinutes"},
		{"latitude", &delivery.DeliveryRequest{Context: &delivery.Context{Geo: &delivery.Geo{Latitude: &inf}}}, "context.geo.latitude"},
		{"screen", &delivery.DeliveryRequest{Context: &delivery.Context{Screen: &delivery.Screen{PixelRatio: -inf}}}, "context.screen.pixelRatio"},
		{"window", &delivery.DeliveryRequest{Context: &delivery.Context{Window: &delivery.Window{Height: nan}}}, "context.window.height"},
		{"page load order", &delivery.DeliveryRequest{Execute: &delivery.ExecuteRequest{PageLoad: &delivery.RequestDetails{Order: &delivery.Order{Total: &nan}}}}, "execute.pageLoad.order.total"},
		{"mbox order", &delivery.DeliveryRequest{Prefetch: &delivery.PrefetchRequest{Mboxes: []delivery.MboxRequest{{}, {Index: 1, Order: &delivery.Order{Total: &inf}}}}}, "prefetch.mboxes[1].order.total"},
		{"view order", &delivery.DeliveryRequest{Prefetch: &delivery.PrefetchRequest{Views: []delivery.ViewRequest{{Order: &delivery.Order{Total: &nan}}}}}, "prefetch.views[0].order.total"},
		{"notification order", &delivery.DeliveryRequest{Notifications: []delivery.Notification{{}, {}, {Order: &delivery.Order{Total: &nan}}}}, "notifications[2].order.total"},
		{"telemetry execution", &delivery.DeliveryRequest{Telemetry: &delivery.Telemetry{Entries: []delivery.TelemetryEntry{{Execution: nan}}}}, "telemetry.entries[0].execution"},
		{"telemetry request", &delivery.DeliveryRequest{Telemetry: &delivery.Telemetry{Entries: []delivery.TelemetryEntry{{}, {Request: &delivery.TelemetryRequest{Download: inf}}}}}, "telemetry.entries[1].request.download"},
		{"first in document order", &delivery.DeliveryRequest{Context: &delivery.Context{TimeOffsetInMinutes: &nan, Window: &delivery.Window{Width: inf}}}, "context.window.width"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := json.Marshal(tt.r); err == nil {
				t.Fatal("encoding/json accepted the request; the test is wrong")
			}
			out, err := delivery.MarshalRequestJSON(nil, tt.r)
			var fe *delivery.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.wantField {
				t.Fatalf("error %v, want a *delivery.FieldError for %s", err, tt.wantField)
			}
			var unsupported *json.UnsupportedValueError
			if !errors.As(err, &unsupported) {
				t.Errorf("error %v does not wrap a *json.UnsupportedValueError", err)
			}
			if appended := delivery.AppendRequestJSON(nil, tt.r); !bytes.Equal(appended, out) || !json.Valid(out) {
				t.Errorf("AppendRequestJSON = %s, MarshalRequestJSON = %s; want the same valid JSON", appended, out)
			}
		})
	}
}

// FuzzAppendRequestJSON decodes the fuzzer's bytes into a request with
// encoding/json and checks that both writers agree on it.
func FuzzAppendRequestJSON(f *testing.F) {
	f.Add([]byte(richRequest))
	for _, r := range []*delivery.DeliveryRequest{typicalClientRequest(), everyFieldRequest()} {
		seed, err := json.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(seed)
	}
	for _, raw := range conformanceRequests(f) {
		f.Add(raw)
	}
	f.Add([]byte(`{"context":{"channel":"web","timeOffsetInMinutes":-0.0,"geo":{"latitude":1e-9}},"execute":{"mboxes":[{"index":1,"parameters":{"w":1024,"z":"\u2029","a":null}}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r delivery.DeliveryRequest
		if json.Unmarshal(data, &r) != nil {
			return
		}
		checkRequestEncoding(t, "fuzz input", &r)
	})
}

// BenchmarkAppendRequestJSON encodes what the Target client sends on each
// call (2 mboxes, context, Analytics, one telemetry entry), with
// AppendRequestJSON into a reused buffer, with MarshalRequestJSON into a
// fresh buffer as the client does, and with encoding/json's Marshal, which
// the client used before. cpu-ns/op is the process CPU time per call,
// steadier than wall time on a shared machine.
func BenchmarkAppendRequestJSON(b *testing.B) {
	r := typicalClientRequest()
	b.Run("AppendRequestJSON", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		start := processCPU(b)
		for b.Loop() {
			buf = delivery.AppendRequestJSON(buf[:0], r)
		}
		reportCPU(b, start)
		b.SetBytes(int64(len(buf)))
	})
	b.Run("MarshalRequestJSON-fresh-1KiB", func(b *testing.B) {
		b.ReportAllocs()
		start := processCPU(b)
		for b.Loop() {
			if _, err := delivery.MarshalRequestJSON(make([]byte, 0, 1024), r); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, start)
	})
	b.Run("encoding-json-Marshal", func(b *testing.B) {
		b.ReportAllocs()
		start := processCPU(b)
		for b.Loop() {
			if _, err := json.Marshal(r); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, start)
	})
}

// processCPU is the process's CPU time (user and system, all threads).
func processCPU(b *testing.B) time.Duration {
	b.Helper()
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

// reportCPU adds the cpu-ns/op metric: CPU time since start per op.
func reportCPU(b *testing.B, start time.Duration) {
	b.Helper()
	if b.N > 0 {
		b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op")
	}
}

// Encode a request for two mboxes into a buffer, as the Target client does
// for each call.
func ExampleAppendRequestJSON() {
	r := &delivery.DeliveryRequest{
		RequestID: "req-1",
		ID:        &delivery.VisitorID{TntID: "338e3c1e51f7416a8e1ccba4f81acea0.28_0"},
		Context:   &delivery.Context{Channel: delivery.ChannelWeb, Address: &delivery.Address{URL: "https://www.acme.com/?a=1&b=2"}},
		Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{
			{Index: 0, Name: "hero", Parameters: delivery.Parameters{"z": "last", "a": "first"}},
			{Index: 1, Name: "cart"},
		}},
	}
	body := delivery.AppendRequestJSON(nil, r)
	fmt.Println(string(body))
	// Output:
	// {"requestId":"req-1","id":{"tntId":"338e3c1e51f7416a8e1ccba4f81acea0.28_0"},"context":{"channel":"web","address":{"url":"https://www.acme.com/?a=1&b=2"}},"execute":{"mboxes":[{"index":0,"name":"hero","parameters":{"a":"first","z":"last"}},{"index":1,"name":"cart"}]}}
}
