package target

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/ondevice"
)

// Hooks let other packages observe the client (tracing, metrics, logs)
// without this package knowing them, as franz-go's kgo hooks do: a hook is
// any value, and wherever something happens the client calls the hooks
// that implement the interface for it. Register them with WithHooks; the
// targetotel package implements them on OpenTelemetry.
//
// Hooks run synchronously on the goroutine of the call and must be safe
// for concurrent use and fast; they must not modify what they are given
// other than as documented (a start hook may add request headers). A
// client without hooks does none of this work: no Call, no context value,
// no clock read.
//
// What a hook sees, in order, for one GetOffers call decided remotely:
//
//	OnCallStart     (Call: method, decisioning method, counts)
//	OnHTTPAttemptStart / OnHTTPAttemptEnd   (HTTPAttempt: POST, URL, status)
//	OnCallEnd       (Call: outcome, duration, error kind)
//
// and for one decided on-device: OnCallStart, OnDeviceDecision, OnCallEnd,
// then, in the background, the display notifications as a call of their
// own ("SendNotifications", Background) whose context is the first call's.
type Hook any

// HookCallStart is called when GetOffers, GetAttributes or
// SendNotifications starts (and when the client starts sending the display
// notifications of an on-device decision). The context it returns is the
// one the call goes on with: return ctx, or one derived from it (with a
// span, say).
type HookCallStart interface {
	OnCallStart(ctx context.Context, call *Call) context.Context
}

// HookCallEnd is called when a call ends, with the context the start hooks
// returned and the same *Call, now with its outcome.
type HookCallEnd interface {
	OnCallEnd(ctx context.Context, call *Call)
}

// HookHTTPAttemptStart is called before each HTTP exchange of a call: the
// Delivery API POST, or a geo lookup the on-device engine makes while it
// decides. The returned context is the request's. It may add headers to
// attempt.Header (trace context, when asked for).
type HookHTTPAttemptStart interface {
	OnHTTPAttemptStart(ctx context.Context, attempt *HTTPAttempt) context.Context
}

// HookHTTPAttemptEnd is called when the exchange is over (the answer read,
// or the failure known), with the context the start hooks returned.
type HookHTTPAttemptEnd interface {
	OnHTTPAttemptEnd(ctx context.Context, attempt *HTTPAttempt)
}

// HookArtifactDownload is called after each HTTP exchange by which the
// client's on-device engine downloads its artifact (each retry too), once
// the body has been read (or closed unread) or the exchange failed. Whether the
// artifact was then installed or refused is what the
// artifactDownloadSucceeded / artifactDownloadFailed events say. An engine
// given with WithOnDeviceEngine downloads with its own HTTP client, which
// the client does not see.
type HookArtifactDownload interface {
	OnArtifactDownload(ctx context.Context, download *ArtifactDownload)
}

// HookOnDeviceDecision is called after each on-device decision of a call,
// with the call's context.
type HookOnDeviceDecision interface {
	OnDeviceDecision(ctx context.Context, decision *OnDeviceDecision)
}

// ErrorKind classifies a failure of a call: low-cardinality, for a span's
// or metric's error.type and for a pipeline's error records (KindOf).
type ErrorKind string

// Error kinds.
const (
	// ErrorKindHTTP is a non-2xx answer (*HTTPError); the status says which.
	ErrorKindHTTP ErrorKind = "http"
	// ErrorKindTimeout is the client's timeout or the caller's deadline.
	ErrorKindTimeout ErrorKind = "timeout"
	// ErrorKindNetwork is a connection that failed or broke (*TransportError
	// with Op send or read).
	ErrorKindNetwork ErrorKind = "network"
	// ErrorKindDecode is an answer that could not be decoded or was too
	// large; ErrorKindEncode a request that could not be encoded.
	ErrorKindDecode ErrorKind = "decode"
	ErrorKindEncode ErrorKind = "encode"
	// ErrorKindCanceled is the caller's context canceled.
	ErrorKindCanceled ErrorKind = "canceled"
	// ErrorKindInvalid is options or a request rejected (*ValidationError).
	ErrorKindInvalid ErrorKind = "invalid"
	// ErrorKindNotReady is an on-device call without an artifact (ErrNotReady).
	ErrorKindNotReady ErrorKind = "not_ready"
	// ErrorKindOther is any other failure.
	ErrorKindOther ErrorKind = "error"
)

