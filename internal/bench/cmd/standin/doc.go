// Command standin serves the Delivery API stand-in of package
// internal/bench/standin: every POST answered with one fixed 2-mbox answer
// after --latency. It is the independent peer of the client-CPU
// measurement (internal/bench/clientcpu.sh); it listens on loopback unless
// told otherwise. With --huge N it is issue 12's hostile peer instead,
// answering every call with N bytes of an answer that never ends.
//
//	go run ./internal/bench/cmd/standin --addr 127.0.0.1:8090 --latency 20ms
//	go run ./internal/bench/cmd/standin --addr 127.0.0.1:8090 --huge 100000000
package main
