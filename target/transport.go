package target

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync/atomic"
	"time"
	"unicode/utf8"

	json "github.com/go-json-experiment/json/v1"

	"github.com/targetflow/targetflow/delivery"
)

const (
	deliveryPath = "/rest/v1/delivery"
	sdkName      = "AdobeTargetGo"

	// maxErrorMessage bounds the part of a non-JSON error body kept in an
	// HTTPError.
	maxErrorMessage = 512
)

// errClientTimeout is the cause of a call's context when the client's own
// timeout (WithTimeout) elapsed, as opposed to the caller's context ending.
var errClientTimeout = errors.New("target: client timeout elapsed")

// newTransport is the client's own transport: keep-alive connections, sized
// for many calls in flight to a few Target hosts.
func newTransport(maxIdleConnsPerHost int) *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          maxIdleConnsPerHost * 4,
		MaxIdleConnsPerHost:   maxIdleConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// maxErrorBody bounds what is read of a non-2xx answer: Target's error
// bodies are a line of JSON; of another body only the start is kept.
const maxErrorBody = 64 << 10

// buffer returns a recycled buffer for the start of an answer or an error
// body; neither is longer than 64 KiB.
func (c *Client) buffer() *bytes.Buffer {
	if b, ok := c.buffers.Get().(*bytes.Buffer); ok {
		b.Reset()
		return b
	}
	return new(bytes.Buffer)
}

// deliveryEndpoint is the Delivery API URL of a call.
func (c *Client) deliveryEndpoint(host, sessionID string) url.URL {
	scheme := "https"
	if !c.cfg.secure {
		scheme = "http"
	}
	return url.URL{
		Scheme:   scheme,
		Host:     host,
		Path:     deliveryPath,
		RawQuery: c.queryPrefix + url.QueryEscape(sessionID) + c.querySuffix,
	}
}

// deliveryQuery returns the parts of the query that are the same for every
// call: "imsOrgId=…&sessionId=" and "&version=…".
func deliveryQuery(organizationID, version string) (prefix, suffix string) {
	return "imsOrgId=" + url.QueryEscape(organizationID) + "&sessionId=", "&version=" + url.QueryEscape(version)
}

// Header values shared by every call. Requests only read them; a caller
// that Adds to one of these headers gets a new slice (each has length and
// capacity 1), so sharing them is safe.
var (
	headerJSON       = []string{"application/json"}
	headerSDKName    = []string{sdkName}
	headerSDKVersion = []string{Version}
)

// deliveryCall holds what one sendDelivery hands net/http (but the request,
// which WithContext copies) and reads the answer through, allocated together: a bulk run makes one call per
// visitor, and each of these was an allocation of its own.
type deliveryCall struct {
	endpoint  url.URL
	payload   bytes.Reader
	requestID [1]string // the X-Request-Id header's value
	trace     connectionTrace
	answer    answerBody
	head      io.LimitedReader
}

