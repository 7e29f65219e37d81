package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"go.uber.org/zap"
)

// Server limits. The write timeout leaves room for a Target call with its
// own timeout plus the simulated work of /page.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 15 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
	// defaultMaxBodyBytes bounds request bodies (POST /sendNotifications).
	defaultMaxBodyBytes = 1 << 20
	// shutdownTimeout bounds a graceful shutdown: requests in flight get
	// this long to finish after SIGINT/SIGTERM.
	shutdownTimeout = 10 * time.Second
)

// newHTTPServer wraps h in the production middleware (nosniff, panic
// recovery, request logging, body limit) and the server timeouts of cfg.
func newHTTPServer(h http.Handler, cfg config, logger *zap.Logger) *http.Server {
	return &http.Server{
		Handler:           withNoSniff(withRequestLogging(withRecovery(withBodyLimit(h, cfg.MaxBodyBytes), logger), logger)),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          zap.NewStdLog(logger.Named("http")),
	}
}

// serve runs srv on ln until ctx ends, then shuts it down gracefully:
// no new connections, requests in flight get shutdownTimeout to finish.
// It returns nil after a clean shutdown.
func serve(ctx context.Context, srv *http.Server, ln net.Listener, logger *zap.Logger) error {
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", zap.Duration("grace", shutdownTimeout))
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	shutdownErr := srv.Shutdown(shutdownCtx)
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	}
	if shutdownErr != nil {
		_ = srv.Close()
		return fmt.Errorf("graceful shutdown: %w", shutdownErr)
	}
	return nil
}

// withNoSniff marks every answer X-Content-Type-Options: nosniff, so that
// no browser runs an answer as anything but its declared type (a JSON
// answer holding offer content as HTML or script, say).
func withNoSniff(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// withBodyLimit caps every request body at limit bytes; reading past it
// fails with *http.MaxBytesError, which handlers answer with 413.
func withBodyLimit(next http.Handler, limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

// withRecovery turns a panic in a handler into a logged error and a 500
// JSON answer (when nothing was written yet), so that no query or cookie
// can take the server down. http.ErrAbortHandler is re-raised, as net/http
// expects.
func withRecovery(next http.Handler, logger *zap.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler { //nolint:errorlint // net/http compares the sentinel itself
				panic(p)
			}
			logger.Error("handler panicked",
				zap.String("method", r.Method), zap.String("path", r.URL.Path),
				zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
			if rec, ok := w.(*statusRecorder); ok && rec.status != 0 {
				return
			}
			writeError(w, http.StatusInternalServerError, "internal error while handling "+r.URL.Path)
		}()
		next.ServeHTTP(w, r)
	})
}

// withRequestLogging logs one line per request: method, path, status,
// bytes written, duration and remote address; and, at debug level, when a
// request starts.
func withRequestLogging(next http.Handler, logger *zap.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		logger.Debug("request started", zap.String("method", r.Method), zap.String("path", r.URL.Path))
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		logger.Info("request",
			zap.String("method", r.Method),
			zap.String("path", r.URL.Path),
			zap.Int("status", status),
			zap.Int64("bytes", rec.bytes),
			zap.Duration("duration", time.Since(start)),
			zap.String("remote", r.RemoteAddr))
	})
}

// statusRecorder remembers the status and size of a response.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
