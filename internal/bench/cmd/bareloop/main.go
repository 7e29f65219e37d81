package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

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
	execute := fs.String("execute", "hero,cart", "executed mboxes (comma-separated)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the loop to this file (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		file, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer file.Close()
		if err := pprof.StartCPUProfile(file); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	cfg.Mboxes = strings.Split(*execute, ",")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cpuStart := standin.ProcessCPU()
	start := time.Now()
	res, err := standin.Loop(ctx, cfg)
	wall := time.Since(start)
	cpu := standin.ProcessCPU() - cpuStart
	done := res.OK + res.Failed
	fmt.Fprintf(stdout, "bareloop: %d visitors (%d ok, %d failed) in %s: %.0f visitors/s, %.1f µs CPU per visitor\n",
		done, res.OK, res.Failed, wall.Round(time.Millisecond), float64(done)/wall.Seconds(),
		float64(cpu.Microseconds())/float64(max(done, 1)))
	if res.FirstError != nil {
		fmt.Fprintln(stderr, "bareloop: first failure:", res.FirstError)
	}
	if err != nil {
		return err
	}
	if res.Failed > 0 {
		return fmt.Errorf("%d of %d visitors failed", res.Failed, done)
	}
	return nil
}
