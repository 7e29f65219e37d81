// Command clientloop is the middle contestant of the client-CPU
// measurement: target.Client alone, without the pipeline. It calls
// GetOffers from --concurrency goroutines with the request targetflow run
// builds for --execute (the same client options, the same per-call
// timeout), one call per visitor, against a stand-in. It prints what
// bareloop prints: the visitors done, the rate and the process CPU per
// visitor. Between the bare loop and targetflow run, it tells the client's
// share of the difference from the pipeline's.
//
//	go run ./internal/bench/cmd/clientloop --server-domain 127.0.0.1:8090 --visitors 60000 --concurrency 256
package main
