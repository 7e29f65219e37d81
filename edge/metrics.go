package edge

import (
	"fmt"
	"maps"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Endpoint labels of the requests counter.
const (
	endpointDelivery      = "delivery"
	endpointRulesJSON     = "rules.json"
	endpointRulesBin      = "rules.bin"
	endpointHealth        = "healthz"
	endpointMetrics       = "metrics"
	endpointNotifications = "notifications"
	endpointOverLimit     = "over-limit" // a request on a reserved connection, answered 503
	endpointOther         = "other"
)

// metrics are the edge's Prometheus metrics, in a registry of its own.
type metrics struct {
	registry      *prometheus.Registry
	requests      *prometheus.CounterVec
	decision      prometheus.Histogram
	notifications *prometheus.CounterVec
	faults        *prometheus.CounterVec
	artifacts     prometheus.Counter
	inFlight      prometheus.Gauge
	offers        *prometheus.CounterVec
	dropped       *prometheus.CounterVec
	keptBytes     prometheus.Gauge
	connections   *prometheus.GaugeVec
	refused       prometheus.Counter

	// The counters of the series every delivery answer touches, looked up
	// once: the labels are then neither formatted nor hashed per answer.
	requestCounters counterCache[requestKey]
	offerCounters   counterCache[offerKey]
}

// requestKey names one series of the requests counter.
type requestKey struct {
	endpoint string
	status   int
}

// offerKey names one series of the offers counter. The ids are the
// response token values as the engine gives them (numbers or strings), so
// that finding the series formats nothing.
type offerKey struct {
	location             string
	activity, experience any
}

// counterCache maps the keys of a counter's series to their counters. Reads
// take no lock: the map is replaced, never changed, when a series is added,
// which happens once per series (their number is bounded by the artifact and
// the statuses the edge answers).
type counterCache[K comparable] struct {
	mu       sync.Mutex // serializes additions
	counters atomic.Pointer[map[K]prometheus.Counter]
}

// get returns the counter of key, asking newCounter for it the first time.
func (c *counterCache[K]) get(key K, newCounter func(K) prometheus.Counter) prometheus.Counter {
	if m := c.counters.Load(); m != nil {
		if counter, ok := (*m)[key]; ok {
			return counter
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.counters.Load()
	if old != nil {
		if counter, ok := (*old)[key]; ok {
			return counter
		}
	}
	next := make(map[K]prometheus.Counter, 1)
	if old != nil {
		next = maps.Clone(*old)
	}
	counter := newCounter(key)
	next[key] = counter
	c.counters.Store(&next)
	return counter
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "targetflow_edge_requests_total",
			Help: "HTTP requests answered by the edge, by endpoint and status code (\"reset\" for dropped connections).",
		}, []string{"endpoint", "status"}),
		decision: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "targetflow_edge_decision_duration_seconds",
			Help:    "Time the decisioning engine took for one delivery request, without injected latency.",
			Buckets: prometheus.ExponentialBuckets(10e-6, 2, 16),
		}),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "targetflow_edge_notifications_recorded_total",
			Help: "Notifications received in delivery requests and recorded, by type.",
		}, []string{"type"}),
		faults: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "targetflow_edge_faults_injected_total",
			Help: "Faults injected into delivery requests, by kind (error, throttle, reset, stall).",
		}, []string{"fault"}),
		artifacts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "targetflow_edge_artifact_changes_total",
			Help: "Artifacts installed, the first one included.",
		}),
		offers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "targetflow_edge_offers_total",
			Help: "Offers answered, by location (mbox, view, or the global mbox for pageLoad), activity id and experience id: the split of every activity.",
		}, []string{"location", "activity", "experience"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "targetflow_edge_delivery_in_flight",
			Help: "Delivery requests being handled (injected waits included).",
		}),
	}
	m.dropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "targetflow_edge_notifications_dropped_total",
		Help: "Notifications forgotten to keep GET /notifications within its limits, oldest first, by the limit that dropped them (count, bytes).",
	}, []string{"reason"})
	m.keptBytes = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "targetflow_edge_notifications_kept_bytes",
		Help: "Memory the notifications kept for GET /notifications take, as the byte budget counts it.",
	})
	m.connections = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "targetflow_edge_connections",
		Help: "Open connections of the edge's server, by slot: regular (within the connection limit) or reserved (beyond it: only /healthz and /metrics answered).",
	}, []string{"slot"})
	m.refused = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "targetflow_edge_connections_refused_total",
		Help: "Connections closed as soon as they were accepted: the connection limit and the reserved connections were all taken.",
	})
	m.registry.MustRegister(m.requests, m.decision, m.notifications, m.faults, m.artifacts, m.inFlight, m.offers,
		m.dropped, m.keptBytes, m.connections, m.refused)
	for _, reason := range []string{dropCount, dropBytes} {
		m.dropped.WithLabelValues(reason)
	}
	for _, slot := range []string{connRegular, connReserved} {
		m.connections.WithLabelValues(slot)
	}
	for _, f := range []Fault{FaultError, FaultThrottle, FaultReset, FaultStall} {
		m.faults.WithLabelValues(string(f))
	}
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

func (m *metrics) countRequest(endpoint string, status int) {
	m.requestCounters.get(requestKey{endpoint, status}, m.newRequestCounter).Inc()
}

func (m *metrics) newRequestCounter(key requestKey) prometheus.Counter {
	return m.requests.WithLabelValues(key.endpoint, strconv.Itoa(key.status))
}

// countOffer counts one offer answered for location by the activity and
// experience of its response tokens (experience is nil when the tokens
// lack it, labelled "<nil>" as fmt.Sprint writes it).
func (m *metrics) countOffer(location string, activity, experience any) {
	if !exactKey(activity) || !exactKey(experience) {
		m.offers.WithLabelValues(location, fmt.Sprint(activity), fmt.Sprint(experience)).Inc()
		return
	}
	m.offerCounters.get(offerKey{location, activity, experience}, m.newOfferCounter).Inc()
}

func (m *metrics) newOfferCounter(key offerKey) prometheus.Counter {
	return m.offers.WithLabelValues(key.location, fmt.Sprint(key.activity), fmt.Sprint(key.experience))
}

// exactKey reports whether v can be part of a map key: a value of a
// comparable type that fmt.Sprint writes as it writes every value equal to
// it, and equal to itself. That leaves out NaN (never equal to itself) and
// negative zero (equal to zero, yet written "-0").
func exactKey(v any) bool {
	switch v := v.(type) {
	case nil, string, bool, int, int64:
		return true
	case float64:
		return !math.IsNaN(v) && (v != 0 || !math.Signbit(v))
	}
	return false
}
