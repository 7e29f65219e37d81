package edge_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/targetflow/targetflow/edge"
)

// Calls for the server domain and for cluster hosts reach the one address
// over one connection, each with the host it asked for.
func TestRoutingSharesOneConnection(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Host+" "+r.URL.RequestURI())
	}))
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	addr := strings.TrimPrefix(srv.URL, "http://")
	transport := edge.RoutingTransport(addr)
	t.Cleanup(transport.CloseIdleConnections)

	for _, host := range []string{addr, "mboxedge28.tt.omtrdc.net", "mboxedge31.tt.omtrdc.net", addr} {
		req, err := http.NewRequest(http.MethodGet, "http://"+host+"/rest/v1/delivery?sessionId=s", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := transport.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if want := host + " /rest/v1/delivery?sessionId=s"; string(body) != want {
			t.Errorf("%s: the edge saw %q, want %q", host, body, want)
		}
		if req.URL.Host != host {
			t.Errorf("the caller's request was changed: URL host %q", req.URL.Host)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for sequential calls to three host names, want 1", n)
	}
}
