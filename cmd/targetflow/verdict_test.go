package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/edgeserver"
	"github.com/targetflow/targetflow/internal/sdktesting"
	"github.com/targetflow/targetflow/ondevice"
	"github.com/targetflow/targetflow/target"
)

// fourPaths decides JSON requests from one artifact the four ways
// targetflow can: the edge (over HTTP), targetflow decide, the on-device
// engine, and target.Client (on-device, and server-side against the edge).
type fourPaths struct {
	path, client string
	addr         string
	engine       *ondevice.Engine
	onDevice     *target.Client
	serverSide   *target.Client
	http         *http.Client
}

// suitePaths serves the conformance artifact name the four ways.
func suitePaths(t *testing.T, name string) *fourPaths {
	t.Helper()
	path := filepath.Join(sdktesting.Dir(t), "artifacts", name+".json")
	artifact, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const client, org = "targettesting", "TARGETTESTING@AdobeOrg"
	_, addr := edgeserver.StartWith(t, artifact)
	engine, err := ondevice.New(ondevice.WithClient(client), ondevice.WithArtifactPayload(artifact), ondevice.WithTelemetry(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { engine.Close() })
	transport := edge.RoutingTransport(addr)
	t.Cleanup(transport.CloseIdleConnections)
	newClient := func(opts ...target.Option) *target.Client {
		c, err := target.New(append([]target.Option{target.WithClient(client), target.WithOrganizationID(org),
			target.WithServerDomain(addr), target.WithSecure(false), target.WithTransport(transport), target.WithTelemetry(false)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	return &fourPaths{
		path: path, client: client, addr: addr, engine: engine,
		onDevice: newClient(target.WithDecisioningMethod(delivery.DecisioningOnDevice),
			target.WithOnDevice(ondevice.WithArtifactPayload(artifact)), target.WithOnDeviceNotifications(false)),
		serverSide: newClient(),
		http:       &http.Client{Transport: transport},
	}
}

// viaEdge posts body to the edge: the answer's status and body.
func (p *fourPaths) viaEdge(t *testing.T, body string) (int, []byte) {
	t.Helper()
	resp, err := p.http.Post("http://"+p.addr+"/rest/v1/delivery?imsOrgId=O&sessionId=s", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data
}

// viaDecide runs targetflow decide on the one line body: its output line.
func (p *fourPaths) viaDecide(t *testing.T, body string) []byte {
	t.Helper()
	_, out, stderr := runDecide(t, []string{"--artifact", p.path, "--client", p.client}, body+"\n")
	line, _, _ := strings.Cut(out, "\n")
	if line == "" {
		t.Fatalf("decide wrote nothing (stderr %s)", stderr)
	}
	return []byte(line)
}

// goRequest is body as a Go caller has it: decoded by encoding/json,
// without validation.
func goRequest(t *testing.T, body string) *delivery.DeliveryRequest {
	t.Helper()
	var req delivery.DeliveryRequest
	if err := json.Unmarshal([]byte(body), &req); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return &req
}

// TestOneVerdictEverywhere: a table of bad requests, against the
// conformance artifact AB_MULTI_SIMPLE, that the edge (400), targetflow
// decide (the line's error), the engine and target.Client (on-device: the
// engine's *delivery.FieldError in a ValidationError; server-side: the
// edge's 400) all answer with the same message. Requests a Go caller
// cannot even build (a string index) or that the client completes (a
// missing context) are checked on the paths that see them.
func TestOneVerdictEverywhere(t *testing.T) {
	t.Parallel()
	p := suitePaths(t, "TEST_ARTIFACT_AB_MULTI_SIMPLE")
	web := `"id":{"tntId":"338e3c1e51f7416a8e1ccba4f81acea0.28_0"},"context":{"channel":"web"}`
	mbox := `"execute":{"mboxes":[{"index":1,"name":"mbox-magician"}]}`
	long := strings.Repeat("7", 129)
	tests := []struct {
		name, body string
		want       string // the message
		goValue    bool   // the engine and the client take it as a Go value
		client     bool   // and the client passes it on unchanged
	}{
		{"channel tv", `{"context":{"channel":"tv"},` + mbox + `}`,
			`delivery: invalid request: context.channel "tv" must be "web" or "mobile"`, true, false}, // the client makes it web, as the SDKs do
		{"windows platform", `{"context":{"channel":"mobile","mobilePlatform":{"platformType":"windows"}},` + mbox + `}`,
			`delivery: invalid request: context.mobilePlatform.platformType "windows" must be "android" or "ios"`, true, true},
		{"watch device", `{"context":{"channel":"mobile","mobilePlatform":{"platformType":"android","deviceType":"watch"}},` + mbox + `}`,
			`delivery: invalid request: context.mobilePlatform.deviceType "watch" must be "phone" or "tablet"`, true, true},
		{"tntId too long", `{"id":{"tntId":"` + long + `"},"context":{"channel":"web"},` + mbox + `}`,
			`delivery: invalid request: id.tntId "` + long[:63] + `…(131 bytes) must be at most 128 characters, not 129`, true, true},
		{"thirdPartyId too long", `{"id":{"thirdPartyId":"` + long + `"},"context":{"channel":"web"},` + mbox + `}`,
			`delivery: invalid request: id.thirdPartyId "` + long[:63] + `…(131 bytes) must be at most 128 characters, not 129`, true, true},
		{"customer id without code", `{"id":{"tntId":"t","customerIds":[{"id":"c1","authenticatedState":"unknown"}]},"context":{"channel":"web"},` + mbox + `}`,
			`delivery: invalid request: id.customerIds[0].integrationCode is required`, true, true},
		{"blank mbox name", `{` + web + `,"execute":{"mboxes":[{"index":1,"name":" "}]}}`,
			`delivery: invalid request: execute.mboxes[0].name " " must not be blank`, true, true},
		{"notification with mbox and view", `{` + web + `,"notifications":[{"id":"n","type":"display","timestamp":1,"mbox":{"name":"a"},"view":{"name":"b"}}],` + mbox + `}`,
			`delivery: invalid request: notifications[0] has both an mbox and a view: they are exclusive`, true, true},
		{"no context", `{"id":{"tntId":"t"},` + mbox + `}`,
			`delivery: invalid request: context is required`, true, false},
		{"mbox without name", `{` + web + `,"execute":{"mboxes":[{"index":1}]}}`,
			`delivery: invalid request: execute.mboxes[0].name is required`, true, false},
		{"notification type", `{` + web + `,"notifications":[{"id":"n","type":"view","timestamp":1}],` + mbox + `}`,
			`delivery: invalid request: notifications[0].type "view" must be "display" or "click"`, true, false},
		{"string index", `{` + web + `,"execute":{"mboxes":[{"index":"one","name":"mbox-magician"}]}}`,
			`delivery: invalid request: execute.mboxes[0].index "one" must be an integer, not a string`, false, false},
		{"object parameter", `{` + web + `,"execute":{"mboxes":[{"index":1,"name":"mbox-magician","parameters":{"a":{"b":1}}}]}}`,
			`delivery: invalid request: execute.mboxes[0].parameters.a {"b":1} must be a string, number or boolean, not an object`, false, false},
		{"geo word", `{"context":{"channel":"web","geo":{"latitude":"north"}},` + mbox + `}`,
			`delivery: invalid request: context.geo.latitude "north" must be a number or a string holding one`, false, false},
		{"not JSON", `{"context":`, `delivery: invalid request: the body is not valid JSON: unexpected EOF (at byte 11)`, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, answer := p.viaEdge(t, tc.body)
			var edgeErr delivery.UnexpectedError
			if err := json.Unmarshal(answer, &edgeErr); err != nil || status != 400 || edgeErr.Status != 400 {
				t.Fatalf("edge answered %d %s; want a 400", status, answer)
			}
			if edgeErr.Message != tc.want {
				t.Errorf("edge:   %s\nwant:   %s", edgeErr.Message, tc.want)
			}
			var line struct {
				Error struct{ Message string } `json:"error"`
			}
			if err := json.Unmarshal(p.viaDecide(t, tc.body), &line); err != nil || line.Error.Message != tc.want {
				t.Errorf("decide: %s (%v)\nwant:   %s", line.Error.Message, err, tc.want)
			}
			if !tc.goValue {
				return
			}
			_, err := p.engine.Decide(t.Context(), goRequest(t, tc.body))
			var fe *delivery.FieldError
			if !errors.As(err, &fe) || err.Error() != tc.want {
				t.Errorf("engine: %v\nwant:   %s", err, tc.want)
			}
			if !tc.client {
				return
			}
			_, err = p.onDevice.GetOffers(t.Context(), target.GetOffersOptions{Request: goRequest(t, tc.body)})
			var ve *target.ValidationError
			if !errors.As(err, &ve) || !errors.As(err, &fe) || fe.Error() != tc.want || !strings.HasSuffix(err.Error(), tc.want) {
				t.Errorf("client on-device: %v\nwant:   a ValidationError wrapping %s", err, tc.want)
			}
			_, err = p.serverSide.GetOffers(t.Context(), target.GetOffersOptions{Request: goRequest(t, tc.body)})
			var he *target.HTTPError
			if !errors.As(err, &he) || he.Status != 400 || he.Message != tc.want {
				t.Errorf("client server-side: %v\nwant:   the edge's 400 %s", err, tc.want)
			}
		})
	}
}

// TestLeniencyEverywhere: the leniency the SDKs have is the same on every
// path: a geo's numeric strings are decided as numbers, and views asked for
// that none matched answer "prefetch":{"views":[]}.
func TestLeniencyEverywhere(t *testing.T) {
	t.Parallel()
	t.Run("geo numeric strings", func(t *testing.T) {
		t.Parallel()
		p := suitePaths(t, "TEST_ARTIFACT_GEO")
		body := func(lat, long string) string {
			return `{"id":{"thirdPartyId":"338e3c1e51f7416a8e1ccba4f81acea0.28_0"},"context":{"channel":"web","geo":{"city":"SAN FRANCISCO",` +
				`"countryCode":"UNITED STATES","stateCode":"CALIFORNIA","latitude":` + lat + `,"longitude":` + long + `}},"execute":{"mboxes":[{"name":"mbox-geography","index":1}]}}`
		}
		numbers, strs := body(`37.75`, `-122.4`), body(`"37.75"`, `"-122.4"`)
		offer := func(t *testing.T, resp *delivery.DeliveryResponse) string {
			t.Helper()
			if resp == nil || resp.Execute == nil || len(resp.Execute.Mboxes) != 1 || len(resp.Execute.Mboxes[0].Options) != 1 {
				t.Fatalf("answer %+v; want the geo offer", resp)
			}
			return string(resp.Execute.Mboxes[0].Options[0].Content)
		}
		decode := func(t *testing.T, data []byte) *delivery.DeliveryResponse {
			t.Helper()
			var resp delivery.DeliveryResponse
			if err := json.Unmarshal(data, &resp); err != nil {
				t.Fatalf("%s: %v", data, err)
			}
			return &resp
		}
		_, edgeNumbers := p.viaEdge(t, numbers)
		want := offer(t, decode(t, edgeNumbers))
		if status, edgeStrings := p.viaEdge(t, strs); status != 200 || offer(t, decode(t, edgeStrings)) != want {
			t.Errorf("edge: %d %s; want %s", status, edgeStrings, want)
		}
		if got := offer(t, decode(t, p.viaDecide(t, strs))); got != want {
			t.Errorf("decide: %s; want %s", got, want)
		}
		req, err := delivery.DecodeRequest([]byte(strs))
		if err != nil {
			t.Fatal(err)
		}
		d, err := p.engine.Decide(t.Context(), req)
		if err != nil || offer(t, d.Response) != want {
			t.Errorf("engine: %v; want %s", err, want)
		}
		for name, c := range map[string]*target.Client{"on-device": p.onDevice, "server-side": p.serverSide} {
			resp, err := c.GetOffers(t.Context(), target.GetOffersOptions{Request: goRequest(t, strs)})
			if err != nil || offer(t, resp.Response) != want {
				t.Errorf("client %s: %v; want %s", name, err, want)
			}
		}
	})
	t.Run("views asked, none matched", func(t *testing.T) {
		t.Parallel()
		p := suitePaths(t, "TEST_ARTIFACT_AB_MULTI_SIMPLE")
		body := `{"id":{"tntId":"338e3c1e51f7416a8e1ccba4f81acea0.28_0"},"context":{"channel":"web"},"prefetch":{"views":[{"name":"nope"}]}}`
		const want = `"prefetch":{"views":[]}`
		if _, answer := p.viaEdge(t, body); !bytes.Contains(answer, []byte(want)) {
			t.Errorf("edge: %s; want %s", answer, want)
		}
		if line := p.viaDecide(t, body); !bytes.Contains(line, []byte(want)) {
			t.Errorf("decide: %s; want %s", line, want)
		}
		req, err := delivery.DecodeRequest([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		d, err := p.engine.Decide(t.Context(), req)
		if err != nil || !bytes.Contains(delivery.AppendResponseJSON(nil, d.Response), []byte(want)) {
			t.Errorf("engine: %v %+v; want %s", err, d, want)
		}
		for name, c := range map[string]*target.Client{"on-device": p.onDevice, "server-side": p.serverSide} {
			resp, err := c.GetOffers(context.Background(), target.GetOffersOptions{Request: goRequest(t, body)})
			if err != nil || resp.Response.Prefetch == nil || resp.Response.Prefetch.Views == nil || len(resp.Response.Prefetch.Views) != 0 {
				t.Errorf("client %s: %v %+v; want an empty, non-nil list of views", name, err, resp)
			}
		}
	})
}
