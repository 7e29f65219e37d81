package stages

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/visitor"
)

// RequestDefaults fill what a visitor record leaves out.
type RequestDefaults struct {
	// Context is the default context; when neither it nor the record has
	// one, the context is {"channel":"web"}.
	Context *delivery.Context
	// Execute, Prefetch and Views name the mboxes and views to ask for.
	Execute  []string
	Prefetch []string
	Views    []string
	// PageLoad asks for the page-load (global mbox) decision.
	PageLoad bool
	// Parameters and ProfileParameters go on every mbox, view and page-load
	// request; a record's own parameters of the same name win.
	Parameters        delivery.Parameters
	ProfileParameters delivery.Parameters
}

// ErrNothingRequested is the error of a visitor for which neither the record
// nor the defaults name an mbox, a view or the page load.
var ErrNothingRequested = errors.New("nothing to request: no execute or prefetch mbox, view or pageLoad in the record or the defaults")

// BuildRequest returns a stage that sets Item.Request from the visitor
// record and the defaults. A record's "request" is used as is. A record
// that asks for nothing fails with kind invalid.
func BuildRequest(defaults RequestDefaults, opts ...BuildOption) *pipeline.Stage[visitor.Envelope] {
	cfg := newConfig("build-request", opts, BuildOption.applyBuild)
	return pipeline.NewStage(cfg.name, func(_ context.Context, it *visitor.Item) error {
		if it.Value.Record == nil {
			return &visitor.Error{Kind: visitor.KindInvalid, Err: errors.New("item has no visitor record")}
		}
		req, err := defaults.Build(it.Value.Record)
		if err != nil {
			return &visitor.Error{Kind: visitor.KindInvalid, Line: it.Pos.Line, Err: err}
		}
		it.Value.Request = req
		return nil
	}, pipeline.Buffer(cfg.buffer))
}

// Build returns the Delivery API request of one visitor record.
func (d RequestDefaults) Build(v *visitor.Record) (*delivery.DeliveryRequest, error) {
	if v.Request != nil {
		if v.Request.Execute == nil && v.Request.Prefetch == nil && len(v.Request.Notifications) == 0 {
			return nil, fmt.Errorf("request: %w", ErrNothingRequested)
		}
		return v.Request, nil
	}
	execute := or(v.Execute, d.Execute)
	prefetch := or(v.Prefetch, d.Prefetch)
	views := or(v.Views, d.Views)
	pageLoad := d.PageLoad
	if v.PageLoad != nil {
		pageLoad = *v.PageLoad
	}
	if len(execute) == 0 && len(prefetch) == 0 && len(views) == 0 && !pageLoad {
		return nil, ErrNothingRequested
	}
	params := merge(d.Parameters, v.Parameters)
	profile := merge(d.ProfileParameters, v.ProfileParameters)
	built := new(builtRequest)
	req := &built.request
	*req = delivery.DeliveryRequest{ID: v.ID, Context: v.Context}
	if req.Context == nil {
		req.Context = d.Context
	}
	if req.Context == nil {
		built.context.Channel = delivery.ChannelWeb
		req.Context = &built.context
	}
	details := func() *delivery.RequestDetails {
		return &delivery.RequestDetails{Parameters: params, ProfileParameters: profile}
	}
	if len(execute) > 0 || (pageLoad && len(prefetch) == 0 && len(views) == 0) {
		built.execute.Mboxes = mboxes(execute, params, profile)
		req.Execute = &built.execute
		if pageLoad {
			req.Execute.PageLoad = details()
		}
	}
	if len(prefetch) > 0 || len(views) > 0 {
		built.prefetch.Mboxes = mboxes(prefetch, params, profile)
		req.Prefetch = &built.prefetch
		for _, name := range views {
			req.Prefetch.Views = append(req.Prefetch.Views, delivery.ViewRequest{Name: name, Parameters: params, ProfileParameters: profile})
		}
		if pageLoad && req.Execute == nil {
			req.Prefetch.PageLoad = details()
		}
	}
	return req, nil
}

// builtRequest holds a request Build makes and the parts it may have,
// allocated together: Build runs once per visitor.
type builtRequest struct {
	request  delivery.DeliveryRequest
	context  delivery.Context
	execute  delivery.ExecuteRequest
	prefetch delivery.PrefetchRequest
}

func mboxes(names []string, params, profile delivery.Parameters) []delivery.MboxRequest {
	if len(names) == 0 {
		return nil
	}
	out := make([]delivery.MboxRequest, len(names))
	for i, name := range names {
		out[i] = delivery.MboxRequest{Index: i, Name: name, Parameters: params, ProfileParameters: profile}
	}
	return out
}

func or(a, b []string) []string {
	if a != nil {
		return a
	}
	return b
}

// merge returns base overlaid with over, sharing a map when one is empty.
// The result is read-only: requests share it between their mboxes.
func merge(base, over delivery.Parameters) delivery.Parameters {
	switch {
	case len(over) == 0:
		return base
	case len(base) == 0:
		return over
	}
	out := make(delivery.Parameters, len(base)+len(over))
	maps.Copy(out, base)
	maps.Copy(out, over)
	return out
}
