package target

import (
	"time"

	"github.com/targetflow/targetflow/delivery"
)

// Response is the result of GetOffers and SendNotifications: the Delivery
// API answer and what the official SDKs derive from it.
type Response struct {
	// Request is the completed request that was sent.
	Request *delivery.DeliveryRequest
	// Response is the Delivery API answer.
	Response *delivery.DeliveryResponse
	// TargetCookie is the "mbox" cookie to set on the visitor: the session
	// entry and, when Target returned a tntId, the PC entry.
	TargetCookie *Cookie
	// TargetLocationHintCookie is the "mboxEdgeCluster" cookie to set, when
	// the edge cluster is known; nil otherwise.
	TargetLocationHintCookie *Cookie
	// AnalyticsDetails are the Analytics payloads of the answer (execute
	// pageLoad and mboxes, then prefetch pageLoad, views and mboxes), for
	// client-side Analytics for Target logging; nil when there are none.
	AnalyticsDetails []delivery.AnalyticsResponse
	// Trace holds the traces of the answer, in the same order; nil when the
	// request asked for none.
	Trace []delivery.TraceResponse
	// ResponseTokens holds the response tokens of every option, in the same
	// order; nil when there are none. The maps are shared read-only with
	// other answers of the same tokens (see Client).
	ResponseTokens []delivery.ResponseTokens
	// VisitorState is the Experience Cloud visitor state the call leaves,
	// for the page's Visitor.getInstance(org, {serverState: …}); it marshals
	// to the Node.js SDK's visitorState. See also ServerState.
	VisitorState VisitorState
	// Meta says how the answer was decided.
	Meta ResponseMeta
	// Notifications are the display notifications an on-device decision
	// owes, when the client was made WithOnDeviceNotifications(false): send
	// them with SendNotifications. Nil otherwise (the client sends them).
	Notifications []delivery.Notification
	// Body is the answer's JSON as the Delivery API sent it, when the call
	// asked for it (GetOffersOptions.KeepBody) and Body holds exactly what
	// Response holds, member for member (delivery.DecodeResponse): an
	// answer of up to FreeResponseBytes, read whole, of members of the wire
	// model only. Nil otherwise: an on-device decision, a longer answer, one
	// the wire model does not hold whole. It stands for Response as JSON in
	// the sending edge's member order and number spelling; it does not
	// follow changes made to Response.
	Body []byte
}

// ResponseMeta says how an answer was decided.
type ResponseMeta struct {
	// DecisioningMethod is the method that produced the answer.
	DecisioningMethod delivery.DecisioningMethod
	// RemoteMboxes and RemoteViews list what needed a server-side decision
	// under hybrid decisioning; empty for server-side calls.
	RemoteMboxes []string
	RemoteViews  []string
}

// processResponse derives the SDK response from a Delivery API answer: the
// cookies to set, analytics details, traces, response tokens and meta.
func processResponse(plan *callPlan, answer *delivery.DeliveryResponse, now time.Time) *Response {
	if answer == nil {
		answer = &delivery.DeliveryResponse{}
	}
	b := new(processedResponse)
	b.targetCookie = targetCookie(plan.sessionID, answer.ID, now)
	b.response = Response{
		Request:          plan.request,
		Response:         answer,
		TargetCookie:     &b.targetCookie,
		AnalyticsDetails: analyticsDetails(answer),
		Trace:            traceDetails(answer),
		ResponseTokens:   responseTokens(answer),
		VisitorState:     plan.visitorState,
		Meta: ResponseMeta{
			DecisioningMethod: plan.method,
			RemoteMboxes:      []string{},
			RemoteViews:       []string{},
		},
	}
	if hint, ok := locationHintCookie(plan.cluster, answer.EdgeHost); ok {
		b.locationHint = hint
		b.response.TargetLocationHintCookie = &b.locationHint
	}
	return &b.response
}

