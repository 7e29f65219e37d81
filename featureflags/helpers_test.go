package featureflags_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"
	"go.uber.org/goleak"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/featureflags"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/internal/edgeserver"
	"github.com/targetflow/targetflow/ondevice"
	"github.com/targetflow/targetflow/target"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Mboxes of the test artifact.
const (
	mboxFlags  = "flags"        // A/B, two experiences, a click metric
	mboxXT     = "tiered-flags" // experience targeting on the mbox parameter tier
	mboxBroken = "broken-flags" // a JSON offer that is an array
)

// rule is one rule of the test artifact.
func rule(mbox string, activityID int, activityName, activityType string, experienceID int, experienceName string,
	condition any, content any, clickToken string) map[string]any {
	metrics := []any{}
	if clickToken != "" {
		metrics = append(metrics, map[string]any{"type": "click", "eventToken": clickToken})
	}
	return map[string]any{
		"ruleKey":    activityID,
		"activityId": activityID,
		"meta": map[string]any{
			"activity.id": activityID, "activity.name": activityName, "activity.type": activityType,
			"experience.id": experienceID, "experience.name": experienceName,
			"location.name": mbox, "location.type": "mbox", "offer.id": activityID*10 + experienceID,
		},
		"condition": condition,
		"consequence": map[string]any{
			"name":    mbox,
			"options": []any{map[string]any{"type": "json", "eventToken": "display-" + experienceName, "content": content}},
			"metrics": metrics,
		},
	}
}

func allocation(from, to int) any {
	return map[string]any{"and": []any{
		map[string]any{"<=": []any{from, map[string]any{"var": "allocation"}}},
		map[string]any{">=": []any{to, map[string]any{"var": "allocation"}}},
	}}
}

