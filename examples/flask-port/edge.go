package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
)

// artifactLoadTimeout bounds fetching an --artifact URL at start-up.
const artifactLoadTimeout = 30 * time.Second

// loadArtifact returns the on-device artifact of cfg: the file or URL of
// --artifact, else the bundled demo artifact; and where it came from.
func loadArtifact(ctx context.Context, cfg config) ([]byte, string, error) {
	if cfg.Artifact == "" {
		return demo.Artifact(), "the bundled demo artifact", nil
	}
	ctx, cancel := context.WithTimeout(ctx, artifactLoadTimeout)
	defer cancel()
	data, err := edge.LoadArtifact(ctx, nil, cfg.Artifact)
	if err != nil {
		return nil, "", fmt.Errorf("--artifact %s: %w", cfg.Artifact, err)
	}
	return data, cfg.Artifact, nil
}

// embeddedEdge is the local Delivery API edge the app starts in-process,
// on loopback, when no --server-domain is given: it answers notifications
// and remote decisions from the same artifact the client decides from.
type embeddedEdge struct {
	server    *edge.Server
	addr      string
	stop      context.CancelFunc
	transport *http.Transport
}

// startEmbeddedEdge starts an edge serving artifact for client code and
// organization id of cfg on 127.0.0.1 (a free port). opts come after the
// app's own edge options (tests add latency or faults). The edge runs until
// Close.
func startEmbeddedEdge(ctx context.Context, cfg config, artifact []byte, logger *zap.Logger, opts ...edge.Option) (*embeddedEdge, error) {
	base := []edge.Option{
		edge.WithArtifact(artifact),
		edge.WithClient(cfg.Client),
		edge.WithOrganizationID(cfg.OrganizationID),
		edge.WithLogger(logger),
	}
	server, err := edge.New(append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("starting the embedded edge: %w", err)
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	addr, err := server.Start(runCtx, "127.0.0.1:0")
	if err != nil {
		stop()
		return nil, fmt.Errorf("starting the embedded edge: %w", err)
	}
	var dialer net.Dialer
	return &embeddedEdge{
		server: server,
		addr:   addr,
		stop:   stop,
		// Target answers name the visitor's edge cluster
		// (mboxedge28.tt.omtrdc.net) and the client follows it; offline,
		// every Target host is this edge.
		transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, addr)
			},
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		},
	}, nil
}

// Addr is the edge's host:port.
func (e *embeddedEdge) Addr() string { return e.addr }

// Server is the edge itself (its recorded notifications, for instance).
func (e *embeddedEdge) Server() *edge.Server { return e.server }

// Transport sends every request, whatever its host, to the edge.
func (e *embeddedEdge) Transport() http.RoundTripper { return e.transport }

// Close stops the edge and waits for it to finish.
func (e *embeddedEdge) Close() error {
	e.stop()
	e.transport.CloseIdleConnections()
	if err := e.server.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("embedded edge: %w", err)
	}
	return nil
}
