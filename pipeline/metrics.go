package pipeline

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Collector exposes a pipeline's figures to Prometheus. Register it in a
// registry of your own (prometheus.NewRegistry()); it reads Snapshot on each
// scrape and keeps no state, so it costs nothing between scrapes.
type Collector struct {
	snapshot  func() Stats
	items     *prometheus.Desc
	latency   *prometheus.Desc
	e2e       *prometheus.Desc
	completed *prometheus.Desc
	rate      *prometheus.Desc
}

var _ prometheus.Collector = (*Collector)(nil)

// Collector returns a Prometheus collector of the pipeline's figures, with
// metric names starting with namespace (e.g. "targetflow").
func (p *Pipeline[T]) Collector(namespace string) *Collector {
	return &Collector{
		snapshot: p.Snapshot,
		items: prometheus.NewDesc(prometheus.BuildFQName(namespace, "pipeline", "items_total"),
			"Items per component and outcome (in, ok, failed, skipped, retried, dead_lettered, dropped, stopped, unconfirmed).",
			[]string{"component", "kind", "outcome"}, nil),
		latency: prometheus.NewDesc(prometheus.BuildFQName(namespace, "pipeline", "component_latency_seconds"),
			"Time a component spent on each item.", []string{"component", "kind"}, nil),
		e2e: prometheus.NewDesc(prometheus.BuildFQName(namespace, "pipeline", "item_latency_seconds"),
			"Time from an item's emission by the source to the sink.", nil, nil),
		completed: prometheus.NewDesc(prometheus.BuildFQName(namespace, "pipeline", "completed_seq"),
			"Resume point: every record up to this sequence number is written and confirmed.", nil, nil),
		rate: prometheus.NewDesc(prometheus.BuildFQName(namespace, "pipeline", "throughput_items_per_second"),
			"Items written per second since the run started.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.items, c.latency, c.e2e, c.completed, c.rate} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.snapshot()
	for _, comp := range s.Components {
		kind := string(comp.Kind)
		for _, o := range []struct {
			outcome string
			n       int64
		}{
			{"in", comp.In}, {"ok", comp.OK}, {"failed", comp.Failed}, {"skipped", comp.Skipped},
			{"retried", comp.Retried}, {"dead_lettered", comp.DeadLettered}, {"dropped", comp.Dropped},
			{"stopped", comp.Stopped}, {"unconfirmed", comp.Unconfirmed},
		} {
			ch <- prometheus.MustNewConstMetric(c.items, prometheus.CounterValue, float64(o.n), comp.Name, kind, o.outcome)
		}
		ch <- summary(c.latency, comp.Latency, comp.Name, kind)
	}
	ch <- summary(c.e2e, s.Latency)
	ch <- prometheus.MustNewConstMetric(c.completed, prometheus.GaugeValue, float64(s.Completed))
	ch <- prometheus.MustNewConstMetric(c.rate, prometheus.GaugeValue, s.Throughput)
}

func summary(d *prometheus.Desc, p Percentiles, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstSummary(d, uint64(p.Count), p.Sum.Seconds(), map[float64]float64{
		0.5: p.P50.Seconds(), 0.9: p.P90.Seconds(), 0.99: p.P99.Seconds(),
	}, labels...)
}
