package target_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/internal/edgetest"
	"github.com/targetflow/targetflow/ondevice"
	"github.com/targetflow/targetflow/target"
)

// pageRequest asks for what a server-rendered page asks for: the page load
// and mboxes to render now, views and mboxes for at.js to apply later.
func pageRequest() *delivery.DeliveryRequest {
	return &delivery.DeliveryRequest{
		Context: &delivery.Context{Channel: delivery.ChannelWeb, Address: &delivery.Address{URL: "https://shop.example/"}},
		Execute: &delivery.ExecuteRequest{PageLoad: &delivery.RequestDetails{}, Mboxes: []delivery.MboxRequest{{Name: demo.MboxHero, Index: 1}}},
		Prefetch: &delivery.PrefetchRequest{
			Views:  []delivery.ViewRequest{{Name: demo.ViewHome}},
			Mboxes: []delivery.MboxRequest{{Name: demo.MboxFeatureFlags, Index: 2}},
		},
	}
}

func TestServerStateKeepsWhatAtJSApplies(t *testing.T) {
	t.Parallel()
	_, client := localEdge(t)
	resp, err := client.GetOffers(t.Context(), target.GetOffersOptions{Request: pageRequest()})
	if err != nil {
		t.Fatal(err)
	}
	state := resp.ServerState()

	if ex := state.Request.Execute; ex == nil || ex.PageLoad == nil || len(ex.Mboxes) != 0 {
		t.Errorf("serverState request execute %+v, want the page load alone", ex)
	}
	if pf := state.Request.Prefetch; pf == nil || len(pf.Views) != 1 || len(pf.Mboxes) != 1 {
		t.Errorf("serverState request prefetch %+v, want the view and the mbox", pf)
	}
	if state.Request.ID == nil && resp.Request.ID != nil || state.Request.ExperienceCloud == nil {
		t.Errorf("serverState request lost the visitor or the Experience Cloud data: %+v", state.Request)
	}
	if ex := state.Response.Execute; ex == nil || ex.PageLoad == nil || len(ex.Mboxes) != 0 {
		t.Errorf("serverState response execute %+v, want the page load alone", ex)
	}
	pf := state.Response.Prefetch
	if pf == nil || len(pf.Views) != 1 || len(pf.Mboxes) != 1 {
		t.Fatalf("serverState response prefetch %+v, want the view and the mbox", pf)
	}
	for _, o := range append(pf.Views[0].Options, pf.Mboxes[0].Options...) {
		if o.EventToken == "" {
			t.Errorf("prefetched option %+v has no event token", o)
		}
	}
	if len(resp.Response.Execute.Mboxes) != 1 || len(resp.Request.Execute.Mboxes) != 1 {
		t.Error("ServerState modified the response it was taken from")
	}

	data, err := json.Marshal(state)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Request  *delivery.DeliveryRequest  `json:"request"`
		Response *delivery.DeliveryResponse `json:"response"`
	}
	if err := json.Unmarshal(data, &back); err != nil || back.Response == nil || back.Response.Prefetch == nil || back.Request == nil {
		t.Fatalf("serverState JSON %s does not decode as {request, response}: %v", data, err)
	}
	if (*target.Response)(nil).ServerState() != nil {
		t.Error("ServerState of a nil response is not nil")
	}
}

// hostile holds strings that try to end a script element, open an HTML
// comment or break a JavaScript line.
var hostile = []string{
	`</script><script>alert(1)</script>`,
	`</SCRIPT >`,
	`<!--<script>`,
	`-->`,
	"line\u2028separator\u2029paragraph",
	`"quote' and \ backslash`,
	`<![CDATA[ ]]>`,
	"&lt; & <b>",
}

func TestScriptJSONCannotBeBrokenOutOf(t *testing.T) {
	t.Parallel()
	for _, s := range hostile {
		out, err := target.ScriptJSON(map[string]string{"content": s})
		if err != nil {
			t.Fatal(err)
		}
		for _, forbidden := range []string{"<", ">", "&", "\u2028", "\u2029"} {
			if bytes.Contains(out, []byte(forbidden)) {
				t.Errorf("ScriptJSON(%q) = %s holds %q", s, out, forbidden)
			}
		}
		var back map[string]string
		if err := json.Unmarshal(out, &back); err != nil || back["content"] != s {
			t.Errorf("ScriptJSON(%q) = %s reads back as %q (%v)", s, out, back["content"], err)
		}
	}
}

