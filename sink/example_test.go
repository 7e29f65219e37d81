package sink_test

import (
	"context"
	"os"
	"strings"

	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/sink"
	"github.com/targetflow/targetflow/source"
)

// A router sends records that could not be decoded to a dead-letter output
// and everything else to the main output.
func ExampleRouter() {
	input := `{"id":{"tntId":"a"}}
{"id":{"tntId":
{"id":{"tntId":"c"}}
`
	main := sink.JSONL(os.Stdout)
	deadLetter := sink.DeadLetter(os.Stdout)
	router := sink.Router(main, deadLetter, sink.InvalidInput)
	_, _ = pipeline.From(source.JSONL(strings.NewReader(input))).To(router).Run(context.Background())
	// Output:
	// {"seq":1,"id":{"tntId":"a"},"ok":true,"attempts":0}
	// {"seq":3,"id":{"tntId":"c"},"ok":true,"attempts":0}
	// {"seq":2,"line":2,"error":"jsonl: line 2: invalid visitor record: unexpected end of JSON input","kind":"invalid","raw":"{\"id\":{\"tntId\":"}
}
