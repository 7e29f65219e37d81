package featureflags_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/featureflags"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/internal/edgeserver"
	"github.com/targetflow/targetflow/ondevice"
	"github.com/targetflow/targetflow/target"
)

// evaluation is one flag evaluation through the SDK's client and what it
// must give.
type evaluation struct {
	name    string
	kind    string // bool, string, int, float, object
	flag    string
	def     any
	ctx     openfeature.EvaluationContext
	value   any
	reason  openfeature.Reason
	variant string
	code    openfeature.ErrorCode
	meta    openfeature.FlagMetadata // checked key by key when set
}

func (ev evaluation) run(t *testing.T, flags *openfeature.Client) {
	t.Helper()
	ctx := t.Context()
	var (
		value  any
		detail openfeature.EvaluationDetails
		err    error
	)
	switch ev.kind {
	case "bool":
		var d openfeature.BooleanEvaluationDetails
		d, err = flags.BooleanValueDetails(ctx, ev.flag, ev.def.(bool), ev.ctx)
		value, detail = d.Value, d.EvaluationDetails
	case "string":
		var d openfeature.StringEvaluationDetails
		d, err = flags.StringValueDetails(ctx, ev.flag, ev.def.(string), ev.ctx)
		value, detail = d.Value, d.EvaluationDetails
	case "int":
		var d openfeature.IntEvaluationDetails
		d, err = flags.IntValueDetails(ctx, ev.flag, ev.def.(int64), ev.ctx)
		value, detail = d.Value, d.EvaluationDetails
	case "float":
		var d openfeature.FloatEvaluationDetails
		d, err = flags.FloatValueDetails(ctx, ev.flag, ev.def.(float64), ev.ctx)
		value, detail = d.Value, d.EvaluationDetails
	case "object":
		var d openfeature.InterfaceEvaluationDetails
		d, err = flags.ObjectValueDetails(ctx, ev.flag, ev.def, ev.ctx)
		value, detail = d.Value, d.EvaluationDetails
	}
	if !reflect.DeepEqual(value, ev.value) {
		t.Errorf("%s: value %#v; want %#v", ev.name, value, ev.value)
	}
	if detail.ErrorCode != ev.code {
		t.Errorf("%s: error code %q (%v); want %q", ev.name, detail.ErrorCode, err, ev.code)
	}
	if (err != nil) != (ev.code != "") {
		t.Errorf("%s: error %v; want one only with a code", ev.name, err)
	}
	if detail.Reason != ev.reason {
		t.Errorf("%s: reason %q; want %q", ev.name, detail.Reason, ev.reason)
	}
	if detail.Variant != ev.variant {
		t.Errorf("%s: variant %q; want %q", ev.name, detail.Variant, ev.variant)
	}
	for k, want := range ev.meta {
		if got := detail.FlagMetadata[k]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: metadata %s = %#v (%T); want %#v", ev.name, k, got, got, want)
		}
	}
}

