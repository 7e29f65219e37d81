package ondevice

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/internal/jsonlogic"
)

// SupportedArtifactMajorVersion is the artifact format major version this
// engine reads.
const SupportedArtifactMajorVersion = 1

// Artifact is an on-device decisioning rules artifact (rules.json), parsed
// and with every rule prepared for evaluation. An Artifact is immutable and
// safe for concurrent use.
type Artifact struct {
	// Version is the artifact format version, as "1.0.0".
	Version string
	// GlobalMbox is the mbox that pageLoad requests are decided with.
	GlobalMbox string
	// GeoTargetingEnabled says that some rule needs the visitor's geo; a
	// request with only an IP address then triggers a geo lookup.
	GeoTargetingEnabled bool
	// ResponseTokens lists the response tokens the account has enabled.
	ResponseTokens []string
	// RemoteMboxes and RemoteViews must be decided by the edge (their
	// activities use features the artifact cannot express); LocalMboxes and
	// LocalViews can be decided from this artifact.
	RemoteMboxes, LocalMboxes, RemoteViews, LocalViews []string
	// Meta is the artifact's meta object (clientCode, environment ...).
	Meta map[string]any

	raw           []byte
	mboxRules     map[string][]*preparedRule
	viewRules     map[string][]*preparedRule
	viewOrder     []string // view names in artifact order, for unnamed view requests
	remoteMboxSet map[string]bool
	localMboxSet  map[string]bool
	remoteViewSet map[string]bool
	localViewSet  map[string]bool
	tokenSet      map[string]bool
	skipped       []SkippedRule
}

// SkippedRule names a rule that was left out of an artifact because it could
// not be prepared, and why.
type SkippedRule struct {
	// Location is "mboxes/<name>[i]" or "views/<name>[i]".
	Location string
	RuleKey  string
	Reason   string
}

// Raw returns the artifact's JSON exactly as it was read (deobfuscated).
// The caller must not modify it.
func (a *Artifact) Raw() []byte { return a.raw }

// Skipped lists the rules that could not be prepared and are never applied.
func (a *Artifact) Skipped() []SkippedRule { return append([]SkippedRule(nil), a.skipped...) }

// MboxNames returns the names of the mboxes the artifact has rules for.
func (a *Artifact) MboxNames() []string { return sortedKeys(a.mboxRules) }

// ViewNames returns the names of the views the artifact has rules for, in
// artifact order.
func (a *Artifact) ViewNames() []string { return append([]string(nil), a.viewOrder...) }

// ArtifactError says why an artifact could not be used. It is the one
// artifact error of targetflow: edge.ArtifactError is this type.
type ArtifactError struct {
	// Source says where the artifact came from (a path, a URL, "payload"),
	// when the one refusing it knows.
	Source string
	// Field is the part of the artifact at fault ("version", "rules" ...),
	// or empty for the document as a whole.
	Field string
	// Value is the offending value, when there is one.
	Value string
	Err   error
}

func (e *ArtifactError) Error() string {
	var b strings.Builder
	b.WriteString("ondevice: invalid artifact")
	if e.Source != "" {
		b.WriteString(" from " + e.Source)
	}
	if e.Field != "" {
		b.WriteString(": " + e.Field)
		if e.Value != "" {
			b.WriteString(" " + e.Value)
		}
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *ArtifactError) Unwrap() error { return e.Err }

// Sentinel errors wrapped by ArtifactError.
var (
	// ErrUnsupportedArtifactVersion: the artifact's major version is not
	// SupportedArtifactMajorVersion.
	ErrUnsupportedArtifactVersion = errors.New("unsupported artifact version")
	// ErrMalformedArtifact: the artifact is not a JSON object of the expected shape.
	ErrMalformedArtifact = errors.New("malformed artifact")
)

// artifactDocument is the JSON shape of rules.json.
type artifactDocument struct {
	Version             *string        `json:"version"`
	GlobalMbox          string         `json:"globalMbox"`
	GeoTargetingEnabled bool           `json:"geoTargetingEnabled"`
	ResponseTokens      []string       `json:"responseTokens"`
	RemoteMboxes        []string       `json:"remoteMboxes"`
	LocalMboxes         []string       `json:"localMboxes"`
	RemoteViews         []string       `json:"remoteViews"`
	LocalViews          []string       `json:"localViews"`
	Meta                map[string]any `json:"meta"`
	Rules               *rulesDocument `json:"rules"`
}

type rulesDocument struct {
	Mboxes orderedRules `json:"mboxes"`
	Views  orderedRules `json:"views"`
}

// orderedRules keeps the artifact's key order of mbox and view names.
type orderedRules struct {
	names []string
	rules map[string][]json.RawMessage
}

func (o *orderedRules) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("want an object of rule lists, got %v", tok)
	}
	o.rules = map[string][]json.RawMessage{}
	for dec.More() {
		keyTok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := keyTok.(string)
		var list []json.RawMessage
		if err := dec.Decode(&list); err != nil {
			return fmt.Errorf("rules of %q: %w", name, err)
		}
		if _, seen := o.rules[name]; !seen {
			o.names = append(o.names, name)
		}
		o.rules[name] = list
	}
	_, err = dec.Token()
	return err
}

