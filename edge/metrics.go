package edge

import (
	"net/http"
	"strconv"

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
	m.registry.MustRegister(m.requests, m.decision, m.notifications, m.faults, m.artifacts, m.inFlight, m.offers)
	for _, f := range []Fault{FaultError, FaultThrottle, FaultReset, FaultStall} {
		m.faults.WithLabelValues(string(f))
	}
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

func (m *metrics) countRequest(endpoint string, status int) {
	m.requests.WithLabelValues(endpoint, strconv.Itoa(status)).Inc()
}
