// Command targetflow runs Adobe Target delivery in bulk, decides requests
// on-device, and serves a local Delivery API edge.
//
//	targetflow run     bulk delivery of visitor records through the pipeline
//	targetflow decide  on-device decisioning of Delivery API requests (JSON lines)
//	targetflow edge    a local Delivery API edge answering from a rules artifact
//
// Run "targetflow <command> -h" for the flags of a command.
//
// Every command takes --otlp-endpoint URL (or OTEL_EXPORTER_OTLP_ENDPOINT)
// to export its traces and metrics by OTLP/HTTP; OTEL_SERVICE_NAME and
// OTEL_TRACES_SAMPLER are honoured, and run and edge trace one call in a
// hundred unless the sampler says otherwise.
//
// Exit codes: 0 success, 1 some records or lines failed, 2 usage or
// configuration error, 130 interrupted (a second interrupt exits at once).
package main
