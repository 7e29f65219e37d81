package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The stand-in's flags.
func Example_usage() {
	_ = run([]string{"-h"}, os.Stdout, os.Stdout)
	// Output:
	// Usage of standin:
	//   -addr string
	//     	listen address (default "127.0.0.1:8090")
	//   -huge int
	//     	answer every call with this many bytes of an answer that never ends (issue 12's hostile peer); 0: the 2-mbox answer
	//   -latency duration
	//     	wait before each answer (default 20ms)
}
