package edge_test

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/internal/obfuscation"
)

func TestRulesEndpointsServeTheArtifactWithETag(t *testing.T) {
	t.Parallel()
	s := newEdge(t)
	base := startEdge(t, s)
	client := httpClient(t)
	paths := []string{
		"/" + demo.Client + "/production/rules/v1/rules.json",
		"/" + demo.Client + "/production/v1/rules.json",
		"/" + demo.Client + "/production/v1/some-property-token/rules.json",
	}
	for _, path := range paths {
		got := do(t, client, http.MethodGet, base+path, "", nil)
		if got.status != http.StatusOK || !bytes.Equal(got.body, demo.Artifact()) {
			t.Fatalf("GET %s: status %d, %d bytes; want 200 and the demo artifact", path, got.status, len(got.body))
		}
		etag := got.header.Get("ETag")
		if etag == "" || etag != s.ArtifactETag() {
			t.Fatalf("ETag %q, Server.ArtifactETag %q", etag, s.ArtifactETag())
		}
		for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
			again := do(t, client, http.MethodGet, base+path, "", map[string]string{"If-None-Match": inm})
			if again.status != http.StatusNotModified || len(again.body) != 0 || again.header.Get("ETag") != etag {
				t.Errorf("If-None-Match %s: status %d with %d bytes, want 304 and no body", inm, again.status, len(again.body))
			}
		}
		if stale := do(t, client, http.MethodGet, base+path, "", map[string]string{"If-None-Match": `"stale"`}); stale.status != http.StatusOK {
			t.Errorf("stale If-None-Match answered %d, want 200", stale.status)
		}
		head := do(t, client, http.MethodHead, base+path, "", nil)
		if head.status != http.StatusOK || len(head.body) != 0 || head.header.Get("ETag") != etag {
			t.Errorf("HEAD: status %d, %d bytes", head.status, len(head.body))
		}
	}
}

func TestRulesBinIsObfuscatedForTheOrganization(t *testing.T) {
	t.Parallel()
	s := newEdge(t)
	base := startEdge(t, s)
	client := httpClient(t)
	got := do(t, client, http.MethodGet, base+"/"+demo.Client+"/production/rules/v1/rules.bin", "", nil)
	if got.status != http.StatusOK || got.header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("rules.bin: status %d, type %q", got.status, got.header.Get("Content-Type"))
	}
	plain, err := obfuscation.Decode(demo.OrganizationID, got.body)
	if err != nil {
		t.Fatalf("Decode rules.bin: %v", err)
	}
	if !bytes.Equal(plain, demo.Artifact()) {
		t.Fatal("rules.bin does not decode to the served rules.json")
	}
	if _, err := obfuscation.Decode("000000000000000000000000@AdobeOrg", got.body); !errors.Is(err, obfuscation.ErrWrongKey) {
		t.Errorf("Decode with another organization: %v, want ErrWrongKey", err)
	}
	etag := got.header.Get("ETag")
	if etag == "" || etag == s.ArtifactETag() {
		t.Errorf("rules.bin ETag %q must exist and differ from rules.json's", etag)
	}
	if again := do(t, client, http.MethodGet, base+"/"+demo.Client+"/production/rules/v1/rules.bin", "", map[string]string{"If-None-Match": etag}); again.status != http.StatusNotModified {
		t.Errorf("rules.bin If-None-Match answered %d, want 304", again.status)
	}
	// The same artifact for the same organization gives the same rules.bin.
	other := startEdge(t, newEdge(t))
	if twin := do(t, client, http.MethodGet, other+"/"+demo.Client+"/production/rules/v1/rules.bin", "", nil); !bytes.Equal(twin.body, got.body) {
		t.Error("two edges serving the same artifact answer different rules.bin")
	}
}

func TestRulesBinNeedsAnOrganization(t *testing.T) {
	t.Parallel()
	s := newEdgeWith(t, demo.Artifact())
	base := startEdge(t, s)
	got := do(t, httpClient(t), http.MethodGet, base+"/"+demo.Client+"/production/rules/v1/rules.bin", "", nil)
	if got.status != http.StatusNotFound || !strings.Contains(string(got.body), "organization id") {
		t.Fatalf("rules.bin without organization: %d %s", got.status, got.body)
	}
}

func TestSetArtifactChangesETag(t *testing.T) {
	t.Parallel()
	s := newEdge(t)
	base := startEdge(t, s)
	client := httpClient(t)
	path := base + "/" + demo.Client + "/production/rules/v1/rules.json"
	first := do(t, client, http.MethodGet, path, "", nil)
	oldETag := first.header.Get("ETag")

	changed := bytes.Replace(demo.Artifact(), []byte("Free shipping on every order"), []byte("Free shipping, always"), 1)
	if bytes.Equal(changed, demo.Artifact()) {
		t.Fatal("test artifact edit did not apply")
	}
	if err := s.SetArtifact(changed); err != nil {
		t.Fatalf("SetArtifact: %v", err)
	}
	if s.ArtifactETag() == oldETag {
		t.Fatal("ETag did not change with the artifact")
	}
	polled := do(t, client, http.MethodGet, path, "", map[string]string{"If-None-Match": oldETag})
	if polled.status != http.StatusOK || !bytes.Equal(polled.body, changed) || polled.header.Get("ETag") != s.ArtifactETag() {
		t.Fatalf("poll with the old ETag: status %d, new body %v", polled.status, bytes.Equal(polled.body, changed))
	}
	if again := do(t, client, http.MethodGet, path, "", map[string]string{"If-None-Match": s.ArtifactETag()}); again.status != http.StatusNotModified {
		t.Errorf("poll with the new ETag answered %d, want 304", again.status)
	}

	// A rules.bin of the demo organization is accepted too.
	bin, err := obfuscation.Encode(demo.OrganizationID, strings.Repeat("k", obfuscation.KeyLength), demo.Artifact())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetArtifact(bin); err != nil {
		t.Fatalf("SetArtifact(rules.bin): %v", err)
	}
	if s.ArtifactETag() != oldETag {
		t.Error("the original artifact, installed again from rules.bin, has a different ETag")
	}
}

