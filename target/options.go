package target

import (
	"reflect"
	"strconv"

	"github.com/targetflow/targetflow/delivery"
)

// GetOffersOptions are the inputs of GetOffers and GetAttributes.
type GetOffersOptions struct {
	// Request is the Delivery API request (required). The client completes a
	// copy of it; the caller's value is never modified.
	Request *delivery.DeliveryRequest
	// TargetCookie is the value of the visitor's incoming "mbox" cookie. Its
	// PC entry is the visitor id when the request has no tntId, and its
	// session entry the session id.
	TargetCookie string
	// TargetLocationHint is the value of the visitor's incoming
	// "mboxEdgeCluster" cookie: the edge cluster to call.
	TargetLocationHint string
	// VisitorCookie is the value of the visitor's incoming AMCV_ cookie
	// (VisitorCookieName, VisitorCookieFromRequest), raw or URL-encoded: its
	// Experience Cloud ID becomes id.marketingCloudVisitorId unless the
	// request has one, and its Audience Manager location hint and blob fill
	// experienceCloud.audienceManager. See ParseVisitorCookie.
	VisitorCookie string
	// SessionID links the requests of one visit; used when TargetCookie has
	// no session entry. When both are absent a new one is made.
	SessionID string
	// CustomerIDs are merged ahead of the request's id.customerIds.
	CustomerIDs []delivery.CustomerID
	// ConsumerID names the caller when several calls are stitched into one
	// Analytics hit; calls with different consumers share the supplemental
	// data id of SupplementalData. Default "target-global-mbox".
	ConsumerID string
	// SupplementalData stitches the calls of one page view for Analytics for
	// Target. When nil, each call gets a fresh supplemental data id.
	SupplementalData *SupplementalDataIDs
	// DecisioningMethod overrides the client's decisioning method for this
	// call; empty means the client's.
	DecisioningMethod delivery.DecisioningMethod
	// KeepBody asks for the answer's bytes as the Delivery API sent them
	// (Response.Body), for a caller that writes the answer out as JSON and
	// would otherwise encode Response again.
	KeepBody bool
}

// SendNotificationsOptions are the inputs of SendNotifications.
type SendNotificationsOptions struct {
	// Request is the Delivery API request (required) carrying the
	// notifications.
	Request *delivery.DeliveryRequest
	// TargetCookie, TargetLocationHint, VisitorCookie, SessionID,
	// CustomerIDs, ConsumerID and SupplementalData mean what they mean in
	// GetOffersOptions.
	TargetCookie       string
	TargetLocationHint string
	VisitorCookie      string
	SessionID          string
	CustomerIDs        []delivery.CustomerID
	ConsumerID         string
	SupplementalData   *SupplementalDataIDs
}

// callOptions is what every delivery call needs, whatever the method.
type callOptions struct {
	// method names the public method for error messages.
	method            string
	request           *delivery.DeliveryRequest
	targetCookie      string
	locationHint      string
	visitorCookie     string
	sessionID         string
	customerIDs       []delivery.CustomerID
	consumerID        string
	supplementalData  *SupplementalDataIDs
	decisioningMethod delivery.DecisioningMethod
	keepBody          bool
}

func (o *GetOffersOptions) call(method string) callOptions {
	return callOptions{
		method:            method,
		request:           o.Request,
		targetCookie:      o.TargetCookie,
		locationHint:      o.TargetLocationHint,
		visitorCookie:     o.VisitorCookie,
		sessionID:         o.SessionID,
		customerIDs:       o.CustomerIDs,
		consumerID:        o.ConsumerID,
		supplementalData:  o.SupplementalData,
		decisioningMethod: o.DecisioningMethod,
		keepBody:          o.KeepBody,
	}
}

func (o *SendNotificationsOptions) call() callOptions {
	return callOptions{
		method:            "SendNotifications",
		request:           o.Request,
		targetCookie:      o.TargetCookie,
		locationHint:      o.TargetLocationHint,
		visitorCookie:     o.VisitorCookie,
		sessionID:         o.SessionID,
		customerIDs:       o.CustomerIDs,
		consumerID:        o.ConsumerID,
		supplementalData:  o.SupplementalData,
		decisioningMethod: delivery.DecisioningServerSide,
	}
}

// Validation messages, with the meaning of the official SDKs' messages.
const (
	reasonRequestRequired        = "request is required"
	reasonExecuteFieldsRequired  = "either pageLoad or mboxes is required in execute"
	reasonPrefetchFieldsRequired = "either views, pageLoad or mboxes is required in prefetch"
	reasonNotificationsRequired  = "notifications are required in request"
	reasonMboxNamesRequired      = "at least one mbox name is required"
	reasonMboxNameEmpty          = "mbox names must not be empty"
	reasonDecisioningMethodBad   = "must be one of server-side, on-device, hybrid"
)

// validateGetOffers checks GetOffers options as the SDKs do: a request is
// required; an execute needs a pageLoad or mboxes; a prefetch needs a
// pageLoad, views or mboxes.
func validateGetOffers(method string, o *GetOffersOptions) error {
	if requestEmpty(o.Request) {
		return &ValidationError{Method: method, Field: "request", Reason: reasonRequestRequired}
	}
	if ex := o.Request.Execute; ex != nil && ex.PageLoad == nil && len(ex.Mboxes) == 0 {
		return &ValidationError{Method: method, Field: "request.execute", Reason: reasonExecuteFieldsRequired}
	}
	if pf := o.Request.Prefetch; pf != nil && pf.PageLoad == nil && len(pf.Views) == 0 && len(pf.Mboxes) == 0 {
		return &ValidationError{Method: method, Field: "request.prefetch", Reason: reasonPrefetchFieldsRequired}
	}
	switch o.DecisioningMethod {
	case "", delivery.DecisioningServerSide, delivery.DecisioningOnDevice, delivery.DecisioningHybrid:
	default:
		return &ValidationError{Method: method, Field: "decisioningMethod", Reason: strconv.Quote(string(o.DecisioningMethod)) + " " + reasonDecisioningMethodBad}
	}
	return nil
}

// validateSendNotifications checks SendNotifications options as the SDKs
// do: a request is required, with notifications unless telemetry entries
// are waiting to be sent.
func validateSendNotifications(o *SendNotificationsOptions, hasTelemetry bool) error {
	if requestEmpty(o.Request) {
		return &ValidationError{Method: "SendNotifications", Field: "request", Reason: reasonRequestRequired}
	}
	if len(o.Request.Notifications) == 0 && !hasTelemetry {
		return &ValidationError{Method: "SendNotifications", Field: "request.notifications", Reason: reasonNotificationsRequired}
	}
	return nil
}

// requestEmpty is the SDKs' "request object is required": nil or nothing set.
// A request with something to decide or notify is not, as nearly every one
// has: the reflective look at every field is left for the others.
func requestEmpty(r *delivery.DeliveryRequest) bool {
	if r != nil && (r.Execute != nil || r.Prefetch != nil || len(r.Notifications) > 0) {
		return false
	}
	return r == nil || reflect.ValueOf(r).Elem().IsZero()
}
