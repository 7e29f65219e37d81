package target

import (
	"context"
	"slices"

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

// addMboxesToExecute returns request with the mboxes of names that it does
// not ask for yet (in execute or prefetch) appended to its execute mboxes,
// as the SDKs' addMboxesToRequest. The caller's request is not modified:
// the result is request itself when nothing is added or renumbered, else a
// shallow copy with an execute of its own (the call's request completion
// copies the rest).
func addMboxesToExecute(names []string, request *delivery.DeliveryRequest) *delivery.DeliveryRequest {
	if request == nil {
		request = &delivery.DeliveryRequest{Context: &delivery.Context{Channel: delivery.ChannelWeb}}
	}
	var existing []delivery.MboxRequest
	if request.Execute != nil {
		existing = request.Execute.Mboxes
	}
	highest, numbered := 0, false
	for _, m := range existing {
		highest = max(highest, m.Index)
		numbered = numbered || m.Index != 0
	}
	// The caller numbered none of its execute mboxes: they are numbered by
	// position (as the request completion would), so that the added mboxes,
	// numbered after them, share no index with them.
	renumber := !numbered && len(existing) > 0
	if renumber {
		highest = len(existing) - 1
	}
	var added []delivery.MboxRequest
	for i, name := range names {
		if requested(request, name) || slices.Contains(names[:i], name) {
			continue
		}
		added = append(added, delivery.MboxRequest{Name: name, Index: highest + 1 + len(added)})
	}
	if len(added) == 0 && !renumber {
		return request
	}
	r := *request
	execute := delivery.ExecuteRequest{}
	if request.Execute != nil {
		execute = *request.Execute
	}
	execute.Mboxes = append(slices.Clone(existing), added...)
	if renumber {
		for i := range existing {
			execute.Mboxes[i].Index = i
		}
	}
	r.Execute = &execute
	return &r
}

// requested reports whether request asks for mbox name, executed or
// prefetched.
func requested(request *delivery.DeliveryRequest, name string) bool {
	has := func(mboxes []delivery.MboxRequest) bool {
		return slices.ContainsFunc(mboxes, func(m delivery.MboxRequest) bool { return m.Name == name })
	}
	return (request.Execute != nil && has(request.Execute.Mboxes)) || (request.Prefetch != nil && has(request.Prefetch.Mboxes))
}
