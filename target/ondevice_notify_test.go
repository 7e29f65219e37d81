package target

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
)

// The background notification sends of on-device decisions are bounded:
// with every slot busy, GetOffers waits, and a caller whose context ends
// while waiting gets its answer without the notification being sent.
func TestOnDeviceNotificationSendsAreBounded(t *testing.T) {
	e := newTestEdge(t)
	release := make(chan struct{})
	var releaseOnce sync.Once
	releaseAll := func() { releaseOnce.Do(func() { close(release) }) }
	defer releaseAll() // a failed test must not leave the edge's handlers holding the client's Close
	var inFlight, maxInFlight atomic.Int64
	arrived := make(chan struct{}, 16)
	e.control(func(r *edge.Request) (edge.Answer, bool) {
		e.srv.KeepControl()
		n := inFlight.Add(1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		arrived <- struct{}{}
		e.srv.SleepControl(func() { // the other sends get here meanwhile
			select {
			case <-release:
			case <-r.HTTP.Context().Done():
			}
		})
		inFlight.Add(-1)
		return body(200, `{"status":200}`), true
	})
	var events atomic.Int64
	c := onDeviceClient(t, e, delivery.DecisioningOnDevice,
		WithNotificationConcurrency(2), WithTelemetry(false),
		WithEventHandler(EventSendNotificationError, func(Event) { events.Add(1) }))

	getOffers := func(ctx context.Context) error {
		req := executeMboxes(demo.MboxHero)
		req.Context = &delivery.Context{Channel: delivery.ChannelWeb}
		_, err := c.GetOffers(ctx, GetOffersOptions{Request: req})
		return err
	}
	// Two calls take both slots; their sends are held by the edge.
	for range 2 {
		if err := getOffers(context.Background()); err != nil {
			t.Fatal(err)
		}
		<-arrived
	}
	// A third call must wait for a slot: it cannot return while both are held.
	third := make(chan error, 1)
	go func() { third <- getOffers(context.Background()) }()
	// A fourth whose context ends while it waits returns its answer unsent
	// (or, if the context ended before it was decided, the context's error).
	ctx, cancel := context.WithCancel(context.Background())
	fourth := make(chan error, 1)
	go func() { fourth <- getOffers(ctx) }()
	select {
	case err := <-third:
		t.Fatalf("third GetOffers returned (%v) while every notification slot was busy", err)
	default:
	}
	cancel()
	if err := <-fourth; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("fourth GetOffers = %v; want its answer, or context.Canceled", err)
	}
	releaseAll()
	if err := <-third; err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := maxInFlight.Load(); got > 2 {
		t.Errorf("%d notification sends in flight at once; want at most 2", got)
	}
	// The fourth call either sent its notification (it got a slot before its
	// context ended), gave it up with an event, or was never decided.
	calls, gaveUp := int64(len(e.recorded())), events.Load()
	if calls < 3 || calls > 4 || (calls-3)+gaveUp > 1 {
		t.Errorf("edge received %d notification calls with %d given up; want 3 plus at most one of the fourth's outcomes", calls, gaveUp)
	}
}

// WithOnDeviceNotifications(false) hands the notifications to the caller and
// sends nothing.
func TestOnDeviceNotificationsLeftToCaller(t *testing.T) {
	e := newTestEdge(t)
	c := onDeviceClient(t, e, delivery.DecisioningOnDevice, WithOnDeviceNotifications(false))
	req := executeMboxes(demo.MboxHero, demo.MboxCart)
	req.Context = &delivery.Context{Channel: delivery.ChannelWeb}
	resp, err := c.GetOffers(context.Background(), GetOffersOptions{Request: req})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(e.recorded()); n != 0 {
		t.Errorf("the client sent %d calls; want none", n)
	}
	if len(resp.Notifications) != 2 {
		t.Fatalf("Response.Notifications = %+v; want the 2 display notifications", resp.Notifications)
	}
	for i, n := range resp.Notifications {
		if n.Type != delivery.MetricDisplay || n.Mbox == nil || n.Mbox.Name != resp.Response.Execute.Mboxes[i].Name || len(n.Tokens) == 0 {
			t.Errorf("notification %d = %+v", i, n)
		}
	}
}

func TestNotificationConcurrencyMustBePositive(t *testing.T) {
	t.Parallel()
	_, err := New(WithClient("c"), WithOrganizationID("o@AdobeOrg"), WithNotificationConcurrency(0))
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != "notificationConcurrency" || ce.Value != "0" {
		t.Fatalf("New = %v; want a *ConfigError naming notificationConcurrency and 0", err)
	}
}
