package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/visitor"
)

func main() {
	n := flag.Int("n", 3000, "number of visitors")
	seed := flag.Uint64("seed", 2026, "random seed")
	out := flag.String("o", "visitors.jsonl", "output file (- for standard output)")
	flag.Parse()
	if err := run(*n, *seed, *out); err != nil {
		fmt.Fprintln(os.Stderr, "visitorsgen:", err)
		os.Exit(1)
	}
}

func run(n int, seed uint64, path string) error {
	var w io.Writer = os.Stdout
	if path != "-" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriter(w)
	if err := write(bw, n, seed); err != nil {
		return err
	}
	return bw.Flush()
}

var userAgents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
	"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
}

var pages = []string{"https://shop.example.com/", "https://shop.example.com/cart", "https://shop.example.com/products/42"}

func write(w io.Writer, n int, seed uint64) error {
	rnd := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	enc := json.NewEncoder(w)
	yes := true
	for i := range n {
		v := visitor.Record{ID: &delivery.VisitorID{}}
		hex := fmt.Sprintf("%016x%016x", rnd.Uint64(), rnd.Uint64())
		switch i % 3 {
		case 0:
			v.ID.TntID = hex
		case 1:
			v.ID.ThirdPartyID = fmt.Sprintf("crm-%06d", i+1)
		default:
			v.ID.MarketingCloudVisitorID = hex[:19] + "-" + hex[19:]
		}
		v.Context = &delivery.Context{
			Channel:   delivery.ChannelWeb,
			UserAgent: userAgents[rnd.IntN(len(userAgents))],
			Address:   &delivery.Address{URL: pages[rnd.IntN(len(pages))]},
		}
		v.Execute = []string{demo.MboxHero}
		if rnd.IntN(2) == 0 {
			v.Execute = append(v.Execute, demo.MboxCart)
			if rnd.IntN(3) == 0 {
				v.Parameters = delivery.Parameters{demo.ParamLoyaltyTier: "gold"}
			}
		}
		if rnd.IntN(10) == 0 {
			v.Execute = append(v.Execute, demo.MboxRecommendations)
		}
		if rnd.IntN(4) == 0 {
			v.Prefetch = []string{demo.MboxFeatureFlags}
			v.Views = []string{demo.ViewHome, demo.ViewCart}
			v.Notify = &yes
		}
		if rnd.IntN(10) == 0 {
			v.PageLoad = &yes
		}
		if err := enc.Encode(&v); err != nil {
			return fmt.Errorf("visitor %d: %w", i+1, err)
		}
	}
	return nil
}
