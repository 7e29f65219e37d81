package target

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/ondevice"
)

// On-device and hybrid decisioning: the client decides with an
// ondevice.Engine (made by New from the artifact options below, or given
// with WithOnDeviceEngine) and sends the display notifications of executed
// mboxes with SendNotifications, asynchronously. Under hybrid decisioning a
// request that asks for an mbox or view the artifact cannot decide (marked
// remote, or unknown to it) goes to the edge; the others are decided
// locally; without a ready engine every hybrid call goes to the edge.
// Response.Meta says which.

// Events of on-device decisioning, with the official SDKs' names.
const (
	// EventArtifactDownloadSucceeded: a downloaded artifact is in use.
	EventArtifactDownloadSucceeded EventType = "artifactDownloadSucceeded"
	// EventArtifactDownloadFailed: an artifact download attempt failed
	// (Event.Err says why); the artifact in use is kept.
	EventArtifactDownloadFailed EventType = "artifactDownloadFailed"
	// EventGeoLocationUpdated: a geo location was learned.
	EventGeoLocationUpdated EventType = "geoLocationUpdated"
	// EventSendNotificationError: the display notifications of an on-device
	// decision could not be sent (Event.Err says why).
	EventSendNotificationError EventType = "sendNotificationError"
)

// onDeviceConfig holds the on-device options.
type onDeviceConfig struct {
	engine     *ondevice.Engine
	engineSet  bool
	engineOpts []ondevice.ArtifactOption
	optsGiven  bool
	// notificationSends bounds the background notification sends in flight;
	// manualNotifications leaves sending to the caller.
	notificationSends   int
	sendsSet            bool
	manualNotifications bool
	manualSet           bool
}

// validate checks the on-device options against the rest of cfg; the
// engine's own options are checked by ondevice.New, once, in New.
func (o *onDeviceConfig) validate(cfg *config) error {
	switch {
	case o.engineSet && o.engine == nil:
		return &ConfigError{Field: "onDeviceEngine", Reason: "must not be nil"}
	case o.engineSet && o.optsGiven:
		return &ConfigError{Field: "onDevice", Reason: "WithOnDevice and WithOnDeviceEngine are exclusive: the engine has its own options"}
	case o.sendsSet && o.notificationSends < 1:
		return &ConfigError{Field: "notificationConcurrency", Value: strconv.Itoa(o.notificationSends), Reason: "must be at least 1"}
	case (o.sendsSet || o.manualSet) && !cfg.hasEngine():
		field := "notificationConcurrency"
		if !o.sendsSet {
			field = "onDeviceNotifications"
		}
		return &ConfigError{Field: field, Reason: "applies to on-device decisioning: it needs WithDecisioningMethod(on-device or hybrid), WithOnDevice or WithOnDeviceEngine"}
	}
	return nil
}

// hasEngine reports whether the client decides on-device: by its method, or
// because it was given an engine or engine options (for calls that ask for
// on-device or hybrid decisioning themselves).
func (c *config) hasEngine() bool {
	return c.decisioningMethod == delivery.DecisioningOnDevice || c.decisioningMethod == delivery.DecisioningHybrid ||
		c.onDevice.engine != nil || c.onDevice.optsGiven
}

// DefaultNotificationConcurrency is how many on-device notification sends a
// client runs at once unless WithNotificationConcurrency says otherwise.
const DefaultNotificationConcurrency = 32

// WithOnDevice gives the options of the client's on-device decisioning
// engine: where the artifact comes from, how it is polled, the geo lookup
// (ondevice.WithArtifactPayload, ondevice.WithArtifactURL,
// ondevice.WithArtifactFile, ondevice.WithArtifactFormat,
// ondevice.WithEnvironment, ondevice.WithPollingInterval,
// ondevice.WithMaximumWaitReady, ondevice.WithRetry, ondevice.WithGeoLookup,
// ondevice.WithGeoLookupURL). Without it, an on-device or hybrid client
// downloads its client code's artifact from the Target CDN. The engine's
// client code, organization, property token, logger, HTTP client and
// telemetry are the client's. A server-side client given WithOnDevice has
// an engine too, for the calls that ask for on-device or hybrid
// decisioning (GetOffersOptions.DecisioningMethod).
func WithOnDevice(opts ...ondevice.ArtifactOption) Option {
	return option(func(c *config) {
		c.onDevice.engineOpts = append(c.onDevice.engineOpts, opts...)
		c.onDevice.optsGiven = true
	})
}

