package edge

import (
	"context"
	"net"
	"net/http"
	"time"
)

// RoutingTransport returns an HTTP transport that connects to addr (the
// edge's host:port) whatever host a request names. SDK clients, targetflow's
// included, route a visitor to "mboxedge<cluster>.tt.omtrdc.net" once the
// edge has answered with a cluster (in the tntId or edgeHost), as the real
// edge's clients must; with this transport (and plain HTTP) those calls
// still reach the local edge. Close its idle connections when done.
func RoutingTransport(addr string) *http.Transport {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
	}
}
