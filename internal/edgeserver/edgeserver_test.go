package edgeserver_test

import (
	"net/http"
	"testing"

	"go.uber.org/goleak"

	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/internal/edgeserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// An edge made by Start answers on its address, and is gone (goleak)
// when the test ends.
func TestStartServes(t *testing.T) {
	srv, addr := edgeserver.Start(t)
	transport := &http.Transport{}
	defer transport.CloseIdleConnections()
	resp, err := (&http.Client{Transport: transport}).Get("http://" + addr + "/" + demo.Client + "/production/rules/v1/rules.bin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || srv.Client() != demo.Client {
		t.Fatalf("rules.bin: %d from client %q; want 200 from the demo's", resp.StatusCode, srv.Client())
	}
}
