package ondevice

import (
	"encoding/json"
	"strings"

	"github.com/targetflow/targetflow/delivery"
)

// requestTracer records, for one mode (execute or prefetch) of a traced
// request, which activities were evaluated and matched, the shape of the
// trace the SDKs attach to each decision.
type requestTracer struct {
	d         *decider
	request   map[string]any
	campaigns []*traceCampaign
	byID      map[string]*traceCampaign
	targets   []*traceTarget
	targetsBy map[string]*traceTarget
}

type traceCampaign struct {
	id, campaignType, branchID, environment any
	offers                                  []any
	notifications                           []any
	hasNotifications                        bool
}

type traceTarget struct {
	context             map[string]any
	campaignID          any
	campaignType        any
	matchedSegments     []any
	unmatchedSegments   []any
	matchedSeen         map[string]bool
	unmatchedSeen       map[string]bool
	matchedConditions   []any
	unmatchedConditions []any
}

// newTracer returns a tracer when the request asked for a trace, else nil.
func (d *decider) newTracer() *requestTracer {
	if !d.tracing {
		return nil
	}
	return &requestTracer{d: d, byID: map[string]*traceCampaign{}, targetsBy: map[string]*traceTarget{}}
}

func (t *requestTracer) traceRequest(m mode, kind requestKind, det detail, rc *requestContext) {
	detailMap := toGeneric(det.raw)
	if pl, ok := det.raw.(pageLoadTraceDetail); ok {
		detailMap = toGeneric(pl.details)
		detailMap["name"] = pl.name
	}
	if detailMap == nil {
		detailMap = map[string]any{}
	}
	detailMap["type"] = string(m)
	t.request = map[string]any{
		"pageURL":    rc.pageContext().values[urlURL],
		"host":       rc.pageContext().values[urlDomain],
		string(kind): detailMap,
	}
}

func (t *requestTracer) ruleEvaluated(rule *preparedRule, scope *ruleScope, satisfied bool) {
	meta := rule.meta
	id := rule.activityID
	if satisfied {
		if _, ok := t.byID[id]; !ok {
			c := &traceCampaign{
				id:           meta["activity.id"],
				campaignType: meta["activity.type"],
				branchID:     meta["experience.id"],
				offers:       []any{},
				environment:  t.d.art.Meta["environment"],
			}
			if offer, ok := meta["offer.id"]; ok && offer != nil {
				c.offers = []any{offer}
			}
			t.byID[id] = c
			t.campaigns = append(t.campaigns, c)
		}
	}
	target, ok := t.targetsBy[id]
	if !ok {
		target = &traceTarget{
			context:       scope.toMap(),
			campaignID:    meta["activity.id"],
			campaignType:  meta["activity.type"],
			matchedSeen:   map[string]bool{},
			unmatchedSeen: map[string]bool{},
		}
		t.targetsBy[id] = target
		t.targets = append(t.targets, target)
	}
	for _, audience := range rule.audienceIDs {
		key := jsString(audience)
		if satisfied && !target.matchedSeen[key] {
			target.matchedSeen[key] = true
			target.matchedSegments = append(target.matchedSegments, audience)
		}
		if !satisfied && !target.unmatchedSeen[key] {
			target.unmatchedSeen[key] = true
			target.unmatchedSegments = append(target.unmatchedSegments, audience)
		}
	}
	if satisfied {
		target.matchedConditions = append(target.matchedConditions, rule.conditionJSON)
	} else {
		target.unmatchedConditions = append(target.unmatchedConditions, rule.conditionJSON)
	}
}

// expectNotifications marks an executed activity's campaign as one that
// lists its notifications.
func (t *requestTracer) expectNotifications(rule *preparedRule) {
	if c, ok := t.byID[rule.activityID]; ok {
		c.hasNotifications = true
	}
}

func (t *requestTracer) notificationSent(rule *preparedRule, n delivery.Notification) {
	if c, ok := t.byID[rule.activityID]; ok {
		c.hasNotifications = true
		c.notifications = append(c.notifications, toGeneric(n))
	}
}

// result renders the trace as it stands now.
func (t *requestTracer) result() delivery.TraceResponse {
	d := t.d
	request := map[string]any{}
	if d.settings.sessionID != "" {
		request["sessionId"] = d.settings.sessionID
	}
	for k, v := range t.request {
		request[k] = v
	}
	campaigns := make([]any, 0, len(t.campaigns))
	for _, c := range t.campaigns {
		m := map[string]any{
			"id":           c.id,
			"campaignType": c.campaignType,
			"branchId":     c.branchID,
			"offers":       append([]any{}, c.offers...),
			"environment":  c.environment,
		}
		if c.hasNotifications {
			m["notifications"] = append([]any{}, c.notifications...)
		}
		campaigns = append(campaigns, m)
	}
	targets := make([]any, 0, len(t.targets))
	for _, tg := range t.targets {
		targets = append(targets, map[string]any{
			"context":                 tg.context,
			"campaignId":              tg.campaignID,
			"campaignType":            tg.campaignType,
			"matchedSegmentIds":       append([]any{}, tg.matchedSegments...),
			"unmatchedSegmentIds":     append([]any{}, tg.unmatchedSegments...),
			"matchedRuleConditions":   append([]any{}, tg.matchedConditions...),
			"unmatchedRuleConditions": append([]any{}, tg.unmatchedConditions...),
		})
	}
	return delivery.TraceResponse{
		"clientCode":               d.e.client,
		"artifact":                 d.e.artifactTrace(),
		"profile":                  t.profile(),
		"request":                  request,
		"campaigns":                campaigns,
		"evaluatedCampaignTargets": targets,
	}
}

func (t *requestTracer) profile() map[string]any {
	visitor := toGeneric(t.d.req.ID)
	if visitor == nil {
		visitor = map[string]any{}
	}
	if id := t.d.req.ID; id != nil && id.TntID != "" {
		tnt, location, _ := strings.Cut(id.TntID, ".")
		visitor["tntId"] = tnt
		if location != "" {
			visitor["profileLocation"] = location
		}
	}
	return map[string]any{"visitorId": visitor}
}

// toGeneric renders a value as decoded JSON (map[string]any).
func toGeneric(v any) map[string]any {
	data, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(data, &m) != nil {
		return nil
	}
	return m
}
