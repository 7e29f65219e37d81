package delivery

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// VisitorID holds the identifiers of a visitor. The Delivery API needs at
// least one of TntID, ThirdPartyID or MarketingCloudVisitorID; when a request
// has none, Target mints a TntID and returns it.
type VisitorID struct {
	// TntID is Target's visitor id. Ids returned by Target carry the profile
	// location hint after a dot, as in "b1a3c2e0....28_0".
	TntID                   string       `json:"tntId,omitempty"`
	ThirdPartyID            string       `json:"thirdPartyId,omitempty"`
	MarketingCloudVisitorID string       `json:"marketingCloudVisitorId,omitempty"`
	CustomerIDs             []CustomerID `json:"customerIds,omitempty"`
}

// CustomerID associates an id from a customer's own system with the visitor.
type CustomerID struct {
	ID                 string             `json:"id"`
	IntegrationCode    string             `json:"integrationCode"`
	AuthenticatedState AuthenticatedState `json:"authenticatedState,omitempty"`
}

// Parameters is a map of mbox or profile parameters.
type Parameters map[string]string

// ResponseTokens maps response token names to their values for one option.
// Values are usually strings, sometimes lists of strings or numbers. The
// maps of decoded answers and on-device decisions may be shared between
// answers (SharedObjects, the artifact's): treat them as read-only.
type ResponseTokens map[string]any

// Order describes a purchase.
type Order struct {
	ID                  string   `json:"id,omitempty"`
	Total               *float64 `json:"total,omitempty"`
	PurchasedProductIDs []string `json:"purchasedProductIds,omitempty"`
	// Time is an ISO 8601 date-time.
	Time              string `json:"time,omitempty"`
	ExperienceLocalID *int32 `json:"experienceLocalId,omitempty"`
	Duplicate         bool   `json:"duplicate,omitempty"`
	Outlier           bool   `json:"outlier,omitempty"`
}

// ABTOrder is the order of an A/B test, as the common components define it.
type ABTOrder struct {
	ID              string   `json:"id,omitempty"`
	DecisionStackID *int     `json:"decisionStackId,omitempty"`
	Total           *float64 `json:"total,omitempty"`
	// Time is an ISO 8601 date-time.
	Time       string `json:"time,omitempty"`
	ProductIDs []int  `json:"productIds,omitempty"`
}

// Product is the product a page or mbox is about.
type Product struct {
	ID         string `json:"id,omitempty"`
	CategoryID string `json:"categoryId,omitempty"`
}

// Preview enables Preview mode for a request.
type Preview struct {
	Token string `json:"token,omitempty"`
}

// QAMode enables QA mode for a request.
type QAMode struct {
	Token                      string               `json:"token,omitempty"`
	ListedActivitiesOnly       bool                 `json:"listedActivitiesOnly,omitempty"`
	EvaluateAsTrueAudienceIDs  []int64              `json:"evaluateAsTrueAudienceIds,omitempty"`
	EvaluateAsFalseAudienceIDs []int64              `json:"evaluateAsFalseAudienceIds,omitempty"`
	PreviewIndexes             []QAModePreviewIndex `json:"previewIndexes,omitempty"`
}

// QAModePreviewIndex selects an activity, and optionally an experience, of a
// QA mode token. Both indexes start at 1.
type QAModePreviewIndex struct {
	ActivityIndex   int `json:"activityIndex,omitempty"`
	ExperienceIndex int `json:"experienceIndex,omitempty"`
}

// UnexpectedError is the body of a Delivery API error answer, such as
// {"status":400,"message":"..."}.
type UnexpectedError struct {
	Status  int    `json:"status"`
	Message string `json:"message"`
}

// Error implements error.
func (e *UnexpectedError) Error() string {
	return fmt.Sprintf("delivery API error %d: %s", e.Status, e.Message)
}

// TimestampMillis returns t as the Delivery API writes timestamps:
// milliseconds since the Unix epoch.
func TimestampMillis(t time.Time) int64 { return t.UnixMilli() }

// UnmarshalJSON decodes a parameters object. The specification says values
// are strings, but the official SDKs accept numbers and booleans too (the
// conformance suites send {"browserWidth": 1024}); those are kept as their
// JSON text ("1024", "true"). A null value becomes the empty string, as
// encoding/json does for map[string]string; an object or array value is an
// error naming the parameter.
func (p *Parameters) UnmarshalJSON(data []byte) error {
	var strict map[string]string
	if err := json.Unmarshal(data, &strict); err == nil {
		*p = strict
		return nil
	}
	var loose map[string]json.RawMessage
	if err := json.Unmarshal(data, &loose); err != nil {
		return fmt.Errorf("parameters: %w", err)
	}
	if loose == nil {
		*p = nil
		return nil
	}
	out := make(Parameters, len(loose))
	for _, name := range slices.Sorted(maps.Keys(loose)) { // the first bad one, whatever the map's order
		raw := bytes.TrimSpace(loose[name])
		switch {
		case len(raw) == 0 || string(raw) == "null":
			out[name] = ""
		case raw[0] == '"':
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return &parameterError{name: name, value: string(raw), reason: "is not a valid string", err: err}
			}
			out[name] = s
		case raw[0] == '{' || raw[0] == '[':
			return &parameterError{name: name, value: string(raw), reason: "must be a string, number or boolean, not " + kindName(firstKind(raw[0]))}
		default: // number, true or false
			out[name] = string(raw)
		}
	}
	*p = out
	return nil
}

// parameterError is a parameter whose value is not a string, a number or a
// boolean; DecodeRequest reports it as a *FieldError naming the parameter.
type parameterError struct {
	name, value, reason string
	err                 error
}

func (e *parameterError) Error() string {
	return fmt.Sprintf("parameter %q %s %s", e.name, abbreviate(e.value), e.reason)
}

func (e *parameterError) Unwrap() error { return e.err }
