// Package targetotel traces and measures a target.Client with OpenTelemetry:
// it implements the client's hooks (target.Hook) on the OpenTelemetry API,
// as franz-go's kotel plugin implements kgo's. Package target itself
// imports no OpenTelemetry; a program that does not import targetotel
// compiles none.
//
//	inst, err := targetotel.New(
//		targetotel.WithTracerProvider(tp), // default: otel.GetTracerProvider()
//		targetotel.WithMeterProvider(mp),  // default: otel.GetMeterProvider()
//	)
//	...
//	client, err := target.New(target.WithClient("acme"), target.WithOrganizationID(org),
//		target.WithHooks(inst))
//
// The package is named targetotel, not otel, so that it can be imported
// next to go.opentelemetry.io/otel, whose package name is otel, without
// renaming either; the name says what it instruments.
//
// # Spans
//
// Every GetOffers, SendNotifications and GetAttributes call is a span named
// target.GetOffers, target.SendNotifications or target.GetAttributes, a
// child of the span in the caller's context, with these attributes:
//
//	target.decisioning.method    the method asked for: server-side, on-device, hybrid
//	target.mbox.count            execute and prefetch mboxes of the request
//	target.view.count            prefetch views
//	target.notification.count    notifications (SendNotifications)
//	target.decisioning.outcome   how the answer was decided: on-device or server-side
//	target.remote_mbox.count     what a hybrid call had the edge decide (when any)
//	target.remote_view.count
//	target.request.id            the request's requestId (also the X-Request-Id header)
//	target.background            true for the display notifications an on-device
//	                             decision sends after its call returned
//	error.type                   the error kind on failure (target.ErrorKind), with
//	                             the span's status Error
//
// Each HTTP exchange of a call is a child span of kind client named after
// its method (POST for the Delivery API), with the stable HTTP semantic
// conventions: http.request.method, server.address, server.port, url.full,
// http.response.status_code, error.type (the status code of a non-2xx
// answer, else the error kind), and http.request.resend_count when the
// caller retries the call and says so with target.ContextWithResendCount
// (the pipeline's Deliver and Notify stages do).
//
// url.full keeps the query (imsOrgId, version) but its sessionId value is
// replaced by REDACTED, always: the session id is the session entry of the
// visitor's mbox cookie, a pseudonymous identifier linking every request of
// one visit, and the client cannot tell a minted one from a visitor's. The
// same value is redacted from error messages put in span statuses.
//
// On-device decisions are target.OnDeviceDecision spans under their call
// (mbox, view, notification and remote counts); artifact downloads are
// target.ArtifactDownload spans of kind client with the HTTP attributes
// (root spans: the engine downloads on its own).
//
// # Metrics
//
//	http.client.request.duration  histogram (s), the HTTP semantic conventions'
//	                              attributes and buckets: every exchange, artifact
//	                              downloads included
//	target.client.decisions       counter of answered GetOffers and GetAttributes
//	                              calls by target.decisioning.outcome (on-device,
//	                              server-side) and target.operation
//	target.client.notifications   counter of notifications sent, by
//	                              target.notification.outcome: sent or failed
//
// The two counters count in atomics read at each collection (observable
// counters): on a call's path they cost an atomic addition. A call's own
// duration is its span's; Close stops reporting the counters.
//
// # Trace context
//
// Spans take their parent from the caller's context. No traceparent header
// is sent to Target unless WithPropagator says which propagator injects
// one: Adobe's edge does not take part in your traces, and the header would
// tell a third party the ids of your traces and whether they are sampled.
// Give it when the Delivery API is served by something you trace (the local
// edge, a proxy of yours).
package targetotel
