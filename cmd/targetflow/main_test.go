package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain lets a test run the targetflow command as a child process: the
// test binary re-executed with TARGETFLOW_TEST_CLI=1 is the CLI, its
// arguments after "--".
func TestMain(m *testing.M) {
	if os.Getenv("TARGETFLOW_TEST_CLI") == "1" {
		for i, a := range os.Args {
			if a == "--" {
				os.Args = append([]string{"targetflow"}, os.Args[i+1:]...)
				break
			}
		}
		main()
		return
	}
	goleak.VerifyTestMain(m)
}
