package target

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/targetflow/targetflow/ondevice"
)

// ErrNotReady is returned when on-device decisioning is asked for before
// the engine has loaded its artifact, and wrapped by WaitReady's errors. It
// is ondevice.ErrNotReady.
var ErrNotReady = ondevice.ErrNotReady

// ConfigError reports an invalid option given to New: Field names it,
// Value is the offending value and Reason what is wrong. It is
// ondevice.ConfigError, the one configuration error of the module.
type ConfigError = ondevice.ConfigError

// ValidationError reports call options rejected before any request is sent,
// with the same meaning as the official SDKs' validation messages, or a
// request the on-device engine refused (Err is then the engine's
// *delivery.FieldError, and the message is its own).
type ValidationError struct {
	// Method is the client method that rejected the options, e.g. "GetOffers".
	Method string
	// Field is the option or request field at fault, e.g. "request.execute".
	Field string
	// Reason is the SDK's message, e.g. "either pageLoad or mboxes is required in execute".
	Reason string
	// Err is the cause, when there is one.
	Err error
}

func (e *ValidationError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("target: %s: %v", e.Method, e.Err)
	}
	return fmt.Sprintf("target: %s: invalid options: %s: %s", e.Method, e.Field, e.Reason)
}

// Unwrap returns the cause, if any.
func (e *ValidationError) Unwrap() error { return e.Err }

// HTTPError is a non-2xx answer from the Delivery API.
type HTTPError struct {
	// Status is the HTTP status code.
	Status int
	// Message is Target's error message (the "message" of its JSON error
	// body), or the start of the body when it is not JSON.
	Message string
	// URL is the request URL, query included.
	URL string
	// RequestID is the X-Request-Id the client sent with the request.
	RequestID string

	// retryAfter is the wait the answer's Retry-After header asked for.
	retryAfter time.Duration
}

// RetryAfter is the wait the answer's Retry-After header asked for (429
// and 503 answers usually carry one), 0 when it had none. Retry policies
// (stages.RetryPolicy) honour it through this method.
func (e *HTTPError) RetryAfter() time.Duration { return e.retryAfter }

func (e *HTTPError) Error() string {
	text := http.StatusText(e.Status)
	if e.Message != "" {
		return fmt.Sprintf("target: delivery API answered %d %s: %s", e.Status, text, e.Message)
	}
	return fmt.Sprintf("target: delivery API answered %d %s", e.Status, text)
}

// Retryable reports whether sending the same request again may succeed:
// server errors (5xx), 429 Too Many Requests and 408 Request Timeout.
func (e *HTTPError) Retryable() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout
}

// TransportError is a failure to get an answer from the Delivery API: the
// connection failed, the configured timeout elapsed, or the body could not
// be read or decoded.
type TransportError struct {
	// Op is what failed:
	//   - "encode": the request could not be encoded;
	//   - "send": the connection or the request failed, or no answer came;
	//   - "read": the connection failed inside the answer's body (cut
	//     short, reset, or the timeout elapsed while it dripped in);
	//   - "decode": a 2xx answer arrived whole but is no Delivery API
	//     answer: empty, null or another JSON value than an object, not
	//     JSON (an HTML page), JSON cut short, an object of no answer
	//     member, data after the object, or larger than
	//     WithMaxResponseBytes. The peer answered, wrongly: not a network
	//     failure, and not retried.
	Op string
	// URL is the request URL.
	URL string
	// Timeout is true when the client's configured timeout elapsed.
	Timeout bool
	// Err is the underlying error.
	Err error
}

func (e *TransportError) Error() string {
	if e.Timeout {
		return fmt.Sprintf("target: %s %s: timed out: %v", e.Op, e.URL, e.Err)
	}
	return fmt.Sprintf("target: %s %s: %v", e.Op, e.URL, e.Err)
}

func (e *TransportError) Unwrap() error { return e.Err }

// Retryable reports whether the failure is transient: timeouts and
// connection failures (Op "send" or "read") are; a request that cannot be
// encoded or an answer that cannot be decoded is not.
func (e *TransportError) Retryable() bool {
	return e.Op == "send" || e.Op == "read"
}

// IsRetryable reports whether err (or an error it wraps) says the call may
// succeed if retried. Validation errors, configuration errors and context
// cancellation are not retryable.
func IsRetryable(err error) bool {
	var r interface{ Retryable() bool }
	return errors.As(err, &r) && r.Retryable()
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date
// (relative to now). Absent, malformed or past values give 0.
func parseRetryAfter(value string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}
	if seconds, err := strconv.ParseInt(value, 10, 64); err == nil {
		if seconds <= 0 || seconds > int64(24*time.Hour/time.Second) {
			return 0
		}
		return time.Duration(seconds) * time.Second
	}
	if at, err := http.ParseTime(value); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}
