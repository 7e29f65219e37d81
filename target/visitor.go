package target

import (
	"net/http"
	"net/textproto"
	"strings"

	"go.uber.org/zap"

	"github.com/targetflow/targetflow/delivery"
)

// Experience Cloud identity: the client reads the visitor's AMCV_ cookie
// (GetOffersOptions.VisitorCookie) as the Node.js SDK's Visitor does, and
// every answer carries the visitor state (Response.VisitorState) that the
// page hands to VisitorAPI.js: Visitor.getInstance(org, {serverState: …}).

// visitorCookiePrefix starts the name of the Visitor API's cookie.
const visitorCookiePrefix = "AMCV_"

// VisitorCookieName returns the name of the Experience Cloud ID service's
// cookie for an organization: "AMCV_" + orgID, as the official SDKs name it
// (TargetClient.getVisitorCookieName). Browsers send it with the "@" of the
// organization id percent-encoded ("AMCV_…%40AdobeOrg");
// VisitorCookieFromRequest finds it under either spelling.
func VisitorCookieName(orgID string) string {
	return visitorCookiePrefix + orgID
}

// VisitorCookieFromRequest returns the value of the visitor's AMCV_ cookie
// for orgID in an incoming request, ready for
// GetOffersOptions.VisitorCookie; "" when the request has none. The
// Visitor API writes the cookie's name URI-encoded (AMCV_…%40AdobeOrg),
// which is how browsers send it; the name with a plain "@", which
// net/http's cookie parser rejects, is found by reading the Cookie header
// itself.
func VisitorCookieFromRequest(r *http.Request, orgID string) string {
	encoded := visitorCookiePrefix + encodeURIComponent(orgID)
	if c, err := r.Cookie(encoded); err == nil {
		return c.Value
	}
	plain := VisitorCookieName(orgID)
	if plain == encoded {
		return ""
	}
	for _, line := range r.Header.Values("Cookie") {
		for part := range strings.SplitSeq(line, ";") {
			name, value, ok := strings.Cut(textproto.TrimString(part), "=")
			if ok && name == plain {
				return strings.Trim(value, `"`)
			}
		}
	}
	return ""
}

// applyVisitorCookie completes r with what the visitor's AMCV_ cookie
// says, as the Node.js SDK completes its request from its Visitor: the
// Experience Cloud ID when the request has no marketingCloudVisitorId, and
// the Audience Manager location hint and blob where the request has none.
// An opted-out visitor's cookie contributes nothing. Malformed parts are
// logged as warnings and ignored.
func (c *Client) applyVisitorCookie(r *delivery.DeliveryRequest, raw string) {
	if raw == "" {
		return
	}
	cookie := ParseVisitorCookie(raw, c.cfg.now())
	for _, problem := range cookie.Malformed {
		c.cfg.logger.Warn("ignoring a malformed part of the visitor cookie",
			zap.String("cookie", VisitorCookieName(c.cfg.organizationID)), zap.String("part", problem))
	}
	if cookie.OptedOut {
		c.cfg.logger.Debug("the visitor opted out of the Experience Cloud: its cookie's ids are not sent",
			zap.String("cookie", VisitorCookieName(c.cfg.organizationID)))
		return
	}
	if id := cookie.MarketingCloudVisitorID; id != "" {
		if r.ID == nil {
			r.ID = &delivery.VisitorID{}
		}
		if r.ID.MarketingCloudVisitorID == "" {
			r.ID.MarketingCloudVisitorID = id
		}
	}
	if cookie.AudienceManagerLocationHint == 0 && cookie.AudienceManagerBlob == "" {
		return
	}
	if r.ExperienceCloud == nil {
		r.ExperienceCloud = &delivery.ExperienceCloud{}
	}
	am := r.ExperienceCloud.AudienceManager
	if am == nil {
		am = &delivery.AudienceManager{}
		r.ExperienceCloud.AudienceManager = am
	}
	if am.LocationHint == 0 {
		am.LocationHint = cookie.AudienceManagerLocationHint
	}
	if am.Blob == "" {
		am.Blob = cookie.AudienceManagerBlob
	}
}
