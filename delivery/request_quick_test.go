package delivery

import (
	"reflect"
	"strings"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
)

// clientRequestBody is a request as target.Client sends it, telemetry
// included.
const clientRequestBody = `{"requestId":"f1127176-bc94-4545-bc35-be98c6d0540c","id":{"tntId":"visitor-1"},` +
	`"context":{"channel":"web","timeOffsetInMinutes":0},` +
	`"experienceCloud":{"analytics":{"supplementalDataId":"056470CBA6FE3F80-227F4E176FC8B9F8","logging":"server_side"}},` +
	`"execute":{"mboxes":[{"index":0,"name":"hero"},{"index":1,"name":"cart"}]},` +
	`"telemetry":{"entries":[{"requestId":"8c6aac8c-eff7-4ccb-b4c6-6f595c9c5bed","timestamp":1795366724538,"mode":"edge","execution":3.14,"parsing":0.18,` +
	`"features":{"decisioningMethod":"server-side","executeMboxCount":2},"request":{"timeToFirstByte":1.74,"download":0.02,"responseSize":69}}]}}`

// checkQuickMatchesEngine fails when quickRequest accepts body and decodes
// it otherwise than the engine, and reports whether it accepted it.
func checkQuickMatchesEngine(t *testing.T, body string) bool {
	t.Helper()
	quick, ok := quickRequest([]byte(body))
	if !ok {
		return false
	}
	var engine DeliveryRequest
	if err := jsonv2.Unmarshal([]byte(body), &engine, requestDecodeOptions); err != nil {
		t.Fatalf("quick path accepted what the engine refuses (%v):\n%s", err, body)
	}
	if !reflect.DeepEqual(quick, &engine) {
		t.Fatalf("quick path decoded otherwise than the engine:\n%s\nquick:  %+v\nengine: %+v", body, *quick, engine)
	}
	return true
}

