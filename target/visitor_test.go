package target

import (
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/targetflow/targetflow/delivery"
)

func TestVisitorCookieName(t *testing.T) {
	t.Parallel()
	if got := VisitorCookieName("65453EA95574003E7F000101@AdobeOrg"); got != "AMCV_65453EA95574003E7F000101@AdobeOrg" {
		t.Errorf("VisitorCookieName = %q", got)
	}
}

func TestVisitorCookieFromRequest(t *testing.T) {
	t.Parallel()
	const org = "65453EA95574003E7F000101@AdobeOrg"
	tests := []struct {
		name   string
		header []string
		want   string
	}{
		{"none", nil, ""},
		{"as browsers send it", []string{"mbox=x; AMCV_65453EA95574003E7F000101%40AdobeOrg=-1%7CMCMID%7C42; s_cc=true"}, "-1%7CMCMID%7C42"},
		{"plain @ in the name", []string{"AMCV_65453EA95574003E7F000101@AdobeOrg=MCMID|42"}, "MCMID|42"},
		{"quoted value", []string{`AMCV_65453EA95574003E7F000101@AdobeOrg="MCMID|42"`}, "MCMID|42"},
		{"second Cookie header", []string{"a=b", "AMCV_65453EA95574003E7F000101@AdobeOrg=MCMID|7"}, "MCMID|7"},
		{"another organization's cookie", []string{"AMCV_OTHER%40AdobeOrg=MCMID|1; AMCV_OTHER@AdobeOrg=MCMID|2"}, ""},
		{"name prefix only", []string{"AMCV_65453EA95574003E7F000101@AdobeOrgX=MCMID|1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest("GET", "/", nil)
			for _, h := range tt.header {
				r.Header.Add("Cookie", h)
			}
			if got := VisitorCookieFromRequest(r, org); got != tt.want {
				t.Errorf("VisitorCookieFromRequest = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestVisitorStateJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		state VisitorState
		want  string
	}{
		{"zero", VisitorState{}, `{}`},
		{"sdid only", newVisitorState("ORG@AdobeOrg", nil, SupplementalDataState{Current: "A-B", CurrentConsumers: []string{"c"}}),
			`{"ORG@AdobeOrg":{"sdid":{"supplementalDataIDCurrent":"A-B","supplementalDataIDCurrentConsumed":{"payload:c":true},"supplementalDataIDLastConsumed":{}}}}`},
		{"organization without @AdobeOrg", newVisitorState("ORG", nil, SupplementalDataState{Current: "X"}),
			`{"ORG@AdobeOrg":{"sdid":{"supplementalDataIDCurrent":"X","supplementalDataIDCurrentConsumed":{},"supplementalDataIDLastConsumed":{}}}}`},
		{"last id", VisitorState{OrganizationID: "O", SupplementalData: SupplementalDataState{
			Current: "2", CurrentConsumers: []string{"a"}, Last: "1", LastConsumers: []string{"a", "b"}}},
			`{"O":{"sdid":{"supplementalDataIDCurrent":"2","supplementalDataIDCurrentConsumed":{"payload:a":true},"supplementalDataIDLast":"1","supplementalDataIDLastConsumed":{"payload:a":true,"payload:b":true}}}}`},
		{"customer ids: auth states, empty id dropped, a repeated code keeps its place and takes the last value",
			newVisitorState("O", []delivery.CustomerID{
				{ID: "u1", IntegrationCode: "crm", AuthenticatedState: delivery.AuthAuthenticated},
				{ID: "", IntegrationCode: "skipped"},
				{ID: "p", IntegrationCode: "puuid"},
				{ID: "u2", IntegrationCode: "crm", AuthenticatedState: delivery.AuthLoggedOut},
			}, SupplementalDataState{}),
			`{"O@AdobeOrg":{"customerIDs":{"crm":{"id":"u2","authState":2},"puuid":{"id":"p","authState":0}}}}`},
		{"strings escaped", VisitorState{OrganizationID: "O\"\\", CustomerIDs: []delivery.CustomerID{{ID: "a\nb\x01\xff", IntegrationCode: "<c>"}}},
			`{"O\"\\":{"customerIDs":{"<c>":{"id":"a\nb\u0001\ufffd","authState":0}}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.state.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("MarshalJSON\n got %s\nwant %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("invalid JSON %s", got)
			}
		})
	}
}

// TestSupplementalDataIDsFollowsTheVisitorLibrary replays the SDID
// factory of the visitor library (@adobe-mcid/visitor-js-shared), as
// TestVisitorIdentityMatchesNodeSDK checks against the Node.js SDK: a
// consumer asking twice starts a new id, and a consumer that has not used
// the previous id yet gets that one.
func TestSupplementalDataIDsFollowsTheVisitorLibrary(t *testing.T) {
	t.Parallel()
	s := NewSupplementalDataIDs()
	a1 := s.For("hero")
	if got := s.For("recs"); got != a1 {
		t.Fatalf("recs got %q, want the current %q", got, a1)
	}
	a2 := s.For("hero")
	if a2 == a1 {
		t.Fatal("hero asking again kept the same id")
	}
	if got := s.For("cart"); got != a1 {
		t.Errorf("cart, new to the last id, got %q, want the last id %q", got, a1)
	}
	if got := s.For("recs"); got != a2 {
		t.Errorf("recs, who used the last id, got %q, want the current %q", got, a2)
	}
	want := SupplementalDataState{Current: a2, CurrentConsumers: []string{"hero", "recs"}, Last: a1, LastConsumers: []string{"hero", "recs", "cart"}}
	if got := s.State(); !reflect.DeepEqual(got, want) {
		t.Errorf("State() = %+v, want %+v", got, want)
	}
	state := s.State()
	state.CurrentConsumers[0] = "changed"
	if s.State().CurrentConsumers[0] != "hero" {
		t.Error("State() shares its slices with the live state")
	}
}

func TestPlanCallVisitorState(t *testing.T) {
	t.Parallel()
	c, _ := newOfflineClient(t)
	ids := []delivery.CustomerID{{ID: "u1", IntegrationCode: "crm", AuthenticatedState: delivery.AuthAuthenticated}}
	tests := []struct {
		name string
		opts callOptions
		want func(sent string) SupplementalDataState
	}{
		{"fresh id for the default consumer", callOptions{request: executeMboxes("a")},
			func(sent string) SupplementalDataState {
				return SupplementalDataState{Current: sent, CurrentConsumers: []string{DefaultConsumerID}}
			}},
		{"the request's own id, consumed by the caller's consumer", callOptions{request: &delivery.DeliveryRequest{
			ExperienceCloud: &delivery.ExperienceCloud{Analytics: &delivery.AnalyticsRequest{SupplementalDataID: "OWN-ID"}},
			Execute:         &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Name: "a"}}},
		}, consumerID: "recs", customerIDs: ids},
			func(string) SupplementalDataState {
				return SupplementalDataState{Current: "OWN-ID", CurrentConsumers: []string{"recs"}}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			plan := c.planCall(tt.opts)
			sent := plan.request.ExperienceCloud.Analytics.SupplementalDataID
			want := newVisitorState("ORG@AdobeOrg", tt.opts.customerIDs, tt.want(sent))
			want.OrganizationID = plan.visitorState.OrganizationID
			if !reflect.DeepEqual(plan.visitorState, want) {
				t.Errorf("visitor state %+v, want %+v", plan.visitorState, want)
			}
			if plan.visitorState.OrganizationID == "" {
				t.Error("visitor state without an organization")
			}
		})
	}
}

func TestApplyVisitorCookieLogsMalformedParts(t *testing.T) {
	t.Parallel()
	c, logs := newOfflineClient(t)
	plan := c.planCall(callOptions{request: executeMboxes("a"), visitorCookie: "MCMID|42|MCAAMB|%zz"})
	if got := plan.request.ID.MarketingCloudVisitorID; got != "42" {
		t.Errorf("marketingCloudVisitorId %q, want the cookie's 42", got)
	}
	entries := logs.FilterMessage("ignoring a malformed part of the visitor cookie").All()
	if len(entries) != 1 {
		t.Fatalf("%d warnings, want 1: %v", len(entries), logs.All())
	}
	fields := entries[0].ContextMap()
	if !strings.HasPrefix(fields["cookie"].(string), "AMCV_") || !strings.Contains(fields["part"].(string), "MCAAMB") {
		t.Errorf("warning fields %v do not name the cookie and the part", fields)
	}
}

func TestApplyVisitorCookieOptedOut(t *testing.T) {
	t.Parallel()
	c, _ := newOfflineClient(t)
	plan := c.planCall(callOptions{request: executeMboxes("a"),
		visitorCookie: "MCMID|42|MCAAMLH|9|MCAAMB|blob|MCOPTOUT-4102444800s|global"})
	if plan.request.ID != nil && plan.request.ID.MarketingCloudVisitorID != "" {
		t.Errorf("opted-out visitor's ECID sent: %+v", plan.request.ID)
	}
	if plan.request.ExperienceCloud.AudienceManager != nil {
		t.Errorf("opted-out visitor's Audience Manager data sent: %+v", plan.request.ExperienceCloud.AudienceManager)
	}
}

func TestApplyVisitorCookieLeavesTheCallersRequestAlone(t *testing.T) {
	t.Parallel()
	c, _ := newOfflineClient(t)
	req := &delivery.DeliveryRequest{
		ID:              &delivery.VisitorID{ThirdPartyID: "3p"},
		ExperienceCloud: &delivery.ExperienceCloud{AudienceManager: &delivery.AudienceManager{LocationHint: 3}},
		Execute:         &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Name: "a"}}},
	}
	before := req.Clone()
	plan := c.planCall(callOptions{request: req, visitorCookie: "MCMID|42|MCAAMLH|9|MCAAMB|blob"})
	if !reflect.DeepEqual(req, before) {
		t.Errorf("the caller's request was modified: %+v", req)
	}
	am := plan.request.ExperienceCloud.AudienceManager
	if am.LocationHint != 3 || am.Blob != "blob" || plan.request.ID.MarketingCloudVisitorID != "42" || plan.request.ID.ThirdPartyID != "3p" {
		t.Errorf("completed id %+v, audience manager %+v", plan.request.ID, am)
	}
}