func TestEvaluationsOnDevice(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	a, b := evalCtx(visitorA, nil), evalCtx(visitorB, nil)
	splitA := openfeature.FlagMetadata{"activityId": int64(930001), "activityName": "Checkout flags",
		"experienceId": int64(0), "experienceName": "Control", "decisioningMethod": "on-device"}
	for _, ev := range []evaluation{
		{name: "bool A", kind: "bool", flag: "enabled", def: true, ctx: a, value: false, reason: openfeature.SplitReason, variant: "Control", meta: splitA},
		{name: "bool B", kind: "bool", flag: "enabled", def: false, ctx: b, value: true, reason: openfeature.SplitReason, variant: "Treatment",
			meta: openfeature.FlagMetadata{"experienceId": int64(1), "experienceName": "Treatment"}},
		{name: "string", kind: "string", flag: "color", def: "red", ctx: a, value: "blue", reason: openfeature.SplitReason, variant: "Control"},
		{name: "int", kind: "int", flag: "limit", def: int64(0), ctx: b, value: int64(20), reason: openfeature.SplitReason, variant: "Treatment"},
		{name: "int from 2.0", kind: "int", flag: "whole", def: int64(0), ctx: a, value: int64(2), reason: openfeature.SplitReason, variant: "Control"},
		{name: "float", kind: "float", flag: "ratio", def: 0.0, ctx: a, value: 0.25, reason: openfeature.SplitReason, variant: "Control"},
		{name: "float from an integer", kind: "float", flag: "limit", def: 0.0, ctx: a, value: 10.0, reason: openfeature.SplitReason, variant: "Control"},
		{name: "object", kind: "object", flag: "layout", def: nil, ctx: b, value: map[string]any{"columns": json.Number("4")}, reason: openfeature.SplitReason, variant: "Treatment"},
		{name: "experience targeting matched", kind: "int", flag: "discount", def: int64(-1),
			ctx: evalCtx(visitorA, map[string]any{"mbox": mboxXT, "tier": "gold"}), value: int64(15), reason: openfeature.TargetingMatchReason, variant: "Gold",
			meta: openfeature.FlagMetadata{"activityId": int64(930002), "activityName": "Tiered flags"}},
		{name: "experience targeting, everybody else", kind: "int", flag: "discount", def: int64(-1),
			ctx: evalCtx(visitorA, map[string]any{"mbox": mboxXT, "tier": "silver"}), value: int64(0), reason: openfeature.TargetingMatchReason, variant: "Everybody"},
		{name: "by thirdPartyId", kind: "bool", flag: "enabled", def: true,
			ctx:   openfeature.NewTargetlessEvaluationContext(map[string]any{"thirdPartyId": "crm-7", "profile.tier": "gold", "visits": 3, "returning": true}),
			value: ondevice.Allocation(demo.Client, 930001, "crm-7") > 50, reason: openfeature.SplitReason,
			variant: map[bool]string{false: "Control", true: "Treatment"}[ondevice.Allocation(demo.Client, 930001, "crm-7") > 50]},

		{name: "TYPE_MISMATCH", kind: "bool", flag: "color", def: true, ctx: a, value: true, reason: openfeature.ErrorReason, code: openfeature.TypeMismatchCode},
		{name: "TYPE_MISMATCH: a fraction is no int", kind: "int", flag: "ratio", def: int64(7), ctx: a, value: int64(7), reason: openfeature.ErrorReason, code: openfeature.TypeMismatchCode},
		{name: "FLAG_NOT_FOUND: no such key", kind: "string", flag: "nope", def: "d", ctx: a, value: "d", reason: openfeature.ErrorReason, code: openfeature.FlagNotFoundCode},
		{name: "FLAG_NOT_FOUND: no such mbox", kind: "string", flag: "color", def: "d", ctx: evalCtx(visitorA, map[string]any{"mbox": "unknown-mbox"}),
			value: "d", reason: openfeature.ErrorReason, code: openfeature.FlagNotFoundCode},
		{name: "PARSE_ERROR", kind: "string", flag: "x", def: "d", ctx: evalCtx(visitorA, map[string]any{"mbox": mboxBroken}),
			value: "d", reason: openfeature.ErrorReason, code: openfeature.ParseErrorCode},
		{name: "TARGETING_KEY_MISSING", kind: "bool", flag: "enabled", def: true, ctx: openfeature.NewTargetlessEvaluationContext(nil),
			value: true, reason: openfeature.ErrorReason, code: openfeature.TargetingKeyMissingCode},
		{name: "INVALID_CONTEXT: a nested attribute", kind: "bool", flag: "enabled", def: true, ctx: evalCtx(visitorA, map[string]any{"cart": map[string]any{"items": 2}}),
			value: true, reason: openfeature.ErrorReason, code: openfeature.InvalidContextCode},
		{name: "INVALID_CONTEXT: mbox not a string", kind: "bool", flag: "enabled", def: true, ctx: evalCtx(visitorA, map[string]any{"mbox": 3}),
			value: true, reason: openfeature.ErrorReason, code: openfeature.InvalidContextCode},
	} {
		ev.run(t, e.flags)
	}
}

