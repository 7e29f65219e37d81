package target

import (
	"math"
	"sync"
	"time"

	"github.com/targetflow/targetflow/delivery"
)

// maxPendingTelemetry bounds the telemetry entries waiting for the next
// server-side call; when calls stop, older entries are dropped rather than
// kept forever.
const maxPendingTelemetry = 1000

// telemetryStore holds the telemetry entries of finished calls until the
// next server-side call carries them to Adobe. Safe for concurrent use.
type telemetryStore struct {
	enabled bool

	mu      sync.Mutex
	entries []delivery.TelemetryEntry
}

func newTelemetryStore(enabled bool) *telemetryStore {
	return &telemetryStore{enabled: enabled}
}

func (s *telemetryStore) add(entry delivery.TelemetryEntry) {
	if !s.enabled {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.entries) >= maxPendingTelemetry {
		copy(s.entries, s.entries[1:])
		s.entries = s.entries[:len(s.entries)-1]
	}
	s.entries = append(s.entries, entry)
}

func (s *telemetryStore) hasEntries() bool {
	if !s.enabled {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries) > 0
}

// takeAll returns the pending entries and forgets them.
func (s *telemetryStore) takeAll() []delivery.TelemetryEntry {
	if !s.enabled {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	entries := s.entries
	s.entries = nil
	return entries
}

// attachTelemetry moves the pending entries into a server-side request, as
// the Node.js SDK does before each remote call.
func (s *telemetryStore) attachTelemetry(r *delivery.DeliveryRequest) {
	entries := s.takeAll()
	if len(entries) == 0 {
		return
	}
	if r.Telemetry == nil {
		r.Telemetry = &delivery.Telemetry{Entries: entries} // taken: no longer the store's
		return
	}
	r.Telemetry.Entries = append(r.Telemetry.Entries, entries...)
}

// callTimings are the measured phases of one delivery call.
type callTimings struct {
	execution    time.Duration // whole call, from send to decoded response
	parsing      time.Duration // JSON decoding of the answer
	dns          time.Duration
	tls          time.Duration
	firstByte    time.Duration // from request written... to the first response byte
	download     time.Duration // from the first byte to the end of the body
	responseSize int64
}

// telemetryEntry builds the entry the Node.js SDK records for a call.
func telemetryEntry(r *delivery.DeliveryRequest, resp *delivery.DeliveryResponse, method delivery.DecisioningMethod, t callTimings, now time.Time) delivery.TelemetryEntry {
	entry := delivery.TelemetryEntry{
		RequestID: r.RequestID,
		Timestamp: now.UnixMilli(),
		Mode:      delivery.ExecutionEdge,
		Execution: measuredMillis(t.execution),
		Parsing:   measuredMillis(t.parsing),
		Features:  r.TelemetryFeatures(method),
	}
	// As in the SDKs, the mode is the decisioning method's, not the
	// answer's: local for on-device and hybrid decisions, else edge.
	if method == delivery.DecisioningOnDevice || method == delivery.DecisioningHybrid {
		entry.Mode = delivery.ExecutionLocal
	}
	if resp != nil {
		entry.TelemetryServerToken = resp.TelemetryServerToken
	}
	req := delivery.TelemetryRequest{
		DNS:             millis(t.dns),
		TLS:             millis(t.tls),
		TimeToFirstByte: millis(t.firstByte),
		Download:        millis(t.download),
		ResponseSize:    t.responseSize,
	}
	if req != (delivery.TelemetryRequest{}) {
		entry.Request = &req
	}
	return entry
}

// measuredMillis is millis, but a measured duration too short to show in
// two decimals is reported as 0.01 ms: the Node.js SDK sends such a value
// as 0, which this wire model (omitempty) could not send at all, and the
// edge expects the field.
func measuredMillis(d time.Duration) float64 {
	if ms := millis(d); ms > 0 || d <= 0 {
		return ms
	}
	return 0.01
}

// millis is d in milliseconds with two decimals, as the SDK formats it.
func millis(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Millisecond)*100) / 100
}