// KindOf classifies an error of the client's calls: "" for nil, without
// allocating; ErrorKindOther for an error that is none of the client's.
func KindOf(err error) ErrorKind {
	if err == nil {
		return ""
	}
	var (
		httpErr      *HTTPError
		transportErr *TransportError
		validErr     *ValidationError
	)
	switch {
	case errors.As(err, &httpErr):
		return ErrorKindHTTP
	case errors.As(err, &transportErr):
		switch {
		case transportErr.Timeout:
			return ErrorKindTimeout
		case transportErr.Op == "decode":
			return ErrorKindDecode
		case transportErr.Op == "encode":
			return ErrorKindEncode
		}
		return ErrorKindNetwork
	case errors.As(err, &validErr):
		return ErrorKindInvalid
	case errors.Is(err, ErrNotReady):
		return ErrorKindNotReady
	case errors.Is(err, context.DeadlineExceeded):
		return ErrorKindTimeout
	case errors.Is(err, context.Canceled):
		return ErrorKindCanceled
	}
	return ErrorKindOther
}

// Call describes one client call to hooks. The client fills the first
// group of fields before OnCallStart and the rest before OnCallEnd.
type Call struct {
	// Method is "GetOffers", "GetAttributes" or "SendNotifications".
	Method string
	// DecisioningMethod is the method asked for: the call's own, else the
	// client's; server-side for SendNotifications.
	DecisioningMethod delivery.DecisioningMethod
	// Mboxes, Views and Notifications count what the request asks for
	// (execute and prefetch mboxes, with the mboxes GetAttributes adds;
	// prefetch views; notifications). At the end they count the completed
	// request that was decided or sent, when there is one (invalid mboxes
	// and notifications dropped).
	Mboxes, Views, Notifications int
	// Background is true for the display notifications the client sends
	// after an on-device decision.
	Background bool
	// Start is when the call started.
	Start time.Time

	// Duration is how long the call took.
	Duration time.Duration
	// DecidedBy is how the answer was decided (Response.Meta), empty when
	// the call failed before an answer.
	DecidedBy delivery.DecisioningMethod
	// RemoteMboxes and RemoteViews count what a hybrid call had the edge
	// decide.
	RemoteMboxes, RemoteViews int
	// RequestID is the completed request's requestId, when there is one.
	RequestID string
	// Err is the call's error and ErrorKind its kind; both empty on success.
	Err       error
	ErrorKind ErrorKind
}

// HTTPAttempt describes one HTTP exchange of a call to hooks. The client
// fills the first group before OnHTTPAttemptStart and the rest before
// OnHTTPAttemptEnd.
type HTTPAttempt struct {
	// Method is the HTTP method: POST for the Delivery API, GET for a geo
	// lookup.
	Method string
	// URL is the request URL, query included (the Delivery API's carries
	// the session id). Read it only.
	URL *url.URL
	// ServerAddress and ServerPort are where the request goes (the URL's
	// host, and its port or the scheme's).
	ServerAddress string
	ServerPort    int
	// Attempt counts the sends of this request from 1: the retries of a
	// caller that said so with ContextWithResendCount make it 2, 3 ...
	Attempt int
	// Header is the request's header. A start hook may add to it (trace
	// context headers); it is read only afterwards.
	Header http.Header
	// RequestBytes is the length of the request body.
	RequestBytes int64
	// Start is when the exchange started.
	Start time.Time

	// StatusCode is the answer's status, 0 when none was received.
	StatusCode int
	// ResponseBytes is the length of the answer's body as read.
	ResponseBytes int64
	// Duration is how long the exchange took, the answer read.
	Duration time.Duration
	// Err is why the exchange failed (a non-2xx status included) and
	// ErrorKind its kind; both empty on success.
	Err       error
	ErrorKind ErrorKind
}

