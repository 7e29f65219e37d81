package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/target"
)

// maxNamesPerParameter bounds the comma-separated lists of the mbox,
// prefetch and view query parameters, so that one URL cannot ask for an
// unbounded number of decisions.
const maxNamesPerParameter = 50

// sampleCustomerIDs are the customer ids the sample attaches to its view
// prefetches (target_client_service.py): an authenticated "userid" and an
// unknown "puuid". Each call gets its own slice.
func sampleCustomerIDs() []delivery.CustomerID {
	return []delivery.CustomerID{
		{ID: "67312378756723456", IntegrationCode: "userid", AuthenticatedState: delivery.AuthAuthenticated},
		{ID: "550e8400-e29b-41d4-a716-446655440000", IntegrationCode: "puuid", AuthenticatedState: delivery.AuthUnknown},
	}
}

// inputError is bad input from the visitor's request: a query parameter or
// a body field. It answers 400 (413 for an oversized body).
type inputError struct {
	// Field names the query parameter or body field at fault.
	Field string
	// Value is the offending value ("" when it is missing).
	Value string
	// Reason says what is wrong.
	Reason string
	// Status is the HTTP status to answer; 0 means 400.
	Status int
}

func (e *inputError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Reason)
	}
	return fmt.Sprintf("%s %q: %s", e.Field, e.Value, e.Reason)
}

func (e *inputError) status() int {
	if e.Status == 0 {
		return http.StatusBadRequest
	}
	return e.Status
}

// visitorRequest is what every endpoint reads from the incoming request, as
// the sample's target_request_utils.py does: the query, the Target cookies,
// the visitor id and the Delivery API context; and, beyond the sample, the
// visitor's Experience Cloud ID cookie (AMCV_{organization id}), which the
// Python SDK does not read and targetflow passes on as the Node.js SDK does.
type visitorRequest struct {
	query         url.Values
	targetCookie  string
	locationHint  string
	visitorCookie string
	visitorID     *delivery.VisitorID
	context       *delivery.Context
}

// readVisitorRequest parses r; orgID names the visitor's AMCV_ cookie. A
// malformed query string is an inputError; cookies that do not parse are
// ignored, as a browser would (a malformed AMCV_ cookie is the client's to
// read around).
func readVisitorRequest(r *http.Request, orgID string) (*visitorRequest, error) {
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, &inputError{Field: "query string", Value: truncate(r.URL.RawQuery, 200), Reason: "malformed: " + err.Error()}
	}
	vr := &visitorRequest{
		query:         query,
		targetCookie:  cookieValue(r, target.TargetCookieName),
		locationHint:  cookieValue(r, target.LocationHintCookieName),
		visitorCookie: target.VisitorCookieFromRequest(r, orgID),
		visitorID:     visitorIDFromQuery(query),
		context:       requestContext(r),
	}
	return vr, nil
}

// cookieValue is the value of the named cookie of r, or "".
func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

// visitorIDFromQuery fills the visitor id from the tntId, thirdPartyId and
// mcid query parameters, or returns nil when none is given (the client then
// takes the id from the Target cookie, or Target mints one).
func visitorIDFromQuery(query url.Values) *delivery.VisitorID {
	id := &delivery.VisitorID{
		TntID:                   query.Get("tntId"),
		ThirdPartyID:            query.Get("thirdPartyId"),
		MarketingCloudVisitorID: query.Get("mcid"),
	}
	if id.TntID == "" && id.ThirdPartyID == "" && id.MarketingCloudVisitorID == "" {
		return nil
	}
	return id
}

// requestContext is the Delivery API context of r: channel web, time offset
// 0, the request URL and the referrer, as in the sample; and the user agent,
// so that browser-targeted activities decide as they would in a browser.
func requestContext(r *http.Request) *delivery.Context {
	utc := 0.0
	return &delivery.Context{
		Channel:             delivery.ChannelWeb,
		TimeOffsetInMinutes: &utc,
		Address:             &delivery.Address{URL: requestURL(r), ReferringURL: r.Referer()},
		UserAgent:           r.UserAgent(),
	}
}

// requestURL rebuilds the absolute URL the visitor asked for, as Flask's
// request.url does.
func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}

// names splits the comma-separated query parameter param into names. It
// returns nil when the parameter is absent or empty, and an inputError for
// an empty entry ("a,,b") or more than maxNamesPerParameter entries.
func names(query url.Values, param string) ([]string, error) {
	raw := query.Get(param)
	if raw == "" {
		return nil, nil
	}
	parts := strings.Split(raw, ",")
	if len(parts) > maxNamesPerParameter {
		return nil, &inputError{Field: "query parameter " + param, Value: truncate(raw, 200),
			Reason: fmt.Sprintf("has %d names, at most %d are allowed", len(parts), maxNamesPerParameter)}
	}
	out := make([]string, 0, len(parts))
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			return nil, &inputError{Field: "query parameter " + param, Value: raw,
				Reason: fmt.Sprintf("name %d of %d is empty", i+1, len(parts))}
		}
		out = append(out, p)
	}
	return out, nil
}

// mboxRequests turns names into mbox requests whose index is the position.
func mboxRequests(names []string) []delivery.MboxRequest {
	if len(names) == 0 {
		return nil
	}
	out := make([]delivery.MboxRequest, len(names))
	for i, n := range names {
		out[i] = delivery.MboxRequest{Index: i, Name: n}
	}
	return out
}

// viewRequests turns names into view requests.
func viewRequests(names []string) []delivery.ViewRequest {
	out := make([]delivery.ViewRequest, len(names))
	for i, n := range names {
		out[i] = delivery.ViewRequest{Name: n}
	}
	return out
}

// asyncFlag reads the async query parameter: absent or empty is false,
// otherwise it must be a boolean ("true", "1", "false" ...). The Python
// sample treats any non-empty value, even "false", as true; a Go port that
// says what it did not understand is kinder.
func asyncFlag(query url.Values) (bool, error) {
	raw := query.Get("async")
	if raw == "" {
		return false, nil
	}
	v, err := strconv.ParseBool(raw)
	if err != nil {
		return false, &inputError{Field: "query parameter async", Value: truncate(raw, 50), Reason: "is not a boolean (use true or false)"}
	}
	return v, nil
}

// truncate shortens s to at most n bytes for an error message, on a rune
// boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
