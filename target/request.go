package target

import (
	"time"

	"go.uber.org/zap"

	"github.com/targetflow/targetflow/delivery"
)

// callPlan is everything decided about a call before it is sent: where it
// goes, for which session, and the completed request.
type callPlan struct {
	method    delivery.DecisioningMethod
	sessionID string
	// cluster is the edge cluster the call is routed to ("" when none is
	// known); it becomes the location-hint cookie.
	cluster string
	host    string
	request *delivery.DeliveryRequest
	// visitorState is the Experience Cloud visitor state the call leaves
	// (visitorstate.go).
	visitorState VisitorState
	// keepBody asks for the answer's bytes (GetOffersOptions.KeepBody).
	keepBody bool
}

// planCall parses the incoming cookies, routes the call and completes the
// request. It is shared by every decisioning method.
func (c *Client) planCall(opts callOptions) *callPlan {
	now := c.cfg.now()
	cookieSessionID, deviceID := sessionAndDeviceID(opts.targetCookie, now)

	var sdid SupplementalDataState
	request := c.completeRequest(opts, deviceID, &sdid, now)

	locationHint := opts.locationHint
	if locationHint != "" && !validCluster(locationHint) {
		c.cfg.logger.Warn("ignoring invalid target location hint", zap.String("targetLocationHint", locationHint))
		locationHint = ""
	}
	if locationHint == "" {
		locationHint = c.LocationHint()
	}
	tntID := ""
	if request.ID != nil {
		tntID = request.ID.TntID
	}
	cluster := ClusterFromTntID(tntID)
	if cluster == "" || !validCluster(cluster) {
		cluster = locationHint
	}

	sessionID := cookieSessionID
	if sessionID == "" {
		sessionID = opts.sessionID
	}
	if sessionID == "" {
		sessionID = newUUID()
	}

	return &callPlan{
		method:    opts.decisioningMethod,
		sessionID: sessionID,
		cluster:   cluster,
		host:      c.hostOf(cluster),
		request:   request,

		visitorState: newVisitorState(c.cfg.organizationID, opts.customerIDs, sdid),
	}
}

// completeRequest returns a completed copy of the caller's request, as the
// official SDKs complete it: a requestId when it has none, the visitor id
// (tntId from the PC cookie entry when the request has none, customer ids
// merged), context defaults (channel web, timeOffsetInMinutes), Analytics
// logging server_side with a supplemental data id, the property token, the
// environment id, and without invalid mboxes and notifications; the
// visitor's AMCV_ cookie fills the Experience Cloud ID and Audience Manager
// data (visitor.go). sdid receives the SDID state the call leaves; now is
// the time of the call.
func (c *Client) completeRequest(opts callOptions, deviceID string, sdid *SupplementalDataState, now time.Time) *delivery.DeliveryRequest {
	r := opts.request.Clone()
	if r.RequestID == "" {
		r.RequestID = newUUID()
	}
	if r.EnvironmentID == 0 {
		r.EnvironmentID = c.cfg.environmentID
	}
	added := new(completion)
	if r.ID == nil {
		r.ID = &added.id // else the clone's own, completed in place
	}
	r.ID = completeVisitorID(r.ID, deviceID, opts.customerIDs)
	c.applyVisitorCookie(r, opts.visitorCookie)
	r.Property = c.completeProperty(r.Property)
	r.Context = completeContext(added, r.Context, now)
	r.ExperienceCloud = completeExperienceCloud(added, r.ExperienceCloud, opts, sdid)
	r.Execute = c.completeExecute(r.Execute)
	r.Prefetch = c.completePrefetch(r.Prefetch)
	r.Notifications = c.validNotifications(r.Notifications)
	return r
}

// completion holds the parts completeRequest adds to a request when it has
// none, allocated together.
type completion struct {
	id              delivery.VisitorID
	context         delivery.Context
	timeOffset      float64
	experienceCloud delivery.ExperienceCloud
	analytics       delivery.AnalyticsRequest
}

// completeVisitorID completes v, the request's own copy, and returns it,
// or nil when the call has no visitor id at all.
func completeVisitorID(v *delivery.VisitorID, deviceID string, customerIDs []delivery.CustomerID) *delivery.VisitorID {
	if v.TntID == "" {
		v.TntID = deviceID
	}
	if len(customerIDs) > 0 {
		merged := make([]delivery.CustomerID, 0, len(customerIDs)+len(v.CustomerIDs))
		for _, cid := range customerIDs {
			if cid.ID == "" {
				continue
			}
			if cid.AuthenticatedState == "" {
				cid.AuthenticatedState = delivery.AuthUnknown
			}
			merged = append(merged, cid)
		}
		v.CustomerIDs = append(merged, v.CustomerIDs...)
	}
	if len(v.CustomerIDs) == 0 {
		v.CustomerIDs = nil
	}
	if v.TntID == "" && v.ThirdPartyID == "" && v.MarketingCloudVisitorID == "" && v.CustomerIDs == nil {
		return nil
	}
	return v
}

