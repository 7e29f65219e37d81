package edge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
)

// startEdge serves s on loopback for the duration of the test.
func startEdge(t testing.TB, s *edge.Server) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr, err := s.Start(ctx, "")
	if err != nil {
		cancel()
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := s.Wait(); err != nil {
			t.Errorf("Wait: %v", err)
		}
	})
	return "http://" + addr
}

// newEdge makes an edge serving the demo artifact, with rules.bin for the
// demo's organization id unless opts say otherwise.
func newEdge(t testing.TB, opts ...edge.Option) *edge.Server {
	t.Helper()
	return newEdgeWith(t, edge.DemoArtifact(), append([]edge.Option{edge.WithOrganizationID(demo.OrganizationID)}, opts...)...)
}

// newEdgeWith makes an edge serving artifact.
func newEdgeWith(t testing.TB, artifact []byte, opts ...edge.Option) *edge.Server {
	t.Helper()
	s, err := edge.New(artifact, opts...)
	if err != nil {
		t.Fatalf("edge.New: %v", err)
	}
	return s
}

// httpClient is a client of its own per test, closed at the end so that no
// keep-alive goroutine outlives the test.
func httpClient(t testing.TB) *http.Client {
	t.Helper()
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Transport: transport}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func do(t testing.TB, client *http.Client, method, url string, body string, header map[string]string) answer {
	t.Helper()
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, reader)
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading answer: %v", err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: data}
}

func decodeJSON(t testing.TB, data []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding %q: %v", data, err)
	}
}

const deliveryPath = "/rest/v1/delivery?imsOrgId=ORG%40AdobeOrg&sessionId=session-1"
