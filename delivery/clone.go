package delivery

import (
	"maps"
	"slices"
)

// clonedRequest holds a copy of a request and of the parts a request has
// at most once, allocated together: a client clones each request it
// completes, once per call of a bulk run.
type clonedRequest struct {
	request         DeliveryRequest
	id              VisitorID
	context         Context
	experienceCloud ExperienceCloud
	execute         ExecuteRequest
	prefetch        PrefetchRequest
}

// Clone returns a deep copy of r, so that a request can be completed or
// changed without touching the caller's value. Clone of nil is nil.
func (r *DeliveryRequest) Clone() *DeliveryRequest {
	if r == nil {
		return nil
	}
	b := new(clonedRequest)
	c := &b.request
	*c = *r
	if r.ID != nil {
		r.ID.cloneTo(&b.id)
		c.ID = &b.id
	}
	c.Property = clonePtr(r.Property)
	if r.Trace != nil {
		t := *r.Trace
		t.Usage = maps.Clone(r.Trace.Usage)
		c.Trace = &t
	}
	if r.Context != nil {
		r.Context.cloneTo(&b.context)
		c.Context = &b.context
	}
	if r.ExperienceCloud != nil {
		b.experienceCloud = ExperienceCloud{
			AudienceManager: clonePtr(r.ExperienceCloud.AudienceManager),
			Analytics:       clonePtr(r.ExperienceCloud.Analytics),
		}
		c.ExperienceCloud = &b.experienceCloud
	}
	if r.Execute != nil {
		b.execute = ExecuteRequest{
			PageLoad: r.Execute.PageLoad.Clone(),
			Mboxes:   cloneEach(r.Execute.Mboxes, (*MboxRequest).clone),
		}
		c.Execute = &b.execute
	}
	if r.Prefetch != nil {
		b.prefetch = PrefetchRequest{
			Views:    cloneEach(r.Prefetch.Views, (*ViewRequest).clone),
			PageLoad: r.Prefetch.PageLoad.Clone(),
			Mboxes:   cloneEach(r.Prefetch.Mboxes, (*MboxRequest).clone),
		}
		c.Prefetch = &b.prefetch
	}
	if r.Telemetry != nil {
		t := Telemetry{Entries: cloneEach(r.Telemetry.Entries, (*TelemetryEntry).clone)}
		c.Telemetry = &t
	}
	c.Notifications = cloneEach(r.Notifications, (*Notification).clone)
	if r.QAMode != nil {
		q := *r.QAMode
		q.EvaluateAsTrueAudienceIDs = slices.Clone(q.EvaluateAsTrueAudienceIDs)
		q.EvaluateAsFalseAudienceIDs = slices.Clone(q.EvaluateAsFalseAudienceIDs)
		q.PreviewIndexes = slices.Clone(q.PreviewIndexes)
		c.QAMode = &q
	}
	c.Preview = clonePtr(r.Preview)
	return c
}

// Clone returns a deep copy of v. Clone of nil is nil.
func (v *VisitorID) Clone() *VisitorID {
	if v == nil {
		return nil
	}
	c := new(VisitorID)
	v.cloneTo(c)
	return c
}

// cloneTo sets c to a deep copy of v.
func (v *VisitorID) cloneTo(c *VisitorID) {
	*c = *v
	c.CustomerIDs = slices.Clone(v.CustomerIDs)
}

// Clone returns a deep copy of c. Clone of nil is nil.
func (c *Context) Clone() *Context {
	if c == nil {
		return nil
	}
	n := new(Context)
	c.cloneTo(n)
	return n
}

// cloneTo sets n to a deep copy of c.
func (c *Context) cloneTo(n *Context) {
	*n = *c
	n.MobilePlatform = clonePtr(c.MobilePlatform)
	n.Application = clonePtr(c.Application)
	n.Screen = clonePtr(c.Screen)
	n.Window = clonePtr(c.Window)
	n.Browser = clonePtr(c.Browser)
	n.Address = clonePtr(c.Address)
	if c.Geo != nil {
		g := *c.Geo
		g.Latitude = clonePtr(g.Latitude)
		g.Longitude = clonePtr(g.Longitude)
		n.Geo = &g
	}
	n.TimeOffsetInMinutes = clonePtr(c.TimeOffsetInMinutes)
	if c.ClientHints != nil {
		h := *c.ClientHints
		h.Mobile = clonePtr(h.Mobile)
		n.ClientHints = &h
	}
}

// Clone returns a deep copy of d. Clone of nil is nil.
func (d *RequestDetails) Clone() *RequestDetails {
	if d == nil {
		return nil
	}
	c := RequestDetails{
		Address:           clonePtr(d.Address),
		Parameters:        maps.Clone(d.Parameters),
		ProfileParameters: maps.Clone(d.ProfileParameters),
		Order:             d.Order.clone(),
		Product:           clonePtr(d.Product),
	}
	return &c
}

func (m *MboxRequest) clone() MboxRequest {
	c := *m
	c.Address = clonePtr(m.Address)
	c.Parameters = maps.Clone(m.Parameters)
	c.ProfileParameters = maps.Clone(m.ProfileParameters)
	c.Order = m.Order.clone()
	c.Product = clonePtr(m.Product)
	return c
}

func (v *ViewRequest) clone() ViewRequest {
	c := *v
	c.Address = clonePtr(v.Address)
	c.Parameters = maps.Clone(v.Parameters)
	c.ProfileParameters = maps.Clone(v.ProfileParameters)
	c.Order = v.Order.clone()
	c.Product = clonePtr(v.Product)
	return c
}

func (n *Notification) clone() Notification {
	c := *n
	c.Tokens = slices.Clone(n.Tokens)
	c.Mbox = clonePtr(n.Mbox)
	c.View = clonePtr(n.View)
	c.PageLoad = clonePtr(n.PageLoad)
	c.Address = clonePtr(n.Address)
	c.Parameters = maps.Clone(n.Parameters)
	c.ProfileParameters = maps.Clone(n.ProfileParameters)
	c.Order = n.Order.clone()
	c.Product = clonePtr(n.Product)
	return c
}

func (e *TelemetryEntry) clone() TelemetryEntry {
	c := *e
	c.Features = clonePtr(e.Features)
	c.Request = clonePtr(e.Request)
	return c
}

func (o *Order) clone() *Order {
	if o == nil {
		return nil
	}
	c := *o
	c.Total = clonePtr(o.Total)
	c.PurchasedProductIDs = slices.Clone(o.PurchasedProductIDs)
	c.ExperienceLocalID = clonePtr(o.ExperienceLocalID)
	return &c
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

func cloneEach[T any](s []T, clone func(*T) T) []T {
	if s == nil {
		return nil
	}
	c := make([]T, len(s))
	for i := range s {
		c[i] = clone(&s[i])
	}
	return c
}
