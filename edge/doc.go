// Package edge is a local Adobe Target Delivery API edge: an http.Handler
// that answers delivery requests from a rules artifact with the decisions of
// the on-device engine (package ondevice, deciding everything: here the
// remote-only activities are decided too, as the real edge does), serves the
// artifact to on-device clients, and can be slow or faulty on demand.
//
// It is the offline backend of targetflow's demos, tests and benchmarks:
//
//	s, err := edge.New(edge.DemoArtifact())   // or LoadArtifact's, or your own bytes
//	addr, err := s.Start(ctx, "127.0.0.1:0")  // until ctx ends; s.Wait() after
//	client, err := target.New(target.WithClient(demo.Client),
//		target.WithOrganizationID(demo.OrganizationID),
//		target.WithServerDomain(addr), target.WithSecure(false),
//		target.WithTransport(edge.RoutingTransport(addr)))
//
// Like the real edge, answers name an edge cluster (the tntId's location
// hint and edgeHost), and SDK clients send the visitor's later calls to
// mboxedge<cluster>.tt.omtrdc.net: RoutingTransport brings those back to the
// local edge. WithClusterRouting(false) leaves the cluster out instead.
//
// Endpoints:
//
//	POST /rest/v1/delivery?imsOrgId=…&sessionId=…   Delivery API v1
//	GET  /{client}/{environment}/rules/v1/rules.json the artifact, ETag and 304
//	GET  /{client}/{environment}/rules/v1/rules.bin  obfuscated for the organization
//	     (also /{client}/{environment}/v1/[{property}/]rules.json|bin, the CDN layout)
//	GET  /healthz                                    {"status":"ok",…}
//	GET  /metrics                                    Prometheus, the edge's own registry (requests,
//	                                                 decision time, offers by activity/experience, faults)
//	GET  /notifications[?type=&mbox=&view=]          notifications received (DELETE forgets)
//
// Delivery answers are shaped as the real edge's: status, requestId (echoed
// or minted), client, id (a tntId "<32 hex>.<cluster>_0" is minted for a
// visitor without one; when the visitor brought no id to allocate by, no
// marketingCloudVisitorId, tntId or thirdPartyId, the decisions are
// allocated for the minted tntId), edgeHost
// "mboxedge<cluster>.tt.omtrdc.net" (the cluster of the tntId's location
// hint, else the edge's), the decided options with their event tokens and
// metrics, and one receipt per notification. Errors are
// {"status":N,"message":"…"} naming the field or value at fault; bad input is
// never answered 500. A request whose context has beacon true is answered 204.
// Browser pages on other origins may call it (CORS, preflight included).
//
// Latency and faults (WithLatency, WithFaults, WithSeed) apply to the
// delivery endpoint only, drawn from one seeded generator: fixed latency plus
// uniform or log-normal jitter, and fractions answered 503 or 429 (with
// Retry-After), dropped without an answer (TCP reset), or stalled. Every wait
// ends early when the request's context does.
//
// Tests script single answers of the real edge with its control hook, as
// kfake's ControlKey scripts a Kafka broker: Server.Control adds a function
// that sees each delivery call (decoded) and artifact download first, and
// may answer it with a status, a body, a delay or a reset, once or, with
// KeepControl, for every request it matches; a function that handles
// nothing observes.
//
// The remote-only mboxes of an artifact (remoteMboxes) keep their rules in
// it: on-device clients see the marker and ask the edge, and the edge, which
// ignores the markers, decides them from those rules.
package edge