// processedResponse holds a Response and its cookies, allocated together.
type processedResponse struct {
	response     Response
	targetCookie Cookie
	locationHint Cookie
}

func targetCookie(sessionID string, id *delivery.VisitorID, now time.Time) Cookie {
	nowSeconds := ceilUnixSeconds(now)
	entries := make([]CookieEntry, 1, 2)
	entries[0] = CookieEntry{Name: sessionIDEntry, Value: sessionID, Expires: nowSeconds + sessionIDMaxAge}
	if id != nil && id.TntID != "" {
		entries = append(entries, CookieEntry{Name: deviceIDEntry, Value: id.TntID, Expires: nowSeconds + deviceIDMaxAge})
	}
	return NewTargetCookie(entries, now)
}

// locationHintCookie is the mboxEdgeCluster cookie: the cluster the call was
// routed to, else the cluster of the edge that answered; ok is false when
// neither is known.
func locationHintCookie(requestCluster, edgeHost string) (_ Cookie, ok bool) {
	cluster := requestCluster
	if cluster == "" {
		cluster = clusterFromEdgeHost(edgeHost)
	}
	if cluster == "" {
		return Cookie{}, false
	}
	return Cookie{Name: LocationHintCookieName, Value: cluster, MaxAge: locationHintMaxAge}, true
}

// responseParts visits the parts of an answer in the SDKs' order: execute
// pageLoad, execute mboxes, prefetch pageLoad, prefetch views, prefetch
// mboxes.
func responseParts(r *delivery.DeliveryResponse, visit func(options []delivery.Option, analytics *delivery.AnalyticsResponse, trace delivery.TraceResponse)) {
	if ex := r.Execute; ex != nil {
		if pl := ex.PageLoad; pl != nil {
			visit(pl.Options, pl.Analytics, pl.Trace)
		}
		for i := range ex.Mboxes {
			m := &ex.Mboxes[i]
			visit(m.Options, m.Analytics, m.Trace)
		}
	}
	if pf := r.Prefetch; pf != nil {
		if pl := pf.PageLoad; pl != nil {
			visit(pl.Options, pl.Analytics, pl.Trace)
		}
		for i := range pf.Views {
			v := &pf.Views[i]
			visit(v.Options, v.Analytics, v.Trace)
		}
		for i := range pf.Mboxes {
			m := &pf.Mboxes[i]
			visit(m.Options, m.Analytics, m.Trace)
		}
	}
}

func analyticsDetails(r *delivery.DeliveryResponse) []delivery.AnalyticsResponse {
	var out []delivery.AnalyticsResponse
	responseParts(r, func(_ []delivery.Option, analytics *delivery.AnalyticsResponse, _ delivery.TraceResponse) {
		if analytics != nil && analytics.Payload != nil && *analytics.Payload != (delivery.AnalyticsPayload{}) {
			out = append(out, *analytics)
		}
	})
	return out
}

func traceDetails(r *delivery.DeliveryResponse) []delivery.TraceResponse {
	var out []delivery.TraceResponse
	responseParts(r, func(_ []delivery.Option, _ *delivery.AnalyticsResponse, trace delivery.TraceResponse) {
		if len(trace) > 0 {
			out = append(out, trace)
		}
	})
	return out
}

func responseTokens(r *delivery.DeliveryResponse) []delivery.ResponseTokens {
	n := 0
	responseParts(r, func(options []delivery.Option, _ *delivery.AnalyticsResponse, _ delivery.TraceResponse) {
		for i := range options {
			if len(options[i].ResponseTokens) > 0 {
				n++
			}
		}
	})
	if n == 0 {
		return nil
	}
	out := make([]delivery.ResponseTokens, 0, n) // counted first: one allocation
	responseParts(r, func(options []delivery.Option, _ *delivery.AnalyticsResponse, _ delivery.TraceResponse) {
		for i := range options {
			if len(options[i].ResponseTokens) > 0 {
				out = append(out, options[i].ResponseTokens)
			}
		}
	})
	return out
}
