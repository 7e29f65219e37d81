package stages

import (
	"context"
	"errors"
	"time"

	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/target"
)

// AttributeGetter gets attributes; *target.Client is one.
type AttributeGetter interface {
	GetAttributes(ctx context.Context, mboxNames []string, opts target.GetOffersOptions) (*target.Attributes, error)
}

// Attributes returns a stage that calls GetAttributes for the mboxes of each
// item's request (its execute and prefetch mboxes) and stores the merged
// attributes per mbox in Item.Attributes, with the answer in Item.Response.
// Use it instead of Deliver when the offers are JSON feature flags. Like
// Deliver it is bounded, retried and interruptible.
//
// Options: WithConcurrency, WithOrdered, WithTimeout, WithRetry/WithRetries,
// WithRateLimit, WithDecisioning, WithName.
func Attributes(client AttributeGetter, opts ...Option) *pipeline.Stage {
	cfg := newConfig("attributes", opts)
	c := newCaller(cfg)
	return pipeline.NewStage(cfg.name, func(ctx context.Context, it *pipeline.Item) error {
		if it.Request == nil {
			return &pipeline.ItemError{Kind: pipeline.KindInvalid, Err: errors.New("item has no request: put a BuildRequest stage before Attributes")}
		}
		var names []string
		if e := it.Request.Execute; e != nil {
			for _, m := range e.Mboxes {
				names = append(names, m.Name)
			}
		}
		if p := it.Request.Prefetch; p != nil {
			for _, m := range p.Mboxes {
				names = append(names, m.Name)
			}
		}
		var attrs *target.Attributes
		start := time.Now()
		attempts, err := c.do(ctx, func(ctx context.Context) error {
			a, err := client.GetAttributes(ctx, names, target.GetOffersOptions{Request: it.Request, DecisioningMethod: cfg.decisioning})
			if err == nil {
				attrs = a
			}
			return err
		})
		it.Attempts += attempts
		it.Timings.Delivery += time.Since(start)
		if err != nil {
			return classify(cfg.name, err)
		}
		it.Attributes = attrs.All()
		if r := attrs.Response(); r != nil {
			it.Response = r.Response
			if ck := r.TargetCookie; ck != nil {
				it.TargetCookie = &pipeline.Cookie{Name: ck.Name, Value: ck.Value, MaxAge: ck.MaxAge}
			}
		}
		return nil
	}, cfg.pipelineOptions(pipeline.Interruptible())...)
}
