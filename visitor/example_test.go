package visitor_test

import (
	"errors"
	"fmt"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/visitor"
)

// A visitor's item as a sink writes it: a result line for a success, and
// for a record that could not be decoded a dead-letter line that keeps the
// input's exact bytes (here not UTF-8, so in base64).
func Example() {
	ok := &visitor.Item{
		Pos:   pipeline.Position{Seq: 1, Line: 1},
		Value: visitor.Envelope{Record: &visitor.Record{ID: &delivery.VisitorID{TntID: "a"}}, Attempts: 1},
	}
	result := visitor.NewResult(ok)
	line, _ := result.AppendJSON(nil)
	fmt.Println(string(line))

	bad := &visitor.Item{
		Pos:   pipeline.Position{Seq: 2, Line: 2},
		Value: visitor.Envelope{Raw: []byte("{\"id\":\"caf\xe9\"}")},
		Err:   visitor.Invalid("jsonl", 2, errors.New("not UTF-8 text")),
	}
	dead := visitor.NewDeadLetterRecord(bad)
	line, _ = dead.AppendJSON(nil)
	fmt.Println(string(line))
	kind, _ := visitor.Classify(bad.Err)
	fmt.Println("kind:", kind, "retryable:", visitor.Retryable(bad.Err))
	// Output:
	// {"seq":1,"id":{"tntId":"a"},"ok":true,"attempts":1}
	// {"seq":2,"line":2,"error":"jsonl: line 2: not UTF-8 text","kind":"invalid","rawBase64":"eyJpZCI6ImNhZukifQ=="}
	// kind: invalid retryable: false
}
