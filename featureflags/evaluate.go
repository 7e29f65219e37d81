package featureflags

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/open-feature/go-sdk/openfeature"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/target"
)

// Evaluation context attributes with a meaning of their own; the others
// are mbox parameters, or profile parameters when prefixed "profile.".
const (
	// AttrMbox picks the mbox of one evaluation (default WithMbox's).
	AttrMbox = "mbox"
	// AttrThirdPartyID and AttrMarketingCloudVisitorID fill the visitor
	// id, with the targeting key as its tntId.
	AttrThirdPartyID            = "thirdPartyId"
	AttrMarketingCloudVisitorID = "marketingCloudVisitorId"
	// ProfilePrefix marks a profile parameter: "profile.tier" is the
	// profile parameter "tier".
	ProfilePrefix = "profile."
)

// Flag metadata keys of an evaluation.
const (
	MetadataActivityID        = "activityId"
	MetadataActivityName      = "activityName"
	MetadataExperienceID      = "experienceId"
	MetadataExperienceName    = "experienceName"
	MetadataDecisioningMethod = "decisioningMethod"
)

// Response token names the provider reads.
const (
	tokenActivityID        = "activity.id"
	tokenActivityName      = "activity.name"
	tokenActivityType      = "activity.type"
	tokenExperienceID      = "experience.id"
	tokenExperienceName    = "experience.name"
	tokenDecisioningMethod = "activity.decisioningMethod"
)

// visitor is who an evaluation is for, and on which mbox.
type visitor struct {
	mbox    string
	id      delivery.VisitorID
	key     visitorKey // the visitor, for the provider's memories
	params  delivery.Parameters
	profile delivery.Parameters
}

// visitorOf maps an evaluation context: the targeting key is the tntId,
// thirdPartyId and marketingCloudVisitorId fill the visitor id, mbox picks
// the mbox, "profile."-prefixed attributes are profile parameters and the
// others mbox parameters. Its error is a resolution error.
func (p *Provider) visitorOf(flat map[string]any) (visitor, *openfeature.ResolutionError) {
	v := visitor{mbox: p.cfg.mbox}
	for name, value := range flat {
		switch name {
		case openfeature.TargetingKey, AttrThirdPartyID, AttrMarketingCloudVisitorID, AttrMbox:
			s, ok := value.(string)
			if !ok {
				return v, resolutionError(openfeature.NewInvalidContextResolutionError(
					fmt.Sprintf("evaluation context attribute %q is %T (%v), not a string", name, value, value)))
			}
			switch name {
			case openfeature.TargetingKey:
				v.id.TntID = s
			case AttrThirdPartyID:
				v.id.ThirdPartyID = s
			case AttrMarketingCloudVisitorID:
				v.id.MarketingCloudVisitorID = s
			case AttrMbox:
				v.mbox = s
			}
			continue
		}
		text, ok := parameterText(value)
		if !ok {
			return v, resolutionError(openfeature.NewInvalidContextResolutionError(
				fmt.Sprintf("evaluation context attribute %q is %T: mbox and profile parameters are strings, numbers or booleans", name, value)))
		}
		if rest, profile := strings.CutPrefix(name, ProfilePrefix); profile {
			if v.profile == nil {
				v.profile = delivery.Parameters{}
			}
			v.profile[rest] = text
			continue
		}
		if v.params == nil {
			v.params = delivery.Parameters{}
		}
		v.params[name] = text
	}
	switch {
	case v.mbox == "":
		return v, resolutionError(openfeature.NewInvalidContextResolutionError(
			"no mbox: give featureflags.WithMbox, or an evaluation context attribute \"mbox\""))
	case v.id.TntID != "":
		v.key = visitorKey{'t', v.id.TntID}
	case v.id.ThirdPartyID != "":
		v.key = visitorKey{'p', v.id.ThirdPartyID}
	case v.id.MarketingCloudVisitorID != "":
		v.key = visitorKey{'m', v.id.MarketingCloudVisitorID}
	default:
		return v, resolutionError(openfeature.NewTargetingKeyMissingResolutionError(
			"the visitor needs a targeting key (its tntId), or a thirdPartyId or marketingCloudVisitorId attribute"))
	}
	return v, nil
}

