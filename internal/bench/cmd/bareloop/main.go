package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/targetflow/targetflow/internal/bench/standin"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "bareloop:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bareloop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := standin.LoopConfig{}
	fs.StringVar(&cfg.BaseURL, "url", "http://127.0.0.1:8090", "the stand-in's base URL")
	fs.StringVar(&cfg.OrganizationID, "organization-id", "7A1B2C3D4E5F60718293A4B5@AdobeOrg", "imsOrgId of the query")
	fs.IntVar(&cfg.Visitors, "visitors", 60000, "requests to post, one per visitor")
	fs.IntVar(&cfg.Concurrency, "concurrency", 256, "goroutines posting")
	fs.DurationVar(&cfg.Timeout, "timeout", 0, "per-call timeout context, as targetflow run's --timeout (0: none)")
	fs.BoolVar(&cfg.Decode, "decode", false, "decode every answer as the client does, instead of discarding it")
	execute := fs.String("execute", "hero,cart", "executed mboxes (comma-separated)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the loop to this file (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.Mboxes = strings.Split(*execute, ",")
	ctx, stop, err := standin.StartLoop(*cpuProfile)
	if err != nil {
		return err
	}
	defer stop()

	return standin.Measure(stdout, stderr, "bareloop", func() (standin.LoopResult, error) { return standin.Loop(ctx, cfg) })
}
