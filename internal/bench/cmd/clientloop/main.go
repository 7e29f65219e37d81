package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/bench/standin"
	"github.com/targetflow/targetflow/target"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "clientloop:", err)
		os.Exit(1)
	}
}

// config is what the loop calls, where and how many at once.
type config struct {
	serverDomain, client, organizationID string
	visitors, concurrency                int
	mboxes                               []string
	timeout                              time.Duration
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("clientloop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	fs.StringVar(&cfg.serverDomain, "server-domain", "127.0.0.1:8090", "the stand-in's host:port (plain HTTP, as targetflow run --insecure)")
	fs.StringVar(&cfg.client, "client", "targetflow-demo", "Target client code")
	fs.StringVar(&cfg.organizationID, "organization-id", "7A1B2C3D4E5F60718293A4B5@AdobeOrg", "Experience Cloud organization id")
	fs.IntVar(&cfg.visitors, "visitors", 60000, "calls to make, one per visitor")
	fs.IntVar(&cfg.concurrency, "concurrency", 256, "goroutines calling")
	fs.DurationVar(&cfg.timeout, "timeout", 3*time.Second, "per-call timeout, as targetflow run's --timeout")
	execute := fs.String("execute", "hero,cart", "executed mboxes (comma-separated)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the loop to this file (go tool pprof)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg.mboxes = strings.Split(*execute, ",")
	ctx, stop, err := standin.StartLoop(*cpuProfile)
	if err != nil {
		return err
	}
	defer stop()

	transport := edge.RoutingTransport(cfg.serverDomain)
	defer transport.CloseIdleConnections()
	client, err := target.New(target.WithClient(cfg.client), target.WithOrganizationID(cfg.organizationID),
		target.WithServerDomain(cfg.serverDomain), target.WithSecure(false), target.WithTimeout(cfg.timeout),
		target.WithTransport(transport))
	if err != nil {
		return err
	}
	defer client.Close()

	return standin.Measure(stdout, stderr, "clientloop", func() (standin.LoopResult, error) {
		// Visitor n has the tntId "%032x" of n (the README's visitors files).
		res := standin.Visit(ctx, cfg.visitors, cfg.concurrency, func(ctx context.Context, n int64) error {
			return call(ctx, client, cfg, n)
		})
		return res, ctx.Err()
	})
}

// call makes visitor n's call: the request stages.BuildRequest makes of
// the record {"id":{"tntId":…}} for --execute, under the per-call timeout
// of stages.Deliver.
func call(ctx context.Context, client *target.Client, cfg config, n int64) error {
	mboxes := make([]delivery.MboxRequest, len(cfg.mboxes))
	for i, name := range cfg.mboxes {
		mboxes[i] = delivery.MboxRequest{Index: i, Name: name}
	}
	request := &delivery.DeliveryRequest{
		ID:      &delivery.VisitorID{TntID: fmt.Sprintf("%032x", n)},
		Context: &delivery.Context{Channel: delivery.ChannelWeb},
		Execute: &delivery.ExecuteRequest{Mboxes: mboxes},
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	_, err := client.GetOffers(ctx, target.GetOffersOptions{Request: request})
	return err
}
