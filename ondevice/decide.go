package ondevice

import (
	"context"
	"net"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/targetflow/targetflow/delivery"
)

// Response token names the engine fills in.
const (
	tokenDecisioningMethod = "activity.decisioningMethod"
	unknownIPAddress       = "unknownIpAddress"
)

// metaResponseTokens are the response tokens a rule's meta provides (read
// only).
var metaResponseTokens = [...]string{
	"activity.id", "activity.name", "activity.type",
	"experience.id", "experience.name",
	"location.id", "location.name", "location.type",
	"offer.id", "offer.name",
	"option.id", "option.name",
}

// Decision is the outcome of deciding one Delivery API request on-device.
//
// A Decision shares read-only data with the artifact: option content bytes
// and response token maps. Copy them before modifying them.
type Decision struct {
	// Response is the Delivery API response, as the edge would send it.
	Response *delivery.DeliveryResponse
	// Request is the request as decided: a visitor id minted when it had
	// none, a requestId, and the geo found by lookup. Notifications and
	// later requests of the visitor should use its ID.
	Request *delivery.DeliveryRequest
	// Notifications are the display notifications of executed mboxes and
	// pageLoad; the caller sends them (see NotificationRequest). Prefetch
	// decisions produce none.
	Notifications []delivery.Notification
	// Telemetry describes this decision (nil when telemetry is disabled);
	// send it with the next request or notification.
	Telemetry *delivery.TelemetryEntry
	// RemoteMboxes and RemoteViews are the requested mboxes and views the
	// artifact cannot decide (marked remote, or unknown to it); RemoteNeeded
	// says there is at least one, and Response.Status is then 206. Always
	// empty when the engine decides everything (WithDecideAll).
	RemoteMboxes []string
	RemoteViews  []string
	RemoteNeeded bool
}

// DecideOption adjusts one Decide call. It is sealed (only this package
// makes them) and, unlike the engine's options, a small value: a call's
// options cost no allocation.
type DecideOption struct {
	setting decideSetting
	text    string
	number  float64
}

// decideSetting is the setting a DecideOption gives.
type decideSetting uint8

const (
	settingNone decideSetting = iota
	settingSessionID
	settingLocationHint
	settingParsing
)

type decideSettings struct {
	sessionID    string
	locationHint string
	parsing      float64
}

func (o DecideOption) apply(s *decideSettings) {
	switch o.setting {
	case settingSessionID:
		s.sessionID = o.text
	case settingLocationHint:
		s.locationHint = o.text
	case settingParsing:
		s.parsing = o.number
	}
}

// WithSessionID sets the session id shown in traces.
func WithSessionID(id string) DecideOption {
	return DecideOption{setting: settingSessionID, text: id}
}

// WithLocationHint sets the edge location hint (as "28") used when a
// visitor id is minted: the new tntId ends with ".28_0".
func WithLocationHint(hint string) DecideOption {
	return DecideOption{setting: settingLocationHint, text: hint}
}

// WithParsingTime records how long decoding the request took, in
// milliseconds, in the decision's telemetry entry.
func WithParsingTime(ms float64) DecideOption {
	return DecideOption{setting: settingParsing, number: ms}
}

// Decide decides req with the current artifact. It never modifies req. It
// fails only when no artifact is available (ErrNotReady) or req is not a
// valid request (the *delivery.FieldError of delivery.ValidateRequest, the
// edge's verdict); a rule that cannot be evaluated is skipped.
func (e *Engine) Decide(ctx context.Context, req *delivery.DeliveryRequest, opts ...DecideOption) (*Decision, error) {
	var started time.Time // for the telemetry entry's execution time
	if e.telemetryEnabled {
		started = time.Now()
	}
	if err := delivery.ValidateRequest(req); err != nil {
		return nil, err
	}
	art := e.current.Load()
	if art == nil {
		return nil, ErrNotReady
	}
	var settings decideSettings
	for _, o := range opts {
		o.apply(&settings)
	}
	now := e.clock.Now()
	parts := new(decisionParts)
	valid := e.validRequest(ctx, req, art, settings.locationHint, parts)
	d := newDecider(e, art, valid, now, settings)
	resp := d.decide(parts)
	out := &parts.decision
	*out = Decision{Response: resp, Request: valid, Notifications: d.notifications}
	if !e.decideAll {
		out.RemoteMboxes, out.RemoteViews, out.RemoteNeeded = d.remoteMboxes, d.remoteViews, d.remoteNeeded
	}
	d.release()
	if e.telemetryEnabled {
		out.Telemetry = deliveryTelemetryEntry(valid, now, time.Since(started), settings.parsing)
	}
	if e.logger.Core().Enabled(zap.DebugLevel) {
		e.logger.Debug("ondevice: decided", zap.String("requestId", valid.RequestID), zap.Int("notifications", len(out.Notifications)))
	}
	return out, nil
}

// decisionParts holds a Decision and what it points to that every decision
// has (the request as decided, its visitor id and context; the response,
// its id and sections, one mbox), so that they are one allocation.
type decisionParts struct {
	decision Decision

	request   delivery.DeliveryRequest
	visitorID delivery.VisitorID
	context   delivery.Context

	response   delivery.DeliveryResponse
	responseID delivery.VisitorID
	execute    delivery.ExecuteResponse
	prefetch   delivery.PrefetchResponse
	mbox       [1]delivery.MboxResponse
	mboxUsed   bool
}

