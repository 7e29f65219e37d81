// Package target is an Adobe Target client for Go with the decisioning of
// the official Node.js and Python SDKs (server-side, on-device and hybrid),
// safe for thousands of concurrent calls, with the Experience Cloud
// identity integration of the Node.js SDK.
//
// Make one Client per Target client code and share it:
//
//	client, err := target.New(
//		target.WithClient("acmeclient"),
//		target.WithOrganizationID("65453EA95574003E7F000101@AdobeOrg"),
//	)
//	...
//	defer client.Close()
//
// Then, per visitor request:
//
//   - GetOffers completes a delivery.DeliveryRequest (request id, visitor id
//     from the incoming mbox cookie, context defaults, Analytics logging,
//     property token, environment id), routes it to the visitor's edge
//     cluster, and returns the answer with the cookies to set
//     (Response.TargetCookie, Response.TargetLocationHintCookie).
//   - SendNotifications reports displayed prefetched content and clicks.
//   - GetAttributes asks for mboxes and returns their JSON offers merged per
//     mbox, with typed getters.
//
// Experience Cloud identity: GetOffersOptions.VisitorCookie takes the
// visitor's AMCV_ cookie (VisitorCookieFromRequest), read as the Visitor
// API reads it (ParseVisitorCookie): its Experience Cloud ID becomes the
// request's marketingCloudVisitorId and its Audience Manager hint and blob
// are sent along; malformed parts are ignored with a warning, never failing
// the call. Every answer carries Response.VisitorState, the JSON the
// Node.js SDK returns as visitorState, for the page's
// Visitor.getInstance(org, {serverState: …}), so that the browser's
// Analytics hit shares the supplemental data id of the server's call
// (Analytics for Target); SupplementalDataIDs stitches several calls of a
// page view. Response.ServerState is the at.js serverState of the call, and
// PageScript renders both into the page's <script>, escaped for a script
// context.
//
// Every method blocks until Target answers, the client's timeout (default
// 3s) elapses, or the context ends; run it in a goroutine, or use the Async
// forms, which return a Future, to overlap the Target call with other work.
//
// Errors are typed: *ConfigError from New, *ValidationError for options
// rejected before sending (or, on-device, a request the engine refused: it
// wraps the *delivery.FieldError the edge would answer 400 with), *HTTPError for a non-2xx answer and
// *TransportError for a failed connection or the client's timeout, or (Op
// "decode") a 2xx answer that is no Delivery API answer (both with
// Retryable), and the context's own error when the context ends first.
//
// Answers are read within bounds, whatever the peer sends: at most
// WithMaxResponseBytes each (4 MiB), decoded as they arrive, and past the
// first FreeResponseBytes of each only within the client's
// WithResponseBudget (16 MiB), so that the memory of answers being read
// does not grow with their sizes. Redirects are not followed to another
// host.
//
// Routing follows the SDKs: a call goes to mboxedge{cluster}.tt.omtrdc.net
// when the visitor's edge cluster is known (from the tntId suffix, the
// location-hint cookie, or the cluster Target last answered with), else to
// the configured server domain, else to {client}.tt.omtrdc.net.
//
// Telemetry is on by default: each call's timings are sent to Adobe with the
// next call, as the Node.js SDK does; WithTelemetry(false) turns it off.
//
// Decisioning: server-side by default (every call goes to the Delivery
// API). WithDecisioningMethod(delivery.DecisioningOnDevice) decides calls
// locally with the ondevice engine from a rules artifact, and
// delivery.DecisioningHybrid decides locally what the artifact can and asks
// the Delivery API for the rest; the engine's options are ondevice's own,
// given with WithOnDevice (ondevice.WithArtifactPayload,
// ondevice.WithArtifactURL ...). SendNotifications always goes to the
// Delivery API.
//
// Options are sealed and validated once, in New; an option that would not
// apply is a *ConfigError. New returns at once: an on-device client loads
// its artifact in the background, WaitReady(ctx) waits for it, and until
// then an on-device call fails with ErrNotReady and a hybrid call goes to
// the Delivery API, as in the Node.js SDK; clientReady is emitted when the
// client can serve its decisioning method.
package target