// sendDelivery POSTs the completed request of plan to the Delivery API and
// decodes the answer; with plan.keepBody it also returns a copy of the
// answer's bytes when they hold exactly the decoded answer (Response.Body).
// ctx is the caller's; the client's timeout is applied here. Errors are
// *HTTPError, *TransportError or the caller's context error.
func (c *Client) sendDelivery(ctx context.Context, plan *callPlan) (_ *delivery.DeliveryResponse, kept []byte, timings callTimings, err error) {
	start := time.Now()
	call := new(deliveryCall)
	call.endpoint = c.deliveryEndpoint(plan.host, plan.sessionID)
	endpoint := &call.endpoint

	payload, err := encodeRequest(plan.request)
	if err != nil {
		return nil, nil, timings, &TransportError{Op: "encode", URL: endpoint.String(), Err: err}
	}

	callCtx, cancel := c.withTimeout(ctx)
	defer cancel()
	var trace *connectionTrace
	if c.telemetry.enabled {
		trace = &call.trace
		callCtx = httptrace.WithClientTrace(callCtx, trace.clientTrace())
	}
	call.requestID[0] = plan.request.RequestID
	header := http.Header{
		"Content-Type":      headerJSON,
		"Accept":            headerJSON,
		"X-Exc-Sdk":         headerSDKName,
		"X-Exc-Sdk-Version": headerSDKVersion,
		// The body's requestId, so that the edge's logs, the answer
		// and the request line up.
		"X-Request-Id": call.requestID[:],
	}
	status, reqCtx := 0, callCtx // the answer's status and the request's context, for the hooks
	if hs := c.cfg.hookSet; hs != nil {
		var attempt *HTTPAttempt
		reqCtx, attempt = hs.startAttempt(callCtx, http.MethodPost, endpoint, header, int64(len(payload)))
		defer func() { hs.endAttempt(reqCtx, attempt, status, timings.responseSize, err) }()
	}
	call.payload.Reset(payload)
	req := (&http.Request{
		Method:        http.MethodPost,
		URL:           endpoint,
		Host:          endpoint.Host,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Body:          io.NopCloser(&call.payload),
		GetBody:       func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(payload)), nil },
		ContentLength: int64(len(payload)),
		Header:        header,
	}).WithContext(reqCtx) // the literal stays on the stack: one Request is allocated

	sent := time.Now()
	resp, err := c.send(req)
	if err != nil {
		return nil, nil, timings, c.callError(ctx, callCtx, "send", endpoint.String(), err)
	}
	defer resp.Body.Close()
	headersAt := time.Now()
	status = resp.StatusCode

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		err = c.httpError(ctx, callCtx, resp, endpoint.String(), plan.request.RequestID, &timings.responseSize)
		return nil, nil, timings, err
	}

	// The answer is decoded within the client's bounds (answer.go): its
	// first FreeResponseBytes read into a recycled buffer, which holds the
	// whole of nearly every answer and is decoded from memory, as fast as
	// ever; a longer one is decoded as the rest arrives. Telemetry's
	// download is the time spent waiting for the answer, parsing the rest.
	body := &call.answer
	body.init(callCtx, resp.Body, resp.ContentLength, c.cfg.maxResponseBytes, c.answerBudget)
	defer body.release()
	head := c.buffer()
	defer c.buffers.Put(head)
	var decoded *delivery.DeliveryResponse
	call.head = io.LimitedReader{R: body, N: FreeResponseBytes}
	if _, err = head.ReadFrom(&call.head); err == nil {
		if head.Len() < FreeResponseBytes { // all of it
			var same bool
			decoded, same, err = delivery.DecodeResponse(head.Bytes(), c.tokens)
			if same && plan.keepBody {
				kept = bytes.Clone(head.Bytes())
			}
		} else {
			decoded, err = delivery.ReadResponse(io.MultiReader(head, body))
		}
	}
	timings.download = body.reading
	timings.parsing = time.Since(headersAt) - body.reading
	timings.responseSize = body.read
	switch {
	case body.tooLarge:
		return nil, nil, timings, &TransportError{Op: "decode", URL: endpoint.String(),
			Err: fmt.Errorf("answer is larger than %d bytes (WithMaxResponseBytes)", c.cfg.maxResponseBytes)}
	case body.err != nil:
		return nil, nil, timings, c.callError(ctx, callCtx, "read", endpoint.String(), body.err)
	case err != nil:
		return nil, nil, timings, &TransportError{Op: "decode", URL: endpoint.String(), Err: err}
	}
	timings.execution = time.Since(start)
	timings.firstByte = headersAt.Sub(sent)
	if trace != nil {
		timings.dns, timings.tls = trace.durations()
		timings.firstByte -= timings.dns + timings.tls
	}
	return decoded, kept, timings, nil
}

// encodeRequest encodes r into a slice of its own: the transport may read a
// request body (or ask for it again) after the call returned, so it must not
// come from a pool. delivery.MarshalRequestJSON writes what encoding/json
// writes (HTML characters unescaped), about three times faster and in one
// allocation, and fails where it fails: on a NaN or infinite number. The
// 1 KiB start holds a 2-mbox call with context, Analytics and a telemetry
// entry (about 900 bytes); a larger request grows the slice.
func encodeRequest(r *delivery.DeliveryRequest) ([]byte, error) {
	return delivery.MarshalRequestJSON(make([]byte, 0, 1024), r)
}

