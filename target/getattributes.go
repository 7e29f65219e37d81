package target

import (
	"context"

	"github.com/targetflow/targetflow/delivery"
)

// GetAttributes adds mboxNames to the execute mboxes of opts.Request (a
// copy of it; an empty web request when nil), calls GetOffers and returns
// the JSON offers merged per mbox. Mboxes already in the request are not
// added twice; added mboxes are numbered after the highest index in execute
// (execute mboxes that carry no index at all are numbered by position first).
// Errors are those of GetOffers, plus a *ValidationError when mboxNames is
// empty or holds an empty name.
func (c *Client) GetAttributes(ctx context.Context, mboxNames []string, opts GetOffersOptions) (*Attributes, error) {
	hs := c.cfg.hookSet
	if hs == nil {
		return c.getAttributes(ctx, mboxNames, opts)
	}
	call := &Call{Method: "GetAttributes", DecisioningMethod: c.methodOf(opts.DecisioningMethod)}
	ctx = hs.startCall(ctx, call, opts.Request, len(mboxNames))
	attrs, err := c.getAttributes(ctx, mboxNames, opts)
	var resp *Response
	if attrs != nil {
		resp = attrs.response
	}
	hs.endCall(ctx, call, resp, err)
	return attrs, err
}

func (c *Client) getAttributes(ctx context.Context, mboxNames []string, opts GetOffersOptions) (*Attributes, error) {
	if len(mboxNames) == 0 {
		return nil, &ValidationError{Method: "GetAttributes", Field: "mboxNames", Reason: reasonMboxNamesRequired}
	}
	for _, name := range mboxNames {
		if name == "" {
			return nil, &ValidationError{Method: "GetAttributes", Field: "mboxNames", Reason: reasonMboxNameEmpty}
		}
	}
	opts.Request = addMboxesToExecute(mboxNames, opts.Request)
	if err := validateGetOffers("GetAttributes", &opts); err != nil {
		return nil, err
	}
	call := opts.call("GetAttributes")
	if call.decisioningMethod == "" {
		call.decisioningMethod = c.cfg.decisioningMethod
	}
	resp, err := c.deliver(ctx, call)
	if err != nil {
		return nil, err
	}
	return newAttributes(resp, &c.offers)
}

// addMboxesToExecute returns a copy of request with the mboxes of names
// that the request does not ask for yet (in execute or prefetch) appended
// to its execute mboxes, as the SDKs' addMboxesToRequest.
func addMboxesToExecute(names []string, request *delivery.DeliveryRequest) *delivery.DeliveryRequest {
	var r *delivery.DeliveryRequest
	if request == nil {
		r = &delivery.DeliveryRequest{Context: &delivery.Context{Channel: delivery.ChannelWeb}}
	} else {
		r = request.Clone()
	}
	requested := map[string]bool{}
	if r.Prefetch != nil {
		for _, m := range r.Prefetch.Mboxes {
			requested[m.Name] = true
		}
	}
	noExecute := r.Execute == nil
	if noExecute {
		r.Execute = &delivery.ExecuteRequest{}
	}
	highest, numbered := 0, false
	for _, m := range r.Execute.Mboxes {
		requested[m.Name] = true
		highest = max(highest, m.Index)
		numbered = numbered || m.Index != 0
	}
	if !numbered && len(r.Execute.Mboxes) > 0 {
		// The caller numbered none of them: number them by position now
		// (as the request completion would), so that the added mboxes,
		// numbered after them, share no index with them.
		for i := range r.Execute.Mboxes {
			r.Execute.Mboxes[i].Index = i
		}
		highest = len(r.Execute.Mboxes) - 1
	}
	next := highest + 1
	for _, name := range names {
		if requested[name] {
			continue
		}
		requested[name] = true
		r.Execute.Mboxes = append(r.Execute.Mboxes, delivery.MboxRequest{Name: name, Index: next})
		next++
	}
	if noExecute && len(r.Execute.Mboxes) == 0 {
		// Every mbox is prefetched: an execute without mboxes would be
		// refused ("either pageLoad or mboxes is required in execute").
		r.Execute = nil
	}
	return r
}
