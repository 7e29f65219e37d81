package target

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

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

// bufferPool recycles request and response bodies.
var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// deliveryURL is the Delivery API URL of a call.
func (c *Client) deliveryURL(host, sessionID string) string {
	scheme := "https://"
	if !c.cfg.secure {
		scheme = "http://"
	}
	return scheme + host + deliveryPath +
		"?imsOrgId=" + url.QueryEscape(c.cfg.organizationID) +
		"&sessionId=" + url.QueryEscape(sessionID) +
		"&version=" + url.QueryEscape(c.cfg.version)
}

// sendDelivery POSTs the completed request of plan to the Delivery API and
// decodes the answer. ctx is the caller's; the client's timeout is applied
// here. Errors are *HTTPError, *TransportError or the caller's context
// error.
func (c *Client) sendDelivery(ctx context.Context, plan *callPlan) (*delivery.DeliveryResponse, callTimings, error) {
	var timings callTimings
	start := time.Now()

	body := bufferPool.Get().(*bytes.Buffer)
	body.Reset()
	defer bufferPool.Put(body)
	if err := json.NewEncoder(body).Encode(plan.request); err != nil {
		return nil, timings, &TransportError{Op: "encode", URL: plan.host, Err: err}
	}

	callCtx, cancel := context.WithTimeoutCause(ctx, c.cfg.timeout, errClientTimeout)
	defer cancel()

	endpoint := c.deliveryURL(plan.host, plan.sessionID)
	var trace *timingTrace
	if c.telemetry.enabled {
		trace = &timingTrace{}
		callCtx = httptrace.WithClientTrace(callCtx, trace.clientTrace())
	}
	req, err := http.NewRequestWithContext(callCtx, http.MethodPost, endpoint, bytes.NewReader(body.Bytes()))
	if err != nil {
		return nil, timings, &TransportError{Op: "send", URL: endpoint, Err: err}
	}
	requestID := uuid.NewString()
	req.Header = http.Header{
		"Content-Type":      {"application/json"},
		"Accept":            {"application/json"},
		"X-Exc-Sdk":         {sdkName},
		"X-Exc-Sdk-Version": {Version},
		"X-Request-Id":      {requestID},
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, timings, c.callError(ctx, callCtx, "send", endpoint, err)
	}
	defer resp.Body.Close()

	answer := bufferPool.Get().(*bytes.Buffer)
	answer.Reset()
	defer bufferPool.Put(answer)
	firstByte := time.Now()
	if _, err := answer.ReadFrom(resp.Body); err != nil {
		return nil, timings, c.callError(ctx, callCtx, "read", endpoint, err)
	}
	timings.download = time.Since(firstByte)
	timings.responseSize = int64(answer.Len())

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, timings, &HTTPError{
			Status:    resp.StatusCode,
			Message:   errorMessage(answer.Bytes()),
			URL:       endpoint,
			RequestID: requestID,
		}
	}

	parseStart := time.Now()
	decoded := new(delivery.DeliveryResponse)
	if answer.Len() > 0 {
		if err := json.Unmarshal(answer.Bytes(), decoded); err != nil {
			return nil, timings, &TransportError{Op: "decode", URL: endpoint, Err: err}
		}
	}
	timings.parsing = time.Since(parseStart)
	timings.execution = time.Since(start)
	if trace != nil {
		trace.copyTo(&timings)
	}
	return decoded, timings, nil
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

// timingTrace records the network phases of a call. Its callbacks may run
// on the transport's dialing goroutine, even after the call returned, so
// every field is guarded.
type timingTrace struct {
	mu                        sync.Mutex
	dnsStart, tlsStart, wrote time.Time
	dns, tls, firstByte       time.Duration
}

func (tt *timingTrace) clientTrace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		DNSStart:          func(httptrace.DNSStartInfo) { tt.set(func() { tt.dnsStart = time.Now() }) },
		DNSDone:           func(httptrace.DNSDoneInfo) { tt.set(func() { tt.dns = time.Since(tt.dnsStart) }) },
		TLSHandshakeStart: func() { tt.set(func() { tt.tlsStart = time.Now() }) },
		TLSHandshakeDone: func(tls.ConnectionState, error) {
			tt.set(func() { tt.tls = time.Since(tt.tlsStart) })
		},
		WroteRequest:         func(httptrace.WroteRequestInfo) { tt.set(func() { tt.wrote = time.Now() }) },
		GotFirstResponseByte: func() { tt.set(func() { tt.firstByte = time.Since(tt.wrote) }) },
	}
}

func (tt *timingTrace) set(update func()) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	update()
}

// copyTo writes the recorded phases into t.
func (tt *timingTrace) copyTo(t *callTimings) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	t.dns, t.tls, t.firstByte = tt.dns, tt.tls, tt.firstByte
}
