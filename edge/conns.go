package edge

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/targetflow/targetflow/internal/rlimit"
)

// connLimiter is the listener of Start's server: it serves at most limit
// connections at once, accepts up to ReservedConnections more for a short
// lifetime (on them only /healthz and /metrics are answered, see
// ServeHTTP), and closes any beyond those as soon as it accepts them.
// Closing at once, rather than leaving them in the kernel's backlog as
// netutil.LimitListener does, keeps the backlog short, so that a health
// check arriving while slow clients hold every connection finds a reserved
// one free instead of queueing behind them.
type connLimiter struct {
	net.Listener
	regular  chan struct{} // one token per connection served
	reserve  chan struct{} // one token per reserved connection
	lifetime time.Duration
	metrics  *metrics
}

func newConnLimiter(ln net.Listener, limit, reserved int, lifetime time.Duration, m *metrics) *connLimiter {
	return &connLimiter{
		Listener: ln,
		regular:  make(chan struct{}, limit),
		reserve:  make(chan struct{}, reserved),
		lifetime: lifetime,
		metrics:  m,
	}
}

// Accept returns the next connection there is room for.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.regular <- struct{}{}:
			l.metrics.connections.WithLabelValues(connRegular).Inc()
			return &limitedConn{Conn: c, slots: l.regular, gauge: l.metrics.connections.WithLabelValues(connRegular)}, nil
		default:
		}
		select {
		case l.reserve <- struct{}{}:
			hard := time.Now().Add(l.lifetime)
			_ = c.SetDeadline(hard)
			l.metrics.connections.WithLabelValues(connReserved).Inc()
			return &limitedConn{Conn: c, slots: l.reserve, gauge: l.metrics.connections.WithLabelValues(connReserved),
				reserved: true, hard: hard}, nil
		default:
		}
		l.metrics.refused.Inc()
		_ = c.Close()
	}
}

// Labels of the connections gauge.
const (
	connRegular  = "regular"
	connReserved = "reserved"
)

// limitedConn is a connection holding a slot of a connLimiter, given back
// when it closes. A reserved one keeps its hard deadline: net/http's own
// deadlines may shorten it, never lengthen it.
type limitedConn struct {
	net.Conn
	slots    chan struct{}
	gauge    prometheus.Gauge
	reserved bool
	hard     time.Time
	once     sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		<-c.slots
		c.gauge.Dec()
	})
	return err
}

// clamp keeps a deadline within the hard one of a reserved connection;
// the zero time (no deadline) becomes the hard one.
func (c *limitedConn) clamp(t time.Time) time.Time {
	if c.reserved && (t.IsZero() || t.After(c.hard)) {
		return c.hard
	}
	return t
}

func (c *limitedConn) SetDeadline(t time.Time) error      { return c.Conn.SetDeadline(c.clamp(t)) }
func (c *limitedConn) SetReadDeadline(t time.Time) error  { return c.Conn.SetReadDeadline(c.clamp(t)) }
func (c *limitedConn) SetWriteDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(c.clamp(t)) }

// CloseWrite lets net/http half-close the connection, as it does a TCP one.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// SetLinger lets dropConnection reset the connection, as a TCP one.
func (c *limitedConn) SetLinger(sec int) error {
	if l, ok := c.Conn.(interface{ SetLinger(int) error }); ok {
		return l.SetLinger(sec)
	}
	return nil
}

// connInfo is what ServeHTTP knows of a connection of Start's server; a
// request without one came from someone else's server (the edge used as a
// plain http.Handler), whose deadlines are left alone.
type connInfo struct {
	reserved bool
	limit    int          // the connection limit
	conn     *limitedConn // the connection, whose deadlines the edge sets itself
}

// setReadDeadline and setWriteDeadline set the connection's deadlines on
// the connection itself, not through the ResponseWriter: a middleware's
// writer that does not unwrap (WithMiddleware) would make an
// http.ResponseController's calls fail, silently leaving a slow body, or
// an answer delayed on purpose, without its deadline.
func (i *connInfo) setReadDeadline(w http.ResponseWriter, t time.Time) {
	if i.conn != nil {
		_ = i.conn.SetReadDeadline(t)
		return
	}
	_ = http.NewResponseController(w).SetReadDeadline(t)
}

func (i *connInfo) setWriteDeadline(w http.ResponseWriter, t time.Time) {
	if i.conn != nil {
		_ = i.conn.SetWriteDeadline(t)
		return
	}
	_ = http.NewResponseController(w).SetWriteDeadline(t)
}

type connInfoKey struct{}

// connContext is the ConnContext of Start's server.
func (l *connLimiter) connContext(ctx context.Context, c net.Conn) context.Context {
	lc, _ := c.(*limitedConn)
	return context.WithValue(ctx, connInfoKey{}, &connInfo{reserved: lc != nil && lc.reserved, limit: cap(l.regular), conn: lc})
}

// connInfoOf returns the connInfo of r, nil when r did not come through
// Start's server.
func connInfoOf(r *http.Request) *connInfo {
	info, _ := r.Context().Value(connInfoKey{}).(*connInfo)
	return info
}

// connectionLimit is the limit of served connections: the configured one,
// else the automatic one for the process's limit of open files.
func connectionLimit(configured int) int {
	if configured > 0 {
		return configured
	}
	soft, ok := rlimit.OpenFiles()
	return automaticConnectionLimit(soft, ok)
}

// automaticConnectionLimit is DefaultMaxConnections, lowered so that the
// served and reserved connections together take at most three quarters of
// a limit of soft open files (the rest for the listener, logs, artifacts
// and, embedded in a program, that program's own files and connections).
func automaticConnectionLimit(soft uint64, known bool) int {
	limit := uint64(DefaultMaxConnections)
	if known {
		if room := soft * 3 / 4; room < limit+ReservedConnections {
			limit = 1
			if room > ReservedConnections+1 {
				limit = room - ReservedConnections
			}
		}
	}
	return int(limit)
}
