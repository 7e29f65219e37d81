package target

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/targetflow/targetflow/delivery"
)

func float(v float64) *float64 { return &v }

// newOfflineClient is a client for tests that only plan calls.
func newOfflineClient(t *testing.T, opts ...Option) (*Client, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	base := []Option{WithClient("acme"), WithOrganizationID("ACME@AdobeOrg"), WithLogger(zap.New(core))}
	c, err := New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, logs
}

func TestCompleteRequest(t *testing.T) {
	t.Parallel()
	future := "9999999999"
	utcPlus2 := time.FixedZone("UTC+2", 2*3600)
	tests := []struct {
		name   string
		client []Option
		opts   callOptions
		check  func(t *testing.T, r *delivery.DeliveryRequest)
	}{
		{
			name: "fresh request id, context defaults, analytics logging",
			opts: callOptions{request: executeMboxes("a")},
			check: func(t *testing.T, r *delivery.DeliveryRequest) {
				if len(r.RequestID) != 36 {
					t.Errorf("requestId %q is not a UUID", r.RequestID)
				}
				if r.Context == nil || r.Context.Channel != delivery.ChannelWeb {
					t.Errorf("context %+v, want channel web", r.Context)
				}
				if r.Context.TimeOffsetInMinutes == nil || *r.Context.TimeOffsetInMinutes != 120 {
					t.Errorf("timeOffsetInMinutes %v, want 120 (the clock's zone)", r.Context.TimeOffsetInMinutes)
				}
				a := r.ExperienceCloud.Analytics
				if a.Logging != delivery.LoggingServerSide {
					t.Errorf("analytics logging %q, want server_side", a.Logging)
				}
				if len(a.SupplementalDataID) != 33 || a.SupplementalDataID[16] != '-' || strings.ToUpper(a.SupplementalDataID) != a.SupplementalDataID {
					t.Errorf("supplementalDataId %q is not in the visitor library's format", a.SupplementalDataID)
				}
				if r.ID != nil {
					t.Errorf("visitor id %+v, want none", r.ID)
				}
				if r.Property != nil || r.EnvironmentID != 0 {
					t.Errorf("property %+v environment %d, want none", r.Property, r.EnvironmentID)
				}
			},
		},
		{
			name: "caller's request id, channel, offset and logging kept",
			opts: callOptions{request: &delivery.DeliveryRequest{
				RequestID:       "req-1",
				Context:         &delivery.Context{Channel: delivery.ChannelMobile, TimeOffsetInMinutes: float(0)},
				ExperienceCloud: &delivery.ExperienceCloud{Analytics: &delivery.AnalyticsRequest{Logging: delivery.LoggingClientSide, SupplementalDataID: "SD-1"}},
				Execute:         &delivery.ExecuteRequest{PageLoad: &delivery.RequestDetails{}},
			}},
			check: func(t *testing.T, r *delivery.DeliveryRequest) {
				if r.RequestID != "req-1" {
					t.Errorf("requestId %q, want req-1", r.RequestID)
				}
				if r.Context.Channel != delivery.ChannelMobile || *r.Context.TimeOffsetInMinutes != 0 {
					t.Errorf("context %+v, want mobile with offset 0", r.Context)
				}
				if a := r.ExperienceCloud.Analytics; a.Logging != delivery.LoggingClientSide || a.SupplementalDataID != "SD-1" {
					t.Errorf("analytics %+v", a)
				}
			},
		},
		{
			name: "unknown channel becomes web",
			opts: callOptions{request: &delivery.DeliveryRequest{Context: &delivery.Context{Channel: "tv"}, Execute: &delivery.ExecuteRequest{PageLoad: &delivery.RequestDetails{}}}},
			check: func(t *testing.T, r *delivery.DeliveryRequest) {
				if r.Context.Channel != delivery.ChannelWeb {
					t.Errorf("channel %q, want web", r.Context.Channel)
				}
			},
		},
		{
			name: "tntId from the PC cookie entry",
			opts: callOptions{request: executeMboxes("a"), targetCookie: "PC#cookie-visitor.35_0#" + future},
			check: func(t *testing.T, r *delivery.DeliveryRequest) {
				if r.ID == nil || r.ID.TntID != "cookie-visitor.35_0" {
					t.Errorf("id %+v, want tntId from the cookie", r.ID)
				}
			},
		},
		{
			name: "request tntId beats the cookie",
			opts: callOptions{request: withTntID(executeMboxes("a"), "own.1_0"), targetCookie: "PC#cookie-visitor.35_0#" + future},
			check: func(t *testing.T, r *delivery.DeliveryRequest) {
				if r.ID.TntID != "own.1_0" {
					t.Errorf("tntId %q, want own.1_0", r.ID.TntID)
				}
			},
		},
		{
			name: "customer ids merged ahead of the request's",
			opts: callOptions{
				request: &delivery.DeliveryRequest{
					ID:      &delivery.VisitorID{ThirdPartyID: "3p", CustomerIDs: []delivery.CustomerID{{ID: "r1", IntegrationCode: "crm", AuthenticatedState: delivery.AuthAuthenticated}}},
					Execute: &delivery.ExecuteRequest{PageLoad: &delivery.RequestDetails{}},
				},
				customerIDs: []delivery.CustomerID{{ID: "o1", IntegrationCode: "loyalty"}, {ID: "", IntegrationCode: "empty"}},
			},
			check: func(t *testing.T, r *delivery.DeliveryRequest) {
				want := []delivery.CustomerID{
					{ID: "o1", IntegrationCode: "loyalty", AuthenticatedState: delivery.AuthUnknown},
					{ID: "r1", IntegrationCode: "crm", AuthenticatedState: delivery.AuthAuthenticated},
				}
				if !reflect.DeepEqual(r.ID.CustomerIDs, want) || r.ID.ThirdPartyID != "3p" {
					t.Errorf("id %+v, want customer ids %+v and thirdPartyId 3p", r.ID, want)
				}
			},
		},
		{
			name:   "configured property token and environment",
			client: []Option{WithPropertyToken("prop-config"), WithEnvironmentID(7)},
			opts:   callOptions{request: executeMboxes("a")},
			check: func(t *testing.T, r *delivery.DeliveryRequest) {
				if r.Property == nil || r.Property.Token != "prop-config" || r.EnvironmentID != 7 {
					t.Errorf("property %+v environment %d, want prop-config and 7", r.Property, r.EnvironmentID)
				}
			},
		},
		{
			name:   "request property token and environment win",
			client: []Option{WithPropertyToken("prop-config"), WithEnvironmentID(7)},
			opts: callOptions{request: &delivery.DeliveryRequest{
				Property: &delivery.Property{Token: "prop-request"}, EnvironmentID: 9,
				Execute: &delivery.ExecuteRequest{PageLoad: &delivery.RequestDetails{}},
			}},
			check: func(t *testing.T, r *delivery.DeliveryRequest) {
				if r.Property.Token != "prop-request" || r.EnvironmentID != 9 {
					t.Errorf("property %+v environment %d, want prop-request and 9", r.Property, r.EnvironmentID)
				}
			},
		},
		{
			name: "empty property token dropped",
			opts: callOptions{request: &delivery.DeliveryRequest{Property: &delivery.Property{}, Execute: &delivery.ExecuteRequest{PageLoad: &delivery.RequestDetails{}}}},
			check: func(t *testing.T, r *delivery.DeliveryRequest) {
				if r.Property != nil {
					t.Errorf("property %+v, want none", r.Property)
				}
			},
		},
		{
			name: "mboxes without a name dropped, the rest numbered",
			opts: callOptions{request: &delivery.DeliveryRequest{
				Execute:  &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Name: "a"}, {}, {Name: "b"}}},
				Prefetch: &delivery.PrefetchRequest{Mboxes: []delivery.MboxRequest{{Name: "c", Index: 4}, {Index: 5}, {Name: "d", Index: 6}}},
			}},
			check: func(t *testing.T, r *delivery.DeliveryRequest) {
				if want := []delivery.MboxRequest{{Name: "a", Index: 0}, {Name: "b", Index: 1}}; !reflect.DeepEqual(r.Execute.Mboxes, want) {
					t.Errorf("execute mboxes %+v, want %+v", r.Execute.Mboxes, want)
				}
				if want := []delivery.MboxRequest{{Name: "c", Index: 4}, {Name: "d", Index: 6}}; !reflect.DeepEqual(r.Prefetch.Mboxes, want) {
					t.Errorf("prefetch mboxes %+v, want %+v", r.Prefetch.Mboxes, want)
				}
			},
		},
		{
			name: "execute with only invalid mboxes dropped",
			opts: callOptions{request: &delivery.DeliveryRequest{
				Execute:  &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Index: 1}}},
				Prefetch: &delivery.PrefetchRequest{Views: []delivery.ViewRequest{{Name: "home"}}},
			}},
			check: func(t *testing.T, r *delivery.DeliveryRequest) {
				if r.Execute != nil {
					t.Errorf("execute %+v, want none", r.Execute)
				}
				if r.Prefetch == nil || len(r.Prefetch.Views) != 1 {
					t.Errorf("prefetch %+v, want the view kept", r.Prefetch)
				}
			},
		},
		{
			name: "invalid notifications dropped",
			opts: callOptions{request: &delivery.DeliveryRequest{Notifications: []delivery.Notification{
				{ID: "ok", Type: delivery.MetricDisplay, Timestamp: 1},
				{Type: delivery.MetricDisplay, Timestamp: 1},
				{ID: "no-time", Type: delivery.MetricClick},
				{ID: "bad-type", Type: "hover", Timestamp: 1},
				{ID: "ok2", Type: delivery.MetricClick, Timestamp: 2},
			}}},
			check: func(t *testing.T, r *delivery.DeliveryRequest) {
				var ids []string
				for _, n := range r.Notifications {
					ids = append(ids, n.ID)
				}
				if !reflect.DeepEqual(ids, []string{"ok", "ok2"}) {
					t.Errorf("notifications %v, want [ok ok2]", ids)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _ := newOfflineClient(t, tt.client...)
			c.cfg.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, utcPlus2) }
			before := tt.opts.request.Clone()
			plan := c.planCall(tt.opts)
			tt.check(t, plan.request)
			if !reflect.DeepEqual(tt.opts.request, before) {
				t.Errorf("the caller's request was modified:\n got %+v\nwant %+v", tt.opts.request, before)
			}
		})
	}
}

