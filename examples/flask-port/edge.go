package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/ondevice"
	"github.com/targetflow/targetflow/target"
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

// remoteArtifactOptions are the client's artifact options when it talks to
// a real edge (--server-domain): an --artifact URL is downloaded (and
// refreshed) by the client, an --artifact file is read once, and without
// --artifact the client downloads its client code's artifact from the
// Target CDN. Server-side decisioning needs none. The string says where the
// artifact comes from, for the log.
func remoteArtifactOptions(ctx context.Context, cfg config) ([]target.Option, string, error) {
	switch {
	case cfg.Decisioning == delivery.DecisioningServerSide:
		return nil, "", nil
	case cfg.Artifact == "":
		return nil, "the Target CDN", nil
	case isURL(cfg.Artifact):
		return []target.Option{target.WithOnDevice(ondevice.WithArtifactURL(cfg.Artifact))}, cfg.Artifact, nil
	}
	data, source, err := loadArtifact(ctx, cfg)
	if err != nil {
		return nil, "", err
	}
	return []target.Option{target.WithOnDevice(ondevice.WithArtifactPayload(data))}, source, nil
}

// isURL reports whether an --artifact names an http(s) URL rather than a
// file.
func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
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
		edge.WithClient(cfg.Client),
		edge.WithOrganizationID(cfg.OrganizationID),
		edge.WithLogger(logger),
	}
	server, err := edge.New(artifact, append(base, opts...)...)
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
