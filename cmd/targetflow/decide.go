package main

import (
	"context"
	"fmt"
)

// decideCommand is being built; it reports so instead of pretending to work.
func decideCommand(_ context.Context, _ []string, std stdio) int {
	fmt.Fprintln(std.Err, "targetflow decide: not built yet")
	return exitUsage
}
