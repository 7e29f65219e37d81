package ondevice

import (
	"maps"
	"slices"
	"time"

	"github.com/targetflow/targetflow/delivery"
)

// requestKind is the kind of request detail a rule is evaluated for.
type requestKind string

const (
	kindMbox requestKind = "mbox"
	kindView requestKind = "view"
)

// mode is execute or prefetch.
type mode string

const (
	modeExecute  mode = "execute"
	modePrefetch mode = "prefetch"
)

// detail is one mbox, view or pageLoad request, as rules see it.
type detail struct {
	name     string
	hasName  bool
	index    int
	hasIndex bool
	address  *delivery.Address
	params   delivery.Parameters
	raw      any // the request detail itself, for traces
}

// outcome is a matched rule's consequence while it is post-processed.
type outcome struct {
	rule    *preparedRule
	name    string
	index   int
	options []delivery.Option
	metrics []delivery.Metric
	trace   delivery.TraceResponse
}

// decider decides one request with one artifact: the decision's state,
// and small buffers so that typical requests allocate less. Deciders are
// recycled (newDecider, release); a decision reads of the buffers only what
// it wrote first, so release clears only the part the last one used.
type decider struct {
	deciderState

	allocationBuf [4]activityAllocation
	notifiedBuf   [4]notifiedToken
	scopeBuf      [4]detailScope
	outcomeBuf    [2]outcome
}

// deciderState is what each decision starts from zero.
type deciderState struct {
	e             *Engine
	art           *Artifact
	req           *delivery.DeliveryRequest
	rc            requestContext
	visitorID     string
	propertyToken string
	hasProperty   bool
	now           time.Time
	settings      decideSettings
	baseTokens    map[string]any
	tracing       bool
	allocations   []activityAllocation

	notifications []delivery.Notification
	notified      []notifiedToken
	scopesUsed    int
	outcomesUsed  bool

	remoteMboxes []string
	remoteViews  []string
	remoteNeeded bool
}

// notifiedToken is an mbox's event token already queued for notification.
type notifiedToken struct{ mbox, token string }

type activityAllocation struct {
	key   string
	value float64
}

// newDecider prepares a decider, recycled from the engine's pool: its
// buffers are reused by later requests, so nothing of a decider may be
// kept after Decide returns (responses only hold values built for them).
// A decider from the pool is zero but for its buffers (release), so only
// the fields a decision starts with are set, one by one: copying a whole
// decider in costs a write barrier per pointer while the GC marks.
func newDecider(e *Engine, art *Artifact, req *delivery.DeliveryRequest, now time.Time, settings decideSettings) *decider {
	d, _ := e.deciders.Get().(*decider)
	if d == nil {
		d = new(decider)
	}
	d.e, d.art, d.req = e, art, req
	d.rc.init(now, req.Context)
	d.visitorID = AllocationVisitorID(req.ID)
	d.now, d.settings, d.tracing = now, settings, req.Trace != nil
	if req.Property != nil {
		d.propertyToken, d.hasProperty = req.Property.Token, true
	}
	d.allocations = d.allocationBuf[:0]
	d.notified = d.notifiedBuf[:0]
	// Geo response tokens, when the account enabled them and the request
	// has them; nil otherwise (the common case: options then share the
	// rule's prepared tokens).
	g := d.rc.geo
	if g.city == "" && g.country == "" && g.region == "" && g.latitude == nil && g.longitude == nil {
		return d
	}
	geoTokens := map[string]any{}
	if art.tokenSet["geo.city"] && g.city != "" {
		geoTokens["geo.city"] = g.city
	}
	if art.tokenSet["geo.country"] && g.country != "" {
		geoTokens["geo.country"] = g.country
	}
	if art.tokenSet["geo.state"] && g.region != "" {
		geoTokens["geo.state"] = g.region
	}
	if art.tokenSet["geo.latitude"] && g.latitude != nil {
		geoTokens["geo.latitude"] = *g.latitude
	}
	if art.tokenSet["geo.longitude"] && g.longitude != nil {
		geoTokens["geo.longitude"] = *g.longitude
	}
	if len(geoTokens) > 0 {
		geoTokens[tokenDecisioningMethod] = string(delivery.DecisioningOnDevice)
		if d.e.decideAll {
			geoTokens[tokenDecisioningMethod] = string(delivery.DecisioningServerSide)
		}
		d.baseTokens = geoTokens
	}
	return d
}

