package target

import "testing"

func TestClusterFromTntID(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"":                                      "",
		"abc":                                   "",
		"abc.35_0":                              "35",
		"338e3c1e51f7416a8e1ccba4f81acea0.28_0": "28",
		".35_0":                                 "35",
		"abc.35_":                               "35",
		"abc._0":                                "",
		"abc.":                                  "",
		"abc.35":                                "",
		"abc.35_0_1":                            "",
		"a.b.35_0":                              "",
		"abc.irl1_0":                            "irl1",
	}
	for id, want := range tests {
		if got := ClusterFromTntID(id); got != want {
			t.Errorf("ClusterFromTntID(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestClusterFromEdgeHost(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"":                             "",
		"mboxedge35.tt.omtrdc.net":     "35",
		"mboxedge28.tt.omtrdc.net":     "28",
		"acme.tt.omtrdc.net":           "acme",
		"tt.omtrdc.net":                "",
		"a.b.mboxedge35.tt.omtrdc.net": "",
		".tt.omtrdc.net":               "",
		// An answer's edgeHost becomes the host of later calls: a cluster
		// that cannot be part of a host name is ignored.
		"mboxedge3/5?x.tt.omtrdc.net": "",
		"mboxedge 35.tt.omtrdc.net":   "",
		"mboxedge.tt.omtrdc.net":      "",
	}
	for host, want := range tests {
		if got := clusterFromEdgeHost(host); got != want {
			t.Errorf("clusterFromEdgeHost(%q) = %q, want %q", host, got, want)
		}
	}
}

func TestTargetHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		serverDomain, cluster, client, want string
	}{
		{"", "", "acme", "acme.tt.omtrdc.net"},
		{"target.acme.com", "", "acme", "target.acme.com"},
		{"target.acme.com", "35", "acme", "mboxedge35.tt.omtrdc.net"},
		{"", "35", "acme", "mboxedge35.tt.omtrdc.net"},
	}
	for _, tt := range tests {
		if got := targetHost(tt.serverDomain, tt.cluster, tt.client); got != tt.want {
			t.Errorf("targetHost(%q, %q, %q) = %q, want %q", tt.serverDomain, tt.cluster, tt.client, got, tt.want)
		}
	}
}

// TestRouting checks, through a real server, which host each call goes to.
func TestRouting(t *testing.T) {
	t.Parallel()
	future := "9999999999"
	tests := []struct {
		name     string
		clientOp []Option
		opts     GetOffersOptions
		want     string
	}{
		{"client host by default", nil, GetOffersOptions{}, "acme.tt.omtrdc.net"},
		{"server domain", []Option{WithServerDomain("target.acme.com:8080")}, GetOffersOptions{}, "target.acme.com:8080"},
		{"cluster from PC cookie", []Option{WithServerDomain("target.acme.com")},
			GetOffersOptions{TargetCookie: "PC#abc.34_0#" + future}, "mboxedge34.tt.omtrdc.net"},
		{"cluster from request tntId", nil,
			GetOffersOptions{Request: &executeRequestWithTnt}, "mboxedge31.tt.omtrdc.net"},
		{"location hint cookie", nil, GetOffersOptions{TargetLocationHint: "17"}, "mboxedge17.tt.omtrdc.net"},
		{"tntId beats location hint", nil,
			GetOffersOptions{TargetCookie: "PC#abc.34_0#" + future, TargetLocationHint: "17"}, "mboxedge34.tt.omtrdc.net"},
		{"location hint beats configured hint", []Option{WithTargetLocationHint("5")},
			GetOffersOptions{TargetLocationHint: "17"}, "mboxedge17.tt.omtrdc.net"},
		{"configured hint", []Option{WithTargetLocationHint("5")}, GetOffersOptions{}, "mboxedge5.tt.omtrdc.net"},
		{"invalid location hint ignored", nil, GetOffersOptions{TargetLocationHint: "evil.com/x"}, "acme.tt.omtrdc.net"},
		{"expired PC ignored", nil, GetOffersOptions{TargetCookie: "PC#abc.34_0#1"}, "acme.tt.omtrdc.net"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEdge(t)
			c := e.newClient(tt.clientOp...)
			opts := tt.opts
			if opts.Request == nil {
				opts.Request = executeMboxes("hero")
			}
			if _, err := c.GetOffers(t.Context(), opts); err != nil {
				t.Fatal(err)
			}
			if got := e.last().Host; got != tt.want {
				t.Errorf("host %q, want %q", got, tt.want)
			}
		})
	}
}

var executeRequestWithTnt = *withTntID(executeMboxes("hero"), "abc.31_0")