// flagsArtifact is the demo artifact with three flag mboxes added; edit
// changes the A/B test's first experience (for a new artifact). With
// typeToken the account sends activity.type as a response token.
func flagsArtifact(t testing.TB, typeToken bool, edit func(content map[string]any)) []byte {
	t.Helper()
	var art map[string]any
	if err := json.Unmarshal(demo.Artifact(), &art); err != nil {
		t.Fatal(err)
	}
	control := map[string]any{"enabled": false, "color": "blue", "limit": 10, "ratio": 0.25, "whole": 2.0, "layout": map[string]any{"columns": 3}}
	if edit != nil {
		edit(control)
	}
	rules := art["rules"].(map[string]any)["mboxes"].(map[string]any)
	rules[mboxFlags] = []any{
		rule(mboxFlags, 930001, "Checkout flags", "ab", 0, "Control", allocation(0, 50), control, "click-control"),
		rule(mboxFlags, 930001, "Checkout flags", "ab", 1, "Treatment", allocation(50, 100),
			map[string]any{"enabled": true, "color": "green", "limit": 20, "ratio": 0.5, "whole": 3.0, "layout": map[string]any{"columns": 4}}, "click-treatment"),
	}
	rules[mboxXT] = []any{
		rule(mboxXT, 930002, "Tiered flags", "landing", 0, "Gold", map[string]any{"==": []any{"gold", map[string]any{"var": "mbox.tier"}}},
			map[string]any{"discount": 15}, ""),
		rule(mboxXT, 930002, "Tiered flags", "landing", 1, "Everybody", allocation(0, 100), map[string]any{"discount": 0}, ""),
	}
	rules[mboxBroken] = []any{rule(mboxBroken, 930003, "Broken", "ab", 0, "Only", allocation(0, 100), []any{1, 2}, "")}
	art["localMboxes"] = append(art["localMboxes"].([]any), mboxFlags, mboxXT, mboxBroken)
	if typeToken {
		art["responseTokens"] = append(art["responseTokens"].([]any), "activity.type")
	}
	data, err := json.Marshal(art)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// env is a local edge serving the test artifact, a client on it, a
// provider on the client, and an isolated OpenFeature API with the
// provider set and a client of it.
type env struct {
	srv      *edge.Server
	addr     string
	target   *target.Client
	provider *featureflags.Provider
	api      *openfeature.EvaluationAPI
	flags    *openfeature.Client
	events   *events
}

// artifactURL is the edge's rules.json for the demo client.
func (e *env) artifactURL() string {
	return "http://" + e.addr + "/" + demo.Client + "/production/rules/v1/rules.json"
}

type envOptions struct {
	method     delivery.DecisioningMethod // default on-device
	typeToken  bool
	target     []target.Option
	provider   []featureflags.Option
	noWait     bool // set the provider without waiting for Init
	fromURL    bool // download the artifact from the edge (else a payload)
	edgeOption []edge.Option
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	if o.method == "" {
		o.method = delivery.DecisioningOnDevice
	}
	e := &env{}
	e.srv, e.addr = edgeserver.StartWith(t, flagsArtifact(t, o.typeToken, nil), append([]edge.Option{edge.WithOrganizationID(demo.OrganizationID)}, o.edgeOption...)...)
	opts := []target.Option{target.WithDecisioningMethod(o.method), target.WithTimeout(time.Minute)}
	if o.method != delivery.DecisioningServerSide {
		artifact := ondevice.WithArtifactPayload(flagsArtifact(t, o.typeToken, nil))
		if o.fromURL {
			artifact = ondevice.WithArtifactURL(e.artifactURL())
		}
		opts = append(opts, target.WithOnDevice(artifact, ondevice.WithRetry(1, 0)))
	}
	e.target = newTargetClient(t, e.addr, append(opts, o.target...)...)
	e.provider = featureflags.NewProvider(e.target, append([]featureflags.Option{featureflags.WithMbox(mboxFlags)}, o.provider...)...)
	e.api = isolated.NewAPI()
	e.events = collectEvents(e.api)
	t.Cleanup(func() {
		if err := e.api.Shutdown(context.Background()); err != nil {
			t.Errorf("OpenFeature Shutdown: %v", err)
		}
	})
	if o.noWait {
		if err := e.api.SetProvider(t.Context(), e.provider); err != nil {
			t.Fatal(err)
		}
	} else if err := e.api.SetProviderAndWait(t.Context(), e.provider); err != nil {
		t.Fatalf("SetProviderAndWait: %v", err)
	}
	e.flags = e.api.NewClient()
	return e
}

// newTargetClient is a client of the demo site on the edge at addr (every
// host routed to it), closed at the end of the test after the provider's
// shutdown.
func newTargetClient(t *testing.T, addr string, opts ...target.Option) *target.Client {
	t.Helper()
	transport := edge.RoutingTransport(addr)
	c, err := target.New(append([]target.Option{
		target.WithClient(demo.Client), target.WithOrganizationID(demo.OrganizationID),
		target.WithServerDomain(addr), target.WithSecure(false), target.WithTransport(transport), target.WithTelemetry(false),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Close()
		transport.CloseIdleConnections()
	})
	return c
}

// visitorA and visitorB fall in the A/B test's first and second
// experience (allocation of "targetflow-demo.930001.<tntId>.<salt>").
var visitorA, visitorB = findVisitors()

func findVisitors() (a, b string) {
	for i := 0; a == "" || b == ""; i++ {
		id := "visitor-" + string(rune('a'+i%26)) + string(rune('a'+i/26%26))
		if ondevice.Allocation(demo.Client, 930001, id) <= 50 {
			if a == "" {
				a = id
			}
		} else if b == "" {
			b = id
		}
	}
	return a, b
}

// events collects the provider events the API's handlers receive.
type events struct {
	mu  sync.Mutex
	got []openfeature.EventDetails
	typ []openfeature.EventType
	ch  chan struct{}
}

func collectEvents(api *openfeature.EvaluationAPI) *events {
	ev := &events{ch: make(chan struct{}, 64)}
	for _, t := range []openfeature.EventType{openfeature.ProviderReady, openfeature.ProviderConfigChange, openfeature.ProviderStale, openfeature.ProviderError} {
		t := t
		cb := func(d openfeature.EventDetails) {
			ev.mu.Lock()
			ev.got, ev.typ = append(ev.got, d), append(ev.typ, t)
			ev.mu.Unlock()
			ev.ch <- struct{}{}
		}
		api.AddHandler(t, &cb)
	}
	return ev
}

// wait waits for the next event of type want and returns it; events of
// other types before it are returned too, in order.
func (ev *events) wait(t *testing.T, want openfeature.EventType) (openfeature.EventDetails, []openfeature.EventType) {
	t.Helper()
	deadline := time.After(time.Minute)
	seen := 0
	for {
		ev.mu.Lock()
		for seen < len(ev.typ) {
			typ, d := ev.typ[seen], ev.got[seen]
			seen++
			if typ == want {
				before := append([]openfeature.EventType(nil), ev.typ[:seen]...)
				ev.typ, ev.got = ev.typ[seen:], ev.got[seen:]
				ev.mu.Unlock()
				return d, before
			}
		}
		ev.mu.Unlock()
		select {
		case <-ev.ch:
		case <-deadline:
			t.Fatalf("no %s event", want)
		}
	}
}

func evalCtx(targetingKey string, attrs map[string]any) openfeature.EvaluationContext {
	return openfeature.NewEvaluationContext(targetingKey, attrs)
}