// TestSharedDetailsStayIntact: the provider makes an experience's
// resolution detail once and shares it; what a caller does with the
// metadata it gets reaches no other evaluation.
func TestSharedDetailsStayIntact(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	a := evalCtx(visitorA, nil)
	first, err := e.flags.BooleanValueDetails(t.Context(), "enabled", true, a)
	if err != nil {
		t.Fatal(err)
	}
	first.FlagMetadata["experienceName"] = "changed by the caller"
	delete(first.FlagMetadata, "activityId")
	for range 2 {
		evaluation{name: "after a caller changed its metadata", kind: "bool", flag: "enabled", def: true, ctx: a, value: false,
			reason: openfeature.SplitReason, variant: "Control",
			meta: openfeature.FlagMetadata{"activityId": int64(930001), "experienceName": "Control"}}.run(t, e.flags)
	}
}

func TestEvaluationsServerSide(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		typeToken bool
		reason    openfeature.Reason
	}{
		// The edge answers with the response tokens the artifact lists: with
		// activity.type the reason is known, without it (and without an
		// artifact to look it up in) it is DEFAULT.
		{"activity.type token", true, openfeature.SplitReason},
		{"no activity.type token", false, openfeature.DefaultReason},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{method: delivery.DecisioningServerSide, typeToken: tc.typeToken})
			evaluation{name: "bool", kind: "bool", flag: "enabled", def: false, ctx: evalCtx(visitorB, nil), value: true, reason: tc.reason, variant: "Treatment",
				meta: openfeature.FlagMetadata{"activityId": int64(930001), "decisioningMethod": "server-side"}}.run(t, e.flags)
			evaluation{name: "FLAG_NOT_FOUND", kind: "int", flag: "nope", def: int64(1), ctx: evalCtx(visitorB, nil), value: int64(1),
				reason: openfeature.ErrorReason, code: openfeature.FlagNotFoundCode}.run(t, e.flags)

			e.srv.Control(func(r *edge.Request) (edge.Answer, bool) {
				return edge.Answer{Status: http.StatusServiceUnavailable}, r.Endpoint == edge.EndpointDelivery
			})
			evaluation{name: "GENERAL: the edge answers 503", kind: "bool", flag: "enabled", def: true, ctx: evalCtx(visitorB, nil), value: true,
				reason: openfeature.ErrorReason, code: openfeature.GeneralCode}.run(t, e.flags)
		})
	}
}

func TestHybridReasonFromTheArtifact(t *testing.T) {
	t.Parallel()
	// A hybrid client asks the edge for the remote-only mbox; the answer
	// has no activity.type token, and the provider reads the activity's
	// type in the artifact.
	e := newEnv(t, envOptions{method: delivery.DecisioningHybrid})
	evaluation{name: "remote mbox", kind: "string", flag: "algorithm", def: "", ctx: evalCtx(visitorA, map[string]any{"mbox": demo.MboxRecommendations}),
		value: recommendationsStrategy(t, e, visitorA), reason: openfeature.SplitReason,
		variant: recommendationsExperience(t, e, visitorA), meta: openfeature.FlagMetadata{"decisioningMethod": "server-side"}}.run(t, e.flags)
}

// recommendationsStrategy and recommendationsExperience are what the
// client's own GetAttributes gives the visitor for the remote mbox.
func recommendationsStrategy(t *testing.T, e *env, tntID string) string {
	t.Helper()
	attrs, err := e.target.GetAttributes(t.Context(), []string{demo.MboxRecommendations}, target.GetOffersOptions{
		Request: &delivery.DeliveryRequest{ID: &delivery.VisitorID{TntID: tntID}}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := attrs.String(demo.MboxRecommendations, "algorithm")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func recommendationsExperience(t *testing.T, e *env, tntID string) string {
	t.Helper()
	resp, err := e.target.GetOffers(t.Context(), target.GetOffersOptions{Request: &delivery.DeliveryRequest{
		ID: &delivery.VisitorID{TntID: tntID}, Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Name: demo.MboxRecommendations}}}}})
	if err != nil {
		t.Fatal(err)
	}
	name, _ := resp.Response.Execute.Mboxes[0].Options[0].ResponseTokens["experience.name"].(string)
	return name
}

