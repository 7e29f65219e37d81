package edge

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/targetflow/targetflow/internal/obfuscation"
	"github.com/targetflow/targetflow/ondevice"
)

// Server is a local Delivery API edge. It is an http.Handler; Start serves it
// on a listener of its own.
type Server struct {
	client          string
	organizationID  string
	environment     string
	cluster         int
	maxBodyBytes    int64
	shutdownTimeout time.Duration
	headerTimeout   time.Duration
	bodyTimeout     time.Duration
	writeTimeout    time.Duration
	idleTimeout     time.Duration
	maxConnections  int
	seed            uint64
	logger          *zap.Logger
	newEngine       engineFactory
	middleware      func(http.Handler) http.Handler
	geoLookup       ondevice.GeoLookupFunc
	clusterRouting  bool
	// responseBuffers recycles the buffers delivery answers are encoded into,
	// bodyBuffers those delivery requests are read into.
	responseBuffers sync.Pool
	bodyBuffers     sync.Pool
	// ownEdgeHost is the edgeHost of this edge's cluster, tntIDSuffix the
	// location hint of the tntIds it mints (".28_0"), and jsonContentType
	// the Content-Type of its answers: made once, not per answer.
	ownEdgeHost     string
	tntIDSuffix     string
	jsonContentType []string

	controls controls // the control functions of tests (control.go)

	state    atomic.Pointer[artifactState]
	setMu    sync.Mutex // serializes SetArtifact
	injector *injector
	notes    *notificationLog
	metrics  *metrics
	mux      *http.ServeMux

	servers sync.WaitGroup
	errMu   sync.Mutex
	errs    []error
}