// release returns the decider to the engine's pool, zero but for the
// buffers' unused part (zero already).
func (d *decider) release() {
	e := d.e
	clear(d.allocationBuf[:min(len(d.allocations), len(d.allocationBuf))])
	clear(d.notifiedBuf[:min(len(d.notified), len(d.notifiedBuf))])
	clear(d.scopeBuf[:d.scopesUsed])
	if d.outcomesUsed {
		clear(d.outcomeBuf[:])
	}
	d.deciderState = deciderState{}
	e.deciders.Put(d)
}

// decide builds the response, in parts.
func (d *decider) decide(parts *decisionParts) *delivery.DeliveryResponse {
	if !d.e.decideAll {
		d.remoteMboxes, d.remoteViews = remoteDependency(d.art, d.req)
		d.remoteNeeded = len(d.remoteMboxes) > 0 || len(d.remoteViews) > 0
	}
	resp := &parts.response
	*resp = delivery.DeliveryResponse{
		Status:    200,
		RequestID: d.req.RequestID,
		Client:    d.e.client,
	}
	if d.remoteNeeded {
		resp.Status = 206
	}
	if d.req.ID != nil {
		parts.responseID = *d.req.ID
		resp.ID = &parts.responseID
	}
	if x := d.req.Execute; x != nil {
		tracer := d.newTracer()
		out := &parts.execute
		if len(x.Mboxes) > 0 {
			out.Mboxes = parts.mboxResponses(len(x.Mboxes))
		}
		for i := range x.Mboxes {
			out.Mboxes = d.appendMboxResponses(out.Mboxes, modeExecute, mboxDetail(&x.Mboxes[i]), tracer)
		}
		if x.PageLoad != nil {
			out.PageLoad = d.pageLoadResponse(modeExecute, x.PageLoad, tracer)
		}
		resp.Execute = out
	}
	if p := d.req.Prefetch; p != nil {
		tracer := d.newTracer()
		out := &parts.prefetch
		if len(p.Mboxes) > 0 {
			out.Mboxes = parts.mboxResponses(len(p.Mboxes))
		}
		for i := range p.Mboxes {
			out.Mboxes = d.appendMboxResponses(out.Mboxes, modePrefetch, mboxDetail(&p.Mboxes[i]), tracer)
		}
		if len(p.Views) > 0 {
			// Views asked for and none matched answer "views": [], as the
			// SDKs' engine does.
			out.Views = []delivery.View{}
		}
		for i := range p.Views {
			out.Views = append(out.Views, d.viewResponses(viewDetail(&p.Views[i]), tracer)...)
		}
		if p.PageLoad != nil {
			out.PageLoad = d.pageLoadResponse(modePrefetch, p.PageLoad, tracer)
		}
		resp.Prefetch = out
	}
	return resp
}

func mboxDetail(m *delivery.MboxRequest) detail {
	return detail{name: m.Name, hasName: true, index: m.Index, hasIndex: true, address: m.Address, params: m.Parameters, raw: m}
}

func viewDetail(v *delivery.ViewRequest) detail {
	return detail{name: v.Name, hasName: v.Name != "", address: v.Address, params: v.Parameters, raw: v}
}

// propertyAllows is the SDKs' property filter: without a property token only
// rules with no property tokens apply; with one, rules with none or with it.
func (d *decider) propertyAllows(r *preparedRule) bool {
	if len(r.propertyTokens) == 0 {
		return true
	}
	if !d.hasProperty {
		return false
	}
	for _, t := range r.propertyTokens {
		if t == d.propertyToken {
			return true
		}
	}
	return false
}

// mboxResponses decides one mbox: the first matching rule, or for the global
// mbox every matching rule (one per rule key); a blank response when no
// rule matches a regional mbox.
func (d *decider) appendMboxResponses(res []delivery.MboxResponse, m mode, det detail, tracer *requestTracer) []delivery.MboxResponse {
	outs := d.mboxOutcomes(m, det, tracer)
	isGlobal := det.name == d.art.GlobalMbox
	for _, o := range outs {
		r := delivery.MboxResponse{Index: o.index, Name: o.name, Options: o.options, Trace: o.trace}
		if len(o.metrics) > 0 {
			r.Metrics = o.metrics
		}
		res = append(res, r)
	}
	if !isGlobal && len(outs) == 0 {
		r := delivery.MboxResponse{Index: det.index, Name: det.name}
		if tracer != nil {
			r.Trace = tracer.result()
		}
		return append(res, r)
	}
	return res
}

