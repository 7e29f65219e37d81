package target

import (
	"testing"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/internal/bench/standin"
)

// BenchmarkGetOffersVisitorCookie is BenchmarkGetOffersServerSide without
// and with a browser's AMCV_ cookie: the difference is what reading the
// cookie (and carrying the ECID and Audience Manager data it gives) adds to
// a call. Target: ≤ 1 µs. Run with -count so that the two alternate.
func BenchmarkGetOffersVisitorCookie(b *testing.B) {
	for _, bc := range []struct {
		name   string
		cookie string
	}{{"without", ""}, {"with", browserVisitorCookie}} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := New(WithClient("acme"), WithOrganizationID("ACME@AdobeOrg"),
				WithTransport(standin.Memory(twoMboxAnswer(b))), WithTelemetry(false))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			opts := GetOffersOptions{
				Request:       twoMboxRequest(),
				TargetCookie:  "session#9f3c2b1a-5d4e-4f6a-8b7c-1d2e3f4a5b6c#9999999999|PC#338e3c1e51f7416a8e1ccba4f81acea0.28_0#9999999999",
				VisitorCookie: bc.cookie,
			}
			ctx := b.Context()
			b.ReportAllocs()
			cpu := startCPUClock(b)
			for b.Loop() {
				resp, err := c.GetOffers(ctx, opts)
				if err != nil {
					b.Fatal(err)
				}
				if (resp.Request.ID.MarketingCloudVisitorID != "") != (bc.cookie != "") {
					b.Fatal("the cookie's ECID was not sent")
				}
			}
			cpu.report(b)
		})
	}
}

// BenchmarkPlanCallVisitorCookie isolates the request completion of a call
// (where the cookie is read) without and with the AMCV_ cookie.
func BenchmarkPlanCallVisitorCookie(b *testing.B) {
	for _, bc := range []struct {
		name   string
		cookie string
	}{{"without", ""}, {"with", browserVisitorCookie}} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := New(WithClient("acme"), WithOrganizationID("ACME@AdobeOrg"), WithTelemetry(false))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			opts := GetOffersOptions{Request: twoMboxRequest(), VisitorCookie: bc.cookie}
			call := opts.call("GetOffers")
			b.ReportAllocs()
			for b.Loop() {
				if plan := c.planCall(call); plan.request == nil {
					b.Fatal("no request")
				}
			}
		})
	}
}

// BenchmarkApplyVisitorCookie is the whole of what the cookie adds to a
// call's request completion: parsing it and filling the request's
// Experience Cloud ID and Audience Manager data.
func BenchmarkApplyVisitorCookie(b *testing.B) {
	c, err := New(WithClient("acme"), WithOrganizationID("ACME@AdobeOrg"), WithTelemetry(false))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	r := &delivery.DeliveryRequest{ID: &delivery.VisitorID{TntID: "338e3c1e51f7416a8e1ccba4f81acea0.28_0"}}
	b.ReportAllocs()
	for b.Loop() {
		r.ID.MarketingCloudVisitorID, r.ExperienceCloud = "", nil
		c.applyVisitorCookie(r, browserVisitorCookie)
		if r.ID.MarketingCloudVisitorID == "" || r.ExperienceCloud.AudienceManager.Blob == "" {
			b.Fatal("cookie not applied")
		}
	}
}