// New builds an edge serving artifact, a rules.json or a rules.bin (read
// with WithOrganizationID's id); LoadArtifact reads one from a file or a
// URL, and DemoArtifact is the bundled demo site's. New does no I/O: it
// fails with a *ConfigError for a bad option and an *ArtifactError for a
// refused artifact.
func New(artifact []byte, opts ...Option) (*Server, error) {
	cfg := config{
		cluster:           DefaultCluster,
		environment:       DefaultEnvironment,
		logger:            zap.NewNop(),
		maxBodyBytes:      DefaultMaxBodyBytes,
		notificationLimit: DefaultNotificationLimit,
		notificationBytes: DefaultNotificationBytes,
		shutdownTimeout:   DefaultShutdownTimeout,
		headerTimeout:     DefaultHeaderTimeout,
		bodyTimeout:       DefaultBodyTimeout,
		writeTimeout:      DefaultWriteTimeout,
		idleTimeout:       DefaultIdleTimeout,
		newEngine:         newOnDeviceEngine,
	}
	for _, opt := range opts {
		opt.apply(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	source := "New"
	if len(artifact) == 0 {
		return nil, &ArtifactError{Source: source, Err: errors.New("no artifact: give New a rules.json or rules.bin (LoadArtifact reads one, DemoArtifact is the demo's)")}
	}
	if !cfg.seedSet {
		var b [8]byte
		if _, err := crand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("edge: drawing a seed: %w", err)
		}
		cfg.seed = binary.LittleEndian.Uint64(b[:])
	}
	s := &Server{
		client:          cfg.client,
		organizationID:  cfg.organizationID,
		environment:     cfg.environment,
		cluster:         cfg.cluster,
		maxBodyBytes:    cfg.maxBodyBytes,
		shutdownTimeout: cfg.shutdownTimeout,
		headerTimeout:   cfg.headerTimeout,
		bodyTimeout:     cfg.bodyTimeout,
		writeTimeout:    cfg.writeTimeout,
		idleTimeout:     cfg.idleTimeout,
		maxConnections:  cfg.maxConnections,
		seed:            cfg.seed,
		logger:          cfg.logger,
		newEngine:       cfg.newEngine,
		middleware:      cfg.middleware,
		geoLookup:       cfg.geoLookup,
		clusterRouting:  !cfg.noClusterRouting,
		ownEdgeHost:     "mboxedge" + strconv.Itoa(cfg.cluster) + ".tt.omtrdc.net",
		tntIDSuffix:     "." + strconv.Itoa(cfg.cluster) + "_0",
		jsonContentType: []string{"application/json;charset=UTF-8"}[:1:1],
		injector:        newInjector(cfg.seed, cfg.latency, cfg.faults),
		metrics:         newMetrics(),
	}
	s.notes = newNotificationLog(cfg.notificationLimit, cfg.notificationBytes, s.metrics)
	state, err := s.buildState(artifact, source)
	if err != nil {
		return nil, err
	}
	if s.client == "" {
		s.client = state.clientCode
	}
	s.state.Store(state)
	s.metrics.artifacts.Inc()
	s.mux = s.routes()
	s.logger.Info("edge ready",
		zap.String("client", s.client), zap.String("environment", s.environment),
		zap.String("artifact", source), zap.String("etag", state.jsonETag),
		zap.Bool("rulesBin", state.bin != nil), zap.Uint64("seed", s.seed))
	return s, nil
}

// buildState checks an artifact and prepares everything served from it.
func (s *Server) buildState(payload []byte, source string) (*artifactState, error) {
	plain, header, err := plainArtifact(payload, s.organizationID)
	if err != nil {
		return nil, &ArtifactError{Source: source, Err: err}
	}
	client := s.client
	if client == "" {
		client = header.Meta.ClientCode
	}
	if client == "" {
		return nil, &ArtifactError{Source: source, Err: errors.New("artifact has no meta.clientCode and no client code was given (WithClient)")}
	}
	engine, err := s.newEngine(plain, engineSettings{client: client, logger: s.logger, geoLookup: s.geoLookup})
	if err != nil {
		return nil, &ArtifactError{Source: source, Err: err}
	}
	state := &artifactState{
		json:       plain,
		jsonETag:   etagOf(plain),
		clientCode: header.Meta.ClientCode,
		globalMbox: header.GlobalMbox,
		engine:     engine,
	}
	if s.organizationID != "" {
		key, err := obfuscationKey(s.organizationID, plain)
		if err != nil {
			return nil, &ArtifactError{Source: source, Err: err}
		}
		bin, err := obfuscation.Encode(s.organizationID, key, plain)
		if err != nil {
			return nil, &ArtifactError{Source: source, Err: err}
		}
		state.bin, state.binETag = bin, etagOf(bin)
	}
	return state, nil
}

// SetArtifact replaces the artifact the edge serves and decides from:
// payload is a rules.json or a rules.bin. A refused artifact (an
// *ArtifactError) leaves the current one serving. Requests in flight finish
// with the artifact they started with.
func (s *Server) SetArtifact(payload []byte) error {
	s.setMu.Lock()
	defer s.setMu.Unlock()
	state, err := s.buildState(payload, "SetArtifact")
	if err != nil {
		s.logger.Warn("artifact refused", zap.Error(err))
		return err
	}
	old := s.state.Swap(state)
	old.engine.close() // requests still deciding with it finish: Close only stops polling
	s.metrics.artifacts.Inc()
	s.logger.Info("artifact replaced", zap.String("oldETag", old.jsonETag), zap.String("etag", state.jsonETag))
	return nil
}

// ArtifactETag is the ETag of the rules.json now served.
func (s *Server) ArtifactETag() string { return s.state.Load().jsonETag }

// Client is the client code the edge serves.
func (s *Server) Client() string { return s.client }

// Seed is the seed of the latency and fault draws.
func (s *Server) Seed() uint64 { return s.seed }

// Notifications returns the notifications recorded so far, oldest first.
func (s *Server) Notifications() []NotificationRecord {
	records, _ := s.notes.snapshot()
	return records
}

// ResetNotifications forgets the recorded notifications.
func (s *Server) ResetNotifications() { s.notes.reset() }

// statusWriter remembers the status of an answer, the endpoint it was for,
// and the status label of a request that got no answer (reset, canceled).
type statusWriter struct {
	http.ResponseWriter
	status   int
	endpoint string
	label    string
}

// labelStatus sets the status label of a request that gets no answer.
func labelStatus(w http.ResponseWriter, label string) {
	if sw, ok := w.(*statusWriter); ok {
		sw.label = label
	}
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection (for Hijack).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Special values of the status label.
const (
	statusReset    = "reset"    // connection dropped by fault injection
	statusCanceled = "canceled" // the client went away during an injected wait
)

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w, endpoint: endpointOther}
	defer func() {
		if p := recover(); p != nil {
			if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				s.metrics.requests.WithLabelValues(sw.endpoint, statusReset).Inc()
				panic(p)
			}
			s.logger.Error("handler panic", zap.String("path", r.URL.Path), zap.Any("panic", p), zap.Stack("stack"))
			if sw.status == 0 {
				writeError(sw, http.StatusInternalServerError, "internal error")
			}
		}
		switch {
		case sw.label != "":
			s.metrics.requests.WithLabelValues(sw.endpoint, sw.label).Inc()
		case sw.status != 0:
			s.metrics.countRequest(sw.endpoint, sw.status)
		}
	}()
	if info := connInfoOf(r); info != nil {
		if info.reserved {
			s.serveReserved(sw, r)
			return
		}
		if r.ContentLength != 0 {
			// The body must arrive within the body timeout. net/http lifts
			// the deadline once a handler has read the body to its end (to
			// watch the connection while the handler runs: a deadline left
			// would end the request's context during a stall), and drains a
			// body no handler reads within it.
			info.setReadDeadline(sw, time.Now().Add(s.bodyTimeout))
		}
	}
	s.mux.ServeHTTP(sw, r)
}

