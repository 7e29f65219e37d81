// Package stages provides the stages of a targetflow delivery pipeline:
//
//   - [BuildRequest] turns each visitor record into a Delivery API request
//     from defaults plus the record's own fields.
//   - [Deliver] calls GetOffers with at most N calls in flight, ordered or
//     not, a per-call timeout, bounded retries with exponential backoff and
//     jitter (honouring Retry-After), an optional rate limit, and the
//     client's decisioning method, so server-side, on-device and hybrid runs
//     go through the same stage.
//   - [Notify] sends display notifications, with their event tokens, for
//     what a visitor was given by prefetch, bounded and retried the same way.
//   - [Attributes] calls GetAttributes per visitor.
//   - [Map], [Filter] and [Tap] make a custom stage of one function.
//     [WithInline] runs a quick one (or [BuildRequest]) in the goroutines
//     that hand items to it, without a hand-off per item.
//
// Every stage is a *pipeline.Stage, and so a go-streams streams.Flow. A
// failure of one visitor (a bad record, a call that kept failing) is stored
// in the item as a *visitor.Error and the item flows on; a panic in a
// stage function is recovered into such an error.
package stages