// ArtifactDownload describes one artifact download exchange.
type ArtifactDownload struct {
	// URL is the artifact's location.
	URL *url.URL
	// Start is when the request was sent; Duration how long until the body
	// was read (or the exchange failed).
	Start    time.Time
	Duration time.Duration
	// StatusCode is the answer's status (304 when the artifact in use is
	// still current), 0 when none was received.
	StatusCode int
	// Bytes is the length of the body read.
	Bytes int64
	// Err is a failed exchange or body read; a non-200 status is not an
	// error here (StatusCode says it).
	Err error
}

// OnDeviceDecision describes one decision of the on-device engine.
type OnDeviceDecision struct {
	// Start is when the engine started deciding; Duration how long it took.
	Start    time.Time
	Duration time.Duration
	// Mboxes and Views count what the request asked for.
	Mboxes, Views int
	// Notifications counts the display notifications the decision owes.
	Notifications int
	// RemoteMboxes and RemoteViews count what the artifact cannot decide.
	RemoteMboxes, RemoteViews int
	// Err is why the engine refused the request, ErrorKind its kind.
	Err       error
	ErrorKind ErrorKind
}

// WithHooks registers hooks (see Hook). Each must implement at least one
// of the Hook interfaces; they are called in the order given.
func WithHooks(hooks ...Hook) Option {
	return option(func(c *config) { c.hooks = append(c.hooks, hooks...) })
}

// hookSet is the registered hooks, by interface. A client without hooks
// has none (nil).
type hookSet struct {
	// markCalls says that the client has an engine, whose HTTP exchanges
	// need to know whether they are part of a call (callKey).
	markCalls    bool
	callStart    []HookCallStart
	callEnd      []HookCallEnd
	attemptStart []HookHTTPAttemptStart
	attemptEnd   []HookHTTPAttemptEnd
	artifact     []HookArtifactDownload
	decision     []HookOnDeviceDecision
}

// newHookSet sorts hooks by interface; it fails for a hook that
// implements none.
func newHookSet(hooks []Hook) (*hookSet, error) {
	if len(hooks) == 0 {
		return nil, nil
	}
	hs := &hookSet{}
	for i, h := range hooks {
		matched := false
		if v, ok := h.(HookCallStart); ok {
			hs.callStart, matched = append(hs.callStart, v), true
		}
		if v, ok := h.(HookCallEnd); ok {
			hs.callEnd, matched = append(hs.callEnd, v), true
		}
		if v, ok := h.(HookHTTPAttemptStart); ok {
			hs.attemptStart, matched = append(hs.attemptStart, v), true
		}
		if v, ok := h.(HookHTTPAttemptEnd); ok {
			hs.attemptEnd, matched = append(hs.attemptEnd, v), true
		}
		if v, ok := h.(HookArtifactDownload); ok {
			hs.artifact, matched = append(hs.artifact, v), true
		}
		if v, ok := h.(HookOnDeviceDecision); ok {
			hs.decision, matched = append(hs.decision, v), true
		}
		if !matched {
			return nil, &ConfigError{Field: "hooks", Value: fmt.Sprintf("%d: %T", i, h),
				Reason: "implements no hook interface (HookCallStart, HookCallEnd, HookHTTPAttemptStart, HookHTTPAttemptEnd, HookArtifactDownload, HookOnDeviceDecision)"}
		}
	}
	return hs, nil
}

// resendKey is the context key of ContextWithResendCount.
type resendKey struct{}

// ContextWithResendCount returns a context saying that the calls made with
// it resend a request n times sent before: a caller that retries a failed
// call (the pipeline's Deliver and Notify stages do) sets it for each
// retry, so that hooks see the attempt (HTTPAttempt.Attempt is n+1, and
// OpenTelemetry's http.request.resend_count is n). The client itself does
// not retry. Without hooks the client never reads it.
func ContextWithResendCount(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, resendKey{}, n)
}

// ResendCountFromContext returns what ContextWithResendCount put in ctx,
// 0 when nothing.
func ResendCountFromContext(ctx context.Context) int {
	n, _ := ctx.Value(resendKey{}).(int)
	return n
}

// callKey marks the context of a call in progress (for the engine's HTTP
// exchanges: inside a call they are the call's attempts, outside it
// artifact downloads).
type callKey struct{}