// serveReserved answers a request on a connection accepted beyond the
// connection limit: /healthz and /metrics as usual, anything else 503 with
// Retry-After; the connection is closed afterwards, and its body, if any,
// is not read.
func (s *Server) serveReserved(w *statusWriter, r *http.Request) {
	w.Header().Set("Connection", "close")
	if r.ContentLength != 0 {
		// net/http would drain the unread body after the answer, keeping
		// the reserved connection for as long as a slow client takes.
		defer func() { connInfoOf(r).setReadDeadline(w, time.Now()) }()
	}
	switch r.URL.Path {
	case "/healthz", "/metrics":
		s.mux.ServeHTTP(w, r)
		return
	}
	w.endpoint = endpointOverLimit
	w.Header().Set("Retry-After", "1")
	writeError(w, http.StatusServiceUnavailable, "the edge is at its connection limit (%d connections): retry later", connInfoOf(r).limit)
}

// delayAnswer holds a request's answer back on purpose for delay, giving
// it the delay on top of the write timeout. It reports false, labelled
// canceled, when the request ended meanwhile: there is nothing to answer.
func (s *Server) delayAnswer(w http.ResponseWriter, r *http.Request, delay time.Duration) bool {
	if info := connInfoOf(r); delay > 0 && info != nil {
		info.setWriteDeadline(w, time.Now().Add(delay+s.writeTimeout))
	}
	if !sleep(r.Context(), delay) {
		labelStatus(w, statusCanceled)
		return false
	}
	return true
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	route := func(pattern, endpoint string, h func(http.ResponseWriter, *http.Request)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if sw, ok := w.(*statusWriter); ok {
				sw.endpoint = endpoint
			}
			h(w, r)
		})
	}
	route("/rest/v1/delivery", endpointDelivery, s.serveDelivery)
	for _, prefix := range []string{
		"/{client}/{environment}/rules/v1/", // targetflow's layout
		"/{client}/{environment}/v1/",       // the Target CDN's layout
		"/{client}/{environment}/v1/{property}/",
	} {
		route(prefix+"rules.json", endpointRulesJSON, func(w http.ResponseWriter, r *http.Request) {
			s.serveRules(w, r, endpointRulesJSON)
		})
		route(prefix+"rules.bin", endpointRulesBin, func(w http.ResponseWriter, r *http.Request) {
			s.serveRules(w, r, endpointRulesBin)
		})
	}
	route("/healthz", endpointHealth, s.serveHealth)
	route("/metrics", endpointMetrics, s.serveMetrics)
	route("/notifications", endpointNotifications, s.serveNotifications)
	route("/", endpointOther, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path)
	})
	return mux
}

