package ondevice

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/internal/sdktesting"
)

// suiteArtifactEngine decides from one of the conformance suites' artifacts.
func suiteArtifactEngine(t *testing.T, name string) *Engine {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(sdktesting.Dir(t), "artifacts", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(WithClient("targettesting"), WithArtifactPayload(data), WithGeoLookup(noGeo), WithTelemetry(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// decideJSON decodes body with the one decoder and decides it.
func decideJSON(t *testing.T, e *Engine, body string) *delivery.DeliveryResponse {
	t.Helper()
	req, err := delivery.DecodeRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.Decide(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return d.Response
}

// TestGeoCoordinatesAsNumericStrings: a latitude and a longitude sent as
// strings holding numbers are decided as those numbers (the rule compares
// them with numbers).
func TestGeoCoordinatesAsNumericStrings(t *testing.T) {
	t.Parallel()
	e := suiteArtifactEngine(t, "TEST_ARTIFACT_GEO")
	request := func(lat, long string) string {
		return `{"id":{"thirdPartyId":"338e3c1e51f7416a8e1ccba4f81acea0.28_0"},"context":{"channel":"web",` +
			`"geo":{"city":"SAN FRANCISCO","countryCode":"UNITED STATES","stateCode":"CALIFORNIA","latitude":` + lat + `,"longitude":` + long + `}},` +
			`"execute":{"mboxes":[{"name":"mbox-geography","index":1}]}}`
	}
	numbers := decideJSON(t, e, request(`37.75`, `-122.4`))
	asStrings := decideJSON(t, e, request(`"37.75"`, `" -122.4 "`))
	if len(numbers.Execute.Mboxes[0].Options) != 1 {
		t.Fatalf("the geo rule did not match numbers: %+v", numbers.Execute.Mboxes[0])
	}
	a, _ := json.Marshal(numbers.Execute)
	b, _ := json.Marshal(asStrings.Execute)
	if string(a) != string(b) {
		t.Errorf("numeric strings decided otherwise than numbers:\n%s\n%s", b, a)
	}
	outside := decideJSON(t, e, request(`"37.75"`, `"-122.2"`)) // east of the rule's box
	if len(outside.Execute.Mboxes[0].Options) != 0 {
		t.Errorf("a longitude outside the rule matched: %+v", outside.Execute.Mboxes[0])
	}
}

// TestViewsAskedNoneMatched: views asked for and none matched answer
// "prefetch":{"views":[]}, as the Node.js SDK's engine does; a request
// that asks for no view has no views member.
func TestViewsAskedNoneMatched(t *testing.T) {
	t.Parallel()
	e := suiteArtifactEngine(t, "TEST_ARTIFACT_AB_MULTI_SIMPLE")
	base := `"id":{"tntId":"visitor-1"},"context":{"channel":"web"}`
	for _, tc := range []struct{ name, body, want string }{
		{"named view", `{` + base + `,"prefetch":{"views":[{"name":"nope"}]}}`, `{"views":[]}`},
		{"every view", `{` + base + `,"prefetch":{"views":[{}]}}`, `{"views":[]}`},
		{"no view asked", `{` + base + `,"prefetch":{"mboxes":[{"index":1,"name":"nope"}]}}`, `{"mboxes":[{"index":1,"name":"nope"}]}`},
	} {
		resp := decideJSON(t, e, tc.body)
		if got := string(delivery.AppendResponseJSON(nil, &delivery.DeliveryResponse{Prefetch: resp.Prefetch})); got != `{"prefetch":`+tc.want+`}` {
			t.Errorf("%s: prefetch %s, want %s", tc.name, got, tc.want)
		}
	}
}
