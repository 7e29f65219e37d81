package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/target"
)

const testECID = "31817839174716582270412305427436433330"

// withVisitorCookie sends the visitor's AMCV_ cookie as a browser does:
// name and value URI-encoded.
func withVisitorCookie(value string) func(*http.Request) {
	return func(r *http.Request) {
		r.Header.Add("Cookie", "AMCV_"+url.QueryEscape(defaultOrganizationID)+"="+url.PathEscape(value))
	}
}

// pageScripts parses an HTML page and returns its script elements.
func pageScripts(t *testing.T, page []byte) []*html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(string(page)))
	if err != nil {
		t.Fatal(err)
	}
	var scripts []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "script" {
			scripts = append(scripts, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return scripts
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

var (
	serverStateInScript  = regexp.MustCompile(`s\.serverState = (.*);\n`)
	visitorStateInScript = regexp.MustCompile(`\{serverState: (.*)\}\);\n`)
)

// pageState is the serverState and visitor state of a page's script.
func pageState(t *testing.T, script *html.Node) (target.ServerState, map[string]json.RawMessage) {
	t.Helper()
	text := script.FirstChild.Data
	ss, vs := serverStateInScript.FindStringSubmatch(text), visitorStateInScript.FindStringSubmatch(text)
	if ss == nil || vs == nil {
		t.Fatalf("the page's script lacks the serverState or the visitor state:\n%s", text)
	}
	var server target.ServerState
	if err := json.Unmarshal([]byte(ss[1]), &server); err != nil {
		t.Fatalf("serverState %s: %v", ss[1], err)
	}
	var visitor map[string]json.RawMessage
	if err := json.Unmarshal([]byte(vs[1]), &visitor); err != nil {
		t.Fatalf("visitor state %s: %v", vs[1], err)
	}
	return server, visitor
}

// TestPageCarriesVisitorAndServerState: GET /page passes the visitor's
// AMCV_ cookie on, and its one script, allowed by the CSP's nonce, carries
// the serverState (with the cookie's ECID) and the visitor state.
func TestPageCarriesVisitorAndServerState(t *testing.T) {
	t.Parallel()
	cfg := offlineConfig()
	cfg.Work = 0
	ta := startApp(t, cfg)
	a := ta.get("/page?mbox=hero,cart&view=home&prefetch=feature-flags",
		withVisitorCookie("-1124106680|MCIDTS|19000|MCMID|"+testECID+"|vVersion|5.2.0"))
	if a.status != http.StatusOK {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	scripts := pageScripts(t, a.body)
	if len(scripts) != 1 {
		t.Fatalf("the page has %d scripts, want 1", len(scripts))
	}
	nonce := attr(scripts[0], "nonce")
	if nonce == "" || !strings.Contains(a.header.Get("Content-Security-Policy"), "script-src 'nonce-"+nonce+"'") {
		t.Errorf("script nonce %q is not the CSP's: %q", nonce, a.header.Get("Content-Security-Policy"))
	}
	server, visitor := pageState(t, scripts[0])
	if id := server.Request.ID; id == nil || id.MarketingCloudVisitorID != testECID {
		t.Errorf("serverState request id %+v, want the cookie's ECID", id)
	}
	if server.Response == nil || server.Response.Prefetch == nil || len(server.Response.Prefetch.Views) != 1 {
		t.Errorf("serverState response %+v, want the prefetched home view", server.Response)
	}
	if _, ok := visitor[defaultOrganizationID]; !ok || len(visitor) != 1 {
		t.Errorf("visitor state %v, want one entry for %s", visitor, defaultOrganizationID)
	}
	if !strings.Contains(string(a.body), `<td id="ecid">`+testECID+`</td>`) {
		t.Error("the page does not show the visitor's ECID")
	}

	// A second visit with a new nonce.
	b := ta.get("/page?mbox=hero")
	if n := attr(pageScripts(t, b.body)[0], "nonce"); n == nonce {
		t.Error("two pages share a CSP nonce")
	}
}

// TestPageWithHostileOffers renders offers that try to break out of the
// page's script and inject script or style: the page keeps one script
// with the nonce, HTML offers go in place (where the CSP stops any script
// in them from running), JSON offer text is escaped, and setStyle values
// that are not plain CSS are dropped.
func TestPageWithHostileOffers(t *testing.T) {
	t.Parallel()
	evil := `</script><script>alert(1)</script><!--`
	js, _ := json.Marshal(map[string]string{"headline": evil, "image": "javascript:alert(1)", "cta": "<b>go</b>"})
	htmlOffer, _ := json.Marshal(`<div class="cart-banner">ok</div><script>alert(2)</script>`)
	actions := `[{"type":"setStyle","selector":"#promo-bar","content":{"color":"red;background:url(x)","display":"none"}},` +
		`{"type":"setHtml","selector":"#promo-bar","content":"<em>sale</em>"}]`
	resp := &target.Response{
		Request: &delivery.DeliveryRequest{ID: &delivery.VisitorID{ThirdPartyID: evil}},
		Response: &delivery.DeliveryResponse{Status: 200, Execute: &delivery.ExecuteResponse{
			PageLoad: &delivery.PageLoadResponse{Options: []delivery.Option{{Type: delivery.OptionActions, Content: json.RawMessage(actions)}}},
			Mboxes: []delivery.MboxResponse{
				{Name: "hero", Options: []delivery.Option{{Type: delivery.OptionJSON, Content: js}}},
				{Name: "cart", Options: []delivery.Option{{Type: delivery.OptionHTML, Content: htmlOffer}}},
			}}},
		VisitorState: target.VisitorState{OrganizationID: defaultOrganizationID,
			SupplementalData: target.SupplementalDataState{Current: "A-B", CurrentConsumers: []string{evil}}},
	}
	_, page, err := pageTemplates()
	if err != nil {
		t.Fatal(err)
	}
	view, err := newPageView(resp, pageTimings{Target: time.Millisecond, Work: 2 * time.Millisecond, Total: 2 * time.Millisecond}, "n0nce")
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := page.Execute(&out, view); err != nil {
		t.Fatal(err)
	}
	body := []byte(out.String())
	var withNonce, without int
	for _, s := range pageScripts(t, body) {
		if attr(s, "nonce") == "n0nce" {
			withNonce++
			pageState(t, s)
		} else {
			without++
		}
	}
	if withNonce != 1 || without != 1 {
		t.Errorf("%d scripts with the nonce and %d without, want the page's own and the HTML offer's (which the CSP blocks)", withNonce, without)
	}
	text := out.String()
	for _, want := range []string{`<div class="cart-banner">ok</div>`, `<em>sale</em>`, `style="display: none"`,
		`&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;!--`, `&lt;b&gt;go&lt;/b&gt;`} {
		if !strings.Contains(text, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	for _, bad := range []string{`src="javascript:`, "<b>go</b>"} {
		if strings.Contains(text, bad) {
			t.Errorf("the page holds %q", bad)
		}
	}
	if promo := regexp.MustCompile(`<div id="promo-bar"[^>]*>`).FindString(text); promo != `<div id="promo-bar" style="display: none">` {
		t.Errorf("promotion bar %s, want the plain display property alone", promo)
	}
}

// TestIndexShowsTheVisitorCookie: GET / reads the visitor's AMCV_ cookie
// and says what the endpoints it calls will pass on.
func TestIndexShowsTheVisitorCookie(t *testing.T) {
	t.Parallel()
	ta := startApp(t, offlineConfig())
	tests := []struct {
		name, cookie, want string
	}{
		{"none", "", "No Experience Cloud ID"},
		{"ECID", "-1124106680|MCMID|" + testECID, "carries the Experience Cloud ID <strong>" + testECID + "</strong>: every call below sends it"},
		{"opted out", "MCMID|" + testECID + "|MCOPTOUT-4102444800s|global", "but says you opted out"},
		{"malformed", "MCMID|" + testECID + "|MCAAMB|%ZZ", "cookie part ignored: field 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mutate []func(*http.Request)
			if tt.cookie != "" {
				mutate = append(mutate, func(r *http.Request) {
					r.Header.Add("Cookie", "AMCV_"+url.QueryEscape(defaultOrganizationID)+"="+strings.ReplaceAll(tt.cookie, "|", "%7C"))
				})
			}
			a := ta.get("/", mutate...)
			if a.status != http.StatusOK || !strings.Contains(string(a.body), tt.want) {
				t.Errorf("GET / with cookie %q: status %d, want a page saying %q", tt.cookie, a.status, tt.want)
			}
		})
	}
}

// TestEndpointsPassTheVisitorCookie: every Target call of the sample's
// endpoints carries the AMCV_ cookie's ECID (the edge echoes the request's
// id in its answer).
func TestEndpointsPassTheVisitorCookie(t *testing.T) {
	t.Parallel()
	cfg := offlineConfig()
	cfg.Decisioning = delivery.DecisioningServerSide
	ta := startApp(t, cfg)
	cookie := withVisitorCookie("-1124106680|MCMID|" + testECID)
	for _, path := range []string{"/executePageLoad", "/executeMbox?mbox=hero", "/prefetchMbox?prefetch=cart",
		"/prefetchView?view=home", "/prefetchView?view=home&async=true", "/prefetchViewAsyncio?view=home&async=true"} {
		resp := ta.get(path, cookie).deliveryResponse(t)
		if resp.ID == nil || resp.ID.MarketingCloudVisitorID != testECID {
			t.Errorf("%s: answer id %+v, want the cookie's ECID sent", path, resp.ID)
		}
	}
	notified := ta.do(http.MethodPost, "/sendNotifications", `{"mboxes":[{"name":"cart","event_tokens":["t"]}]}`, cookie).deliveryResponse(t)
	if notified.ID == nil || notified.ID.MarketingCloudVisitorID != testECID {
		t.Errorf("/sendNotifications: answer id %+v, want the cookie's ECID sent", notified.ID)
	}
}

func TestImages(t *testing.T) {
	t.Parallel()
	ta := startApp(t, offlineConfig())
	for _, tt := range []struct {
		path   string
		status int
	}{
		{"/img/hero-season.jpg", http.StatusOK},
		{"/img/hero-shipping.jpg", http.StatusOK},
		{"/img/nope.jpg", http.StatusNotFound},
		{"/img/..%2fpage.html.tmpl", http.StatusNotFound},
		{"/img/.svg", http.StatusNotFound},
	} {
		a := ta.get(tt.path)
		if a.status != tt.status {
			t.Errorf("GET %s: status %d, want %d", tt.path, a.status, tt.status)
			continue
		}
		if tt.status == http.StatusOK && (a.header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(string(a.body), "<svg")) {
			t.Errorf("GET %s: %q %.40s, want an SVG", tt.path, a.header.Get("Content-Type"), a.body)
		}
	}
}