// mboxResponses returns an empty slice for n mbox responses: the one of
// parts the first time one is asked for.
func (p *decisionParts) mboxResponses(n int) []delivery.MboxResponse {
	if n == 1 && !p.mboxUsed {
		p.mboxUsed = true
		return p.mbox[:0:1]
	}
	return make([]delivery.MboxResponse, 0, n)
}

// validRequest completes a copy of req (in parts) as the SDKs do before
// deciding: a visitor id, a request id and the geo context.
func (e *Engine) validRequest(ctx context.Context, req *delivery.DeliveryRequest, art *Artifact, locationHint string, parts *decisionParts) *delivery.DeliveryRequest {
	v := &parts.request
	*v = *req
	id := &parts.visitorID
	if req.ID != nil {
		*id = *req.ID
	}
	if id.TntID == "" && id.MarketingCloudVisitorID == "" && authenticatedCustomerID(id.CustomerIDs) == "" && id.ThirdPartyID == "" {
		id.TntID = uuid.NewString()
		if strings.TrimSpace(locationHint) != "" {
			id.TntID += "." + locationHint + "_0"
		}
	}
	v.ID = id
	if v.RequestID == "" {
		v.RequestID = uuid.NewString()
	}
	if req.Context != nil {
		c := &parts.context
		*c = *req.Context
		c.Geo = e.validGeo(ctx, req.Context.Geo, art)
		v.Context = c
	} else if geo := e.validGeo(ctx, nil, art); geo != nil {
		parts.context = delivery.Context{Channel: delivery.ChannelWeb, Geo: geo}
		v.Context = &parts.context
	}
	return v
}

func authenticatedCustomerID(ids []delivery.CustomerID) string {
	for _, c := range ids {
		if c.AuthenticatedState == delivery.AuthAuthenticated {
			return c.ID
		}
	}
	return ""
}

// validGeo drops an invalid IP address and, when the artifact targets by geo
// and the request has an IP address but no location, looks the location up.
func (e *Engine) validGeo(ctx context.Context, geo *delivery.Geo, art *Artifact) *delivery.Geo {
	if geo == nil {
		return nil
	}
	g := *geo
	ip := g.IPAddress
	validIP := ip != "" && net.ParseIP(strings.TrimSpace(ip)) != nil
	if !validIP {
		g.IPAddress = ""
	}
	noLocation := g.Latitude == nil && g.Longitude == nil && g.CountryCode == "" && g.StateCode == "" && g.City == ""
	if art.GeoTargetingEnabled && (validIP || ip == unknownIPAddress) && noLocation {
		lookupIP := ip
		if ip == unknownIPAddress {
			lookupIP = ""
		}
		found, err := e.geoLookup(ctx, lookupIP)
		if err != nil {
			e.logger.Warn("ondevice: geo lookup failed; deciding without geo", zap.String("ipAddress", ip), zap.Error(err))
			return &g
		}
		if found != nil {
			mergeGeo(&g, found)
		}
		if e.events.GeoLocationUpdated != nil {
			updated := g
			e.events.GeoLocationUpdated(GeoLocationUpdatedEvent{Geo: &updated})
		}
	}
	return &g
}

func mergeGeo(dst, src *delivery.Geo) {
	if src.IPAddress != "" {
		dst.IPAddress = src.IPAddress
	}
	if src.Latitude != nil {
		dst.Latitude = src.Latitude
	}
	if src.Longitude != nil {
		dst.Longitude = src.Longitude
	}
	if src.CountryCode != "" {
		dst.CountryCode = src.CountryCode
	}
	if src.StateCode != "" {
		dst.StateCode = src.StateCode
	}
	if src.City != "" {
		dst.City = src.City
	}
	if src.Zip != "" {
		dst.Zip = src.Zip
	}
}

// deliveryTelemetryEntry is the telemetry entry the SDKs record for an
// on-device decision.
func deliveryTelemetryEntry(req *delivery.DeliveryRequest, now time.Time, took time.Duration, parsing float64) *delivery.TelemetryEntry {
	entry := &delivery.TelemetryEntry{
		RequestID: req.RequestID,
		Timestamp: delivery.TimestampMillis(now),
		Mode:      delivery.ExecutionLocal,
		Execution: durationMillis(took),
		Parsing:   positiveMillis(parsing),
		Features:  req.TelemetryFeatures(delivery.DecisioningOnDevice),
	}
	return entry
}

// durationMillis reports a measured duration in milliseconds with
// microsecond precision; a measured duration is never reported as zero.
func durationMillis(d time.Duration) float64 {
	ms := roundMillis(float64(d) / float64(time.Millisecond))
	if ms <= 0 {
		return 0.001
	}
	return ms
}

// positiveMillis rounds a measured duration given in milliseconds; a
// positive duration never rounds to zero (which would drop it).
func positiveMillis(ms float64) float64 {
	if ms <= 0 {
		return 0
	}
	return max(roundMillis(ms), 0.001)
}

func roundMillis(ms float64) float64 {
	return float64(int64(ms*1000+0.5)) / 1000
}