// ruleDocument is the JSON shape of one rule.
type ruleDocument struct {
	RuleKey        any             `json:"ruleKey"`
	ActivityID     any             `json:"activityId"`
	PropertyTokens []string        `json:"propertyTokens"`
	Meta           map[string]any  `json:"meta"`
	Condition      json.RawMessage `json:"condition"`
	Consequence    json.RawMessage `json:"consequence"`
}

type consequenceDocument struct {
	Name    string            `json:"name"`
	Options []delivery.Option `json:"options"`
	Metrics []delivery.Metric `json:"metrics"`
}

// preparedRule is a rule ready for evaluation: condition compiled, meta and
// consequence decoded, allocation key prepared.
type preparedRule struct {
	key            string
	activityID     string // activity.id as JavaScript prints it
	activityIDRaw  any
	propertyTokens []string
	meta           map[string]any
	audienceIDs    []any
	conditionJSON  any
	cond           jsonlogic.Predicate
	name           string
	options        []delivery.Option
	metrics        []delivery.Metric
	hasMetrics     bool
	metaTokens     map[string]any
	onDeviceTokens delivery.ResponseTokens // metaTokens + activity.decisioningMethod
	// serverSideTokens label the rule's decisions server-side, for engines
	// that act as the edge (WithDecideAll).
	serverSideTokens delivery.ResponseTokens
	macros           []optionMacros
	hasMacros        bool

	// Prepared outcomes (prepareOutcomes), shared read-only by decisions.
	executeOptions  []delivery.Option
	executeMetrics  []delivery.Metric
	prefetchOptions []delivery.Option
	// The same options labelled server-side (serverSideTokens).
	serverSideExecuteOptions  []delivery.Option
	serverSidePrefetchOptions []delivery.Option
	viewMetrics               []delivery.Metric
	eventTokens               []string
	notificationMbox          *delivery.NotificationMbox
}

// ParseArtifact parses and validates a rules.json document and prepares its
// rules. The artifact's major version must be SupportedArtifactMajorVersion.
// A rule that cannot be prepared (unknown json-logic operator, malformed
// consequence) is left out with a warning on logger (nil for none) and
// listed by Skipped; it never makes the artifact fail.
func ParseArtifact(data []byte, logger *zap.Logger) (*Artifact, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	var doc artifactDocument
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, &ArtifactError{Err: fmt.Errorf("%w: %v", ErrMalformedArtifact, err)}
	}
	if doc.Version == nil {
		return nil, &ArtifactError{Field: "version", Err: fmt.Errorf("%w: missing", ErrMalformedArtifact)}
	}
	major, err := majorOf(*doc.Version)
	if err != nil {
		return nil, &ArtifactError{Field: "version", Value: strconv.Quote(*doc.Version), Err: fmt.Errorf("%w: %v", ErrMalformedArtifact, err)}
	}
	if major != SupportedArtifactMajorVersion {
		return nil, &ArtifactError{Field: "version", Value: strconv.Quote(*doc.Version),
			Err: fmt.Errorf("%w: this engine reads major version %d", ErrUnsupportedArtifactVersion, SupportedArtifactMajorVersion)}
	}
	if doc.Rules == nil {
		return nil, &ArtifactError{Field: "rules", Err: fmt.Errorf("%w: missing", ErrMalformedArtifact)}
	}
	a := &Artifact{
		Version:             *doc.Version,
		GlobalMbox:          doc.GlobalMbox,
		GeoTargetingEnabled: doc.GeoTargetingEnabled,
		ResponseTokens:      doc.ResponseTokens,
		RemoteMboxes:        doc.RemoteMboxes,
		LocalMboxes:         doc.LocalMboxes,
		RemoteViews:         doc.RemoteViews,
		LocalViews:          doc.LocalViews,
		Meta:                doc.Meta,
		raw:                 data,
		mboxRules:           map[string][]*preparedRule{},
		viewRules:           map[string][]*preparedRule{},
		remoteMboxSet:       setOf(doc.RemoteMboxes),
		localMboxSet:        setOf(doc.LocalMboxes),
		remoteViewSet:       setOf(doc.RemoteViews),
		localViewSet:        setOf(doc.LocalViews),
		tokenSet:            setOf(doc.ResponseTokens),
	}
	if a.GlobalMbox == "" {
		a.GlobalMbox = delivery.GlobalMbox
	}
	if a.Meta == nil {
		a.Meta = map[string]any{}
	}
	a.prepareRules("mboxes", doc.Rules.Mboxes, a.mboxRules, logger)
	a.prepareRules("views", doc.Rules.Views, a.viewRules, logger)
	a.viewOrder = doc.Rules.Views.names
	return a, nil
}