// WithNotificationConcurrency bounds the display-notification calls that
// on-device decisions send in the background (default
// DefaultNotificationConcurrency). When all are busy, GetOffers waits for
// one to finish before it returns: in bulk, decisions cannot outrun the
// notifications they owe, so memory stays bounded.
func WithNotificationConcurrency(n int) Option {
	return option(func(c *config) { c.onDevice.notificationSends, c.onDevice.sendsSet = n, true })
}

// WithOnDeviceNotifications(false) makes the client leave the display
// notifications of on-device decisions to the caller: they are in
// Response.Notifications, to be sent with SendNotifications (the pipeline's
// Notify stage does so, bounded and with retries). Default true: the client
// sends them in the background, as the official SDKs do.
func WithOnDeviceNotifications(send bool) Option {
	return option(func(c *config) { c.onDevice.manualNotifications, c.onDevice.manualSet = !send, true })
}

// WithOnDeviceEngine decides on-device and hybrid calls with engine, which
// the caller owns (Close does not close it). It excludes WithOnDevice.
func WithOnDeviceEngine(engine *ondevice.Engine) Option {
	return option(func(c *config) { c.onDevice.engine, c.onDevice.engineSet = engine, true })
}

// onDeviceState is the client's engine and its pending notification sends.
type onDeviceState struct {
	engine    *ondevice.Engine
	ownEngine bool
	// sendSlots holds one token per notification send in flight.
	sendSlots chan struct{}

	mu      sync.Mutex
	closed  bool
	pending sync.WaitGroup
}

func newOnDeviceState(engine *ondevice.Engine, own bool, sends int) *onDeviceState {
	if sends <= 0 {
		sends = DefaultNotificationConcurrency
	}
	return &onDeviceState{engine: engine, ownEngine: own, sendSlots: make(chan struct{}, sends)}
}

// startOnDevice makes the engine when the client decides on-device (see
// hasEngine), or takes the one it was given. It does not wait for the
// artifact: clientReady is emitted when the engine has its first one.
func (c *Client) startOnDevice() error {
	cfg := c.cfg.onDevice
	if cfg.engine != nil {
		c.onDevice = newOnDeviceState(cfg.engine, false, cfg.notificationSends)
		c.watchReady(cfg.engine)
		return nil
	}
	if !c.cfg.hasEngine() {
		c.events.emit(Event{Type: EventClientReady})
		return nil
	}
	opts := []ondevice.Option{
		ondevice.WithClient(c.cfg.clientCode),
		ondevice.WithOrganizationID(c.cfg.organizationID),
		ondevice.WithPropertyToken(c.cfg.propertyToken),
		ondevice.WithHTTPClient(&http.Client{Transport: c.engineTransport()}),
		ondevice.WithLogger(c.cfg.logger),
		ondevice.WithTelemetry(c.cfg.telemetryEnabled),
		ondevice.WithEvents(ondevice.Events{
			ClientReady: func(ondevice.ClientReadyEvent) {
				c.events.emit(Event{Type: EventClientReady})
			},
			ArtifactDownloadSucceeded: func(ondevice.ArtifactDownloadSucceededEvent) {
				c.events.emit(Event{Type: EventArtifactDownloadSucceeded})
			},
			ArtifactDownloadFailed: func(e ondevice.ArtifactDownloadFailedEvent) {
				c.events.emit(Event{Type: EventArtifactDownloadFailed, Err: e.Err})
			},
			GeoLocationUpdated: func(ondevice.GeoLocationUpdatedEvent) {
				c.events.emit(Event{Type: EventGeoLocationUpdated})
			},
		}),
	}
	for _, o := range cfg.engineOpts {
		opts = append(opts, o)
	}
	engine, err := ondevice.New(opts...)
	if err != nil {
		return err // a *ConfigError naming the engine option (or the refused payload)
	}
	c.onDevice = newOnDeviceState(engine, true, cfg.notificationSends)
	return nil
}

