package main

import (
	"context"
	"fmt"
)

// runCommand is being built; it reports so instead of pretending to work.
func runCommand(_ context.Context, _ []string, std stdio) int {
	fmt.Fprintln(std.Err, "targetflow run: not built yet")
	return exitUsage
}
