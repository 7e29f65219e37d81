package edge

import (
	"bytes"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/targetflow/targetflow/delivery"
)

// Endpoints a control function sees (Request.Endpoint).
const (
	// EndpointDelivery is POST /rest/v1/delivery.
	EndpointDelivery = endpointDelivery
	// EndpointRulesJSON is GET of an artifact's rules.json.
	EndpointRulesJSON = endpointRulesJSON
	// EndpointRulesBin is GET of an artifact's rules.bin.
	EndpointRulesBin = endpointRulesBin
)

// Request is what a control function sees of one request, before the edge
// answers it. It is the function's own: the edge does not change it.
type Request struct {
	// Endpoint is EndpointDelivery, EndpointRulesJSON or EndpointRulesBin.
	Endpoint string
	// HTTP is the request as the edge received it (method, URL, Host,
	// headers); its body has been read into Body. Read it only.
	HTTP *http.Request
	// Body is the body of a delivery call, as sent.
	Body []byte
	// Delivery is Body decoded by delivery.DecodeRequest, nil when it is
	// not a valid request (the edge answers those 400 unless a control
	// function answers first).
	Delivery *delivery.DeliveryRequest
}

// Answer is what a control function has the edge do with a request it
// handles. The zero Answer (or one with only a Delay) is the edge's own
// answer.
type Answer struct {
	// Status is the status to answer (200 when only Body is set).
	Status int
	// Body is the body to answer as is. With a Status of 400 or more and no
	// Body, the edge writes its own error body for the status,
	// {"status":N,"message":"scripted answer: ..."}.
	Body []byte
	// Header is added to the answer's headers (Retry-After, Content-Type
	// ...). A Body is sent as application/json unless Header says otherwise.
	Header http.Header
	// Delay is waited before answering (or resetting); the client going
	// away ends it.
	Delay time.Duration
	// Reset closes the connection without an answer (a TCP reset).
	Reset bool
}

// scripted reports whether a replaces the edge's own answer.
func (a *Answer) scripted() bool { return a.Reset || a.Status != 0 || a.Body != nil }

// A ControlFunc looks at a request before the edge answers it. When it
// handles the request (true), the edge answers as Answer says; otherwise
// the next control function, and then the edge itself, answer it.
type ControlFunc func(*Request) (Answer, bool)

// controls are the control functions of a Server, in the order they were
// added. They run one at a time: run is held while one runs.
type controls struct {
	run     sync.Mutex
	current *control // the one running, under run

	mu    sync.Mutex // guards list
	list  []*control
	count atomic.Int32 // len(list), read without a lock on the hot path
}

type control struct {
	fn         ControlFunc
	keep, drop bool
}

// Control adds fn to the functions that see each delivery call and
// artifact download before the edge answers it: a test scripts single
// answers (a status, a body, a delay, a reset) for the requests fn
// matches, as kfake's ControlKey scripts a Kafka broker's. A function that
// handles a request is dropped afterwards, so that it scripts one answer,
// unless it calls KeepControl; one that handles nothing stays (it may
// observe every request) until it calls DropControl; one that panics is
// dropped (its request is answered 500). Functions run one at
// a time, in the order they were added, and may add others. With none,
// the edge answers as it would without the hook.
func (s *Server) Control(fn ControlFunc) {
	c := &s.controls
	c.mu.Lock()
	defer c.mu.Unlock()
	c.list = append(c.list, &control{fn: fn})
	c.count.Store(int32(len(c.list)))
}

// KeepControl, called by a control function while it runs, keeps it after
// it handles the request: it goes on handling the requests it matches.
func (s *Server) KeepControl() {
	if cur := s.controls.current; cur != nil {
		cur.keep = true
	}
}

// DropControl, called by a control function while it runs, drops it
// whether it handles the request or not (it wins over KeepControl).
func (s *Server) DropControl() {
	if cur := s.controls.current; cur != nil {
		cur.drop = true
	}
}

// SleepControl, called by a control function while it runs, lets the
// control functions of other requests run until wakeup returns, and then
// goes on: a function waits (on a channel the test closes, say) without
// holding up the requests it does not handle.
func (s *Server) SleepControl(wakeup func()) {
	c := &s.controls
	cur := c.current
	c.current = nil
	c.run.Unlock()
	defer func() {
		c.run.Lock()
		c.current = cur
	}()
	wakeup()
}

// control runs the control functions on a request and returns the answer
// of the first that handles it.
func (s *Server) control(endpoint string, r *http.Request, body []byte, req *delivery.DeliveryRequest) (Answer, bool) {
	c := &s.controls
	if c.count.Load() == 0 {
		return Answer{}, false
	}
	seen := &Request{Endpoint: endpoint, HTTP: r, Body: bytes.Clone(body)}
	if req != nil {
		seen.Delivery = req.Clone()
	}
	c.run.Lock()
	defer c.run.Unlock()
	c.mu.Lock()
	list := slices.Clone(c.list)
	c.mu.Unlock()
	for _, ctl := range list {
		answer, handled := c.call(ctl, seen)
		if ctl.drop || (handled && !ctl.keep) {
			c.remove(ctl)
		}
		if handled {
			return answer, true
		}
	}
	return Answer{}, false
}

// call runs one control function as the current one. A function that
// panics is dropped; the panic goes on to ServeHTTP, which answers 500.
func (c *controls) call(ctl *control, r *Request) (Answer, bool) {
	ctl.keep, ctl.drop = false, false
	c.current = ctl
	defer func() {
		c.current = nil
		if p := recover(); p != nil {
			c.remove(ctl)
			panic(p)
		}
	}()
	return ctl.fn(r)
}

func (c *controls) remove(ctl *control) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i := slices.Index(c.list, ctl); i >= 0 {
		c.list = slices.Delete(c.list, i, i+1)
	}
	c.count.Store(int32(len(c.list)))
}

// answerAs carries out a control function's answer; it reports whether
// the request is answered (false: the edge answers it itself).
func (s *Server) answerAs(w http.ResponseWriter, r *http.Request, a Answer) bool {
	if !s.delayAnswer(w, r, a.Delay) {
		return true
	}
	switch {
	case a.Reset:
		labelStatus(w, statusReset)
		dropConnection(w)
		return true
	case !a.scripted():
		return false
	}
	h := w.Header()
	for name, values := range a.Header {
		h[name] = append(h[name], values...)
	}
	status := a.Status
	if status == 0 {
		status = http.StatusOK
	}
	if a.Body == nil && status >= 400 {
		writeError(w, status, "scripted answer: %s", http.StatusText(status))
		return true
	}
	if a.Body != nil && h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json;charset=UTF-8")
	}
	w.WriteHeader(status)
	_, _ = w.Write(a.Body)
	return true
}
