// Package ondevice is targetflow's on-device decisioning engine: it decides
// Adobe Target Delivery API requests locally from a rules artifact, the way
// the official Target SDKs do, with the same allocations, so that a visitor
// sees the same experience whichever SDK decides.
//
// An Engine loads its artifact from a payload, a file or a URL (by default
// the Target CDN, https://assets.adobetarget.com/{client}/{environment}/rules/v1/rules.json),
// deobfuscates rules.bin with the organization id, refuses artifact major
// versions other than 1, and prepares every rule once: json-logic conditions
// are compiled into Go closures. Downloads are polled (default and minimum
// every 5 minutes, 0 disables) with ETag/If-None-Match, retried with
// backoff, and a failed or invalid download never replaces the artifact in
// use. New returns at once: a payload is read before it returns, a file or
// a download is loaded in the background, and until an artifact is loaded
// Decide fails with ErrNotReady; WaitReady(ctx) waits for it. Events report
// clientReady, artifactDownloadSucceeded, artifactDownloadFailed and
// geoLocationUpdated.
//
// Options are sealed and grouped by what they apply to: every Option
// applies to an Engine; ArtifactOption (the artifact, its polling, the geo
// lookup) applies to an engine whoever makes it, so target.Client takes
// those too (target.WithOnDevice).
//
// Decide answers one request: mboxes (execute and prefetch), views (by name
// or all), pageLoad (the global mbox), property tokens, response tokens,
// campaign macros, metrics and event tokens, and traces. The Decision holds
// the Delivery API response, the display notifications the caller must send
// (see Decision.NotificationRequest), a telemetry entry, and the mboxes and
// views that only the edge can decide (hybrid decisioning). WithDecideAll
// ignores the artifact's remote markers, for edges that answer from it.
//
// Decide validates a request with delivery.ValidateRequest (the edge's
// verdict, a *delivery.FieldError); JSON callers decode with
// delivery.DecodeRequest, and delivery.AppendResponseJSON writes a
// response byte for byte as encoding/json does, several times faster.
// Decisions share read-only data (offer content, response tokens) with the
// artifact.
//
// The clock and the HTTP client are injectable (WithClock, WithHTTPClient) so
// that tests never sleep. The only goroutine is the polling one; Close stops it.
package ondevice
