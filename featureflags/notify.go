package featureflags

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/open-feature/go-sdk/openfeature"
	"go.uber.org/zap"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/target"
)

// Tracking details attributes with a meaning of their own; the others are
// mbox parameters of the notification (profile parameters when prefixed
// "profile.").
const (
	// TrackOrderID and TrackPurchasedProductIDs (comma-separated) fill the
	// notification's order, whose total is the details' value.
	TrackOrderID             = "orderId"
	TrackPurchasedProductIDs = "purchasedProductIds"
	// TrackEventParameter is the mbox parameter that carries the tracking
	// event's name.
	TrackEventParameter = "trackingEventName"
)

// afterEvaluation remembers the visitor's click tokens for Track and sends
// the impressions the provider owes: with WithImpressionDeduplication the
// display notification of each activity the visitor had not been seen in;
// with a client that leaves on-device notifications to its caller
// (target.WithOnDeviceNotifications(false)), the ones the decision owes.
func (p *Provider) afterEvaluation(ctx context.Context, v *visitor, resp *target.Response) {
	if resp == nil || resp.Response == nil {
		return
	}
	var tokens []string
	var owed []delivery.Notification
	if pf := resp.Response.Prefetch; pf != nil {
		tokens, owed = p.owed(v, pf.Mboxes, true, tokens, owed)
	}
	if ex := resp.Response.Execute; ex != nil {
		tokens, owed = p.owed(v, ex.Mboxes, false, tokens, owed)
	}
	if len(tokens) > 0 {
		p.clickTokens.Add(memoryKey{visitor: v.key, of: v.mbox}, tokens)
	}
	owed = append(owed, resp.Notifications...)
	if len(owed) == 0 {
		return
	}
	p.sender.send(ctx, p.notificationOptions(resp, owed))
}

// owed appends the click-metric tokens of the visitor's mbox in mboxes to
// tokens and, for prefetched mboxes with impressions deduplicated, the
// display notifications of the activities the visitor is new in to owed.
func (p *Provider) owed(v *visitor, mboxes []delivery.MboxResponse, prefetched bool, tokens []string, owed []delivery.Notification) ([]string, []delivery.Notification) {
	for i := range mboxes {
		m := &mboxes[i]
		if m.Name != v.mbox {
			continue
		}
		for _, metric := range m.Metrics {
			if metric.Type == delivery.MetricClick && metric.EventToken != "" {
				tokens = append(tokens, metric.EventToken)
			}
		}
		if !prefetched || p.seen == nil {
			continue
		}
		for _, o := range m.Options {
			if o.EventToken == "" {
				continue
			}
			seenKey := memoryKey{visitor: v.key}
			if id, ok := idValue(o.ResponseTokens[tokenActivityID]); ok {
				seenKey.activityID = id
			} else if id := o.ResponseTokens[tokenActivityID]; id != nil {
				seenKey.of = "id:" + fmt.Sprint(id)
			} else {
				seenKey.of = "token:" + o.EventToken
			}
			if seen, _ := p.seen.ContainsOrAdd(seenKey, struct{}{}); seen {
				continue
			}
			owed = append(owed, delivery.Notification{
				ID: uuid.NewString(), Type: delivery.MetricDisplay, Timestamp: time.Now().UnixMilli(),
				Tokens: []string{o.EventToken}, Mbox: &delivery.NotificationMbox{Name: m.Name, State: m.State},
			})
		}
	}
	return tokens, owed
}

// memoryKey is a visitor and an mbox (click tokens) or an activity
// (impressions counted: its numeric id, else its id's text or event token
// in of), in the provider's memories. Made without building strings.
type memoryKey struct {
	visitor    visitorKey
	of         string
	activityID int64
}

// visitorKey is a visitor's id and its kind: 't' tntId, 'p' thirdPartyId,
// 'm' marketingCloudVisitorId.
type visitorKey struct {
	kind byte
	id   string
}

// notificationOptions sends notifications for the visitor of resp, in its
// session.
func (p *Provider) notificationOptions(resp *target.Response, notifications []delivery.Notification) target.SendNotificationsOptions {
	r := &delivery.DeliveryRequest{Notifications: notifications}
	if resp.Request != nil {
		r.ID, r.Context = resp.Request.ID.Clone(), resp.Request.Context.Clone()
	}
	opts := target.SendNotificationsOptions{Request: r}
	if resp.TargetCookie != nil {
		opts.TargetCookie = resp.TargetCookie.Value
	}
	return opts
}