func resolutionError(e openfeature.ResolutionError) *openfeature.ResolutionError { return &e }

// parameterText is an attribute value as a parameter's text.
func parameterText(value any) (string, bool) {
	switch v := value.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case int32:
		return strconv.FormatInt(int64(v), 10), true
	case uint:
		return strconv.FormatUint(uint64(v), 10), true
	case uint64:
		return strconv.FormatUint(v, 10), true
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), true
	case float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32), true
	case json.Number:
		return v.String(), true
	}
	return "", false
}

// evaluationRequest holds a request and the parts it points to, so that
// an evaluation's request is one object, recycled (Provider.requests):
// GetAttributes reads the caller's request and keeps none of it (it
// completes a copy), so the request is free again once it returns.
type evaluationRequest struct {
	request  delivery.DeliveryRequest
	id       delivery.VisitorID
	context  delivery.Context
	mboxes   [1]delivery.MboxRequest
	execute  delivery.ExecuteRequest
	prefetch delivery.PrefetchRequest
}

// forget drops the visitor's data from r before it is parked in the pool:
// its ids and parameters are not kept alive until the next evaluation.
func (r *evaluationRequest) forget() {
	r.id = delivery.VisitorID{}
	r.mboxes[0].Parameters, r.mboxes[0].ProfileParameters = nil, nil
}

// request is the Delivery API request of an evaluation: the flags' mbox
// executed (as GetAttributes asks for it), or prefetched when impressions
// are deduplicated (the provider then notifies them itself). What every
// evaluation of the provider asks alike is set when the request is made;
// a recycled one (GetAttributes changes nothing of it) gets the visitor
// and mbox of this evaluation. Give it back with p.requests.Put once
// GetAttributes returned.
func (p *Provider) request(v *visitor) *evaluationRequest {
	e, _ := p.requests.Get().(*evaluationRequest)
	if e == nil {
		e = new(evaluationRequest)
		e.context.Channel = delivery.ChannelWeb
		e.mboxes[0].Index = 1
		e.request.ID, e.request.Context = &e.id, &e.context
		if p.seen != nil {
			e.prefetch.Mboxes = e.mboxes[:]
			e.request.Prefetch = &e.prefetch
		} else {
			e.execute.Mboxes = e.mboxes[:]
			e.request.Execute = &e.execute
		}
	}
	e.id = v.id
	m := &e.mboxes[0]
	m.Name, m.Parameters, m.ProfileParameters = v.mbox, v.params, v.profile
	return e
}

// resolved is the outcome of asking Target for an evaluation's mbox.
type resolved struct {
	visitor visitor
	attrs   *target.Attributes
	err     *openfeature.ResolutionError
}

// resolve asks Target (through GetAttributes) for the mbox of an
// evaluation, then sends what it owes: the impressions of a deduplicated
// or caller-notified evaluation.
func (p *Provider) resolve(ctx context.Context, flat map[string]any) resolved {
	if p.configErr != nil {
		return resolved{err: resolutionError(openfeature.NewProviderFatalResolutionError("featureflags: " + p.configErr.Error()))}
	}
	v, rerr := p.visitorOf(flat)
	if rerr != nil {
		return resolved{err: rerr}
	}
	request := p.request(&v)
	attrs, err := p.client.GetAttributes(ctx, []string{v.mbox}, target.GetOffersOptions{Request: &request.request})
	request.forget()
	p.requests.Put(request)
	if err != nil {
		return resolved{visitor: v, err: callError(err)}
	}
	p.afterEvaluation(ctx, &v, attrs.Response())
	return resolved{visitor: v, attrs: attrs}
}

// callError is the resolution error of a failed GetAttributes.
func callError(err error) *openfeature.ResolutionError {
	var (
		validation *target.ValidationError
		syntax     *json.SyntaxError
		typeErr    *json.UnmarshalTypeError
	)
	switch {
	case errors.Is(err, target.ErrNotReady):
		return resolutionError(openfeature.NewProviderNotReadyResolutionError(err.Error()))
	case errors.As(err, &validation):
		return resolutionError(openfeature.NewInvalidContextResolutionError(err.Error()))
	case errors.As(err, &syntax), errors.As(err, &typeErr):
		return resolutionError(openfeature.NewParseErrorResolutionError(err.Error(), err))
	}
	return resolutionError(openfeature.NewGeneralResolutionError(err.Error(), err))
}

