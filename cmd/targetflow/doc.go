// Command targetflow runs Adobe Target delivery in bulk, decides requests
// on-device, and serves a local Delivery API edge.
//
//	targetflow run     bulk delivery of visitor records through the pipeline
//	targetflow decide  on-device decisioning of Delivery API requests (JSON lines)
//	targetflow edge    a local Delivery API edge answering from a rules artifact
//
// Run "targetflow <command> -h" for the flags of a command.
//
// Exit codes: 0 success, 1 some records or lines failed, 2 usage or
// configuration error, 130 interrupted (a second interrupt exits at once).
package main
