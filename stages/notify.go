package stages

import (
	"context"
	"strconv"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/target"
	"github.com/targetflow/targetflow/visitor"
)

// NotificationSender sends notifications; *target.Client is one.
type NotificationSender interface {
	SendNotifications(ctx context.Context, opts target.SendNotificationsOptions) (*target.Response, error)
}

// Notify returns a stage that sends each visitor's display notifications,
// all of a visitor's in one call:
//
//   - the notifications a decision left to the pipeline
//     (Item.OwedNotifications: executed mboxes decided on-device by a client
//     made with target.WithOnDeviceNotifications(false)). They are always
//     sent: they are how Target counts on-device impressions, as the edge
//     counts the executed mboxes it decides itself;
//   - one display notification per prefetched mbox, view or page load, with
//     its event tokens and state, for records with "notify": true, and for
//     records without "notify" when WithNotifyByDefault(true).
//
// Item.Notifications is the number sent. A visitor that owes none passes
// the stage without waiting for one of its workers (pipeline's
// Stage.Bypass), unless the stage is ordered or has a concurrency of 1.
//
// Options: WithConcurrency, WithOrdered, WithTimeout, WithRetry/WithRetries,
// WithRateLimit, WithNotifyByDefault, WithName.
func Notify(client NotificationSender, opts ...NotifyOption) *pipeline.Stage[visitor.Envelope] {
	cfg := newConfig("notify", opts, NotifyOption.applyNotify)
	c := newCaller(cfg)
	wants := func(v *visitor.Envelope) bool {
		if v.Record != nil && v.Record.Notify != nil {
			return *v.Record.Notify
		}
		return cfg.notify
	}
	return pipeline.NewStage(cfg.name, func(ctx context.Context, it *visitor.Item) error {
		v := &it.Value
		wanted := wants(v)
		notes := v.OwedNotifications
		v.OwedNotifications = nil
		if v.Response == nil {
			return nil
		}
		if wanted {
			notes = append(notes, DisplayNotifications(v.Response, time.Now())...)
		}
		if len(notes) == 0 {
			return nil
		}
		req := &delivery.DeliveryRequest{ID: v.Response.ID, Notifications: notes}
		if v.Request != nil {
			req.Context = v.Request.Context
			if req.ID == nil {
				req.ID = v.Request.ID
			}
		}
		cookie := ""
		if v.TargetCookie != nil {
			cookie = v.TargetCookie.Value
		}
		start := time.Now()
		_, err := c.do(ctx, func(ctx context.Context) error {
			_, err := client.SendNotifications(ctx, target.SendNotificationsOptions{Request: req, TargetCookie: cookie})
			return err
		})
		v.Delivery += time.Since(start)
		if err != nil {
			return visitor.Fail(cfg.name, err)
		}
		v.Notifications += len(notes)
		return nil
	}, cfg.pipelineOptions()...).Bypass(func(it *visitor.Item) bool {
		// Nothing owed and nothing to notify of: the function would
		// return at once, changing nothing.
		v := &it.Value
		return len(v.OwedNotifications) == 0 && (v.Response == nil || v.Response.Prefetch == nil || !wants(v))
	})
}

// DisplayNotifications returns the display notifications for everything
// resp prefetched: each mbox, view and page load that has event tokens
// (from its options and its display metrics), with its state. Notification
// ids are the response's request id with a counter.
func DisplayNotifications(resp *delivery.DeliveryResponse, now time.Time) []delivery.Notification {
	if resp == nil || resp.Prefetch == nil {
		return nil
	}
	ts := delivery.TimestampMillis(now)
	var out []delivery.Notification
	add := func(n delivery.Notification, options []delivery.Option, metrics []delivery.Metric) {
		n.Tokens = eventTokens(options, metrics)
		if len(n.Tokens) == 0 {
			return
		}
		n.ID = resp.RequestID + "-notify-" + strconv.Itoa(len(out))
		n.Type = delivery.MetricDisplay
		n.Timestamp = ts
		out = append(out, n)
	}
	p := resp.Prefetch
	for _, m := range p.Mboxes {
		add(delivery.Notification{Mbox: &delivery.NotificationMbox{Name: m.Name, State: m.State}}, m.Options, m.Metrics)
	}
	for _, v := range p.Views {
		add(delivery.Notification{View: &delivery.NotificationView{Name: v.Name, Key: v.Key, State: v.State}}, v.Options, v.Metrics)
	}
	if pl := p.PageLoad; pl != nil {
		add(delivery.Notification{PageLoad: &delivery.NotificationPageLoad{State: pl.State}}, pl.Options, pl.Metrics)
	}
	return out
}

func eventTokens(options []delivery.Option, metrics []delivery.Metric) []string {
	var tokens []string
	for _, o := range options {
		if o.EventToken != "" {
			tokens = append(tokens, o.EventToken)
		}
	}
	for _, m := range metrics {
		if m.Type == delivery.MetricDisplay && m.EventToken != "" {
			tokens = append(tokens, m.EventToken)
		}
	}
	return tokens
}
