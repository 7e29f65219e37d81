// Command bareloop is the floor of the client-CPU measurement: a bare
// net/http loop posting Delivery API requests of targetflow run's shape to
// a stand-in from --concurrency goroutines, reading and discarding every
// answer (internal/bench/standin.Loop). It prints the visitors done, the
// rate and the process CPU per visitor.
//
//	go run ./internal/bench/cmd/bareloop --url http://127.0.0.1:8090 --visitors 60000 --concurrency 256
//
// With --timeout 3s --decode it is the floor of what targetflow run cannot
// skip: the same loop with a timeout context per call and every answer
// decoded by the client's own decoder (delivery.DecodeResponse).
package main
