package source_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/sink"
	"github.com/targetflow/targetflow/source"
	"github.com/targetflow/targetflow/visitor"
)

// A JSON lines input with a broken record: the record becomes a failed item
// that names its line, and the records after it still flow.
func ExampleJSONL() {
	input := `{"id":{"tntId":"a"},"execute":["hero"]}
{"id":{"tntId":"b"},"execute":["hero"]
{"id":{"tntId":"c"},"prefetch":["cart"]}
`
	var items []*visitor.Item
	_, err := pipeline.From(source.JSONL(strings.NewReader(input))).To(sink.Collect(&items)).Run(context.Background())
	if err != nil {
		fmt.Println(err)
	}
	for _, it := range items {
		if it.Err != nil {
			fmt.Printf("%d: %v\n", it.Pos.Seq, it.Err)
			continue
		}
		fmt.Printf("%d: visitor %s\n", it.Pos.Seq, it.Value.Record.ID.TntID)
	}
	// Output:
	// 1: visitor a
	// 2: jsonl: line 2: invalid visitor record: unexpected end of JSON input
	// 3: visitor c
}