func TestSetArtifactRefusesBrokenArtifacts(t *testing.T) {
	t.Parallel()
	s := newEdge(t)
	etag := s.ArtifactETag()
	otherOrg, err := obfuscation.Encode("FFFFFFFFFFFFFFFFFFFFFFFF@AdobeOrg", strings.Repeat("k", obfuscation.KeyLength), demo.Artifact())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		payload []byte
		want    string
	}{
		{"empty", nil, "not a JSON object"},
		{"truncated", demo.Artifact()[:100], "not valid JSON"},
		{"array", []byte(`[]`), "not a JSON object"},
		{"version 2", []byte(`{"version":"2.0.0","rules":{"mboxes":{},"views":{}}}`), `version "2.0.0"`},
		{"no rules", []byte(`{"version":"1.0.0","meta":{"clientCode":"x"}}`), "no rules"},
		{"other organization", otherOrg, "wrong organization id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := s.SetArtifact(tc.payload)
			var refused *edge.ArtifactError
			if !errors.As(err, &refused) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("SetArtifact error %v, want *ArtifactError containing %q", err, tc.want)
			}
			if s.ArtifactETag() != etag {
				t.Fatal("a refused artifact replaced the serving one")
			}
		})
	}
}

// TestLoadedArtifactSources: an artifact read by LoadArtifact from a file
// or a URL is the one New serves.
func TestLoadedArtifactSources(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.json")
	if err := os.WriteFile(path, demo.Artifact(), 0o600); err != nil {
		t.Fatal(err)
	}
	fileData, err := edge.LoadArtifact(t.Context(), nil, path)
	if err != nil {
		t.Fatal(err)
	}
	origin := startEdge(t, newEdge(t))
	url := origin + "/" + demo.Client + "/production/rules/v1/rules.json"
	urlData, err := edge.LoadArtifact(t.Context(), httpClient(t), url)
	if err != nil {
		t.Fatal(err)
	}
	fromFile, fromURL := newEdgeWith(t, fileData), newEdgeWith(t, urlData)
	if fromFile.ArtifactETag() != fromURL.ArtifactETag() || fromFile.Client() != demo.Client {
		t.Fatalf("file and URL sources differ: %s vs %s", fromFile.ArtifactETag(), fromURL.ArtifactETag())
	}
	for _, source := range []string{filepath.Join(dir, "absent.json"), origin + "/nothing/here/rules.json"} {
		if _, err := edge.LoadArtifact(t.Context(), httpClient(t), source); err == nil {
			t.Errorf("LoadArtifact(%s) succeeded; want an error", source)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	bad := []struct {
		name     string
		artifact []byte
		opts     []edge.Option
		want     string
		wantType any
	}{
		{"no artifact", nil, nil, "no artifact", new(*edge.ArtifactError)},
		{"no client code", []byte(`{"version":"1.0.0","rules":{}}`), nil, "clientCode", new(*edge.ArtifactError)},
		{"bin without organization", mustEncode(t), nil, "no organization id", new(*edge.ArtifactError)},
		{"bad fault rates", demo.Artifact(), []edge.Option{edge.WithFaults(edge.Faults{ErrorRate: 0.7, ThrottleRate: 0.7})}, "add up to 1.4", new(*edge.ConfigError)},
		{"negative rate", demo.Artifact(), []edge.Option{edge.WithFaults(edge.Faults{ResetRate: -0.1})}, "reset rate -0.1", new(*edge.ConfigError)},
		{"stall without duration", demo.Artifact(), []edge.Option{edge.WithFaults(edge.Faults{StallRate: 0.1})}, "needs a stall duration", new(*edge.ConfigError)},
		{"bad jitter distribution", demo.Artifact(), []edge.Option{edge.WithLatency(edge.Latency{Jitter: 1, Distribution: "pareto"})}, `"pareto"`, new(*edge.ConfigError)},
		{"negative latency", demo.Artifact(), []edge.Option{edge.WithLatency(edge.Latency{Fixed: -1})}, "negative", new(*edge.ConfigError)},
		{"zero cluster", demo.Artifact(), []edge.Option{edge.WithCluster(0)}, `cluster "0"`, new(*edge.ConfigError)},
		{"empty client", demo.Artifact(), []edge.Option{edge.WithClient("")}, "client", new(*edge.ConfigError)},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := edge.New(tc.artifact, tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New error %v, want one containing %q", err, tc.want)
			}
			if !errors.As(err, tc.wantType) {
				t.Errorf("New error %v (%T), want a %T", err, err, tc.wantType)
			}
		})
	}
}

func mustEncode(t *testing.T) []byte {
	t.Helper()
	bin, err := obfuscation.Encode(demo.OrganizationID, strings.Repeat("k", obfuscation.KeyLength), demo.Artifact())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}
