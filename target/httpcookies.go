package target

import "net/http"

// CookiesFromRequest returns the values of the visitor's Target cookies in
// an incoming request: the composite "mbox" cookie and the
// "mboxEdgeCluster" location hint ("" for a cookie the request lacks), ready
// for GetOffersOptions.TargetCookie and TargetLocationHint. The visitor's
// Experience Cloud ID cookie is VisitorCookieFromRequest's.
func CookiesFromRequest(r *http.Request) (targetCookie, locationHint string) {
	if c, err := r.Cookie(TargetCookieName); err == nil {
		targetCookie = c.Value
	}
	if c, err := r.Cookie(LocationHintCookieName); err == nil {
		locationHint = c.Value
	}
	return targetCookie, locationHint
}

// SetCookies sets on w the cookies resp says the visitor should keep: the
// composite "mbox" cookie and, when the edge cluster is known, the
// "mboxEdgeCluster" cookie. A nil resp sets nothing.
func SetCookies(w http.ResponseWriter, resp *Response) {
	if resp == nil {
		return
	}
	if resp.TargetCookie != nil {
		http.SetCookie(w, resp.TargetCookie.HTTPCookie())
	}
	if resp.TargetLocationHintCookie != nil {
		http.SetCookie(w, resp.TargetLocationHintCookie.HTTPCookie())
	}
}
