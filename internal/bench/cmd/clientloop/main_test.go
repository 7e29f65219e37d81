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
	domain := strings.TrimPrefix(srv.URL, "http://")
	if err := run([]string{"--server-domain", domain, "--visitors", "50", "--concurrency", "4"}, &out, &errs); err != nil {
		t.Fatalf("run: %v (%s)", err, errs.String())
	}
	if !strings.HasPrefix(out.String(), "clientloop: 50 visitors (50 ok, 0 failed) in ") || !strings.Contains(out.String(), "µs CPU per visitor") {
		t.Errorf("output %q", out.String())
	}
}

// A server that answers every call 404 makes every visitor a failure, and
// the run an error naming how many.
func TestRunCountsFailures(t *testing.T) {
	srv := httptest.NewServer(nil) // 404 for every path
	defer srv.Close()
	var out, errs bytes.Buffer
	err := run([]string{"--server-domain", strings.TrimPrefix(srv.URL, "http://"), "--visitors", "5", "--concurrency", "2"}, &out, &errs)
	if err == nil || !strings.Contains(err.Error(), "5 of 5 visitors failed") {
		t.Fatalf("run: %v; want 5 of 5 failed", err)
	}
	if !strings.Contains(errs.String(), "first failure") {
		t.Errorf("stderr %q names no failure", errs.String())
	}
}

// The client loop's flags.
func Example_usage() {
	_ = run([]string{"-h"}, os.Stdout, os.Stdout)
	// Output:
	// Usage of clientloop:
	//   -client string
	//     	Target client code (default "targetflow-demo")
	//   -concurrency int
	//     	goroutines calling (default 256)
	//   -cpuprofile string
	//     	write a CPU profile of the loop to this file (go tool pprof)
	//   -execute string
	//     	executed mboxes (comma-separated) (default "hero,cart")
	//   -organization-id string
	//     	Experience Cloud organization id (default "7A1B2C3D4E5F60718293A4B5@AdobeOrg")
	//   -server-domain string
	//     	the stand-in's host:port (plain HTTP, as targetflow run --insecure) (default "127.0.0.1:8090")
	//   -timeout duration
	//     	per-call timeout, as targetflow run's --timeout (default 3s)
	//   -visitors int
	//     	calls to make, one per visitor (default 60000)
}