// startCall fills in call (counting r's mboxes, views and notifications,
// and addedMboxes more) and runs the start hooks.
func (hs *hookSet) startCall(ctx context.Context, call *Call, r *delivery.DeliveryRequest, addedMboxes int) context.Context {
	call.Start = time.Now()
	if r != nil {
		call.Mboxes, call.Views, call.Notifications = requestCounts(r)
	}
	call.Mboxes += addedMboxes
	for _, h := range hs.callStart {
		ctx = h.OnCallStart(ctx, call)
	}
	if hs.markCalls {
		ctx = context.WithValue(ctx, callKey{}, call)
	}
	return ctx
}

// endCall records the outcome of call and runs the end hooks.
func (hs *hookSet) endCall(ctx context.Context, call *Call, resp *Response, err error) {
	call.Duration = time.Since(call.Start)
	call.Err, call.ErrorKind = err, KindOf(err)
	if resp != nil {
		call.DecidedBy = resp.Meta.DecisioningMethod
		call.RemoteMboxes, call.RemoteViews = len(resp.Meta.RemoteMboxes), len(resp.Meta.RemoteViews)
		if resp.Request != nil {
			call.RequestID = resp.Request.RequestID
			call.Mboxes, call.Views, call.Notifications = requestCounts(resp.Request)
		}
	}
	for _, h := range hs.callEnd {
		h.OnCallEnd(ctx, call)
	}
}

// requestCounts counts the mboxes, views and notifications r asks for.
func requestCounts(r *delivery.DeliveryRequest) (mboxes, views, notifications int) {
	if r.Execute != nil {
		mboxes += len(r.Execute.Mboxes)
	}
	if r.Prefetch != nil {
		mboxes += len(r.Prefetch.Mboxes)
		views += len(r.Prefetch.Views)
	}
	return mboxes, views, len(r.Notifications)
}

// startAttempt runs the attempt start hooks for a request of method to u
// with header (which they may add to) and a body of n bytes, and returns
// their context, the request's.
func (hs *hookSet) startAttempt(ctx context.Context, method string, u *url.URL, header http.Header, n int64) (context.Context, *HTTPAttempt) {
	attempt := &HTTPAttempt{
		Method:       method,
		URL:          u,
		Attempt:      1 + ResendCountFromContext(ctx),
		Header:       header,
		RequestBytes: n,
		Start:        time.Now(),
	}
	attempt.ServerAddress, attempt.ServerPort = serverAddress(u)
	for _, h := range hs.attemptStart {
		ctx = h.OnHTTPAttemptStart(ctx, attempt)
	}
	return ctx, attempt
}

// endAttempt records the outcome of attempt and runs the end hooks.
func (hs *hookSet) endAttempt(ctx context.Context, attempt *HTTPAttempt, status int, responseBytes int64, err error) {
	attempt.Duration = time.Since(attempt.Start)
	attempt.StatusCode, attempt.ResponseBytes = status, responseBytes
	attempt.Err, attempt.ErrorKind = err, KindOf(err)
	for _, h := range hs.attemptEnd {
		h.OnHTTPAttemptEnd(ctx, attempt)
	}
}

// decided runs the decision hooks after an engine decision of r that
// started at start.
func (hs *hookSet) decided(ctx context.Context, start time.Time, r *delivery.DeliveryRequest, decision *ondevice.Decision, err error) {
	if len(hs.decision) == 0 {
		return
	}
	d := &OnDeviceDecision{Start: start, Duration: time.Since(start)}
	if decision != nil {
		d.Notifications = len(decision.Notifications)
		d.RemoteMboxes, d.RemoteViews = len(decision.RemoteMboxes), len(decision.RemoteViews)
	}
	if err != nil {
		d.Err, d.ErrorKind = err, ErrorKindInvalid
		if errors.Is(err, ErrNotReady) {
			d.ErrorKind = ErrorKindNotReady
		}
	}
	if r != nil {
		d.Mboxes, d.Views, _ = requestCounts(r)
	}
	for _, h := range hs.decision {
		h.OnDeviceDecision(ctx, d)
	}
}