func (a *Artifact) prepareRules(kind string, src orderedRules, dst map[string][]*preparedRule, logger *zap.Logger) {
	for _, name := range src.names {
		list := src.rules[name]
		prepared := make([]*preparedRule, 0, len(list))
		for i, raw := range list {
			rule, err := prepareRule(raw)
			if err != nil {
				skipped := SkippedRule{Location: fmt.Sprintf("%s/%s[%d]", kind, name, i), Reason: err.Error()}
				if rule != nil {
					skipped.RuleKey = rule.key
				}
				a.skipped = append(a.skipped, skipped)
				logger.Warn("ondevice: skipping a rule that cannot be prepared",
					zap.String("location", skipped.Location), zap.String("ruleKey", skipped.RuleKey), zap.String("reason", skipped.Reason))
				continue
			}
			rule.metaTokens = rule.tokensFromMeta(a)
			rule.onDeviceTokens = make(map[string]any, len(rule.metaTokens)+1)
			maps.Copy(rule.onDeviceTokens, rule.metaTokens)
			rule.onDeviceTokens[tokenDecisioningMethod] = string(delivery.DecisioningOnDevice)
			rule.serverSideTokens = maps.Clone(rule.onDeviceTokens)
			rule.serverSideTokens[tokenDecisioningMethod] = string(delivery.DecisioningServerSide)
			rule.prepareOutcomes()
			prepared = append(prepared, rule)
		}
		dst[name] = prepared
	}
}

func prepareRule(raw json.RawMessage) (*preparedRule, error) {
	var doc ruleDocument
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("malformed rule: %v", err)
	}
	rule := &preparedRule{key: jsString(doc.RuleKey), propertyTokens: doc.PropertyTokens, meta: doc.Meta}
	if rule.meta == nil {
		rule.meta = map[string]any{}
	}
	activity, ok := rule.meta["activity.id"]
	if !ok {
		activity = doc.ActivityID
	}
	rule.activityIDRaw = activity
	rule.activityID = jsString(activity)
	if ids, ok := rule.meta["audience.ids"].([]any); ok {
		rule.audienceIDs = ids
	}
	if len(doc.Condition) == 0 {
		return rule, errors.New("rule has no condition")
	}
	dec := json.NewDecoder(bytes.NewReader(doc.Condition))
	if err := dec.Decode(&rule.conditionJSON); err != nil {
		return rule, fmt.Errorf("malformed condition: %v", err)
	}
	cond, err := jsonlogic.Compile(rule.conditionJSON, ruleVar)
	if err != nil {
		return rule, err
	}
	rule.cond = cond
	var cons consequenceDocument
	if len(doc.Consequence) > 0 {
		if err := json.Unmarshal(doc.Consequence, &cons); err != nil {
			return rule, fmt.Errorf("malformed consequence: %v", err)
		}
		var fields map[string]json.RawMessage
		_ = json.Unmarshal(doc.Consequence, &fields)
		_, rule.hasMetrics = fields["metrics"]
	}
	for i := range cons.Options {
		// Content is stored compact, as encoders write it, so that encoding a
		// decision copies it instead of compacting it every time.
		if c := cons.Options[i].Content; len(c) > 0 {
			var buf bytes.Buffer
			if err := json.Compact(&buf, c); err == nil {
				cons.Options[i].Content = buf.Bytes()
			}
		}
	}
	rule.name = cons.Name
	rule.options = cons.Options
	rule.metrics = cons.Metrics
	rule.macros = prepareMacros(cons.Options)
	rule.hasMacros = len(rule.macros) > 0
	return rule, nil
}

// jsString prints a decoded JSON scalar as JavaScript's String() would;
// absent values print as "undefined".
func jsString(v any) string {
	switch x := v.(type) {
	case nil:
		return "undefined"
	case string:
		return x
	case float64:
		return jsonlogic.FormatNumber(x)
	case bool:
		return strconv.FormatBool(x)
	}
	return jsonlogic.ValueOf(v).String()
}

func activityIDString(id int64) string { return strconv.FormatInt(id, 10) }

func majorOf(version string) (int, error) {
	head, _, _ := strings.Cut(version, ".")
	n, err := strconv.Atoi(strings.TrimSpace(head))
	if err != nil {
		return 0, fmt.Errorf("not a semantic version")
	}
	return n, nil
}

func setOf(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