// hostileResponse is an answer whose offers, ids and tokens are all hostile.
func hostileResponse(t *testing.T) *target.Response {
	t.Helper()
	joined := strings.Join(hostile, " ")
	content, err := json.Marshal(joined)
	if err != nil {
		t.Fatal(err)
	}
	options := []delivery.Option{{Type: delivery.OptionHTML, Content: content, EventToken: joined,
		ResponseTokens: delivery.ResponseTokens{"experience.name": joined}}}
	return &target.Response{
		Request: &delivery.DeliveryRequest{ID: &delivery.VisitorID{ThirdPartyID: joined},
			Prefetch: &delivery.PrefetchRequest{Views: []delivery.ViewRequest{{Name: joined}}}},
		Response: &delivery.DeliveryResponse{Status: 200, Prefetch: &delivery.PrefetchResponse{
			Views: []delivery.View{{Name: joined, Options: options}}}},
		VisitorState: target.VisitorState{OrganizationID: "ORG@AdobeOrg",
			CustomerIDs:      []delivery.CustomerID{{ID: joined, IntegrationCode: joined}},
			SupplementalData: target.SupplementalDataState{Current: "A-B", CurrentConsumers: []string{joined}}},
	}
}

// TestPageScriptCannotBeBrokenOutOf renders the page script of an answer
// full of hostile content inside a page, parses the page as a browser
// does (golang.org/x/net/html), and checks that the page holds exactly one
// script element, that it contains all of the script and the page after it
// is intact, and that the state in it reads back unchanged.
func TestPageScriptCannotBeBrokenOutOf(t *testing.T) {
	t.Parallel()
	resp := hostileResponse(t)
	script := target.NewPageScript(resp)
	script.Nonce = `n"><script>alert(1)</script>`
	page := "<!doctype html><html><head>" + script.HTML() + `</head><body><p id="after">intact</p></body></html>`

	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var scripts []*html.Node
	var after *html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "script" {
			scripts = append(scripts, n)
		}
		if n.Type == html.ElementNode && n.Data == "p" {
			after = n
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if len(scripts) != 1 {
		t.Fatalf("the page has %d script elements, want 1:\n%s", len(scripts), page)
	}
	if after == nil || after.FirstChild == nil || after.FirstChild.Data != "intact" || after.Parent.Data != "body" {
		t.Fatalf("the markup after the script was swallowed:\n%s", page)
	}
	var nonce string
	for _, a := range scripts[0].Attr {
		if a.Key == "nonce" {
			nonce = a.Val
		}
	}
	if nonce != script.Nonce || len(scripts[0].Attr) != 1 {
		t.Errorf("script attributes %+v, want the nonce %q alone", scripts[0].Attr, script.Nonce)
	}
	text := scripts[0].FirstChild.Data
	for _, forbidden := range []string{"<", "\u2028", "\u2029"} {
		if strings.Contains(text, forbidden) {
			t.Errorf("script text holds %q:\n%s", forbidden, text)
		}
	}

	// The two values in the script are the JSON of the state.
	serverState := regexp.MustCompile(`s\.serverState = (.*);\n`).FindStringSubmatch(text)
	visitorState := regexp.MustCompile(`\{serverState: (.*)\}\);\n`).FindStringSubmatch(text)
	if serverState == nil || visitorState == nil {
		t.Fatalf("script text lacks the serverState or the Visitor call:\n%s", text)
	}
	wantServer, _ := json.Marshal(resp.ServerState())
	wantVisitor, _ := json.Marshal(resp.VisitorState)
	for _, c := range []struct{ got, want string }{{serverState[1], string(wantServer)}, {visitorState[1], string(wantVisitor)}} {
		var got, want any
		if err := json.Unmarshal([]byte(c.got), &got); err != nil {
			t.Fatalf("%s: %v", c.got, err)
		}
		_ = json.Unmarshal([]byte(c.want), &want)
		gotJSON, _ := json.Marshal(got)
		wantJSON, _ := json.Marshal(want)
		if !bytes.Equal(gotJSON, wantJSON) {
			t.Errorf("state in the script\n %s\nwant\n %s", gotJSON, wantJSON)
		}
	}
	if !strings.Contains(text, "overrideMboxEdgeServer = true") || !strings.Contains(text, `Visitor.getInstance("ORG@AdobeOrg"`) {
		t.Errorf("script text:\n%s", text)
	}
}

func TestPageScriptParts(t *testing.T) {
	t.Parallel()
	if got := (target.PageScript{}).HTML(); got != "<script>\n</script>" {
		t.Errorf("empty page script %q", got)
	}
	onlyVisitor := target.PageScript{VisitorState: target.VisitorState{OrganizationID: "O"}}.HTML()
	if strings.Contains(onlyVisitor, "targetGlobalSettings") || !strings.Contains(onlyVisitor, "Visitor.getInstance") {
		t.Errorf("visitor-only page script %q", onlyVisitor)
	}
	onlyServer := target.NewPageScript(hostileResponse(t))
	onlyServer.VisitorState = target.VisitorState{}
	if got := onlyServer.HTML(); strings.Contains(got, "Visitor.getInstance") || !strings.Contains(got, "targetGlobalSettings") {
		t.Errorf("serverState-only page script %q", got)
	}
}

// TestVisitorStateOnEveryAnswer checks that GetAttributes, SendNotifications
// and on-device answers carry the visitor state and read the cookie too.
func TestVisitorStateOnEveryAnswer(t *testing.T) {
	t.Parallel()
	const cookie = "-1%7CMCMID%7C31817839174716582270412305427436433330"
	_, addr := edgetest.Start(t)
	client := edgetest.Client(t, addr)
	ids := []delivery.CustomerID{{ID: "u1", IntegrationCode: "crm", AuthenticatedState: delivery.AuthAuthenticated}}
	check := func(name string, resp *target.Response) {
		t.Helper()
		if resp.Request.ID == nil || resp.Request.ID.MarketingCloudVisitorID != "31817839174716582270412305427436433330" {
			t.Errorf("%s sent id %+v, want the cookie's ECID", name, resp.Request.ID)
		}
		vs := resp.VisitorState
		if vs.OrganizationID != demo.OrganizationID || len(vs.CustomerIDs) != 1 ||
			vs.SupplementalData.Current != resp.Request.ExperienceCloud.Analytics.SupplementalDataID {
			t.Errorf("%s visitor state %+v does not match the request sent", name, vs)
		}
	}

	attrs, err := client.GetAttributes(t.Context(), []string{demo.MboxFeatureFlags},
		target.GetOffersOptions{VisitorCookie: cookie, CustomerIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	check("GetAttributes", attrs.Response())

	sent, err := client.SendNotifications(t.Context(), target.SendNotificationsOptions{VisitorCookie: cookie, CustomerIDs: ids,
		Request: &delivery.DeliveryRequest{Notifications: []delivery.Notification{{ID: "n1", Type: delivery.MetricDisplay,
			Timestamp: time.Now().UnixMilli(), Mbox: &delivery.NotificationMbox{Name: demo.MboxHero}}}}})
	if err != nil {
		t.Fatal(err)
	}
	check("SendNotifications", sent)

	onDevice := edgetest.Client(t, addr, target.WithDecisioningMethod(delivery.DecisioningOnDevice),
		target.WithOnDevice(ondevice.WithArtifactPayload(demo.Artifact())))
	decided, err := onDevice.GetOffers(t.Context(), target.GetOffersOptions{Request: pageRequest(), VisitorCookie: cookie, CustomerIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	if decided.Meta.DecisioningMethod != delivery.DecisioningOnDevice {
		t.Fatalf("decided %s", decided.Meta.DecisioningMethod)
	}
	check("on-device GetOffers", decided)
}
