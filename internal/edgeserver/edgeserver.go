package edgeserver

import (
	"context"
	"testing"
	"time"

	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
)

// Start serves an edge of the bundled demo artifact (rules.bin for the
// demo's organization id) made with opts on a free loopback port until the
// test ends, and returns it with its address.
func Start(t testing.TB, opts ...edge.Option) (*edge.Server, string) {
	t.Helper()
	return StartWith(t, demo.Artifact(), append([]edge.Option{edge.WithOrganizationID(demo.OrganizationID)}, opts...)...)
}

// StartWith is Start serving artifact. In-flight requests get a second to
// finish at the end of the test.
func StartWith(t testing.TB, artifact []byte, opts ...edge.Option) (*edge.Server, string) {
	t.Helper()
	srv, err := edge.New(artifact, append([]edge.Option{edge.WithShutdownTimeout(time.Second)}, opts...)...)
	if err != nil {
		t.Fatalf("edge.New: %v", err)
	}
	ctx, stop := context.WithCancel(context.Background())
	addr, err := srv.Start(ctx, "127.0.0.1:0")
	if err != nil {
		stop()
		t.Fatalf("edge Start: %v", err)
	}
	t.Cleanup(func() {
		stop()
		if err := srv.Wait(); err != nil {
			t.Errorf("edge stopped with %v", err)
		}
	})
	return srv, addr
}
