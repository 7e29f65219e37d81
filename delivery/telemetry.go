package delivery

// Telemetry carries the SDK's telemetry entries, sent with the next request.
type Telemetry struct {
	Entries []TelemetryEntry `json:"entries,omitempty"`
}

// TelemetryEntry describes one earlier request: when, how long it took, and
// how it was decided.
type TelemetryEntry struct {
	RequestID string `json:"requestId,omitempty"`
	// Timestamp is in milliseconds since the Unix epoch.
	Timestamp int64         `json:"timestamp,omitempty"`
	Mode      ExecutionMode `json:"mode,omitempty"`
	// Execution and Parsing are durations in milliseconds.
	Execution            float64            `json:"execution,omitempty"`
	Parsing              float64            `json:"parsing,omitempty"`
	Features             *TelemetryFeatures `json:"features,omitempty"`
	Request              *TelemetryRequest  `json:"request,omitempty"`
	TelemetryServerToken string             `json:"telemetryServerToken,omitempty"`
}

// TelemetryFeatures counts what a request asked for.
type TelemetryFeatures struct {
	DecisioningMethod DecisioningMethod `json:"decisioningMethod,omitempty"`
	ExecuteMboxCount  int               `json:"executeMboxCount,omitempty"`
	ExecutePageLoad   bool              `json:"executePageLoad,omitempty"`
	PrefetchMboxCount int               `json:"prefetchMboxCount,omitempty"`
	PrefetchPageLoad  bool              `json:"prefetchPageLoad,omitempty"`
	PrefetchViewCount int               `json:"prefetchViewCount,omitempty"`
}

// TelemetryRequest times the network phases of a request, in milliseconds.
type TelemetryRequest struct {
	DNS             float64 `json:"dns,omitempty"`
	TLS             float64 `json:"tls,omitempty"`
	TimeToFirstByte float64 `json:"timeToFirstByte,omitempty"`
	Download        float64 `json:"download,omitempty"`
	ResponseSize    int64   `json:"responseSize,omitempty"`
}

// TelemetryFeatures counts what r asks for, as a telemetry entry about a
// request decided by method reports it.
func (r *DeliveryRequest) TelemetryFeatures(method DecisioningMethod) *TelemetryFeatures {
	f := &TelemetryFeatures{DecisioningMethod: method}
	if r.Execute != nil {
		f.ExecutePageLoad = r.Execute.PageLoad != nil
		f.ExecuteMboxCount = len(r.Execute.Mboxes)
	}
	if r.Prefetch != nil {
		f.PrefetchPageLoad = r.Prefetch.PageLoad != nil
		f.PrefetchMboxCount = len(r.Prefetch.Mboxes)
		f.PrefetchViewCount = len(r.Prefetch.Views)
	}
	return f
}
