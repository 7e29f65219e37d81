// Package source provides the sources of targetflow pipelines: visitor
// records from Go values ([Slice], [Chan]), from JSON lines ([JSONL],
// [JSONLFile]) and from CSV ([CSV], [CSVFile]).
//
// Every source is a *pipeline.Source, and so a go-streams streams.Source.
// Records are numbered from 1 in input order (Item.Seq), blank lines not
// counted; [Skip] leaves out the first records of an input while keeping the
// numbering, so that a run stopped after record N resumes with Skip(N).
//
// A record that cannot be decoded does not stop the input: it becomes an item
// whose Err is a *visitor.Error of kind invalid carrying the line number,
// with the input's bytes in Envelope.Raw for a dead-letter output, and the
// records after it still flow: a line that is not JSON or not UTF-8, a line
// longer than [MaxLineBytes] (its start kept, with its length), a CSV row
// with a bare or unterminated quote, the wrong number of fields or binary
// bytes. Blank lines are skipped and a byte-order mark is ignored. Only a
// failure to read the input at all (an I/O error) ends the run.
//
// Items carry their Position: Seq, the line where the record starts and its
// byte offset. [JSONLFile] and [CSVFile] declare their file to the runtime
// (pipeline.WithInput), so that a run with pipeline.WithCheckpoint records
// it (its size and the digests of its first and last MiB) and resumes it
// exactly: the records done are skipped, keeping their numbers, and the
// record that ends the done prefix must be where the checkpoint says.
//
// JSON lines hold one visitor record per line:
//
//	{"id":{"tntId":"338e3c1e51f7416a8e1ccba4f81acea0.28_0"},"execute":["hero","footer"]}
//	{"id":{"thirdPartyId":"crm-42"},"prefetch":["cart"],"notify":true,"parameters":{"page":"cart"}}
//	{"request":{"id":{"tntId":"abc"},"execute":{"mboxes":[{"index":0,"name":"hero"}]}}}
//
// CSV has a header row. The columns tntId, thirdPartyId and
// marketingCloudVisitorId make the visitor's id; a column named
// "profile.NAME" becomes the profile parameter NAME; every other column
// becomes an mbox parameter of that name. Empty cells are left out.
package source
