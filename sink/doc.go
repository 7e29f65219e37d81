// Package sink provides the sinks of targetflow pipelines of visitors: JSON
// lines to a writer or a file ([JSONL], [JSONLFile], [DeadLetter],
// [DeadLetterFile]), Go values ([Chan], [Collect], [Func]), [Discard], and a
// [Router] that sends failed items to a dead-letter sink and the rest to the
// main sink.
//
// Every sink is a *pipeline.Sink[visitor.Envelope], and so a go-streams
// streams.Sink. A sink writes every item it receives, failed ones included:
// the output has one record per input record. A sink confirms an item to the
// runtime only once it is durably written: the JSON lines sinks once the OS
// has accepted the item's whole line (their buffer is written out when
// full, when the input is idle, at least every second and at the end), so
// the source is acknowledged only for what is in the file. An error from a
// sink's destination (a full disk, a closed pipe) is fatal: the run is
// cancelled, Run returns it, the items not written are given back, and a
// file sink truncates its file to its last whole line.
//
// The file sinks are checkpointable outputs (pipeline.Output): a run with
// pipeline.WithCheckpoint records their length and a digest of their last
// 4 KiB, and on resume checks them and truncates them back to that length.
// Append(true) adds to an existing file (a run resumed by count).
//
// The JSON line of an item (visitor.Result) reads, for a success:
//
//	{"seq":1,"id":{"tntId":"..."},"ok":true,"response":{...},"targetCookie":{...},"attempts":1,"latencyMs":12.3,"notifications":2}
//
// and for a failure:
//
//	{"seq":2,"ok":false,"error":{"kind":"http","status":503,"message":"..."},"attempts":4}
//
// A dead-letter line (visitor.DeadLetterRecord) keeps what is needed to fix
// and replay the record, its input bytes exactly:
// {"seq":3,"line":3,"error":"...","raw":"..."} ("rawBase64" when the bytes
// are not text, "rawLength" when only their start is kept).
package sink
