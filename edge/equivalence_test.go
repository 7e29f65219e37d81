package edge_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/internal/sdktesting"
	"github.com/targetflow/targetflow/ondevice"
)

var userAgents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15",
	"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
	"",
}

var parameterValues = map[string][]string{
	"loyaltyTier": {"gold", "silver", "GOLD"},
	"foo":         {"bar", "baz"},
	"greg":        {"correct", "wrong"},
	"jason":       {"correct"},
}

// generateRequest builds a random but valid request over the given mboxes
// and views, with a visitor id of its own so that allocation is exercised.
func generateRequest(rng *rand.Rand, mboxes, views []string) *delivery.DeliveryRequest {
	req := &delivery.DeliveryRequest{
		RequestID: fmt.Sprintf("req-%d", rng.Uint64()),
		ID:        &delivery.VisitorID{TntID: fmt.Sprintf("%016x%016x.28_0", rng.Uint64(), rng.Uint64())},
		Context: &delivery.Context{
			Channel:   delivery.ChannelWeb,
			UserAgent: userAgents[rng.IntN(len(userAgents))],
			Address:   &delivery.Address{URL: []string{"https://local-target-test/", "https://shop.example/cart?ref=mail", "https://www.example.co.uk/home"}[rng.IntN(3)]},
		},
	}
	if rng.IntN(4) == 0 {
		req.ID = &delivery.VisitorID{ThirdPartyID: fmt.Sprintf("crm-%d", rng.IntN(1000))}
	}
	params := func() delivery.Parameters {
		p := delivery.Parameters{}
		for name, values := range parameterValues {
			if rng.IntN(2) == 0 {
				p[name] = values[rng.IntN(len(values))]
			}
		}
		return p
	}
	pick := func(names []string) []delivery.MboxRequest {
		var out []delivery.MboxRequest
		for _, name := range names {
			if rng.IntN(3) == 0 {
				out = append(out, delivery.MboxRequest{Index: len(out), Name: name, Parameters: params()})
			}
		}
		return out
	}
	if m := pick(mboxes); len(m) > 0 || rng.IntN(3) == 0 {
		req.Execute = &delivery.ExecuteRequest{Mboxes: m}
		if rng.IntN(3) == 0 {
			req.Execute.PageLoad = &delivery.RequestDetails{Parameters: params()}
		}
	}
	if m := pick(mboxes); len(m) > 0 || rng.IntN(2) == 0 {
		req.Prefetch = &delivery.PrefetchRequest{Mboxes: m}
		switch rng.IntN(3) {
		case 0:
			req.Prefetch.Views = []delivery.ViewRequest{{Parameters: params()}}
		case 1:
			for _, v := range views {
				if rng.IntN(2) == 0 {
					req.Prefetch.Views = append(req.Prefetch.Views, delivery.ViewRequest{Name: v})
				}
			}
		}
		if rng.IntN(4) == 0 {
			req.Prefetch.PageLoad = &delivery.RequestDetails{}
		}
	}
	return req
}

// decisionsJSON is the part of a response that carries decisions, as
// generic JSON, with the decisioning method token left out (the engine says
// on-device, the edge server-side).
func decisionsJSON(t *testing.T, resp *delivery.DeliveryResponse) any {
	t.Helper()
	data, err := json.Marshal(struct {
		Execute  *delivery.ExecuteResponse  `json:"execute"`
		Prefetch *delivery.PrefetchResponse `json:"prefetch"`
	}{resp.Execute, resp.Prefetch})
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(data), `"activity.decisioningMethod":"on-device",`, "")
	text = strings.ReplaceAll(text, `"activity.decisioningMethod":"server-side",`, "")
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// checkEquivalence decides n generated requests with the edge (over its
// HTTP handler) and with the on-device engine in decide-all mode on the same
// artifact, and requires the same decisions.
func checkEquivalence(t *testing.T, artifact []byte, client string, n int, seed uint64) {
	t.Helper()
	engine, err := ondevice.New(
		ondevice.WithClient(client), ondevice.WithArtifactPayload(artifact), ondevice.WithDecideAll(true),
		ondevice.WithTelemetry(false), ondevice.WithGeoLookup(func(context.Context, string) (*delivery.Geo, error) { return nil, nil }))
	s, edgeErr := edge.New(artifact, edge.WithClient(client))
	if err != nil || edgeErr != nil {
		// An artifact the engine refuses, the edge refuses too.
		var refused *edge.ArtifactError
		if err == nil || !errors.As(edgeErr, &refused) {
			t.Fatalf("engine error %v, edge error %v: want both to refuse or both to accept", err, edgeErr)
		}
		return
	}
	defer engine.Close()
	mboxes := append(engine.Artifact().MboxNames(), "not-in-the-artifact")
	views := engine.Artifact().ViewNames()
	rng := rand.New(rand.NewPCG(seed, 1))
	decided := 0
	for i := range n {
		req := generateRequest(rng, mboxes, views)
		want, err := engine.Decide(context.Background(), req)
		if err != nil {
			t.Fatalf("request %d: Decide: %v", i, err)
		}
		body, _ := json.Marshal(req)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, deliveryPath, strings.NewReader(string(body))))
		if rec.Code != http.StatusOK {
			t.Fatalf("request %d: edge answered %d: %s", i, rec.Code, rec.Body.Bytes())
		}
		var got delivery.DeliveryResponse
		decodeJSON(t, rec.Body.Bytes(), &got)
		w, g := decisionsJSON(t, want.Response), decisionsJSON(t, &got)
		if !reflect.DeepEqual(w, g) {
			wj, _ := json.Marshal(w)
			gj, _ := json.Marshal(g)
			t.Fatalf("request %d %s:\nengine %s\nedge   %s", i, body, wj, gj)
		}
		if want.Response.Execute != nil || want.Response.Prefetch != nil {
			decided++
		}
	}
	if decided == 0 {
		t.Fatal("no generated request got any decision")
	}
}

func TestEdgeDecidesAsTheOnDeviceEngine(t *testing.T) {
	t.Parallel()
	t.Run("demo", func(t *testing.T) {
		t.Parallel()
		checkEquivalence(t, demo.Artifact(), demo.Client, 400, 1)
	})
	for _, path := range sdktesting.ArtifactFiles(t) {
		t.Run(sdktesting.ArtifactName(path), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			checkEquivalence(t, data, "targettesting", 60, 2)
		})
	}
}
