package main

import (
	"context"
	"os"
)

// The commands targetflow knows, as "targetflow help" lists them.
func Example_help() {
	dispatch(context.Background(), []string{"help"}, stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stdout})
	// Output:
	// usage: targetflow <command> [flags]
	//
	// commands:
	//   run      bulk delivery of visitor records (no flags: the offline demo)
	//   decide   on-device decisioning of Delivery API requests, JSON lines in and out
	//   edge     serve a local Delivery API edge from a rules artifact
	//
	// With no command, "targetflow" runs "targetflow run": the offline demo.
}
