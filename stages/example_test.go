package stages_test

import (
	"context"
	"fmt"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/sink"
	"github.com/targetflow/targetflow/source"
	"github.com/targetflow/targetflow/stages"
	"github.com/targetflow/targetflow/visitor"
)

// BuildRequest completes each record from the defaults; a custom stage
// written as one function (Map) then inspects the request. With a
// target.Client, stages.Deliver(client, stages.WithConcurrency(64)) would
// follow BuildRequest.
func ExampleBuildRequest() {
	visitors := []visitor.Record{
		{ID: &delivery.VisitorID{TntID: "a"}},
		{ID: &delivery.VisitorID{TntID: "b"}, Execute: []string{"cart"}, Parameters: delivery.Parameters{"loyaltyTier": "gold"}},
	}
	build := stages.BuildRequest(stages.RequestDefaults{Execute: []string{"hero", "footer"}})
	describe := stages.Map("describe", func(_ context.Context, it *visitor.Item) error {
		for _, m := range it.Value.Request.Execute.Mboxes {
			fmt.Printf("visitor %s: mbox %d %s %v\n", it.Value.Request.ID.TntID, m.Index, m.Name, m.Parameters)
		}
		return nil
	})
	_, err := pipeline.From(source.Slice(visitors)).Via(build, describe).To(sink.Discard()).Run(context.Background())
	fmt.Println("error:", err)
	// Output:
	// visitor a: mbox 0 hero map[]
	// visitor a: mbox 1 footer map[]
	// visitor b: mbox 0 cart map[loyaltyTier:gold]
	// error: <nil>
}
