// Package pipelineotel exports a pipeline run's figures as OpenTelemetry
// metrics, alongside the Prometheus collector (pipeline.Pipeline.Collector)
// and with the same content: both read Pipeline.Snapshot when they are
// collected and keep no state, so a run pays nothing between collections.
//
//	reg, err := pipelineotel.Observe(meterProvider, p.Snapshot)
//	...
//	defer reg.Unregister()
//	stats, err := p.Run(ctx)
//
// The metrics (with OpenTelemetry's names; a Prometheus exporter writes
// them as targetflow_pipeline_items_total and so on):
//
//	targetflow.pipeline.items              counter: items per component, kind and outcome
//	                                       (in, ok, failed, skipped, retried, dead_lettered,
//	                                       dropped, stopped, unconfirmed)
//	targetflow.pipeline.component.latency  gauge (s): the time a component spent per item,
//	                                       at quantile 0.5, 0.9, 0.99 (and its count and sum as
//	                                       targetflow.pipeline.component.latency.count/.sum)
//	targetflow.pipeline.item.latency       gauge (s): from emission to the sink, by quantile
//	targetflow.pipeline.completed          gauge: the resume point (every record up to it is done)
//	targetflow.pipeline.throughput         gauge: items written per second since the run started
//
// The package is apart from targetotel so that a program tracing a
// target.Client compiles no pipeline, and a pipeline of any payload needs no
// Target client.
package pipelineotel