// detail is the resolution detail of flag, found in r's mbox. Details are
// made once per experience and artifact (artifactInfo.details) and shared:
// their FlagMetadata is not to be modified, and the go-sdk copies it for
// each caller (ProviderResolutionDetail.ResolutionDetail).
func (p *Provider) detail(r *resolved, flag string) openfeature.ProviderResolutionDetail {
	resp := r.attrs.Response()
	var tokens map[string]any
	if option := sourceOption(resp, r.visitor.mbox, flag); option != nil {
		tokens = option.ResponseTokens
	}
	method := string(resp.Meta.DecisioningMethod)
	info := p.info.Load()
	key, ok := detailKeyOf(tokens, method)
	if info == nil || !ok {
		return newDetail(tokens, method, info)
	}
	return info.details.get(key, func() openfeature.ProviderResolutionDetail { return newDetail(tokens, method, info) })
}

// newDetail is the resolution detail of a value that an option with these
// response tokens gave, in a response decided by method: the experience
// name as the variant, the reason of the activity's type (its token, else
// the artifact's), and the activity, experience and decisioning method as
// metadata.
func newDetail(tokens map[string]any, method string, info *artifactInfo) openfeature.ProviderResolutionDetail {
	d := openfeature.ProviderResolutionDetail{Reason: openfeature.DefaultReason, FlagMetadata: make(openfeature.FlagMetadata, 5)}
	var methodValue any // method as the metadata's value, when it already is one
	if tokens != nil {
		if name, ok := tokens[tokenExperienceName].(string); ok {
			d.Variant = name
		}
		activityID, hasID := idValue(tokens[tokenActivityID])
		setMetadata(d.FlagMetadata, MetadataActivityID, tokens[tokenActivityID])
		setMetadata(d.FlagMetadata, MetadataActivityName, tokens[tokenActivityName])
		setMetadata(d.FlagMetadata, MetadataExperienceID, tokens[tokenExperienceID])
		setMetadata(d.FlagMetadata, MetadataExperienceName, tokens[tokenExperienceName])
		if m, ok := tokens[tokenDecisioningMethod].(string); ok && m != "" {
			method = m
			methodValue = tokens[tokenDecisioningMethod]
		}
		activityType, _ := tokens[tokenActivityType].(string)
		if activityType == "" && hasID && info != nil {
			activityType = info.activityTypes[activityID]
		}
		d.Reason = reasonOf(activityType)
	}
	if method != "" {
		if methodValue == nil {
			methodValue = decisioningMethodValue(method)
		}
		d.FlagMetadata[MetadataDecisioningMethod] = methodValue
	}
	return d
}

// detailKey is what newDetail reads of an option's response tokens, and
// the response's decisioning method: within one artifact (which gives the
// activity types newDetail falls back to), equal keys make equal details.
// present has a bit per token that is there (tokenBits' order).
type detailKey struct {
	present                    uint8
	activityID, experienceID   int64
	activityName, activityType string
	experienceName, method     string
	methodToken                string
}

// detailKeyOf is the key of the detail of tokens and method; ok is false
// when a token has a value the key cannot hold as newDetail would read it
// (an id that is no whole number, a name that is no string): such details
// are made per evaluation.
func detailKeyOf(tokens map[string]any, method string) (key detailKey, ok bool) {
	key.method = method
	id := func(bit uint8, name string, dst *int64) bool {
		v, there := tokens[name]
		if !there || v == nil {
			return true
		}
		key.present |= bit
		n, ok := idValue(v)
		*dst = n
		return ok
	}
	text := func(bit uint8, name string, dst *string) bool {
		v, there := tokens[name]
		if !there || v == nil {
			return true
		}
		key.present |= bit
		s, ok := v.(string)
		*dst = s
		return ok
	}
	ok = id(1, tokenActivityID, &key.activityID) && id(2, tokenExperienceID, &key.experienceID) &&
		text(4, tokenActivityName, &key.activityName) && text(8, tokenActivityType, &key.activityType) &&
		text(16, tokenExperienceName, &key.experienceName) && text(32, tokenDecisioningMethod, &key.methodToken)
	return key, ok
}

