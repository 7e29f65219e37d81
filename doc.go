// Package targetflow makes Adobe Target delivery fast and safe at scale, in Go.
//
// It is a complete Target SDK — server-side, on-device and hybrid
// decisioning, cookies, location-hint routing, notifications, attributes —
// and a streaming engine on which batches and streams of visitors flow through
// request building, bounded concurrent delivery and notification stages into
// sinks. A local Delivery API edge answers from a rules artifact, so all of it
// runs, and is tested, offline.
//
// The packages, from the wire up:
//
//	delivery   the Delivery API v1 wire model (types and JSON)
//	ondevice   the on-device decisioning engine: artifact, rules, allocation
//	target     the Target client: GetOffers, SendNotifications, GetAttributes
//	edge       a local Delivery API edge answering from an artifact
//	pipeline   the generic streaming runtime on go-streams: Item[T], Run,
//	           acknowledgments from sinks to sources, checkpoints, Stats
//	visitor    the Target envelope items carry, and what a Target failure
//	           means for a run
//	stages     BuildRequest, Deliver, Notify, Attributes, Map/Filter/Tap
//	source     visitor records from Go values, JSON lines and CSV
//	sink       JSON lines, dead letters, Go values, a failure router
//
// The command targetflow (cmd/targetflow) runs bulk deliveries ("targetflow
// run"), decides requests on-device ("targetflow decide") and serves the local
// edge ("targetflow edge"). With no arguments it runs the offline demo.
//
// A single call is an ordinary blocking method, meant to be run in its own
// goroutine next to the rest of a request's work, so that the time Target
// takes is hidden behind it:
//
//	offers := client.GetOffersAsync(ctx, target.GetOffersOptions{Request: req})
//	page := renderPage(ctx)            // the server's other work, meanwhile
//	resp, err := offers.Wait(ctx)
package targetflow