func TestNotReadyAndFatal(t *testing.T) {
	t.Parallel()
	// An on-device client whose artifact never comes: Init fails, the
	// provider is ERROR, and evaluations are PROVIDER_NOT_READY.
	e := &env{}
	srv, addr := startEdge(t)
	srv.Control(func(r *edge.Request) (edge.Answer, bool) {
		srv.KeepControl()
		return edge.Answer{Status: http.StatusServiceUnavailable}, r.Endpoint == edge.EndpointRulesJSON
	})
	e.addr = addr
	client := newTargetClient(t, addr, target.WithDecisioningMethod(delivery.DecisioningOnDevice),
		target.WithOnDevice(ondevice.WithArtifactURL(e.artifactURL()), ondevice.WithRetry(1, 0)))
	api := isolated.NewAPI()
	defer func() { _ = api.Shutdown(context.Background()) }()
	err := api.SetProviderAndWait(t.Context(), featureflags.NewProvider(client, featureflags.WithMbox(mboxFlags)))
	if err == nil || !strings.Contains(err.Error(), "no artifact") {
		t.Fatalf("SetProviderAndWait: %v; want the artifact's failure", err)
	}
	flags := api.NewClient()
	if flags.State() != openfeature.ErrorState {
		t.Errorf("state %s; want ERROR", flags.State())
	}
	evaluation{name: "PROVIDER_NOT_READY", kind: "bool", flag: "enabled", def: true, ctx: evalCtx(visitorA, nil), value: true,
		reason: openfeature.ErrorReason, code: openfeature.ProviderNotReadyCode}.run(t, flags)

	// A provider made with a bad option, or without a client, is FATAL.
	for _, tc := range []struct {
		name     string
		provider *featureflags.Provider
		want     string
	}{
		{"nil client", featureflags.NewProvider(nil), "client: must not be nil"},
		{"empty mbox", featureflags.NewProvider(client, featureflags.WithMbox(" ")), "mbox: must not be empty"},
		{"zero deduplication", featureflags.NewProvider(client, featureflags.WithImpressionDeduplication(0)), `impressionDeduplication "0"`},
		{"negative recovery", featureflags.NewProvider(client, featureflags.WithRecoveryInterval(-1)), `recoveryInterval "-1ns"`},
	} {
		api := isolated.NewAPI()
		err := api.SetProviderAndWait(t.Context(), tc.provider)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: SetProviderAndWait: %v; want an error containing %q", tc.name, err, tc.want)
		}
		flags := api.NewClient()
		if flags.State() != openfeature.FatalState {
			t.Errorf("%s: state %s; want FATAL", tc.name, flags.State())
		}
		evaluation{name: tc.name + ": PROVIDER_FATAL", kind: "bool", flag: "enabled", def: true, ctx: evalCtx(visitorA, nil), value: true,
			reason: openfeature.ErrorReason, code: openfeature.ProviderFatalCode}.run(t, flags)
		_ = api.Shutdown(context.Background())
	}
}

// notifications returns what the edge has recorded of the given type.
func notifications(srv *edge.Server, typ delivery.MetricType) []edge.NotificationRecord {
	var out []edge.NotificationRecord
	for _, n := range srv.Notifications() {
		if n.Type == typ {
			out = append(out, n)
		}
	}
	return out
}