// callError classifies a failed send or read: the caller's context ending
// gives the context's error, the client's timeout a TransportError with
// Timeout set, anything else a TransportError.
func (c *Client) callError(parent, callCtx context.Context, op, endpoint string, err error) error {
	if parent.Err() != nil {
		return context.Cause(parent)
	}
	if errors.Is(context.Cause(callCtx), errClientTimeout) {
		return &TransportError{Op: op, URL: endpoint, Timeout: true,
			Err: errors.Join(errClientTimeout, context.DeadlineExceeded)}
	}
	var netErr net.Error
	timeout := errors.As(err, &netErr) && netErr.Timeout()
	return &TransportError{Op: op, URL: endpoint, Timeout: timeout, Err: err}
}

// withTimeout applies the client's timeout to a call, unless the caller's
// deadline comes first anyway: then a second timer and context (and their
// registration with the caller's context, under its lock) would only cost,
// as they did once per call in a bulk run whose stage has its own timeout.
// A deadline that binds is then the caller's, reported as such.
func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= c.cfg.timeout {
		return ctx, func() {}
	}
	return context.WithTimeoutCause(ctx, c.cfg.timeout, errClientTimeout)
}

// httpError reads the start of a non-2xx answer for its message, and
// tells size how much of it was read.
func (c *Client) httpError(ctx, callCtx context.Context, resp *http.Response, endpoint, requestID string, size *int64) error {
	text := c.buffer()
	defer c.buffers.Put(text)
	_, err := text.ReadFrom(io.LimitReader(resp.Body, maxErrorBody))
	*size = int64(text.Len())
	if err != nil {
		return c.callError(ctx, callCtx, "read", endpoint, err)
	}
	return &HTTPError{
		Status:     resp.StatusCode,
		Message:    errorMessage(text.Bytes()),
		URL:        endpoint,
		RequestID:  requestID,
		retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
}

// errorMessage extracts Target's message from an error body
// ({"status":400,"message":"..."}), else returns the start of the body.
func errorMessage(body []byte) string {
	var unexpected delivery.UnexpectedError
	if json.Unmarshal(body, &unexpected) == nil && unexpected.Message != "" {
		return unexpected.Message
	}
	text := bytes.TrimSpace(body)
	if len(text) > maxErrorMessage {
		text = text[:maxErrorMessage]
		for len(text) > 0 && !utf8.Valid(text) {
			text = text[:len(text)-1]
		}
	}
	return string(text)
}

// connectionTrace records how long the DNS lookup and TLS handshake of a
// new connection took. Its callbacks may run on the transport's dialing
// goroutine, even after the call returned, so it uses atomics.
type connectionTrace struct {
	dnsStart, tlsStart atomic.Int64 // UnixNano
	dns, tls           atomic.Int64 // nanoseconds
	hooks              httptrace.ClientTrace
}

func (ct *connectionTrace) clientTrace() *httptrace.ClientTrace {
	ct.hooks = httptrace.ClientTrace{
		DNSStart: func(httptrace.DNSStartInfo) { ct.dnsStart.Store(time.Now().UnixNano()) },
		DNSDone: func(httptrace.DNSDoneInfo) {
			ct.dns.Store(time.Now().UnixNano() - ct.dnsStart.Load())
		},
		TLSHandshakeStart: func() { ct.tlsStart.Store(time.Now().UnixNano()) },
		TLSHandshakeDone: func(tls.ConnectionState, error) {
			ct.tls.Store(time.Now().UnixNano() - ct.tlsStart.Load())
		},
	}
	return &ct.hooks
}

func (ct *connectionTrace) durations() (dns, tls time.Duration) {
	return time.Duration(ct.dns.Load()), time.Duration(ct.tls.Load())
}
