package edge

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Transport is an HTTP transport that sends every request to one address (the
// edge's host:port), whatever host the request names, over one pool of
// keep-alive connections. SDK clients, targetflow's included, route a
// visitor to "mboxedge<cluster>.tt.omtrdc.net" once the edge has answered
// with a cluster (in the tntId or edgeHost), as the real edge's clients
// must; with this transport (and plain HTTP) those calls still reach the
// local edge. The Host header keeps the name the request asked for.
//
// One pool matters for bulk runs: an http.Transport pools connections by
// host name, so a run of 256 calls in flight would open 256 connections to
// the server domain and 256 more to the cluster's name, all to the same
// edge.
type Transport struct {
	addr      string
	transport *http.Transport
}

// RoutingTransport returns a Transport to addr. Close its idle
// connections when done.
func RoutingTransport(addr string) *Transport {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &Transport{
		addr: addr,
		transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, addr)
			},
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 1024,
			IdleConnTimeout:     90 * time.Second,
		},
	}
}

// RoundTrip sends req to the edge's address. A request for another host is
// sent as a shallow copy with the edge's address in its URL and the asked
// host in its Host header; req itself is not modified.
func (r *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == r.addr {
		return r.transport.RoundTrip(req)
	}
	routed := &routedRequest{request: *req, url: *req.URL}
	routed.url.Host = r.addr
	routed.request.URL = &routed.url
	if routed.request.Host == "" {
		routed.request.Host = req.URL.Host
	}
	return r.transport.RoundTrip(&routed.request)
}

// routedRequest is the copy of a request RoundTrip sends and its URL,
// allocated together: a bulk run sends one per visitor.
type routedRequest struct {
	request http.Request
	url     url.URL
}

// CloseIdleConnections closes the transport's idle connections.
func (r *Transport) CloseIdleConnections() { r.transport.CloseIdleConnections() }