func TestImpressions(t *testing.T) {
	t.Parallel()
	evaluateTimes := func(t *testing.T, e *env, visitors ...string) {
		t.Helper()
		for _, v := range visitors {
			if _, err := e.flags.BooleanValue(t.Context(), "enabled", false, evalCtx(v, nil)); err != nil {
				t.Fatal(err)
			}
		}
		// Shutdown waits for the provider's sends; closing the client for
		// its own.
		if err := e.api.Shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
		_ = e.target.Close()
	}
	t.Run("every evaluation, as GetAttributes counts them", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{})
		evaluateTimes(t, e, visitorA, visitorA, visitorB)
		if got := notifications(e.srv, delivery.MetricDisplay); len(got) != 3 {
			t.Errorf("%d display notifications; want 3", len(got))
		}
	})
	t.Run("a client that leaves them to its caller", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{target: []target.Option{target.WithOnDeviceNotifications(false)}})
		evaluateTimes(t, e, visitorA, visitorA, visitorB)
		if got := notifications(e.srv, delivery.MetricDisplay); len(got) != 3 {
			t.Errorf("%d display notifications; want 3, sent by the provider", len(got))
		}
	})
	t.Run("deduplicated per visitor and activity", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{provider: []featureflags.Option{featureflags.WithImpressionDeduplication(100)}})
		evaluateTimes(t, e, visitorA, visitorA, visitorB, visitorA, visitorB)
		got := notifications(e.srv, delivery.MetricDisplay)
		if len(got) != 2 {
			t.Fatalf("%d display notifications; want 2 (one per visitor)", len(got))
		}
		byVisitor := map[string][]string{}
		for _, n := range got {
			byVisitor[n.TntID] = n.Tokens
		}
		want := map[string][]string{visitorA: {"display-Control"}, visitorB: {"display-Treatment"}}
		if !reflect.DeepEqual(byVisitor, want) {
			t.Errorf("impressions %v; want %v", byVisitor, want)
		}
	})
	t.Run("server-side deduplicated", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, envOptions{method: delivery.DecisioningServerSide, provider: []featureflags.Option{featureflags.WithImpressionDeduplication(100)}})
		evaluateTimes(t, e, visitorB, visitorB, visitorB)
		if got := notifications(e.srv, delivery.MetricDisplay); len(got) != 1 || got[0].Mbox != mboxFlags {
			t.Errorf("display notifications %+v; want one for %s", got, mboxFlags)
		}
	})
}

func TestTrack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	var mu sync.Mutex
	var clicks []delivery.Notification
	e.srv.Control(func(r *edge.Request) (edge.Answer, bool) {
		if r.Delivery != nil {
			mu.Lock()
			for _, n := range r.Delivery.Notifications {
				if n.Type == delivery.MetricClick {
					clicks = append(clicks, n)
				}
			}
			mu.Unlock()
		}
		return edge.Answer{}, false
	})
	if _, err := e.flags.BooleanValue(t.Context(), "enabled", false, evalCtx(visitorB, nil)); err != nil {
		t.Fatal(err)
	}
	e.flags.Track(t.Context(), "checkout", evalCtx(visitorB, map[string]any{"step": "payment"}),
		openfeature.NewTrackingEventDetails(49.5).Add("orderId", "o-17").Add("purchasedProductIds", "p1,p2").Add("profile.buyer", true))
	// A visitor never evaluated: sent, without tokens.
	e.flags.Track(t.Context(), "signup", evalCtx(visitorA, nil), openfeature.TrackingEventDetails{})
	if err := e.api.Shutdown(t.Context()); err != nil { // waits for the sends
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(clicks) != 2 {
		t.Fatalf("%d click notifications; want 2", len(clicks))
	}
	first, second := clicks[0], clicks[1]
	if first.Parameters["trackingEventName"] != "signup" {
		first, second = second, first
	}
	total := 49.5
	want := delivery.Notification{ID: second.ID, Type: delivery.MetricClick, Timestamp: second.Timestamp,
		Tokens: []string{"click-treatment"}, Mbox: &delivery.NotificationMbox{Name: mboxFlags},
		Parameters:        delivery.Parameters{"trackingEventName": "checkout", "step": "payment"},
		ProfileParameters: delivery.Parameters{"buyer": "true"},
		Order:             &delivery.Order{ID: "o-17", Total: &total, PurchasedProductIDs: []string{"p1", "p2"}}}
	if !reflect.DeepEqual(second, want) {
		t.Errorf("checkout notification\n %+v\nwant\n %+v", second, want)
	}
	if len(first.Tokens) != 0 || first.Mbox.Name != mboxFlags || first.Order != nil {
		t.Errorf("signup notification %+v; want one for %s without tokens or order", first, mboxFlags)
	}
}

// startEdge serves the test artifact.
func startEdge(t *testing.T) (*edge.Server, string) {
	t.Helper()
	return edgeserver.StartWith(t, flagsArtifact(t, false, nil), edge.WithOrganizationID(demo.OrganizationID))
}
