package target_test

import (
	"testing"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/target"
)

// BenchmarkPageRender compares a page that waits for Target before doing
// its other work (sequential) with one that starts the Target call first
// and does the other work meanwhile (async). The local edge answers after
// 40ms, the page's other work takes 50ms; the async page should take about
// 50ms, not 90ms: the Target call costs the page (almost) no time.
func BenchmarkPageRender(b *testing.B) {
	const (
		targetLatency = 40 * time.Millisecond
		otherWork     = 50 * time.Millisecond
	)
	_, client := localEdge(b, edge.WithLatency(edge.Latency{Fixed: targetLatency}))
	opts := target.GetOffersOptions{Request: &delivery.DeliveryRequest{
		Execute: &delivery.ExecuteRequest{Mboxes: []delivery.MboxRequest{{Name: demo.MboxHero, Index: 1}}},
	}}
	renderOtherParts := func() { time.Sleep(otherWork) } // templates, database, other services

	b.Run("sequential", func(b *testing.B) {
		for b.Loop() {
			if _, err := client.GetOffers(b.Context(), opts); err != nil {
				b.Fatal(err)
			}
			renderOtherParts()
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/page")
	})
	b.Run("async", func(b *testing.B) {
		for b.Loop() {
			offers := client.GetOffersAsync(b.Context(), opts)
			renderOtherParts()
			if _, err := offers.Wait(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/page")
	})
}
