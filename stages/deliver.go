package stages

import (
	"context"
	"errors"
	"time"

	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/target"
	"github.com/targetflow/targetflow/visitor"
)

// OfferGetter gets offers; *target.Client is one.
type OfferGetter interface {
	GetOffers(ctx context.Context, opts target.GetOffersOptions) (*target.Response, error)
}

// Deliver returns a stage that calls GetOffers with each item's request and
// stores the answer (Item.Response, Item.TargetCookie, Item.Request becomes
// the completed request that was sent). Attempts and the time spent,
// backoff included, are recorded in the item. The stage is interruptible:
// once the run is cancelled, items not yet called fail as canceled, and
// calls in flight have the run's grace period to finish.
//
// Options: WithConcurrency, WithOrdered, WithTimeout, WithRetry/WithRetries,
// WithRateLimit, WithDecisioning, WithResponseBody, WithName.
func Deliver(client OfferGetter, opts ...DeliverOption) *pipeline.Stage[visitor.Envelope] {
	cfg := newConfig("deliver", opts, DeliverOption.applyDeliver)
	c := newCaller(cfg)
	return pipeline.NewStage(cfg.name, func(ctx context.Context, it *visitor.Item) error {
		v := &it.Value
		if v.Request == nil {
			return &visitor.Error{Kind: visitor.KindInvalid, Err: errors.New("item has no request: put a BuildRequest stage before Deliver")}
		}
		var resp *target.Response
		start := time.Now()
		attempts, err := c.do(ctx, func(ctx context.Context) error {
			r, err := client.GetOffers(ctx, target.GetOffersOptions{Request: v.Request, DecisioningMethod: cfg.decisioning, KeepBody: cfg.responseBody})
			if err == nil {
				resp = r
			}
			return err
		})
		v.Attempts += attempts
		v.Delivery += time.Since(start)
		if err != nil {
			return visitor.Fail(cfg.name, err)
		}
		v.Request = resp.Request
		v.SetResponse(resp.Response, resp.Body)
		v.OwedNotifications = append(v.OwedNotifications, resp.Notifications...)
		if c := resp.TargetCookie; c != nil {
			v.TargetCookie = &visitor.Cookie{Name: c.Name, Value: c.Value, MaxAge: c.MaxAge}
		}
		return nil
	}, cfg.pipelineOptions(pipeline.Interruptible())...)
}