// maxDetails bounds the details an artifact's cache keeps: past it (more
// experiences answered than that, as remote answers could give), details
// are made per evaluation.
const maxDetails = 1024

// detailCache holds the details of one artifact's evaluations. It finds
// them by their activity and experience ids, cheap to hash, then compares
// the whole key: hashing the key's names on every evaluation cost more
// than the rest of the lookup.
type detailCache struct {
	entries sync.Map // detailIDs → *detailEntry (a list: a rare id pair has several keys)
	count   atomic.Int64
}

// detailIDs is the part of a detailKey the cache hashes.
type detailIDs struct{ activityID, experienceID int64 }

// detailEntry is one key's detail, and the next entry of its ids.
type detailEntry struct {
	key    detailKey
	detail openfeature.ProviderResolutionDetail
	next   *detailEntry
}

// get is the detail of key, made by build the first time.
func (c *detailCache) get(key detailKey, build func() openfeature.ProviderResolutionDetail) openfeature.ProviderResolutionDetail {
	ids := detailIDs{key.activityID, key.experienceID}
	first, _ := c.entries.Load(ids)
	head, _ := first.(*detailEntry)
	for e := head; e != nil; e = e.next {
		if e.key == key {
			return e.detail
		}
	}
	d := build()
	if c.count.Load() < maxDetails {
		// Prepend to the list loaded; when another evaluation changed it
		// meanwhile, this detail is simply made again next time.
		e := &detailEntry{key: key, detail: d, next: head}
		var stored bool
		if head == nil {
			_, loaded := c.entries.LoadOrStore(ids, e)
			stored = !loaded
		} else {
			stored = c.entries.CompareAndSwap(ids, head, e)
		}
		if stored {
			c.count.Add(1)
		}
	}
	return d
}

// reasonOf is the reason of a value an activity of type activityType gave:
// a split for an A/B or multivariate test, a targeting match for experience
// targeting, DEFAULT when the type is unknown.
func reasonOf(activityType string) openfeature.Reason {
	switch activityType {
	case "ab", "mvt":
		return openfeature.SplitReason
	case "landing", "xt":
		return openfeature.TargetingMatchReason
	}
	return openfeature.DefaultReason
}

// decisioningMethodValue is method as a metadata value; the methods
// Target knows are boxed once, not per evaluation.
func decisioningMethodValue(method string) any {
	switch delivery.DecisioningMethod(method) {
	case delivery.DecisioningOnDevice:
		return string(delivery.DecisioningOnDevice)
	case delivery.DecisioningServerSide:
		return string(delivery.DecisioningServerSide)
	case delivery.DecisioningHybrid:
		return string(delivery.DecisioningHybrid)
	}
	return method
}

// setMetadata puts a response token in the flag metadata: ids as int64
// when they are whole numbers, other values as strings. A token that
// already is one is put as it is, without boxing it again.
func setMetadata(m openfeature.FlagMetadata, key string, token any) {
	if token == nil {
		return
	}
	if key == MetadataActivityID || key == MetadataExperienceID {
		if _, ok := token.(int64); ok {
			m[key] = token
			return
		}
		if id, ok := idValue(token); ok {
			m[key] = id
			return
		}
	}
	switch v := token.(type) {
	case string:
		m[key] = token
	default:
		m[key] = fmt.Sprint(v)
	}
}

// idValue reads a numeric id token (a number, or a string of digits).
func idValue(token any) (int64, bool) {
	switch v := token.(type) {
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int64(v), true
		}
	case int64:
		return v, true
	case int:
		return int64(v), true
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	return 0, false
}

