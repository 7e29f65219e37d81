package delivery

import (
	"encoding/json"
	"fmt"
)

// DeliveryResponse is the body the edge answers to a DeliveryRequest.
type DeliveryResponse struct {
	Status    int        `json:"status,omitempty"`
	RequestID string     `json:"requestId,omitempty"`
	ID        *VisitorID `json:"id,omitempty"`
	Client    string     `json:"client,omitempty"`
	// EdgeHost is the edge cluster that answered, as in
	// "mboxedge28.tt.omtrdc.net"; later requests of the visitor go there.
	EdgeHost             string                 `json:"edgeHost,omitempty"`
	Execute              *ExecuteResponse       `json:"execute,omitempty"`
	Prefetch             *PrefetchResponse      `json:"prefetch,omitempty"`
	Notifications        []NotificationResponse `json:"notifications,omitempty"`
	TelemetryServerToken string                 `json:"telemetryServerToken,omitempty"`
}

// ExecuteResponse holds the decisions of an ExecuteRequest.
type ExecuteResponse struct {
	PageLoad *PageLoadResponse `json:"pageLoad,omitempty"`
	Mboxes   []MboxResponse    `json:"mboxes,omitempty"`
}

// PrefetchResponse holds the content of a PrefetchRequest.
type PrefetchResponse struct {
	// Views is omitted when nil, and written when empty: the SDKs' on-device
	// engine answers views asked for that none matched with "views": [].
	Views    []View                 `json:"views,omitzero"`
	PageLoad *PageLoadResponse      `json:"pageLoad,omitempty"`
	Mboxes   []PrefetchMboxResponse `json:"mboxes,omitempty"`
	Metrics  []Metric               `json:"metrics,omitempty"`
}

// MboxResponse is the content of one mbox. Index and Name match the request.
type MboxResponse struct {
	Index     int                `json:"index"`
	Name      string             `json:"name,omitempty"`
	Options   []Option           `json:"options,omitempty"`
	Metrics   []Metric           `json:"metrics,omitempty"`
	Analytics *AnalyticsResponse `json:"analytics,omitempty"`
	Trace     TraceResponse      `json:"trace,omitempty"`
	// State is the view state token of a prefetched mbox, to be sent back in
	// its display notification; execute responses leave it empty.
	State string `json:"state,omitempty"`
}

// PrefetchMboxResponse is a prefetched mbox: an MboxResponse whose State is
// set. The specification composes it with allOf; in Go it is the same type.
type PrefetchMboxResponse = MboxResponse

// PageLoadResponse is the content for selectors of a page that belong to no
// view.
type PageLoadResponse struct {
	Options   []Option           `json:"options,omitempty"`
	Metrics   []Metric           `json:"metrics,omitempty"`
	Analytics *AnalyticsResponse `json:"analytics,omitempty"`
	State     string             `json:"state,omitempty"`
	Trace     TraceResponse      `json:"trace,omitempty"`
}

// View is the prefetched content of one view.
type View struct {
	// ID is not in the specification's View schema but is in its examples
	// (responseForPrefetchViewsForMobileChannel.json); it is kept so that
	// nothing the edge sends is lost.
	ID      int64    `json:"id,omitempty"`
	Name    string   `json:"name,omitempty"`
	Key     string   `json:"key,omitempty"`
	Options []Option `json:"options,omitempty"`
	// Metrics is omitted when nil but written when empty: the edge and the
	// SDKs answer a view without click metrics with "metrics": [].
	Metrics   []Metric           `json:"metrics,omitzero"`
	Analytics *AnalyticsResponse `json:"analytics,omitempty"`
	State     string             `json:"state,omitempty"`
	Trace     TraceResponse      `json:"trace,omitempty"`
}

// Option is one offer: its type and content, the event token to notify when
// prefetched content is displayed, and the response tokens.
type Option struct {
	Type OptionType `json:"type,omitempty"`
	// Content is kept as the edge sent it: a JSON string (html, redirect,
	// dynamic), an object (json) or an array of actions.
	Content        json.RawMessage `json:"content,omitempty"`
	EventToken     string          `json:"eventToken,omitempty"`
	ResponseTokens ResponseTokens  `json:"responseTokens,omitempty"`
}

// Action is one change of a visual (actions) offer.
type Action struct {
	Type        string          `json:"type,omitempty"`
	Selector    string          `json:"selector,omitempty"`
	CSSSelector string          `json:"cssSelector,omitempty"`
	Content     json.RawMessage `json:"content,omitempty"`
}

// Actions decodes the content of an actions option.
func (o *Option) Actions() ([]Action, error) {
	if o.Type != OptionActions {
		return nil, fmt.Errorf("delivery: option type is %q, not %q", o.Type, OptionActions)
	}
	var actions []Action
	if err := json.Unmarshal(o.Content, &actions); err != nil {
		return nil, fmt.Errorf("delivery: actions content: %w", err)
	}
	return actions, nil
}

// Metric is a click or display metric, with the event token to notify when
// it happens.
type Metric struct {
	Type       MetricType         `json:"type,omitempty"`
	Selector   string             `json:"selector,omitempty"`
	EventToken string             `json:"eventToken,omitempty"`
	Analytics  *AnalyticsResponse `json:"analytics,omitempty"`
}

// AnalyticsResponse carries the Analytics payload of a decision.
type AnalyticsResponse struct {
	Payload *AnalyticsPayload `json:"payload,omitempty"`
}

// AnalyticsPayload is the payload to send to Analytics after the content has
// been applied, for client-side Analytics for Target integrations.
type AnalyticsPayload struct {
	PE   string `json:"pe,omitempty"`
	TNTA string `json:"tnta,omitempty"`
}

// TraceResponse is the trace of a decision, present when the request carried
// a trace token. Its shape is the edge's, kept as decoded JSON.
type TraceResponse map[string]any
