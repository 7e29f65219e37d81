package target

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCookiesFromRequestAndSetCookies(t *testing.T) {
	t.Parallel()
	e := newTestEdge(t)
	c := e.newClient(WithTelemetry(false))

	// A first visit: no cookies in, both cookies out.
	first := httptest.NewRequest(http.MethodGet, "/", nil)
	cookie, hint := CookiesFromRequest(first)
	if cookie != "" || hint != "" {
		t.Fatalf("cookies of a cookieless request: %q %q", cookie, hint)
	}
	resp, err := c.GetOffers(t.Context(), GetOffersOptions{Request: executeMboxes("hero"), TargetCookie: cookie, TargetLocationHint: hint})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	SetCookies(rec, resp)
	SetCookies(rec, nil)
	set := rec.Result().Cookies()
	if len(set) != 2 || set[0].Name != "mbox" || set[1].Name != "mboxEdgeCluster" || set[1].Value != "28" || set[0].MaxAge <= 0 {
		t.Fatalf("Set-Cookie %+v, want mbox and mboxEdgeCluster=28", set)
	}

	// The next visit sends them back.
	next := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, sc := range set {
		next.AddCookie(&http.Cookie{Name: sc.Name, Value: sc.Value})
	}
	cookie, hint = CookiesFromRequest(next)
	if minted := resp.Response.ID.TntID; hint != "28" || ParseTargetCookie(cookie, time.Now())["PC"].Value != minted || !strings.HasSuffix(minted, ".28_0") {
		t.Errorf("cookies read back: %q %q", cookie, hint)
	}
}