// completeProperty applies the property token: the request's own, else the
// configured one.
func (c *Client) completeProperty(p *delivery.Property) *delivery.Property {
	requestToken := ""
	if p != nil {
		requestToken = p.Token
	}
	if requestToken != "" && c.cfg.propertyToken != "" && requestToken != c.cfg.propertyToken {
		c.cfg.logger.Debug("request property token differs from the configured one; using the request's",
			zap.String("requestPropertyToken", requestToken), zap.String("configPropertyToken", c.cfg.propertyToken))
	}
	if requestToken != "" {
		return p
	}
	if c.cfg.propertyToken != "" {
		return &delivery.Property{Token: c.cfg.propertyToken}
	}
	return nil
}

func completeContext(added *completion, ctx *delivery.Context, now time.Time) *delivery.Context {
	if ctx == nil {
		ctx = &added.context
	}
	if !ctx.Channel.Valid() {
		ctx.Channel = delivery.ChannelWeb
	}
	if ctx.TimeOffsetInMinutes == nil {
		_, offsetSeconds := now.Zone()
		added.timeOffset = float64(offsetSeconds / 60)
		ctx.TimeOffsetInMinutes = &added.timeOffset
	}
	return ctx
}

func completeExperienceCloud(added *completion, ec *delivery.ExperienceCloud, opts callOptions, sdid *SupplementalDataState) *delivery.ExperienceCloud {
	if ec == nil {
		ec = &added.experienceCloud
	}
	if ec.Analytics == nil {
		ec.Analytics = &added.analytics
	}
	if ec.Analytics.Logging == "" {
		ec.Analytics.Logging = delivery.LoggingServerSide
	}
	ec.Analytics.SupplementalDataID, *sdid = supplementalDataID(ec.Analytics.SupplementalDataID, opts)
	if am := ec.AudienceManager; am != nil && am.LocationHint == 0 && am.Blob == "" {
		ec.AudienceManager = nil
	}
	return ec
}

func (c *Client) completeExecute(ex *delivery.ExecuteRequest) *delivery.ExecuteRequest {
	if ex == nil {
		return nil
	}
	ex.Mboxes = c.validMboxes("execute", ex.Mboxes)
	if ex.PageLoad == nil && len(ex.Mboxes) == 0 {
		return nil
	}
	return ex
}

func (c *Client) completePrefetch(pf *delivery.PrefetchRequest) *delivery.PrefetchRequest {
	if pf == nil {
		return nil
	}
	pf.Mboxes = c.validMboxes("prefetch", pf.Mboxes)
	if len(pf.Views) == 0 {
		pf.Views = nil
	}
	if pf.PageLoad == nil && len(pf.Views) == 0 && len(pf.Mboxes) == 0 {
		return nil
	}
	return pf
}

// validMboxes drops mboxes without a name, with a warning, and numbers the
// rest by position when the caller set no index at all (every index 0).
func (c *Client) validMboxes(section string, mboxes []delivery.MboxRequest) []delivery.MboxRequest {
	if len(mboxes) == 0 {
		return nil
	}
	valid := mboxes[:0]
	anyIndex := false
	for i := range mboxes {
		if mboxes[i].Name == "" {
			c.cfg.logger.Warn("mbox validation failed: dropping mbox without a name",
				zap.String("section", section), zap.Int("position", i), zap.Int("index", mboxes[i].Index))
			continue
		}
		anyIndex = anyIndex || mboxes[i].Index != 0
		valid = append(valid, mboxes[i])
	}
	if !anyIndex {
		for i := range valid {
			valid[i].Index = i
		}
	}
	if len(valid) == 0 {
		return nil
	}
	return valid
}

// validNotifications drops notifications without an id, a timestamp or a
// known type, with a warning.
func (c *Client) validNotifications(notifications []delivery.Notification) []delivery.Notification {
	if len(notifications) == 0 {
		return nil
	}
	valid := notifications[:0]
	for i := range notifications {
		n := &notifications[i]
		if n.ID == "" || n.Timestamp == 0 || !n.Type.Valid() {
			c.cfg.logger.Warn("notification validation failed: dropping notification",
				zap.Int("position", i), zap.String("id", n.ID), zap.Int64("timestamp", n.Timestamp), zap.String("type", string(n.Type)))
			continue
		}
		valid = append(valid, *n)
	}
	if len(valid) == 0 {
		return nil
	}
	return valid
}
