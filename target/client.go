package target

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/sourcegraph/conc"
	"go.uber.org/zap"
	"golang.org/x/sync/semaphore"

	"github.com/targetflow/targetflow/delivery"
)

// Client calls Adobe Target. It is safe for concurrent use by any number of
// goroutines; make one per Target client code and share it. Close it when
// done.
//
// The answers a client returns share equal response-token maps read-only
// (server-side answers: delivery.SharedObjects; on-device decisions: the
// artifact's), since Target sends the same tokens for every visitor of an
// experience: copy a map before changing it.
type Client struct {
	cfg config

	// http is the HTTP client for anything else the client fetches (the
	// on-device artifact): the caller's, or one over the client's transport.
	http *http.Client
	// send performs one HTTP exchange: the caller's *http.Client's Do when
	// one was given (its cookie jar, its redirect policy but for redirects
	// to another host, which are never followed), else the transport's
	// RoundTrip directly, which follows no redirect: the Delivery API does
	// not redirect, and an answer that does is an *HTTPError.
	send func(*http.Request) (*http.Response, error)
	// ownTransport is the transport New made (nil when the caller supplied
	// one); Close closes its idle connections.
	ownTransport *http.Transport

	// locationHint is the edge cluster remembered from the last answer
	// (initially WithTargetLocationHint), used when a call brings none.
	locationHint atomic.Pointer[string]
	// lastHost is the host of the last cluster a call was routed to, so
	// that calls to one cluster do not each build its host name.
	lastHost atomic.Pointer[routedHost]

	// queryPrefix and querySuffix surround the session id in the query of
	// every delivery call.
	queryPrefix, querySuffix string

	// buffers recycles the buffers the start of an answer (or an error
	// body) is read into.
	buffers sync.Pool
	// answerBudget is the memory of answers being read past their free
	// bytes (WithResponseBudget, answer.go).
	answerBudget *semaphore.Weighted
	// tokens shares the response-token maps of answers with the same
	// tokens, read-only (delivery.SharedObjects).
	tokens *delivery.SharedObjects
	// offers shares the JSON offers GetAttributes decodes (attributes.go).
	offers sharedOffers

	telemetry *telemetryStore
	events    *eventDispatcher
	onDevice  *onDeviceState // the on-device engine, when there is one (ondevice.go)
	// stopWatch ends the goroutine that waits for a given engine to be
	// ready (watchReady); watchers is it.
	stopWatch context.CancelFunc
	watchers  conc.WaitGroup

	closeOnce sync.Once
}

// The bounds of the response-token objects a client shares between
// answers: far more than the experiences an account runs at once.
const (
	sharedTokenObjects = 1024
	sharedTokenBytes   = 1 << 20
)