func (d *decider) mboxOutcomes(m mode, det detail, tracer *requestTracer) []outcome {
	if tracer != nil {
		tracer.traceRequest(m, kindMbox, det, &d.rc)
	}
	isGlobal := det.name == d.art.GlobalMbox
	outs := d.outcomeBuf[:0]
	d.outcomesUsed = true
	var matchedKeys map[string]bool
	ds := d.scopeFor(det)
	for _, rule := range d.art.mboxRules[det.name] {
		if !d.propertyAllows(rule) {
			continue
		}
		if isGlobal && matchedKeys[rule.key] {
			continue
		}
		o, matched := d.evaluate(m, kindMbox, rule, det, ds, tracer)
		if !matched {
			continue
		}
		outs = append(outs, o)
		if !isGlobal {
			break
		}
		if matchedKeys == nil {
			matchedKeys = map[string]bool{}
		}
		matchedKeys[rule.key] = true
	}
	return outs
}

// viewResponses decides one view request: every view's rules when it has
// no name, one consequence per view, merging the options and metrics of
// several matching rules of a view.
func (d *decider) viewResponses(det detail, tracer *requestTracer) []delivery.View {
	if tracer != nil {
		tracer.traceRequest(modePrefetch, kindView, det, &d.rc)
	}
	var rules []*preparedRule
	if det.hasName {
		rules = d.art.viewRules[det.name]
	} else {
		for _, name := range d.art.viewOrder {
			rules = append(rules, d.art.viewRules[name]...)
		}
	}
	ds := d.scopeFor(det)
	var order []string
	byName := map[string]*delivery.View{}
	matchedKeys := map[string]bool{}
	for _, rule := range rules {
		if !d.propertyAllows(rule) || matchedKeys[rule.key] {
			continue
		}
		o, matched := d.evaluate(modePrefetch, kindView, rule, det, ds, tracer)
		if !matched {
			continue
		}
		matchedKeys[rule.key] = true
		if v, ok := byName[o.name]; ok {
			v.Options = append(v.Options, o.options...)
			v.Metrics = append(v.Metrics, o.metrics...)
			continue
		}
		v := &delivery.View{Name: o.name, Options: o.options, Metrics: o.metrics, Trace: o.trace}
		byName[o.name] = v
		order = append(order, o.name)
	}
	out := make([]delivery.View, 0, len(order))
	for _, name := range order {
		out = append(out, *byName[name])
	}
	return out
}

// pageLoadResponse decides pageLoad with the global mbox: the options of
// every matching activity, their metrics deduplicated by event token.
func (d *decider) pageLoadResponse(m mode, pl *delivery.RequestDetails, tracer *requestTracer) *delivery.PageLoadResponse {
	det := detail{name: d.art.GlobalMbox, hasName: true, address: pl.Address, params: pl.Parameters, raw: pageLoadTraceDetail{pl, d.art.GlobalMbox}}
	outs := d.mboxOutcomes(m, det, tracer)
	res := &delivery.PageLoadResponse{}
	var metricOrder []string
	metrics := map[string]delivery.Metric{}
	for _, o := range outs {
		res.Options = append(res.Options, o.options...)
		res.Trace = o.trace
		for _, mt := range o.metrics {
			if _, seen := metrics[mt.EventToken]; !seen {
				metricOrder = append(metricOrder, mt.EventToken)
			}
			metrics[mt.EventToken] = mt
		}
	}
	for _, tok := range metricOrder {
		res.Metrics = append(res.Metrics, metrics[tok])
	}
	if res.Options == nil {
		res.Options = []delivery.Option{}
	}
	return res
}

// pageLoadTraceDetail is how a pageLoad request appears in traces: its
// details with the global mbox's name.
type pageLoadTraceDetail struct {
	details *delivery.RequestDetails
	name    string
}

// scopeFor prepares the part of the rule scope shared by every rule of one
// request detail.
func (d *decider) scopeFor(det detail) *detailScope {
	if d.scopesUsed < len(d.scopeBuf) {
		ds := &d.scopeBuf[d.scopesUsed]
		d.scopesUsed++
		*ds = detailScope{rc: &d.rc, address: det.address, params: det.params}
		return ds
	}
	return &detailScope{rc: &d.rc, address: det.address, params: det.params}
}

