package main

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/ondevice"
	"github.com/targetflow/targetflow/target"
)

// readyMessage is logged on the client's clientReady event, as the
// sample's client_ready_callback prints it.
const readyMessage = "Server is now ready to start handling requests"

// app is the ported Flask app: a Target client (and, offline, the embedded
// edge it calls) behind the sample's endpoints.
type app struct {
	cfg    config
	logger *zap.Logger
	client *target.Client
	edge   *embeddedEdge // nil when --server-domain names a real edge
	// artifactSource says where the on-device artifact came from.
	artifactSource string
	page           *template.Template
	index          *template.Template
	handler        http.Handler
	// now and newID are the clock and id source of notifications.
	now   func() time.Time
	newID func() string
}

// newApp builds the app from cfg: it loads the artifact, starts the
// embedded edge when no server domain is given, then creates the Target
// client. ctx bounds the start-up. edgeOpts configure the embedded edge
// further (tests inject latency and faults with them). Close releases
// everything.
func newApp(ctx context.Context, cfg config, logger *zap.Logger, edgeOpts ...edge.Option) (*app, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	index, page, err := pageTemplates()
	if err != nil {
		return nil, fmt.Errorf("parsing the page templates: %w", err)
	}
	a := &app{
		cfg:    cfg,
		logger: logger,
		page:   page,
		index:  index,
		now:    time.Now,
		newID:  uuid.NewString,
	}

	opts := []target.Option{
		target.WithClient(cfg.Client),
		target.WithOrganizationID(cfg.OrganizationID),
		target.WithDecisioningMethod(cfg.Decisioning),
		target.WithLogger(logger.Named("target")),
		target.WithEventHandler(target.EventClientReady, func(target.Event) {
			logger.Info(readyMessage)
		}),
	}
	if cfg.ServerDomain == "" {
		// Offline: the client decides from the artifact, and the embedded
		// edge answers from the same one.
		artifact, source, err := loadArtifact(ctx, cfg)
		if err != nil {
			return nil, err
		}
		a.artifactSource = source
		a.edge, err = startEmbeddedEdge(ctx, cfg, artifact, logger.Named("edge"), edgeOpts...)
		if err != nil {
			return nil, err
		}
		opts = append(opts,
			target.WithServerDomain(a.edge.Addr()),
			target.WithSecure(false),
			target.WithTransport(a.edge.Transport()))
		if cfg.Decisioning != delivery.DecisioningServerSide {
			opts = append(opts, target.WithOnDevice(ondevice.WithArtifactPayload(artifact)))
		}
	} else {
		opts = append(opts, target.WithServerDomain(cfg.ServerDomain), target.WithSecure(!cfg.Insecure))
		artifactOpts, source, err := remoteArtifactOptions(ctx, cfg)
		if err != nil {
			return nil, err
		}
		a.artifactSource = source
		opts = append(opts, artifactOpts...)
	}

	a.client, err = target.New(opts...)
	if err != nil {
		_ = a.closeEdge()
		return nil, fmt.Errorf("creating the Target client: %w", err)
	}
	if err := a.client.WaitReady(ctx); err != nil {
		_ = a.client.Close()
		_ = a.closeEdge()
		return nil, fmt.Errorf("creating the Target client: %w", err)
	}
	a.handler = a.routes()
	return a, nil
}

// targetDescription says where Target calls go, for the start-up log.
func (a *app) targetDescription() string {
	if a.edge != nil {
		return "embedded edge http://" + a.edge.Addr() + ", artifact: " + a.artifactSource
	}
	scheme := "https"
	if a.cfg.Insecure {
		scheme = "http"
	}
	if a.artifactSource == "" {
		return scheme + "://" + a.cfg.ServerDomain
	}
	return scheme + "://" + a.cfg.ServerDomain + ", artifact: " + a.artifactSource
}

// Handler is the app's HTTP handler, without the server middleware (see
// newHTTPServer).
func (a *app) Handler() http.Handler { return a.handler }

// Close releases the Target client and stops the embedded edge.
func (a *app) Close() error {
	err := a.client.Close()
	return errors.Join(err, a.closeEdge())
}

func (a *app) closeEdge() error {
	if a.edge == nil {
		return nil
	}
	return a.edge.Close()
}

// routes maps the sample's endpoints, and the two pages beyond it.
func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.serveIndex)
	mux.HandleFunc("GET /executePageLoad", a.executePageLoad)
	mux.HandleFunc("GET /executePageload", a.executePageLoad) // the spelling of the sample's README
	mux.HandleFunc("GET /executeMbox", a.executeMbox)
	mux.HandleFunc("GET /prefetchMbox", a.prefetchMbox)
	mux.HandleFunc("GET /prefetchView", a.prefetchView)
	mux.HandleFunc("GET /prefetchViewAsyncio", a.prefetchViewFuture)
	mux.HandleFunc("POST /sendNotifications", a.sendNotifications)
	mux.HandleFunc("GET /page", a.renderPage)
	mux.HandleFunc("GET /img/{name}", a.serveImage)
	return mux
}

// getOffersOptions is the sample's initialize_options: the incoming Target
// cookies (and the visitor's AMCV_ cookie), with the request to send.
func (vr *visitorRequest) getOffersOptions(req *delivery.DeliveryRequest) target.GetOffersOptions {
	return target.GetOffersOptions{
		Request:            req,
		TargetCookie:       vr.targetCookie,
		TargetLocationHint: vr.locationHint,
		VisitorCookie:      vr.visitorCookie,
	}
}

// deliveryRequest is a request with the visitor's id and context.
func (vr *visitorRequest) deliveryRequest() *delivery.DeliveryRequest {
	return &delivery.DeliveryRequest{ID: vr.visitorID, Context: vr.context}
}

// writeOffers answers a Target response the way every endpoint of the
// sample does: the Delivery API response as JSON, with the Target cookies.
func writeOffers(w http.ResponseWriter, resp *target.Response) {
	setTargetCookies(w, resp.TargetCookie, resp.TargetLocationHintCookie)
	body := resp.Response
	if body == nil { // an edge that answered without a body
		body = &delivery.DeliveryResponse{}
	}
	writeJSON(w, http.StatusOK, body)
}
