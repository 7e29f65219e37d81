package main

import (
	"bytes"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/targetflow/targetflow/internal/bench/standin"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestRunCountsEveryVisitor(t *testing.T) {
	srv := httptest.NewServer(standin.Handler(0))
	defer srv.Close()
	var out, errs bytes.Buffer
	if err := run([]string{"--url", srv.URL, "--visitors", "50", "--concurrency", "4"}, &out, &errs); err != nil {
		t.Fatalf("run: %v (%s)", err, errs.String())
	}
	if !strings.HasPrefix(out.String(), "bareloop: 50 visitors (50 ok, 0 failed) in ") || !strings.Contains(out.String(), "µs CPU per visitor") {
		t.Errorf("output %q", out.String())
	}
}

// The bare loop's flags.
func Example_usage() {
	_ = run([]string{"-h"}, os.Stdout, os.Stdout)
	// Output:
	// Usage of bareloop:
	//   -concurrency int
	//     	goroutines posting (default 256)
	//   -cpuprofile string
	//     	write a CPU profile of the loop to this file (go tool pprof)
	//   -decode
	//     	decode every answer as the client does, instead of discarding it
	//   -execute string
	//     	executed mboxes (comma-separated) (default "hero,cart")
	//   -organization-id string
	//     	imsOrgId of the query (default "7A1B2C3D4E5F60718293A4B5@AdobeOrg")
	//   -timeout duration
	//     	per-call timeout context, as targetflow run's --timeout (0: none)
	//   -url string
	//     	the stand-in's base URL (default "http://127.0.0.1:8090")
	//   -visitors int
	//     	requests to post, one per visitor (default 60000)
}
