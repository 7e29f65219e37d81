package edge

import (
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/targetflow/targetflow/delivery"
)

// serveDelivery answers POST /rest/v1/delivery.
func (s *Server) serveDelivery(w http.ResponseWriter, r *http.Request) {
	if allowCrossOrigin(w, r) {
		return
	}
	if !allowOnly(w, r, http.MethodPost) {
		return
	}
	ctx := r.Context()
	s.metrics.inFlight.Inc()
	defer s.metrics.inFlight.Dec()
	// The body is read before any injected wait: net/http only notices a
	// client that goes away once the body has been consumed.
	buf := s.bodyBuffer()
	defer s.recycleBody(buf)
	body, err := s.readBody(r, buf)
	if err != nil {
		s.bodyFailed(w, err)
		return
	}

	// The one decoder and validator of a request: the edge's verdict and
	// message are the engine's, decide's and the client's. A bad body is
	// answered after the control functions and the injected faults.
	req, decodeErr := delivery.DecodeRequest(body)
	if answer, handled := s.control(EndpointDelivery, r, body, req); handled && s.answerAs(w, r, answer) {
		return
	}

	if s.injector.active() {
		fate := s.injector.draw()
		if fate.fault != FaultNone {
			s.metrics.faults.WithLabelValues(string(fate.fault)).Inc()
		}
		if !s.delayAnswer(w, r, fate.delay) {
			return
		}
		switch fate.fault {
		case FaultError:
			w.Header().Set("Retry-After", s.injector.faults.retryAfterSeconds())
			writeError(w, http.StatusServiceUnavailable, "service unavailable (injected fault)")
			return
		case FaultThrottle:
			w.Header().Set("Retry-After", s.injector.faults.retryAfterSeconds())
			writeError(w, http.StatusTooManyRequests, "too many requests (injected fault)")
			return
		case FaultReset:
			labelStatus(w, statusReset)
			dropConnection(w)
			return
		}
	}

	query := r.URL.Query()
	for _, name := range []string{"imsOrgId", "sessionId"} {
		if strings.TrimSpace(query.Get(name)) == "" {
			writeError(w, http.StatusBadRequest, "query parameter %s is required", name)
			return
		}
	}
	sessionID := query.Get("sessionId")
	if decodeErr != nil {
		writeError(w, http.StatusBadRequest, "%v", decodeErr)
		return
	}

	// A visitor the engine would not allocate by a lasting id gets its
	// tntId now, so that the decisions are allocated for the id the
	// response hands back and the visitor keeps its experiences on return.
	if !allocatedByOwnID(req.ID) {
		if req.ID == nil {
			req.ID = &delivery.VisitorID{}
		}
		req.ID.TntID = s.mintTntID()
	}
	if req.RequestID == "" {
		req.RequestID = newUUID().String()
	}
	now := time.Now()
	if records := recordsOf(req, sessionID, req.ID.TntID, now); len(records) > 0 {
		s.notes.add(records)
		for _, rec := range records {
			s.metrics.notifications.WithLabelValues(string(rec.Type)).Inc()
		}
	}
	if req.Context.Beacon {
		w.WriteHeader(http.StatusNoContent)
		return
	}

	state := s.state.Load()
	started := time.Now()
	resp, err := state.engine.decide(ctx, req, sessionID)
	s.metrics.decision.Observe(time.Since(started).Seconds())
	if err != nil {
		var bad *badRequestError
		if errors.As(err, &bad) {
			writeError(w, http.StatusBadRequest, "%v", bad)
			return
		}
		if ctx.Err() != nil {
			labelStatus(w, statusCanceled)
			return
		}
		s.logger.Error("decision failed", zap.Error(err), zap.String("sessionId", sessionID))
		writeError(w, http.StatusInternalServerError, "deciding the request failed: %v", err)
		return
	}
	resp = s.completeResponse(resp, req, state.globalMbox)
	if ce := s.logger.Check(zap.DebugLevel, "delivery"); ce != nil {
		ce.Write(zap.String("sessionId", sessionID), zap.String("requestId", resp.RequestID),
			zap.String("tntId", resp.ID.TntID), zap.Int("notifications", len(req.Notifications)),
			zap.Duration("decision", time.Since(started)))
	}
	s.writeDeliveryResponse(w, resp)
}

// maxRecycledBody is the largest body buffer kept for another request: a
// rare huge request should not keep its memory alive.
const maxRecycledBody = 64 << 10

// bodyBuffer returns a recycled buffer to read a request body into.
func (s *Server) bodyBuffer() *[]byte {
	if buf, ok := s.bodyBuffers.Get().(*[]byte); ok {
		return buf
	}
	return new([]byte)
}