func TestCompleteRequestStitchesSupplementalDataIDs(t *testing.T) {
	t.Parallel()
	c, _ := newOfflineClient(t)
	page := NewSupplementalDataIDs()
	first := c.planCall(callOptions{request: executeMboxes("a"), supplementalData: page, consumerID: "hero"})
	second := c.planCall(callOptions{request: executeMboxes("b"), supplementalData: page, consumerID: "recs"})
	sdid := first.request.ExperienceCloud.Analytics.SupplementalDataID
	if got := second.request.ExperienceCloud.Analytics.SupplementalDataID; got != sdid || sdid == "" {
		t.Errorf("stitched calls got SDIDs %q and %q, want the same", sdid, got)
	}
	lone := c.planCall(callOptions{request: executeMboxes("c")})
	if lone.request.ExperienceCloud.Analytics.SupplementalDataID == sdid {
		t.Error("an unstitched call reused the page's SDID")
	}
}

func TestSupplementalDataIDs(t *testing.T) {
	t.Parallel()
	s := NewSupplementalDataIDs()
	first := s.For("")
	if got := s.For("recs"); got != first {
		t.Errorf("another consumer got %q, want the current SDID %q", got, first)
	}
	again := s.For(DefaultConsumerID)
	if again == first {
		t.Error("a consumer asking twice got the same SDID, want a new one")
	}
	if got := s.For("recs"); got != again {
		t.Errorf("after the new SDID, recs got %q, want %q", got, again)
	}
}

