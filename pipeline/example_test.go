package pipeline_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/targetflow/targetflow/pipeline"
)

// A pipeline of three visitors through a custom stage: one visitor has no
// mbox to ask for and fails; the others flow on. The failure reaches the sink
// like any other item.
func Example() {
	visitors := []pipeline.Visitor{
		{Execute: []string{"home"}},
		{},
		{Execute: []string{"cart", "footer"}},
	}
	src := pipeline.NewSource("visitors", func(_ context.Context, emit pipeline.EmitFunc) error {
		for i := range visitors {
			if !emit(&pipeline.Item{Visitor: &visitors[i]}) {
				return nil
			}
		}
		return nil
	})
	check := pipeline.NewStage("check", func(_ context.Context, it *pipeline.Item) error {
		if len(it.Visitor.Execute) == 0 {
			return fmt.Errorf("visitor asks for no mbox")
		}
		return nil
	})
	print := pipeline.NewSink("print", func(_ context.Context, it *pipeline.Item) error {
		if it.Err != nil {
			fmt.Printf("%d failed: %v\n", it.Seq, it.Err)
			return nil
		}
		fmt.Printf("%d ok: %s\n", it.Seq, strings.Join(it.Visitor.Execute, ","))
		return nil
	})
	stats, err := pipeline.From(src).Via(check).To(print).Run(context.Background())
	fmt.Println("written:", stats.Written, "failed:", stats.Failed, "error:", err)
	// Output:
	// 1 ok: home
	// 2 failed: check: visitor asks for no mbox
	// 3 ok: cart,footer
	// written: 3 failed: 1 error: <nil>
}
