package pipelineotel

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/targetflow/targetflow/pipeline"
)

// ScopeName is the instrumentation scope of the meter.
const ScopeName = "github.com/targetflow/targetflow/pipelineotel"

// Attribute keys.
const (
	AttrComponent = attribute.Key("targetflow.component")
	AttrKind      = attribute.Key("targetflow.component.kind")
	AttrOutcome   = attribute.Key("targetflow.outcome")
	AttrQuantile  = attribute.Key("quantile")
)

// quantiles are the latency quantiles reported, as the Prometheus
// collector's.
var quantiles = [...]struct {
	q   float64
	get func(pipeline.Percentiles) float64
}{
	{0.5, func(p pipeline.Percentiles) float64 { return p.P50.Seconds() }},
	{0.9, func(p pipeline.Percentiles) float64 { return p.P90.Seconds() }},
	{0.99, func(p pipeline.Percentiles) float64 { return p.P99.Seconds() }},
}

// Observe registers the figures that snapshot returns (a pipeline's
// Snapshot) as metrics of mp, read at each collection. Unregister the
// returned registration when the run is over (after a last collection, if
// you want its final figures exported).
func Observe(mp metric.MeterProvider, snapshot func() pipeline.Stats) (metric.Registration, error) {
	if mp == nil || snapshot == nil {
		return nil, fmt.Errorf("pipelineotel: Observe needs a meter provider and a snapshot function")
	}
	meter := mp.Meter(ScopeName)
	items, err := meter.Int64ObservableCounter("targetflow.pipeline.items", metric.WithUnit("{item}"),
		metric.WithDescription("Items per component and outcome (in, ok, failed, skipped, retried, dead_lettered, dropped, stopped, unconfirmed)."))
	if err != nil {
		return nil, fmt.Errorf("pipelineotel: %w", err)
	}
	latency, err := meter.Float64ObservableGauge("targetflow.pipeline.component.latency", metric.WithUnit("s"),
		metric.WithDescription("Time a component spent on each item, by quantile."))
	if err != nil {
		return nil, fmt.Errorf("pipelineotel: %w", err)
	}
	latencyCount, err := meter.Int64ObservableCounter("targetflow.pipeline.component.latency.count", metric.WithUnit("{item}"),
		metric.WithDescription("Items whose component latency was measured."))
	if err != nil {
		return nil, fmt.Errorf("pipelineotel: %w", err)
	}
	latencySum, err := meter.Float64ObservableCounter("targetflow.pipeline.component.latency.sum", metric.WithUnit("s"),
		metric.WithDescription("Total time components spent on items."))
	if err != nil {
		return nil, fmt.Errorf("pipelineotel: %w", err)
	}
	e2e, err := meter.Float64ObservableGauge("targetflow.pipeline.item.latency", metric.WithUnit("s"),
		metric.WithDescription("Time from an item's emission by the source to the sink, by quantile."))
	if err != nil {
		return nil, fmt.Errorf("pipelineotel: %w", err)
	}
	completed, err := meter.Int64ObservableGauge("targetflow.pipeline.completed", metric.WithUnit("{record}"),
		metric.WithDescription("Resume point: every record up to this sequence number is written and confirmed."))
	if err != nil {
		return nil, fmt.Errorf("pipelineotel: %w", err)
	}
	throughput, err := meter.Float64ObservableGauge("targetflow.pipeline.throughput", metric.WithUnit("{item}/s"),
		metric.WithDescription("Items written per second since the run started."))
	if err != nil {
		return nil, fmt.Errorf("pipelineotel: %w", err)
	}
	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := snapshot()
		for _, c := range s.Components {
			component, kind := AttrComponent.String(c.Name), AttrKind.String(string(c.Kind))
			for _, out := range [...]struct {
				outcome string
				n       int64
			}{
				{"in", c.In}, {"ok", c.OK}, {"failed", c.Failed}, {"skipped", c.Skipped},
				{"retried", c.Retried}, {"dead_lettered", c.DeadLettered}, {"dropped", c.Dropped},
				{"stopped", c.Stopped}, {"unconfirmed", c.Unconfirmed},
			} {
				o.ObserveInt64(items, out.n, metric.WithAttributes(component, kind, AttrOutcome.String(out.outcome)))
			}
			if c.Latency.Count > 0 {
				for _, q := range quantiles {
					o.ObserveFloat64(latency, q.get(c.Latency), metric.WithAttributes(component, kind, AttrQuantile.Float64(q.q)))
				}
			}
			o.ObserveInt64(latencyCount, int64(c.Latency.Count), metric.WithAttributes(component, kind))
			o.ObserveFloat64(latencySum, c.Latency.Sum.Seconds(), metric.WithAttributes(component, kind))
		}
		if s.Latency.Count > 0 {
			for _, q := range quantiles {
				o.ObserveFloat64(e2e, q.get(s.Latency), metric.WithAttributes(AttrQuantile.Float64(q.q)))
			}
		}
		o.ObserveInt64(completed, s.Completed)
		o.ObserveFloat64(throughput, s.Throughput)
		return nil
	}, items, latency, latencyCount, latencySum, e2e, completed, throughput)
}