// allocation returns the visitor's allocation in a rule's activity,
// computed once per activity and request.
func (d *decider) allocation(rule *preparedRule) float64 {
	for _, a := range d.allocations {
		if a.key == rule.activityID {
			return a.value
		}
	}
	v := allocationFor(d.e.client, rule.activityID, d.visitorID)
	d.allocations = append(d.allocations, activityAllocation{key: rule.activityID, value: v})
	return v
}

// evaluate applies one rule to a request detail and, when it matches,
// returns its post-processed consequence.
func (d *decider) evaluate(m mode, kind requestKind, rule *preparedRule, det detail, ds *detailScope, tracer *requestTracer) (outcome, bool) {
	scope := &ds.scope
	*scope = ruleScope{ds: ds, allocation: d.allocation(rule)}
	satisfied, ok := d.e.evalCondition(rule, scope)
	if !ok {
		return outcome{}, false
	}
	if tracer != nil {
		tracer.ruleEvaluated(rule, scope, satisfied)
	}
	if !satisfied {
		return outcome{}, false
	}
	o := outcome{rule: rule, name: rule.name, index: det.index}
	executeOptions, prefetchOptions := rule.executeOptions, rule.prefetchOptions
	if d.e.decideAll { // the engine answers as the edge: labelled server-side
		executeOptions, prefetchOptions = rule.serverSideExecuteOptions, rule.serverSidePrefetchOptions
	}
	switch {
	case m == modeExecute:
		d.addNotification(rule, tracer)
		o.options, o.metrics = executeOptions, rule.executeMetrics
	case kind == kindView:
		o.options, o.metrics = prefetchOptions, rule.viewMetrics
	default:
		o.options = prefetchOptions
	}
	if d.baseTokens != nil || rule.hasMacros {
		// The prepared options are shared; this decision needs its own.
		o.options = slices.Clone(o.options)
		if d.baseTokens != nil {
			d.addGeoResponseTokens(rule, o.options)
		}
		if rule.hasMacros {
			replaceCampaignMacros(rule, o.options, det)
		}
	}
	if tracer != nil {
		o.trace = tracer.result()
	}
	return o, true
}

// addNotification queues the display notification of an executed rule's
// event tokens, once per mbox and token.
func (d *decider) addNotification(rule *preparedRule, tracer *requestTracer) {
	tokens := rule.eventTokens // shared, read-only, when none was notified yet
	for _, tok := range rule.eventTokens {
		if d.wasNotified(rule.name, tok) {
			tokens = nil
			for _, t := range rule.eventTokens {
				if !d.wasNotified(rule.name, t) {
					tokens = append(tokens, t)
				}
			}
			break
		}
	}
	for _, tok := range tokens {
		d.notified = append(d.notified, notifiedToken{rule.name, tok})
	}
	if tracer != nil {
		tracer.expectNotifications(rule)
	}
	if len(tokens) == 0 {
		return
	}
	n := delivery.Notification{
		ID:           newID(),
		ImpressionID: newID(),
		Type:         delivery.MetricDisplay,
		Timestamp:    delivery.TimestampMillis(d.now),
		Mbox:         rule.notificationMbox,
		Tokens:       tokens,
	}
	if tracer != nil {
		tracer.notificationSent(rule, n)
	}
	d.notifications = append(d.notifications, n)
}

func (d *decider) wasNotified(mbox, token string) bool {
	for _, n := range d.notified {
		if n.mbox == mbox && n.token == token {
			return true
		}
	}
	return false
}