// recycleBody gives buf back once nothing refers to the body read into it
// (the decoders copy what they keep).
func (s *Server) recycleBody(buf *[]byte) {
	if cap(*buf) <= maxRecycledBody {
		s.bodyBuffers.Put(buf)
	}
}

// readBody reads the body of r into buf, sized from the Content-Length when
// there is one, instead of growing a new slice from 512 bytes each time. A
// body larger than the edge's limit is an *http.MaxBytesError, as
// http.MaxBytesReader reports it: at once, without reading it, when its
// Content-Length says so; a body of exactly the limit is accepted, with a
// Content-Length or chunked.
func (s *Server) readBody(r *http.Request, buf *[]byte) ([]byte, error) {
	if r.ContentLength > s.maxBodyBytes {
		return nil, &http.MaxBytesError{Limit: s.maxBodyBytes}
	}
	limit := s.maxBodyBytes + 1 // one byte more tells a body that is too large
	size := limit
	if r.ContentLength >= 0 {
		size = r.ContentLength + 1 // room for the read that ends with io.EOF
	}
	b := (*buf)[:0]
	if int64(cap(b)) < size && size < limit {
		b = make([]byte, 0, size) // recycled only when small enough
	}
	defer func() { *buf = b }()
	for int64(len(b)) < limit {
		if len(b) == cap(b) {
			b = slices.Grow(b, 512)
		}
		room := b[len(b):cap(b)]
		if left := limit - int64(len(b)); int64(len(room)) > left {
			room = room[:left]
		}
		n, err := r.Body.Read(room)
		b = b[:len(b)+n]
		if int64(len(b)) > s.maxBodyBytes {
			// net/http may give the last bytes of a body together with
			// io.EOF: the length decides, not the error.
			break
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
	return b, &http.MaxBytesError{Limit: s.maxBodyBytes}
}

// bodyFailed answers a request whose body could not be read: 413 over the
// limit, 408 when the body timeout passed, 400 otherwise. The connection is
// closed after the answer: what is left of the body is not read.
func (s *Server) bodyFailed(w http.ResponseWriter, err error) {
	w.Header().Set("Connection", "close")
	var tooLarge *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", tooLarge.Limit)
	case errors.As(err, &netErr) && netErr.Timeout():
		writeError(w, http.StatusRequestTimeout, "the request body did not arrive within %s", s.bodyTimeout)
	default:
		writeError(w, http.StatusBadRequest, "reading the request body: %v", err)
	}
}

// writeDeliveryResponse writes resp with the engine's reflection-free
// encoder (the same JSON as encoding/json, several times faster: encoding
// was a third of the edge's CPU per answer), into a recycled buffer.
func (s *Server) writeDeliveryResponse(w http.ResponseWriter, resp *delivery.DeliveryResponse) {
	buf, _ := s.responseBuffers.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	body := delivery.AppendResponseJSON((*buf)[:0], resp)
	// One shared, full value: set without allocating a new one per answer;
	// net/http and httptest never write into header values.
	w.Header()["Content-Type"] = s.jsonContentType
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	if cap(body) <= 1<<20 { // keep no giant buffer alive
		*buf = body
		s.responseBuffers.Put(buf)
	}
}

// allowCrossOrigin lets browser pages on other origins call the edge, as
// at.js calls the real one: the Origin is echoed with credentials allowed,
// and a preflight (OPTIONS) is answered 204. It reports whether the request
// was a preflight, which needs nothing more.
func allowCrossOrigin(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Add("Vary", "Origin")
	if r.Method != http.MethodOptions {
		return false
	}
	h.Set("Access-Control-Allow-Methods", "POST")
	h.Set("Access-Control-Allow-Headers", "Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// completeResponse fills in what the edge, not the engine, answers: status,
// ids, client, edge host and the notification receipts.
func (s *Server) completeResponse(decided *delivery.DeliveryResponse, req *delivery.DeliveryRequest, globalMbox string) *delivery.DeliveryResponse {
	resp := *decided // the engine's response is not ours to change
	resp.Status = http.StatusOK
	resp.RequestID = req.RequestID
	resp.Client = s.client
	// The request is the edge's own, decoded for this call and left alone
	// from now on: the answer shares its ids unless it needs a new tntId.
	resp.ID = req.ID
	if resp.ID.TntID == "" {
		resp.ID = req.ID.Clone()
		resp.ID.TntID = s.mintTntID()
	}
	resp.EdgeHost = ""
	if s.clusterRouting {
		resp.EdgeHost = s.edgeHost(s.clusterOf(resp.ID.TntID))
	}
	resp.Notifications = nil
	if len(req.Notifications) > 0 {
		resp.Notifications = make([]delivery.NotificationResponse, len(req.Notifications))
		for i, n := range req.Notifications {
			resp.Notifications[i] = delivery.NotificationResponse{ID: n.ID}
		}
	}
	s.countOffers(&resp, globalMbox)
	return &resp
}

// edgeHost is the host name of an edge cluster; this edge's own is made
// once, in New.
func (s *Server) edgeHost(cluster int) string {
	if cluster == s.cluster {
		return s.ownEdgeHost
	}
	return "mboxedge" + strconv.Itoa(cluster) + ".tt.omtrdc.net"
}

// countOffers counts the answered offers by location, activity and
// experience (from their response tokens, when the artifact gives them).
func (s *Server) countOffers(resp *delivery.DeliveryResponse, globalMbox string) {
	if globalMbox == "" {
		globalMbox = delivery.GlobalMbox
	}
	count := func(location string, options []delivery.Option) {
		for _, o := range options {
			activity, ok := o.ResponseTokens["activity.id"]
			if !ok {
				continue
			}
			s.metrics.countOffer(location, activity, o.ResponseTokens["experience.id"])
		}
	}
	for _, section := range []struct {
		pageLoad *delivery.PageLoadResponse
		mboxes   []delivery.MboxResponse
	}{
		{pageLoadOf(resp.Execute), mboxesOf(resp.Execute)},
		{prefetchPageLoad(resp.Prefetch), prefetchMboxes(resp.Prefetch)},
	} {
		if section.pageLoad != nil {
			count(globalMbox, section.pageLoad.Options)
		}
		for _, m := range section.mboxes {
			count(m.Name, m.Options)
		}
	}
	if resp.Prefetch != nil {
		for _, v := range resp.Prefetch.Views {
			count(v.Name, v.Options)
		}
	}
}

func pageLoadOf(e *delivery.ExecuteResponse) *delivery.PageLoadResponse {
	if e == nil {
		return nil
	}
	return e.PageLoad
}

func mboxesOf(e *delivery.ExecuteResponse) []delivery.MboxResponse {
	if e == nil {
		return nil
	}
	return e.Mboxes
}

func prefetchPageLoad(p *delivery.PrefetchResponse) *delivery.PageLoadResponse {
	if p == nil {
		return nil
	}
	return p.PageLoad
}

func prefetchMboxes(p *delivery.PrefetchResponse) []delivery.MboxResponse {
	if p == nil {
		return nil
	}
	return p.Mboxes
}

// allocatedByOwnID reports whether the engine allocates the visitor by an
// id the visitor brought (a marketingCloudVisitorId, a tntId or a
// thirdPartyId, as every SDK does). Any other visitor (no id, or customer
// ids only) would be allocated by a random id, different from the tntId
// minted into the answer: it gets that tntId before deciding instead.
func allocatedByOwnID(id *delivery.VisitorID) bool {
	return id != nil && (id.TntID != "" || id.MarketingCloudVisitorID != "" || id.ThirdPartyID != "")
}

// mintTntID returns a new tntId: 32 hex digits, then, with cluster
// routing, this edge's location hint (".", the cluster, "_0").
func (s *Server) mintTntID() string {
	id := newUUID()
	var text [64]byte
	b := hex.AppendEncode(text[:0], id[:])
	if s.clusterRouting {
		b = append(b, s.tntIDSuffix...)
	}
	return string(b)
}

// newUUID returns a random (version 4) UUID, as uuid.New does, but on the
// stack: uuid.New reads through an io.Reader, which moves it to the heap.
func newUUID() uuid.UUID {
	var id uuid.UUID
	_, _ = crand.Read(id[:])  // never fails: crypto/rand crashes the program instead
	id[6] = id[6]&0x0f | 0x40 // version 4
	id[8] = id[8]&0x3f | 0x80 // RFC 4122 variant
	return id
}

// clusterOf reads the cluster of a tntId's location hint ("….35_0" → 35),
// or this edge's own cluster when it has none.
func (s *Server) clusterOf(tntID string) int {
	_, hint, ok := strings.Cut(tntID, ".")
	if !ok {
		return s.cluster
	}
	number, _, _ := strings.Cut(hint, "_")
	n, err := strconv.Atoi(number)
	if err != nil || n <= 0 || n > 999 {
		return s.cluster
	}
	return n
}

// dropConnection closes the client's connection without an answer: with a
// TCP reset when the connection can be taken over, else by aborting the
// handler (which net/http turns into a closed connection).
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(interface{ SetLinger(int) error }); ok {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}