// New validates the options and returns a Client at once: it does not
// wait for an on-device artifact (see WaitReady). WithClient and
// WithOrganizationID are required. Configuration errors are *ConfigError
// naming the field. The clientReady event is emitted when the client can
// serve its decisioning method: at once under server-side decisioning,
// when the first artifact is loaded under on-device and hybrid.
func New(opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	for _, opt := range opts {
		opt.apply(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Client{
		cfg:          cfg,
		telemetry:    newTelemetryStore(cfg.telemetryEnabled),
		events:       newEventDispatcher(cfg.handlers, cfg.logger),
		answerBudget: semaphore.NewWeighted(cfg.responseBudget),
		tokens:       delivery.NewSharedObjects(sharedTokenObjects, sharedTokenBytes),
		offers:       newSharedOffers(),
	}
	switch {
	case cfg.httpClient != nil:
		c.http = cfg.httpClient
		c.send = sameHostRedirects(cfg.httpClient).Do
	case cfg.transport != nil:
		c.http = &http.Client{Transport: cfg.transport}
		c.send = cfg.transport.RoundTrip
	default:
		c.ownTransport = newTransport(cfg.maxIdleConnsPerHost)
		c.http = &http.Client{Transport: c.ownTransport}
		c.send = c.ownTransport.RoundTrip
	}
	c.queryPrefix, c.querySuffix = deliveryQuery(cfg.organizationID, cfg.version)
	if cfg.targetLocationHint != "" {
		hint := cfg.targetLocationHint
		c.locationHint.Store(&hint)
	}
	cfg.logger.Debug("target client created",
		zap.String("client", cfg.clientCode),
		zap.String("decisioningMethod", string(cfg.decisioningMethod)),
		zap.Duration("timeout", cfg.timeout))
	if err := c.startOnDevice(); err != nil {
		c.events.close()
		if c.ownTransport != nil {
			c.ownTransport.CloseIdleConnections()
		}
		return nil, err
	}
	return c, nil
}

// sameHostRedirects returns a copy of hc that follows a redirect only to
// the host (and port) of the original request, as hc's own policy allows:
// a delivery call carries the visitor's ids and profile, and a redirect to
// another host is answered as the *HTTPError of its 3xx status instead.
func sameHostRedirects(hc *http.Client) *http.Client {
	copied := *hc
	policy := hc.CheckRedirect
	copied.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && req.URL.Host != via[0].URL.Host {
			return http.ErrUseLastResponse
		}
		if policy != nil {
			return policy(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &copied
}

// Close waits for pending event handlers and releases idle connections of
// the client's own transport. Calls made after Close still work (with a new
// connection); events are no longer delivered.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.stopOnDevice()
		c.events.close()
		if c.ownTransport != nil {
			c.ownTransport.CloseIdleConnections()
		}
	})
	return nil
}

// LocationHint returns the edge cluster the client currently routes calls
// without a cluster of their own to: the last one Target answered with, else
// WithTargetLocationHint, else "".
func (c *Client) LocationHint() string {
	if hint := c.locationHint.Load(); hint != nil {
		return *hint
	}
	return ""
}

// DecisioningMethod returns the client's configured decisioning method.
func (c *Client) DecisioningMethod() delivery.DecisioningMethod {
	return c.cfg.decisioningMethod
}

// GetOffers completes opts.Request, has it decided (by the Delivery API
// under server-side decisioning; locally, or by the Delivery API for what
// the artifact cannot decide, under on-device and hybrid) and returns the
// answer with the cookies to set. Errors: *ValidationError for bad options
// (nothing is sent), *HTTPError for a non-2xx answer, *TransportError for a
// connection failure or the client's timeout, ErrNotReady when on-device
// decisioning has no artifact yet, and the context's error when ctx ends
// first.
func (c *Client) GetOffers(ctx context.Context, opts GetOffersOptions) (*Response, error) {
	hs := c.cfg.hookSet
	if hs == nil {
		return c.getOffers(ctx, opts)
	}
	call := &Call{Method: "GetOffers", DecisioningMethod: c.methodOf(opts.DecisioningMethod)}
	ctx = hs.startCall(ctx, call, opts.Request, 0)
	resp, err := c.getOffers(ctx, opts)
	hs.endCall(ctx, call, resp, err)
	return resp, err
}

func (c *Client) getOffers(ctx context.Context, opts GetOffersOptions) (*Response, error) {
	if err := validateGetOffers("GetOffers", &opts); err != nil {
		return nil, err
	}
	call := opts.call("GetOffers")
	if call.decisioningMethod == "" {
		call.decisioningMethod = c.cfg.decisioningMethod
	}
	return c.deliver(ctx, call)
}

// SendNotifications sends display and click notifications (and pending
// telemetry). It always goes to the Delivery API, whatever the decisioning
// method. Errors are those of GetOffers.
func (c *Client) SendNotifications(ctx context.Context, opts SendNotificationsOptions) (*Response, error) {
	hs := c.cfg.hookSet
	if hs == nil {
		return c.validSendNotifications(ctx, opts)
	}
	call := &Call{Method: "SendNotifications", DecisioningMethod: delivery.DecisioningServerSide}
	ctx = hs.startCall(ctx, call, opts.Request, 0)
	resp, err := c.validSendNotifications(ctx, opts)
	hs.endCall(ctx, call, resp, err)
	return resp, err
}

func (c *Client) validSendNotifications(ctx context.Context, opts SendNotificationsOptions) (*Response, error) {
	if err := validateSendNotifications(&opts, c.telemetry.hasEntries()); err != nil {
		return nil, err
	}
	return c.sendNotifications(ctx, opts.call())
}

// methodOf is the decisioning method of a call that asks for method.
func (c *Client) methodOf(method delivery.DecisioningMethod) delivery.DecisioningMethod {
	if method == "" {
		return c.cfg.decisioningMethod
	}
	return method
}

// sendNotifications is the remote notification path, also meant for the
// on-device engine's display notifications.
func (c *Client) sendNotifications(ctx context.Context, call callOptions) (*Response, error) {
	call.decisioningMethod = delivery.DecisioningServerSide
	return c.deliverServerSide(ctx, call)
}

// deliverServerSide runs one remote call: plan, attach telemetry, send,
// record telemetry, process the answer and remember the location hint.
func (c *Client) deliverServerSide(ctx context.Context, call callOptions) (*Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	plan := c.planCall(call)
	plan.keepBody = call.keepBody
	if r := plan.request; r.Execute == nil && r.Prefetch == nil && len(r.Notifications) == 0 &&
		len(call.request.Notifications) > 0 && !c.telemetry.hasEntries() {
		// Every notification was invalid, and nothing else is left to send.
		return nil, &ValidationError{Method: call.method, Field: "request.notifications",
			Reason: "no valid notification left (each needs an id, a timestamp and a type click or display)"}
	}
	if plan.method == delivery.DecisioningServerSide {
		c.telemetry.attachTelemetry(plan.request)
	}
	if t := plan.request.Trace; t != nil && t.AuthorizationToken == "" {
		// The Delivery API requires the token of a trace: drop a trace
		// without one, as the official SDKs do, rather than have the call
		// refused. (On-device decisions trace without a token.)
		c.cfg.logger.Debug("dropping request trace without an authorizationToken", zap.String("requestId", plan.request.RequestID))
		plan.request.Trace = nil
	}
	if ce := c.cfg.logger.Check(zap.DebugLevel, "delivery request sent"); ce != nil {
		ce.Write(zap.String("decisioningMethod", string(plan.method)), zap.String("host", plan.host),
			zap.Any("request", plan.request))
	}

	answer, body, timings, err := c.sendDelivery(ctx, plan)
	if err != nil {
		c.cfg.logger.Debug("delivery request failed", zap.String("host", plan.host),
			zap.String("requestId", plan.request.RequestID), zap.Error(err))
		return nil, err
	}
	now := c.cfg.now()
	if c.telemetry.enabled {
		c.telemetry.add(telemetryEntry(plan.request, answer, plan.method, timings, now))
	}
	if ce := c.cfg.logger.Check(zap.DebugLevel, "delivery response received"); ce != nil {
		ce.Write(zap.Any("response", answer))
	}
	resp := processResponse(plan, answer, now)
	resp.Body = body
	c.rememberLocationHint(resp)
	return resp, nil
}

// rememberLocationHint keeps the cluster of the answer for later calls, as
// the SDKs' preserveLocationHint does.
func (c *Client) rememberLocationHint(resp *Response) {
	if resp.TargetLocationHintCookie == nil {
		return
	}
	if current := c.locationHint.Load(); current != nil && *current == resp.TargetLocationHintCookie.Value {
		return // as nearly always: no allocation
	}
	hint := resp.TargetLocationHintCookie.Value
	c.locationHint.Store(&hint)
}