// watchReady emits clientReady when an engine the caller gave has its
// artifact: at once when it has, else from a goroutine that Close ends.
func (c *Client) watchReady(engine *ondevice.Engine) {
	if engine.Ready() {
		c.events.emit(Event{Type: EventClientReady})
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.stopWatch = cancel
	c.watchers.Go(func() {
		if engine.WaitReady(ctx) == nil {
			c.events.emit(Event{Type: EventClientReady})
		}
	})
}

// WaitReady waits until the client can serve its decisioning method: at
// once for server-side decisioning; for on-device and hybrid, until the
// engine has loaded its first artifact. Its errors wrap ErrNotReady and why
// (the artifact could not be loaded, or ctx ended first). Calls made before
// that behave as the official SDKs': an on-device call fails with
// ErrNotReady, a hybrid call is sent to the edge.
func (c *Client) WaitReady(ctx context.Context) error {
	if c.onDevice == nil {
		return nil
	}
	return c.onDevice.engine.WaitReady(ctx)
}

// stopOnDevice waits for pending notification sends and closes the
// client's own engine.
func (c *Client) stopOnDevice() {
	od := c.onDevice
	if od == nil {
		return
	}
	od.mu.Lock()
	od.closed = true
	od.mu.Unlock()
	od.pending.Wait()
	if c.stopWatch != nil {
		c.stopWatch()
		c.watchers.Wait()
	}
	if od.ownEngine {
		od.engine.Close()
	}
}

// OnDeviceEngine returns the engine of on-device and hybrid calls, or nil
// when the client has none.
func (c *Client) OnDeviceEngine() *ondevice.Engine {
	if c.onDevice == nil {
		return nil
	}
	return c.onDevice.engine
}

// deliver runs a GetOffers or GetAttributes call with its decisioning
// method.
func (c *Client) deliver(ctx context.Context, call callOptions) (*Response, error) {
	switch call.decisioningMethod {
	case delivery.DecisioningOnDevice:
		return c.deliverOnDevice(ctx, call, nil, nil)
	case delivery.DecisioningHybrid:
		// As in the official SDKs, a hybrid call without a ready engine is
		// fulfilled remotely rather than failed.
		if c.onDevice == nil {
			call.decisioningMethod = delivery.DecisioningServerSide
			return c.deliverServerSide(ctx, call)
		}
		mboxes, views, err := c.onDevice.engine.RemoteDependency(call.request)
		if errors.Is(err, ErrNotReady) {
			call.decisioningMethod = delivery.DecisioningServerSide
			return c.deliverServerSide(ctx, call)
		}
		if err != nil {
			return nil, &ValidationError{Method: call.method, Field: "request", Reason: err.Error(), Err: err}
		}
		if len(mboxes) == 0 && len(views) == 0 {
			return c.deliverOnDevice(ctx, call, []string{}, []string{})
		}
		call.decisioningMethod = delivery.DecisioningServerSide
		resp, err := c.deliverServerSide(ctx, call)
		if err != nil {
			return nil, err
		}
		resp.Meta.RemoteMboxes, resp.Meta.RemoteViews = nonNil(mboxes), nonNil(views)
		return resp, nil
	}
	return c.deliverServerSide(ctx, call)
}

// deliverOnDevice decides a call locally: the same request completion,
// cookies and telemetry as a server-side call, the engine's decision, and
// the display notifications sent in the background.
func (c *Client) deliverOnDevice(ctx context.Context, call callOptions, remoteMboxes, remoteViews []string) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.onDevice == nil {
		return nil, ErrNotReady
	}
	engine := c.onDevice.engine
	// Telemetry's "parsing" of an on-device call is the time spent reading
	// and completing the request (cookies, ids, context) before deciding,
	// measured when the engine records telemetry: the client's own engine
	// does as the client does; one given may.
	timed := c.cfg.telemetryEnabled || !c.onDevice.ownEngine
	var started time.Time
	if timed {
		started = time.Now()
	}
	plan := c.planCall(call)
	plan.method = delivery.DecisioningOnDevice
	var parsing float64
	if timed {
		parsing = float64(time.Since(started)) / float64(time.Millisecond)
	}
	var decideStart time.Time
	if c.cfg.hookSet != nil {
		decideStart = time.Now()
	}
	decision, err := engine.Decide(ctx, plan.request,
		ondevice.WithSessionID(plan.sessionID), ondevice.WithLocationHint(plan.cluster), ondevice.WithParsingTime(parsing))
	if hs := c.cfg.hookSet; hs != nil {
		hs.decided(ctx, decideStart, plan.request, decision, err)
	}
	if err != nil {
		if errors.Is(err, ErrNotReady) {
			return nil, err
		}
		return nil, &ValidationError{Method: call.method, Field: "request", Reason: err.Error(), Err: err}
	}
	for _, entry := range engine.TakeTelemetry() {
		c.telemetry.add(entry)
	}
	if decision.Telemetry != nil {
		c.telemetry.add(*decision.Telemetry)
	}
	plan.request = decision.Request
	resp := processResponse(plan, decision.Response, c.cfg.now())
	if remoteMboxes == nil {
		remoteMboxes, remoteViews = decision.RemoteMboxes, decision.RemoteViews
	}
	resp.Meta.RemoteMboxes, resp.Meta.RemoteViews = nonNil(remoteMboxes), nonNil(remoteViews)
	if ce := c.cfg.logger.Check(zap.DebugLevel, "decided on-device"); ce != nil {
		ce.Write(zap.String("requestId", decision.Request.RequestID), zap.Int("notifications", len(decision.Notifications)))
	}
	if c.cfg.onDevice.manualNotifications {
		resp.Notifications = decision.Notifications
	} else {
		c.notifyOnDevice(ctx, plan, decision)
	}
	return resp, nil
}