func TestQuickRequestMatchesTheEngine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		quick      bool // whether the quick path takes it
	}{
		{"target client", clientRequestBody, true},
		{"page", benchRequestBody, true},
		{"spaces everywhere", " { \"requestId\" : \"r\" ,\n\t\"context\" : { \"channel\" : \"web\" , \"beacon\" : false } ,\r\n \"execute\" : { \"mboxes\" : [ { \"index\" : 0 , \"name\" : \"m\" } ] } } ", true},
		{"every known member", `{"requestId":"r","impressionId":"i","id":{"tntId":"t","thirdPartyId":"3","marketingCloudVisitorId":"m"},"environmentId":12,` +
			`"property":{"token":"p"},"context":{"channel":"mobile","userAgent":"ua","timeOffsetInMinutes":-120.5,"address":{"url":"u","referringUrl":"r"},"beacon":true},` +
			`"experienceCloud":{"analytics":{"supplementalDataId":"s","logging":"client_side","trackingServer":"t","trackingServerSecure":"ts"}},` +
			`"execute":{"pageLoad":{"address":{"url":"p"},"parameters":{"a":"1"},"profileParameters":{"b":2}},"mboxes":[{"index":3,"name":"n","address":{},"parameters":{},"profileParameters":{"x":null,"y":true,"z":-1.5e-3}}]},` +
			`"prefetch":{"views":[{},{"name":"v","key":"k","parameters":{"c":"d"}}],"pageLoad":{},"mboxes":[{"name":"p","index":0}]},` +
			`"telemetry":{"entries":[{"requestId":"r","timestamp":1,"mode":"local","execution":0,"parsing":1e2,"telemetryServerToken":"x",` +
			`"features":{"decisioningMethod":"hybrid","executeMboxCount":1,"executePageLoad":true,"prefetchMboxCount":2,"prefetchPageLoad":false,"prefetchViewCount":3},` +
			`"request":{"dns":1,"tls":2,"timeToFirstByte":3,"download":4,"responseSize":5}},{}]}}`, true},
		{"empty", `{}`, true},
		{"empty objects", `{"id":{},"context":{},"execute":{},"prefetch":{},"telemetry":{},"experienceCloud":{}}`, true},
		{"unknown member", `{"context":{"channel":"web"},"trace":{"authorizationToken":"x"}}`, false},
		{"unknown nested member", `{"context":{"channel":"web","screen":{"width":1}}}`, false},
		{"other case", `{"Context":{"channel":"web"}}`, false},
		{"escape", `{"requestId":"a\u0062"}`, false},
		{"escaped name", `{"request\u0049d":"a"}`, false},
		{"non-ASCII", `{"requestId":"é"}`, false},
		{"null", `{"id":null}`, false},
		{"null string", `{"requestId":null}`, false},
		{"duplicate", `{"requestId":"a","requestId":"b"}`, false},
		{"duplicate nested", `{"context":{"channel":"web","channel":"mobile"}}`, false},
		{"empty array", `{"execute":{"mboxes":[]}}`, false},
		{"negative index", `{"execute":{"mboxes":[{"index":-1,"name":"m"}]}}`, false},
		{"fraction index", `{"execute":{"mboxes":[{"index":1.0,"name":"m"}]}}`, false},
		{"exponent index", `{"execute":{"mboxes":[{"index":1e2,"name":"m"}]}}`, false},
		{"huge index", `{"execute":{"mboxes":[{"index":12345678901234567890,"name":"m"}]}}`, false},
		{"leading zero", `{"environmentId":012}`, false},
		{"string for a number", `{"environmentId":"12"}`, false},
		{"number for a string", `{"requestId":12}`, false},
		{"huge float", `{"context":{"timeOffsetInMinutes":1e400}}`, false},
		{"nested parameter", `{"execute":{"mboxes":[{"index":0,"name":"m","parameters":{"a":{}}}]}}`, false},
		{"trailing data", `{"requestId":"a"} {}`, false},
		{"trailing comma", `{"requestId":"a",}`, false},
		{"missing colon", `{"requestId" "a"}`, false},
		{"unterminated", `{"requestId":"a"`, false},
		{"bad literal", `{"context":{"beacon":tru}}`, false},
		{"literal run on", `{"context":{"beacon":truex}}`, false},
		{"number run on", `{"environmentId":12x}`, false},
		{"bad number", `{"context":{"timeOffsetInMinutes":1.}}`, false},
		{"minus alone", `{"context":{"timeOffsetInMinutes":-}}`, false},
		{"control character", "{\"requestId\":\"a\tb\"}", false},
		{"cut in a value", `{"context":{"channel":`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := checkQuickMatchesEngine(t, strings.TrimSpace(tc.body)); got != tc.quick {
				t.Errorf("quick path took it: %v, want %v", got, tc.quick)
			}
		})
	}
}

// TestDecodeRequestQuickErrors checks that requests the quick path decodes
// are still validated.
func TestDecodeRequestQuickErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ body, field string }{
		{`{}`, "context"},
		{`{"context":{}}`, "context.channel"},
		{`{"context":{"channel":"tv"}}`, "context.channel"},
		{`{"context":{"channel":"web"},"execute":{"mboxes":[{"index":0}]}}`, "execute.mboxes[0].name"},
		{`{"context":{"channel":"web"},"prefetch":{"mboxes":[{"index":0,"name":"a"},{"index":1}]}}`, "prefetch.mboxes[1].name"},
	}
	for _, tc := range tests {
		_, err := DecodeRequest([]byte(tc.body))
		reqErr, ok := err.(*FieldError)
		if !ok || reqErr.Field != tc.field {
			t.Errorf("%s: error %v, want one naming %s", tc.body, err, tc.field)
		}
	}
}

func FuzzQuickRequest(f *testing.F) {
	for _, seed := range []string{clientRequestBody, benchRequestBody, `{}`, `{"context":{"channel":"web","timeOffsetInMinutes":-0}}`,
		`{"execute":{"mboxes":[{"index":0,"name":"m","parameters":{"a":1,"b":"c","d":null,"e":false}}]}}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		checkQuickMatchesEngine(t, body)
	})
}
