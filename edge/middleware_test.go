package edge_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
)

func TestMiddlewareWrapsWhatStartServes(t *testing.T) {
	t.Parallel()
	var seen atomic.Int32
	srv, err := edge.New(demo.Artifact(), edge.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen.Add(1)
			w.Header().Set("X-Wrapped", r.URL.Path)
			next.ServeHTTP(w, r)
		})
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	addr, err := srv.Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { stop(); _ = srv.Wait() }()
	resp, err := httpClient(t).Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Wrapped") != "/healthz" || seen.Load() != 1 {
		t.Errorf("status %d, X-Wrapped %q, middleware ran %d times; want 200, /healthz, once", resp.StatusCode, resp.Header.Get("X-Wrapped"), seen.Load())
	}

	_, err = edge.New(demo.Artifact(), edge.WithMiddleware(nil))
	var ce *edge.ConfigError
	if !errors.As(err, &ce) || ce.Field != "middleware" {
		t.Errorf("New with a nil middleware: %v; want a ConfigError naming middleware", err)
	}
}
