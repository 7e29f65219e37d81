package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/targetflow/targetflow/delivery"
)

func TestParseFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		check   func(t *testing.T, c config)
		wantErr string
	}{
		{name: "defaults are the sample's options, offline", args: nil, check: func(t *testing.T, c config) {
			if c.Addr != "127.0.0.1:5000" || c.Client != "acmeclient" || c.OrganizationID != "1234567890@AdobeOrg" ||
				c.Decisioning != defaultDecisioning || c.ServerDomain != "" || c.Artifact != "" || c.Work != 50*time.Millisecond {
				t.Errorf("defaults = %+v", c)
			}
		}},
		{name: "all flags", args: []string{"--addr", "0.0.0.0:8080", "--decisioning", "server-side", "--artifact", "rules.json",
			"--server-domain", "edge.example:443", "--insecure", "--client", "c", "--organization-id", "o@AdobeOrg", "--work", "5ms",
			"--max-connections", "100"},
			check: func(t *testing.T, c config) {
				want := config{Addr: "0.0.0.0:8080", Decisioning: delivery.DecisioningServerSide, Artifact: "rules.json",
					ServerDomain: "edge.example:443", Insecure: true, Client: "c", OrganizationID: "o@AdobeOrg",
					Work: 5 * time.Millisecond, MaxBodyBytes: defaultMaxBodyBytes, MaxConnections: 100,
					IdleTimeout: idleTimeout, OutboundIdleTimeout: defaultOutboundIdleTimeout, QuietPeriod: defaultQuietPeriod}
				if c != want {
					t.Errorf("config = %+v, want %+v", c, want)
				}
			}},
		{name: "bad decisioning", args: []string{"--decisioning", "magic"}, wantErr: `--decisioning "magic"`},
		{name: "bad addr", args: []string{"--addr", "5000"}, wantErr: `--addr "5000"`},
		{name: "negative work", args: []string{"--work", "-1s"}, wantErr: "--work -1s: must be between 0 and 20s"},
		{name: "too much work", args: []string{"--work", "1m"}, wantErr: "--work 1m0s: must be between 0 and 20s"},
		{name: "empty client", args: []string{"--client", ""}, wantErr: "--client"},
		{name: "insecure without domain", args: []string{"--insecure"}, wantErr: "--insecure"},
		{name: "negative connection limit", args: []string{"--max-connections", "-1"}, wantErr: "--max-connections -1: must not be negative"},
		{name: "positional argument", args: []string{"serve"}, wantErr: `unexpected argument "serve"`},
		{name: "unknown flag", args: []string{"--port", "1"}, wantErr: "flag provided but not defined: -port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			c, err := parseFlags(tt.args, &out)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseFlags(%q) error = %v, want one containing %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFlags(%q): %v", tt.args, err)
			}
			tt.check(t, c)
		})
	}
}

func TestParseFlagsHelp(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	_, err := parseFlags([]string{"-h"}, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("error = %v, want flag.ErrHelp", err)
	}
	for _, f := range []string{"-addr", "-decisioning", "-artifact", "-server-domain", "-insecure", "-client", "-organization-id", "-work"} {
		if !strings.Contains(out.String(), f) {
			t.Errorf("usage does not list %s:\n%s", f, out.String())
		}
	}
}
