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
	handlers map[EventType][]EventHandler
	logger   *zap.Logger

	mu      sync.Mutex
	queue   []Event
	running bool
	closed  bool
	wg      sync.WaitGroup
}

func newEventDispatcher(handlers map[EventType][]EventHandler, logger *zap.Logger) *eventDispatcher {
	return &eventDispatcher{handlers: handlers, logger: logger}
}

// emit queues ev for its handlers. After close it is dropped.
func (d *eventDispatcher) emit(ev Event) {
	if len(d.handlers[ev.Type]) == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
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
		d.mu.Unlock()
		for _, handle := range d.handlers[ev.Type] {
			d.call(handle, ev)
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