// notifyOnDevice sends the display notifications of an on-device decision,
// and the pending telemetry, as the SDKs do after each on-device call: in
// the background, without the caller's cancellation, bounded by the
// client's timeout. At most WithNotificationConcurrency sends run at once;
// when all are busy the caller waits for a free one (if ctx ends first, the
// notifications are not sent and EventSendNotificationError says so). After
// Close the send happens before returning.
func (c *Client) notifyOnDevice(ctx context.Context, plan *callPlan, decision *ondevice.Decision) {
	request := ondevice.BuildNotificationRequest(decision.Request, decision.Notifications, nil)
	if request == nil {
		if !c.telemetry.hasEntries() {
			return
		}
		request = &delivery.DeliveryRequest{ID: decision.Request.ID.Clone(), Context: decision.Request.Context.Clone()}
	}
	call := callOptions{
		method:            "SendNotifications",
		request:           request,
		locationHint:      plan.cluster,
		sessionID:         plan.sessionID,
		decisioningMethod: delivery.DecisioningServerSide,
	}
	send := func() {
		if _, err := c.sendBackgroundNotifications(context.WithoutCancel(ctx), call); err != nil {
			c.notificationFailed(decision, err)
		}
	}
	od := c.onDevice
	select {
	case od.sendSlots <- struct{}{}:
	case <-ctx.Done():
		c.notificationFailed(decision, fmt.Errorf("waiting for a free notification send: %w", ctx.Err()))
		return
	}
	od.mu.Lock()
	if od.closed {
		od.mu.Unlock()
		send()
		<-od.sendSlots
		return
	}
	od.pending.Add(1)
	od.mu.Unlock()
	go func() {
		defer od.pending.Done()
		defer func() { <-od.sendSlots }()
		send()
	}()
}

func (c *Client) notificationFailed(decision *ondevice.Decision, err error) {
	c.cfg.logger.Warn("sending on-device notifications failed", zap.String("requestId", decision.Request.RequestID), zap.Error(err))
	c.events.emit(Event{Type: EventSendNotificationError, Err: err})
}

// sendRoundTripper lets the engine download through the client's transport.
type sendRoundTripper func(*http.Request) (*http.Response, error)

func (f sendRoundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
