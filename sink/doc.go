// Package sink provides the sinks of targetflow pipelines: JSON lines
// ([JSONL], [DeadLetter]), Go values ([Chan], [Collect], [Func]), [Discard],
// and a [Router] that sends failed items to a dead-letter sink and the rest
// to the main sink.
//
// Every sink is a *pipeline.Sink, and so a go-streams streams.Sink. A sink
// writes every item it receives, failed ones included: the output has one
// record per input record. An error from a sink's destination (a full disk,
// a closed pipe) is fatal: the run is cancelled and Run returns it.
//
// The JSON line of an item ([Record]) reads, for a success:
//
//	{"seq":1,"id":{"tntId":"..."},"ok":true,"response":{...},"targetCookie":{...},"attempts":1,"latencyMs":12.3,"notifications":2}
//
// and for a failure:
//
//	{"seq":2,"ok":false,"error":{"kind":"http","status":503,"message":"..."},"attempts":4}
//
// A dead-letter line ([DeadLetterRecord]) keeps what is needed to fix and
// replay the record: {"seq":3,"line":3,"error":"...","raw":"..."}.
package sink