func allowOnly(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	allow := strings.Join(methods, ", ")
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, "method %s is not allowed on %s: use %s", r.Method, r.URL.Path, allow)
	return false
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	if !allowOnly(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	writeJSON(w, map[string]string{
		"status":       "ok",
		"client":       s.client,
		"environment":  s.environment,
		"artifactETag": s.ArtifactETag(),
	})
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if !allowOnly(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	s.metrics.handler().ServeHTTP(w, r)
}

// notificationsPage is how many records a listing copies at a time.
const notificationsPage = 256

// serveNotifications lists (GET) or forgets (DELETE) the recorded
// notifications. A listing is streamed a page at a time, never built
// whole: ?type=, ?mbox= and ?view= filter it, ?after=SEQ starts it after
// that record, ?limit=N stops it after N records. The answer is
// {"notifications":[…],"forgotten":F,"next":SEQ,"more":B}: next is the
// after of the following page, more whether records remain after it.
func (s *Server) serveNotifications(w http.ResponseWriter, r *http.Request) {
	if !allowOnly(w, r, http.MethodGet, http.MethodDelete) {
		return
	}
	if r.Method == http.MethodDelete {
		s.notes.reset()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	q := r.URL.Query()
	typ, mbox, view := q.Get("type"), q.Get("mbox"), q.Get("view")
	var after uint64
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "query parameter after %q must be a record number (seq), 0 or more", v)
			return
		}
		after = n
	}
	limit := -1
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "query parameter limit %q must be a positive integer", v)
			return
		}
		limit = n
	}
	keep := func(rec *NotificationRecord) bool {
		return (typ == "" || string(rec.Type) == typ) && (mbox == "" || rec.Mbox == mbox) && (view == "" || rec.View == view)
	}
	// A listing ends with the records that had arrived when it began.
	until, _ := s.notes.state()
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	out := append(make([]byte, 0, 64<<10), `{"notifications":[`...)
	first, cursor, more := true, after, false
	var page []NotificationRecord
	for limit != 0 {
		size := notificationsPage
		if limit > 0 {
			size = min(size, limit)
		}
		page, cursor, more = s.notes.page(page[:0], cursor, until, size, keep)
		for i := range page {
			if !first {
				out = append(out, ',')
			}
			first = false
			rec, err := json.Marshal(&page[i])
			if err != nil { // a record is strings and numbers: cannot fail
				panic(fmt.Sprintf("edge: encoding a notification record: %v", err))
			}
			out = append(out, rec...)
			if len(out) >= 32<<10 {
				if _, err := w.Write(out); err != nil {
					return // the client went away, or the write timeout passed
				}
				out = out[:0]
			}
		}
		clear(page) // the page's strings are not kept past it
		if limit > 0 {
			limit -= len(page)
		}
		if !more {
			break
		}
	}
	_, forgotten := s.notes.state()
	out = fmt.Appendf(out, `],"forgotten":%d,"next":%d,"more":%t}`, forgotten, cursor, more)
	_, _ = w.Write(out)
}

// Start serves the edge on addr (host:port; an empty host means loopback,
// an empty addr "127.0.0.1:0") until ctx ends, then shuts down gracefully:
// in-flight requests get the shutdown timeout to finish. It returns the bound
// address at once; Wait blocks until the server has stopped.
func (s *Server) Start(ctx context.Context, addr string) (string, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("edge: address %q: %w", addr, err)
	}
	if host == "" {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("edge: listening on %s: %w", addr, err)
	}
	limit := s.serve(ctx, ln)
	bound := ln.Addr().String()
	s.logger.Info("edge listening", zap.String("addr", bound), zap.Int("maxConnections", limit),
		zap.Duration("headerTimeout", s.headerTimeout), zap.Duration("bodyTimeout", s.bodyTimeout),
		zap.Duration("writeTimeout", s.writeTimeout), zap.Duration("idleTimeout", s.idleTimeout))
	return bound, nil
}

// serve serves on ln in owned goroutines until ctx ends or serving fails,
// then shuts down; Wait waits for them. At most the connection limit is
// served at once (see WithMaxConnections), within the timeouts.
func (s *Server) serve(ctx context.Context, ln net.Listener) (limit int) {
	var handler http.Handler = s
	if s.middleware != nil {
		handler = s.middleware(s)
	}
	limited := newConnLimiter(ln, connectionLimit(s.maxConnections), ReservedConnections, ReservedConnectionLifetime, s.metrics)
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: s.headerTimeout,
		// No ReadTimeout: the body timeout is set by ServeHTTP once the
		// headers are in, and lifted once a body is read, so that a long
		// answer on purpose is not cut short.
		WriteTimeout: s.writeTimeout,
		IdleTimeout:  s.idleTimeout,
		ConnContext:  limited.connContext,
		ErrorLog:     zap.NewStdLog(s.logger.Named("http")),
	}
	served := make(chan struct{})
	s.servers.Add(2)
	go func() {
		defer s.servers.Done()
		defer close(served)
		if err := srv.Serve(limited); !errors.Is(err, http.ErrServerClosed) {
			s.recordError(fmt.Errorf("edge: serving on %s: %w", ln.Addr(), err))
		}
	}()
	go func() {
		defer s.servers.Done()
		select {
		case <-ctx.Done():
		case <-served:
		}
		shutdownCtx, cancel := context.WithTimeout(context.Background(), s.shutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(shutdownCtx); err != nil {
			s.logger.Warn("in-flight requests cut short at shutdown", zap.Error(err))
			_ = srv.Close()
		}
	}()
	return cap(limited.regular)
}

// Wait blocks until every server started by Start has stopped, and returns
// what made any of them stop other than its context. A server stops on its
// own when serving fails (its listener breaks); Wait then returns without
// the context ending.
func (s *Server) Wait() error {
	s.servers.Wait()
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return errors.Join(s.errs...)
}

func (s *Server) recordError(err error) {
	s.errMu.Lock()
	s.errs = append(s.errs, err)
	s.errMu.Unlock()
}
