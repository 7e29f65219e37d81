package stages

import (
	"context"
	"errors"
	"time"

	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/target"
	"github.com/targetflow/targetflow/visitor"
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
func Attributes(client AttributeGetter, opts ...AttributesOption) *pipeline.Stage[visitor.Envelope] {
	cfg := newConfig("attributes", opts, AttributesOption.applyAttributes)
	c := newCaller(cfg)
	return pipeline.NewStage(cfg.name, func(ctx context.Context, it *visitor.Item) error {
		v := &it.Value
		if v.Request == nil {
			return &visitor.Error{Kind: visitor.KindInvalid, Err: errors.New("item has no request: put a BuildRequest stage before Attributes")}
		}
		var names []string
		if e := v.Request.Execute; e != nil {
			for _, m := range e.Mboxes {
				names = append(names, m.Name)
			}
		}
		if p := v.Request.Prefetch; p != nil {
			for _, m := range p.Mboxes {
				names = append(names, m.Name)
			}
		}
		var attrs *target.Attributes
		start := time.Now()
		attempts, err := c.do(ctx, func(ctx context.Context) error {
			a, err := client.GetAttributes(ctx, names, target.GetOffersOptions{Request: v.Request, DecisioningMethod: cfg.decisioning})
			if err == nil {
				attrs = a
			}
			return err
		})
		v.Attempts += attempts
		v.Delivery += time.Since(start)
		if err != nil {
			return visitor.Fail(cfg.name, err)
		}
		v.Attributes = attrs.All()
		if r := attrs.Response(); r != nil {
			v.SetResponse(r.Response, nil)
			if ck := r.TargetCookie; ck != nil {
				v.TargetCookie = &visitor.Cookie{Name: ck.Name, Value: ck.Value, MaxAge: ck.MaxAge}
			}
		}
		return nil
	}, cfg.pipelineOptions(pipeline.Interruptible())...)
}