// Track sends a click notification for the visitor of evalCtx on its mbox
// (the evaluation context's "mbox", else WithMbox's), with the click-metric
// event tokens of the visitor's last evaluation of that mbox, by which
// Target counts the conversion in the activity. The event's name is the
// notification's mbox parameter trackingEventName; the details' value, when
// not zero, is the total of its order (with the orderId and
// purchasedProductIds attributes); its other attributes are parameters.
// The notification is sent in the background, as impressions are; a
// failure is logged.
func (p *Provider) Track(ctx context.Context, name string, evalCtx openfeature.EvaluationContext, details openfeature.TrackingEventDetails) {
	if p.configErr != nil {
		return
	}
	flat := evalCtx.Attributes()
	if key := evalCtx.TargetingKey(); key != "" {
		flat[openfeature.TargetingKey] = key
	}
	v, rerr := p.visitorOf(flat)
	if rerr != nil {
		p.cfg.logger.Warn("featureflags: Track: no notification sent", zap.String("event", name), zap.Error(rerr))
		return
	}
	n := delivery.Notification{
		ID: uuid.NewString(), Type: delivery.MetricClick, Timestamp: time.Now().UnixMilli(),
		Mbox:              &delivery.NotificationMbox{Name: v.mbox},
		Parameters:        delivery.Parameters{TrackEventParameter: name},
		ProfileParameters: v.profile,
	}
	for k, value := range v.params {
		n.Parameters[k] = value
	}
	if tokens, ok := p.clickTokens.Get(memoryKey{visitor: v.key, of: v.mbox}); ok {
		n.Tokens = tokens
	} else {
		p.cfg.logger.Debug("featureflags: Track: no click-metric token known for the visitor and mbox; Target cannot attribute the click to an activity",
			zap.String("event", name), zap.String("mbox", v.mbox))
	}
	var order delivery.Order
	if total := details.Value(); total != 0 {
		order.Total = &total
	}
	for k, value := range details.Attributes() {
		text, ok := parameterText(value)
		if !ok {
			p.cfg.logger.Warn("featureflags: Track: attribute left out: not a string, number or boolean", zap.String("attribute", k))
			continue
		}
		switch {
		case k == TrackOrderID:
			order.ID = text
		case k == TrackPurchasedProductIDs:
			order.PurchasedProductIDs = strings.Split(text, ",")
		case strings.HasPrefix(k, ProfilePrefix):
			if n.ProfileParameters == nil {
				n.ProfileParameters = delivery.Parameters{}
			}
			n.ProfileParameters[strings.TrimPrefix(k, ProfilePrefix)] = text
		default:
			n.Parameters[k] = text
		}
	}
	if order.Total != nil || order.ID != "" || order.PurchasedProductIDs != nil {
		n.Order = &order
	}
	id := v.id
	p.sender.send(ctx, target.SendNotificationsOptions{Request: &delivery.DeliveryRequest{
		ID: &id, Context: &delivery.Context{Channel: delivery.ChannelWeb}, Notifications: []delivery.Notification{n},
	}})
}

// sender sends notifications in the background, at most n at once, on
// goroutines the provider waits for at Shutdown. When all are busy, send
// waits for one (or for its context).
type sender struct {
	client *target.Client
	logger *zap.Logger
	slots  chan struct{}

	mu      sync.Mutex
	isOpen  bool
	pending sync.WaitGroup
}

func newSender(client *target.Client, n int, logger *zap.Logger) *sender {
	return &sender{client: client, logger: logger, slots: make(chan struct{}, n)}
}

// open lets send start goroutines (Init); before it, and after close,
// send sends before returning.
func (s *sender) open() {
	s.mu.Lock()
	s.isOpen = true
	s.mu.Unlock()
}

// send sends opts without ctx's cancellation (the client's timeout bounds
// it).
func (s *sender) send(ctx context.Context, opts target.SendNotificationsOptions) {
	do := func() {
		if _, err := s.client.SendNotifications(context.WithoutCancel(ctx), opts); err != nil {
			s.logger.Warn("featureflags: sending notifications failed", zap.Int("notifications", len(opts.Request.Notifications)), zap.Error(err))
		}
	}
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		s.logger.Warn("featureflags: notifications not sent: the evaluation's context ended while all sends were busy",
			zap.Int("notifications", len(opts.Request.Notifications)), zap.Error(ctx.Err()))
		return
	}
	s.mu.Lock()
	if !s.isOpen {
		s.mu.Unlock()
		do()
		<-s.slots
		return
	}
	s.pending.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.pending.Done()
		defer func() { <-s.slots }()
		do()
	}()
}

// close waits for the sends in flight, each bounded by the client's
// timeout.
func (s *sender) close() {
	s.mu.Lock()
	s.isOpen = false
	s.mu.Unlock()
	s.pending.Wait()
}
