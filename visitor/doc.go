// Package visitor is the Target envelope that rides in targetflow pipeline
// items: one visitor's trip through a run. The runtime (package pipeline)
// is generic and knows nothing of Target; a Target pipeline carries
// pipeline.Item[visitor.Envelope] (visitor.Item): the input Record, the
// Delivery API request built for it, the response, the visitor's mbox
// cookie, the notifications a decision owes, the attributes, the attempts
// and the time spent calling Target.
//
// It also says what a Target failure means for a run: an item's failure is
// an *Error of a Kind (http, timeout, network, decode, encode, not_ready,
// canceled, invalid, panic, error), found by Classify from whatever a stage
// returned (the client's errors mean what target.KindOf says), and Retryable
// says which failures a stage may retry. And it writes the JSON lines of a
// result (Result) and of a dead letter (DeadLetterRecord), so that every
// sink of visitor records — files, Kafka — writes the same JSON.
//
// The package is named for what travels: a visitor. It sits between
// delivery (the wire model) and the stages, sources and sinks, which all
// use it; it imports target only to read the client's error types, which
// carry the HTTP status and the timeout flag a run classifies by.
package visitor
