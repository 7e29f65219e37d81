package edge

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/ondevice"
)

// decisionEngine is what the edge needs of a decisioning engine: the
// complete decisions of a checked request, every mbox and view included
// (the edge is the server: remote-only markers do not apply to it).
type decisionEngine interface {
	decide(ctx context.Context, req *delivery.DeliveryRequest, sessionID string) (*delivery.DeliveryResponse, error)
	close()
}

// engineSettings is what an engine is built with besides the artifact.
type engineSettings struct {
	client    string
	logger    *zap.Logger
	geoLookup ondevice.GeoLookupFunc
}

// engineFactory builds the engine of one artifact (plain JSON).
type engineFactory func(artifact []byte, settings engineSettings) (decisionEngine, error)

// badRequestError is an engine's refusal of a request, answered 400.
type badRequestError struct{ err error }

func (e *badRequestError) Error() string { return e.err.Error() }
func (e *badRequestError) Unwrap() error { return e.err }

// noGeoLookup is the edge's default geo lookup: it runs offline, so a
// request with only an IP address is decided without a location.
func noGeoLookup(context.Context, string) (*delivery.Geo, error) { return nil, nil }

// onDeviceEngine decides with the ondevice engine in decide-all mode.
type onDeviceEngine struct{ engine *ondevice.Engine }

func newOnDeviceEngine(artifact []byte, settings engineSettings) (decisionEngine, error) {
	geo := settings.geoLookup
	if geo == nil {
		geo = noGeoLookup
	}
	engine, err := ondevice.New(
		ondevice.WithClient(settings.client),
		ondevice.WithArtifactPayload(artifact),
		ondevice.WithArtifactFormat(ondevice.FormatJSON),
		ondevice.WithDecideAll(true),
		ondevice.WithTelemetry(false),
		ondevice.WithGeoLookup(geo),
		ondevice.WithLogger(settings.logger.Named("ondevice")),
	)
	if err != nil {
		return nil, fmt.Errorf("preparing the decisioning engine: %w", err)
	}
	return onDeviceEngine{engine: engine}, nil
}

func (e onDeviceEngine) decide(ctx context.Context, req *delivery.DeliveryRequest, sessionID string) (*delivery.DeliveryResponse, error) {
	decision, err := e.engine.Decide(ctx, req, ondevice.WithSessionID(sessionID))
	if err != nil {
		var bad *delivery.FieldError
		if errors.As(err, &bad) {
			return nil, &badRequestError{err: err}
		}
		return nil, err
	}
	return decision.Response, nil
}

func (e onDeviceEngine) close() { _ = e.engine.Close() }
