package target

import (
	"sync"

	"go.uber.org/zap"
)

// EventType names a client lifecycle event, with the official SDKs' names.
type EventType string

// Event types.
const (
	// EventClientReady is emitted once after New, when the client can serve
	// its configured decisioning method.
	EventClientReady EventType = "clientReady"
)

// Event is what an event handler receives.
type Event struct {
	Type EventType
	// Err is set for events that report a failure.
	Err error
}

// EventHandler handles one event. Handlers run one at a time, in the order
// the events were emitted, on a goroutine owned by the client (Close waits
// for it); a handler that blocks delays later events but never a call.
type EventHandler func(Event)

// eventDispatcher delivers events to handlers in emission order. It runs a
// goroutine only while events are queued, so an idle client holds none.
type eventDispatcher struct {
	handlers map[EventType][]EventHandler // WithEventHandler's, fixed at New
	logger   *zap.Logger

	mu sync.Mutex
	// subscribed are Subscribe's handlers; each slice is replaced, never
	// changed, so drain may use one it read under mu.
	subscribed map[EventType][]*subscription
	queue      []Event
	running    bool
	closed     bool
	wg         sync.WaitGroup
}

func newEventDispatcher(handlers map[EventType][]EventHandler, logger *zap.Logger) *eventDispatcher {
	return &eventDispatcher{handlers: handlers, logger: logger}
}

// subscription is one handler added by Subscribe.
type subscription struct{ handle EventHandler }

// Subscribe adds handler for the events of type t emitted from now on, as
// WithEventHandler does at New, and returns the function that removes it.
// It is for code given a client made elsewhere (the featureflags
// provider, say). Subscribed handlers run after WithEventHandler's, in the
// order they subscribed, on the same goroutine.
func (c *Client) Subscribe(t EventType, handler EventHandler) (unsubscribe func()) {
	if handler == nil {
		return func() {}
	}
	d := c.events
	sub := &subscription{handle: handler}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.subscribed == nil {
		d.subscribed = map[EventType][]*subscription{}
	}
	d.subscribed[t] = append(d.subscribed[t][:len(d.subscribed[t]):len(d.subscribed[t])], sub)
	return func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		kept := make([]*subscription, 0, len(d.subscribed[t]))
		for _, s := range d.subscribed[t] {
			if s != sub {
				kept = append(kept, s)
			}
		}
		d.subscribed[t] = kept
	}
}

// emit queues ev for its handlers. After close it is dropped.
func (d *eventDispatcher) emit(ev Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.handlers[ev.Type]) == 0 && len(d.subscribed[ev.Type]) == 0 {
		return
	}
	if d.closed {
		d.logger.Debug("event dropped: client closed", zap.String("event", string(ev.Type)))
		return
	}
	d.queue = append(d.queue, ev)
	if d.running {
		return
	}
	d.running = true
	d.wg.Add(1)
	go d.drain()
}

func (d *eventDispatcher) drain() {
	defer d.wg.Done()
	for {
		d.mu.Lock()
		if len(d.queue) == 0 {
			d.running = false
			d.mu.Unlock()
			return
		}
		ev := d.queue[0]
		d.queue = d.queue[1:]
		subscribed := d.subscribed[ev.Type]
		d.mu.Unlock()
		for _, handle := range d.handlers[ev.Type] {
			d.call(handle, ev)
		}
		for _, sub := range subscribed {
			d.call(sub.handle, ev)
		}
	}
}

// call runs one handler; a panicking handler is logged and does not stop
// the others.
func (d *eventDispatcher) call(handle EventHandler, ev Event) {
	defer func() {
		if r := recover(); r != nil {
			d.logger.Error("event handler panicked", zap.String("event", string(ev.Type)), zap.Any("panic", r))
		}
	}()
	handle(ev)
}

// close stops accepting events and waits for queued ones to be handled.
func (d *eventDispatcher) close() {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.wg.Wait()
}