// prepareOutcomes prepares, once per artifact, what a matched rule
// contributes to decisions: executed options (blank ones dropped, event
// tokens removed: the engine notifies them) with click metrics only;
// prefetched options carrying the event token to notify on display (their
// own, or the display metric at their position), with metrics for views
// only; the event tokens to notify; and response tokens on every option.
// Decisions share these slices read-only (their capacity equals their
// length, so appending copies).
func (r *preparedRule) prepareOutcomes() {
	var seen []string
	for _, o := range r.options {
		if o.EventToken != "" && !slices.Contains(seen, o.EventToken) {
			seen = append(seen, o.EventToken)
		}
	}
	r.eventTokens = slices.Clip(seen)
	r.notificationMbox = &delivery.NotificationMbox{Name: r.name}

	execute := make([]delivery.Option, 0, len(r.options))
	for _, o := range r.options {
		if o.Type == "" && len(o.Content) == 0 {
			continue
		}
		o.EventToken = ""
		o.ResponseTokens = r.onDeviceTokens
		execute = append(execute, o)
	}
	r.executeOptions = slices.Clip(execute)
	for _, mt := range r.metrics {
		if mt.Type == delivery.MetricClick {
			r.executeMetrics = append(r.executeMetrics, mt)
		}
	}
	r.executeMetrics = slices.Clip(r.executeMetrics)

	prefetch := make([]delivery.Option, len(r.options))
	for i, o := range r.options {
		if o.EventToken == "" && i < len(r.metrics) && r.metrics[i].Type == delivery.MetricDisplay {
			o.EventToken = r.metrics[i].EventToken
		}
		o.ResponseTokens = r.onDeviceTokens
		prefetch[i] = o
	}
	r.prefetchOptions = prefetch
	r.serverSideExecuteOptions = withResponseTokens(r.executeOptions, r.serverSideTokens)
	r.serverSidePrefetchOptions = withResponseTokens(r.prefetchOptions, r.serverSideTokens)
	if r.metrics != nil || r.hasMetrics {
		// A view's metrics are listed even when there are none ([], not absent).
		r.viewMetrics = slices.Clip(append(make([]delivery.Metric, 0, len(r.metrics)), r.metrics...))
	}
}

// withResponseTokens returns a copy of opts with tokens as every option's
// response tokens.
func withResponseTokens(opts []delivery.Option, tokens delivery.ResponseTokens) []delivery.Option {
	out := slices.Clone(opts)
	for i := range out {
		out[i].ResponseTokens = tokens
	}
	return out
}

// addGeoResponseTokens gives every option the rule's response tokens plus
// the request's geo tokens (d.baseTokens, with activity.decisioningMethod).
func (d *decider) addGeoResponseTokens(rule *preparedRule, opts []delivery.Option) {
	for i := range opts {
		tokens := make(delivery.ResponseTokens, len(rule.metaTokens)+len(d.baseTokens))
		maps.Copy(tokens, rule.metaTokens)
		maps.Copy(tokens, d.baseTokens)
		opts[i].ResponseTokens = tokens
	}
}

// tokensFromMeta returns the response tokens a rule's meta provides, as the
// artifact's token list allows.
func (r *preparedRule) tokensFromMeta(a *Artifact) map[string]any {
	out := make(map[string]any, len(metaResponseTokens))
	for _, name := range metaResponseTokens {
		if !a.tokenSet[name] {
			continue
		}
		if v, ok := r.meta[name]; ok && v != nil {
			out[name] = v
		}
	}
	return out
}

// remoteDependency lists the requested mboxes and views the artifact cannot
// decide: those it marks remote and those it does not list as local.
func remoteDependency(art *Artifact, req *delivery.DeliveryRequest) (mboxes, views []string) {
	var requestedMboxes, requestedViews []string
	hasViews := false
	if p := req.Prefetch; p != nil {
		for _, m := range p.Mboxes {
			requestedMboxes = appendUnique(requestedMboxes, m.Name)
		}
		hasViews = p.Views != nil
		for _, v := range p.Views {
			if v.Name != "" {
				requestedViews = appendUnique(requestedViews, v.Name)
			}
		}
	}
	if x := req.Execute; x != nil {
		for _, m := range x.Mboxes {
			requestedMboxes = appendUnique(requestedMboxes, m.Name)
		}
	}
	if (req.Execute != nil && req.Execute.PageLoad != nil) || (req.Prefetch != nil && req.Prefetch.PageLoad != nil) {
		requestedMboxes = appendUnique(requestedMboxes, art.GlobalMbox)
	}
	for _, name := range art.RemoteMboxes {
		if slices.Contains(requestedMboxes, name) {
			mboxes = appendUnique(mboxes, name)
		}
	}
	for _, name := range requestedMboxes {
		if !art.localMboxSet[name] {
			mboxes = appendUnique(mboxes, name)
		}
	}
	if hasViews && len(requestedViews) == 0 {
		for _, name := range art.RemoteViews {
			views = appendUnique(views, name)
		}
		return mboxes, views
	}
	for _, name := range art.RemoteViews {
		if slices.Contains(requestedViews, name) {
			views = appendUnique(views, name)
		}
	}
	for _, name := range requestedViews {
		if !art.localViewSet[name] {
			views = appendUnique(views, name)
		}
	}
	return mboxes, views
}

func appendUnique(list []string, name string) []string {
	if slices.Contains(list, name) {
		return list
	}
	return append(list, name)
}