// serverAddress is the host and port a request goes to.
func serverAddress(u *url.URL) (string, int) {
	host, port := u.Hostname(), u.Port()
	if port == "" {
		if u.Scheme == "http" {
			return host, 80
		}
		return host, 443
	}
	n, _ := strconv.Atoi(port)
	return host, n
}

// hookedEngineTransport is the transport of the client's on-device engine
// when hooks are registered: the engine's exchanges inside a call (geo
// lookups) are attempts of that call; the others are artifact downloads.
type hookedEngineTransport struct {
	next  http.RoundTripper
	hooks *hookSet
}

func (t *hookedEngineTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	if _, inCall := ctx.Value(callKey{}).(*Call); inCall {
		if len(t.hooks.attemptStart) == 0 && len(t.hooks.attemptEnd) == 0 {
			return t.next.RoundTrip(r)
		}
		own := r.WithContext(ctx)
		own.Header = r.Header.Clone() // a RoundTripper must not change the caller's request
		if own.Header == nil {
			own.Header = http.Header{}
		}
		attemptCtx, attempt := t.hooks.startAttempt(ctx, own.Method, own.URL, own.Header, own.ContentLength)
		own = own.WithContext(attemptCtx)
		resp, err := t.next.RoundTrip(own)
		if err != nil {
			t.hooks.endAttempt(own.Context(), attempt, 0, 0, err)
			return nil, err
		}
		var statusErr error
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			statusErr = &HTTPError{Status: resp.StatusCode, URL: r.URL.String()}
		}
		t.hooks.endAttempt(own.Context(), attempt, resp.StatusCode, resp.ContentLength, statusErr)
		return resp, nil
	}
	if len(t.hooks.artifact) == 0 {
		return t.next.RoundTrip(r)
	}
	d := &ArtifactDownload{URL: r.URL, Start: time.Now()}
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		d.Duration, d.Err = time.Since(d.Start), err
		t.reportDownload(ctx, d)
		return nil, err
	}
	d.StatusCode = resp.StatusCode
	resp.Body = &downloadBody{ReadCloser: resp.Body, done: func(n int64, readErr error) {
		d.Duration, d.Bytes, d.Err = time.Since(d.Start), n, readErr
		t.reportDownload(ctx, d)
	}}
	return resp, nil
}

func (t *hookedEngineTransport) reportDownload(ctx context.Context, d *ArtifactDownload) {
	for _, h := range t.hooks.artifact {
		h.OnArtifactDownload(ctx, d)
	}
}

// downloadBody counts what is read of an artifact download and reports
// the download once: when the body has been read to its end (before the
// engine decodes and installs it), or fails, or is closed.
type downloadBody struct {
	io.ReadCloser
	n    int64
	once sync.Once
	done func(n int64, readErr error)
}

func (b *downloadBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	switch {
	case err == io.EOF:
		b.report(nil)
	case err != nil:
		b.report(err)
	}
	return n, err
}

func (b *downloadBody) Close() error {
	err := b.ReadCloser.Close()
	b.report(nil)
	return err
}

func (b *downloadBody) report(readErr error) {
	b.once.Do(func() { b.done(b.n, readErr) })
}

// engineTransport is the transport the client's own engine downloads
// through: the client's, seen by the hooks when there are any.
func (c *Client) engineTransport() http.RoundTripper {
	next := sendRoundTripper(c.send)
	if c.cfg.hookSet == nil {
		return next
	}
	return &hookedEngineTransport{next: next, hooks: c.cfg.hookSet}
}

// sendBackgroundNotifications sends the display notifications of an
// on-device decision, a call of its own for the hooks.
func (c *Client) sendBackgroundNotifications(ctx context.Context, call callOptions) (*Response, error) {
	hs := c.cfg.hookSet
	if hs == nil {
		return c.sendNotifications(ctx, call)
	}
	hooked := &Call{Method: "SendNotifications", DecisioningMethod: delivery.DecisioningServerSide, Background: true}
	ctx = hs.startCall(ctx, hooked, call.request, 0)
	resp, err := c.sendNotifications(ctx, call)
	hs.endCall(ctx, hooked, resp, err)
	return resp, err
}