func TestCompleteRequestWarnsAboutDroppedItems(t *testing.T) {
	t.Parallel()
	c, logs := newOfflineClient(t)
	c.planCall(callOptions{request: &delivery.DeliveryRequest{
		Execute:       &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Index: 3}}},
		Notifications: []delivery.Notification{{ID: "n", Type: "hover", Timestamp: 1}},
	}})
	if n := logs.FilterMessageSnippet("mbox validation failed").FilterField(zap.Int("index", 3)).Len(); n != 1 {
		t.Errorf("%d mbox warnings, want 1: %v", n, logs.All())
	}
	if n := logs.FilterMessageSnippet("notification validation failed").FilterField(zap.String("type", "hover")).Len(); n != 1 {
		t.Errorf("%d notification warnings, want 1: %v", n, logs.All())
	}
}

func TestSessionID(t *testing.T) {
	t.Parallel()
	c, _ := newOfflineClient(t)
	tests := []struct {
		name   string
		cookie string
		option string
		want   string
	}{
		{"from the cookie", "session#from-cookie#9999999999", "from-option", "from-cookie"},
		{"from the option", "", "from-option", "from-option"},
		{"expired cookie entry", "session#old#1", "from-option", "from-option"},
	}
	for _, tt := range tests {
		plan := c.planCall(callOptions{request: executeMboxes("a"), targetCookie: tt.cookie, sessionID: tt.option})
		if plan.sessionID != tt.want {
			t.Errorf("%s: session %q, want %q", tt.name, plan.sessionID, tt.want)
		}
	}
	a := c.planCall(callOptions{request: executeMboxes("a")}).sessionID
	b := c.planCall(callOptions{request: executeMboxes("a")}).sessionID
	if len(a) != 36 || a == b {
		t.Errorf("minted sessions %q and %q, want two different UUIDs", a, b)
	}
}
