package standin

import (
	"bytes"
	"io"
	"net/http"
)

// Memory is an http.RoundTripper that answers every call from memory with
// its bytes (status 200, application/json), after reading the request's
// body to its end as a server would: a benchmark of a client over it
// measures the client and nothing else.
type Memory []byte

// RoundTrip answers r with m.
func (m Memory) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return &http.Response{
		StatusCode:    http.StatusOK,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(m)),
		ContentLength: int64(len(m)),
		Request:       r,
	}, nil
}
