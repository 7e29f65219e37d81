package main

import (
	"context"
	"fmt"
)

// edgeCommand is being built; it reports so instead of pretending to work.
func edgeCommand(_ context.Context, _ []string, std stdio) int {
	fmt.Fprintln(std.Err, "targetflow edge: not built yet")
	return exitUsage
}