// sourceOption is the JSON option of mbox that gives flag its value: of
// the options that have the key, the last in the order GetAttributes
// merges them (prefetch, then execute).
func sourceOption(resp *target.Response, mbox, flag string) *delivery.Option {
	if resp == nil || resp.Response == nil {
		return nil
	}
	// Of the JSON options of mbox, in merge order, the last that has the
	// key; when there is only one (the common case) without looking inside.
	sections := [2][]delivery.MboxResponse{}
	if pf := resp.Response.Prefetch; pf != nil {
		sections[0] = pf.Mboxes
	}
	if ex := resp.Response.Execute; ex != nil {
		sections[1] = ex.Mboxes
	}
	// source is the last option seen that has the key, looked for only
	// from the second option on (the first is looked into then).
	var last, source *delivery.Option
	count := 0
	for _, mboxes := range sections {
		for i := range mboxes {
			if mboxes[i].Name != mbox {
				continue
			}
			for j := range mboxes[i].Options {
				o := &mboxes[i].Options[j]
				if o.Type != delivery.OptionJSON || len(o.Content) == 0 {
					continue
				}
				if count++; count == 2 && hasKey(last.Content, flag) {
					source = last
				}
				if count >= 2 && hasKey(o.Content, flag) {
					source = o
				}
				last = o
			}
		}
	}
	if count <= 1 {
		return last
	}
	return source
}

// hasKey reports whether the JSON object content (or the object in a JSON
// string) has the member key, reading only its names.
func hasKey(content json.RawMessage, key string) bool {
	dec := jsontext.NewDecoder(bytes.NewReader(unquoteObject(content)))
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return false
	}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return false
		}
		if name.String() == key {
			return true
		}
		if dec.SkipValue() != nil {
			return false
		}
	}
	return false
}

// evaluate resolves flag and reads it with get; failures return def.
func evaluate[T any](p *Provider, ctx context.Context, flag string, def T, flat openfeature.FlattenedContext,
	get func(a *target.Attributes, mbox, key string) (T, error)) openfeature.GenericResolutionDetail[T] {
	r := p.resolve(ctx, flat)
	if r.err != nil {
		return openfeature.GenericResolutionDetail[T]{Value: def, ProviderResolutionDetail: openfeature.ProviderResolutionDetail{
			ResolutionError: *r.err, Reason: openfeature.ErrorReason}}
	}
	value, err := get(r.attrs, r.visitor.mbox, flag)
	if err != nil {
		rerr := openfeature.NewTypeMismatchResolutionError(err.Error())
		if errors.Is(err, target.ErrAttributeNotFound) {
			rerr = openfeature.NewFlagNotFoundResolutionError(err.Error())
		}
		return openfeature.GenericResolutionDetail[T]{Value: def, ProviderResolutionDetail: openfeature.ProviderResolutionDetail{
			ResolutionError: rerr, Reason: openfeature.ErrorReason}}
	}
	return openfeature.GenericResolutionDetail[T]{Value: value, ProviderResolutionDetail: p.detail(&r, flag)}
}

// BooleanEvaluation evaluates a boolean attribute.
func (p *Provider) BooleanEvaluation(ctx context.Context, flag string, def bool, flat openfeature.FlattenedContext) openfeature.BoolResolutionDetail {
	return evaluate(p, ctx, flag, def, flat, (*target.Attributes).Bool)
}

// StringEvaluation evaluates a string attribute.
func (p *Provider) StringEvaluation(ctx context.Context, flag string, def string, flat openfeature.FlattenedContext) openfeature.StringResolutionDetail {
	return evaluate(p, ctx, flag, def, flat, (*target.Attributes).String)
}

// FloatEvaluation evaluates a numeric attribute, as target.Attributes.Float.
func (p *Provider) FloatEvaluation(ctx context.Context, flag string, def float64, flat openfeature.FlattenedContext) openfeature.FloatResolutionDetail {
	return evaluate(p, ctx, flag, def, flat, (*target.Attributes).Float)
}

// IntEvaluation evaluates a whole-number attribute (1, -3, 2.0, 1e3), as
// target.Attributes.Int.
func (p *Provider) IntEvaluation(ctx context.Context, flag string, def int64, flat openfeature.FlattenedContext) openfeature.IntResolutionDetail {
	return evaluate(p, ctx, flag, def, flat, (*target.Attributes).Int)
}

// ObjectEvaluation returns an attribute of any type as GetAttributes
// decodes it (objects are map[string]any, arrays []any, numbers
// json.Number).
func (p *Provider) ObjectEvaluation(ctx context.Context, flag string, def any, flat openfeature.FlattenedContext) openfeature.InterfaceResolutionDetail {
	return evaluate(p, ctx, flag, def, flat, (*target.Attributes).Value)
}
