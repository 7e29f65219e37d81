package edge_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/targetflow/targetflow/edge"
)

// waitForMetric polls /metrics until line appears (a metric name with
// labels and value); it gives up after many polls.
func waitForMetric(t *testing.T, client *http.Client, base, line string) {
	t.Helper()
	for range 2000 {
		if strings.Contains(string(do(t, client, http.MethodGet, base+"/metrics", "", nil).body), line) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("metric %s never appeared", line)
}

func TestMetricsScrape(t *testing.T) {
	t.Parallel()
	s := newEdge(t, edge.WithFaults(edge.Faults{StallRate: 1, Stall: time.Microsecond}), edge.WithSeed(5))
	base := startEdge(t, s)
	client := httpClient(t)
	for range 3 {
		do(t, client, http.MethodPost, base+deliveryPath, validRequest, nil)
	}
	do(t, client, http.MethodPost, base+deliveryPath, `{"context":{"channel":"web"},"notifications":[
		{"id":"a","type":"display","timestamp":1},{"id":"b","type":"click","timestamp":1},{"id":"c","type":"click","timestamp":1}]}`, nil)
	do(t, client, http.MethodGet, base+"/rest/v1/delivery", "", nil)
	do(t, client, http.MethodGet, base+"/healthz", "", nil)

	got := do(t, client, http.MethodGet, base+"/metrics", "", nil)
	if got.status != http.StatusOK {
		t.Fatalf("/metrics status %d", got.status)
	}
	text := string(got.body)
	for _, want := range []string{
		`targetflow_edge_requests_total{endpoint="delivery",status="200"} 4`,
		`targetflow_edge_requests_total{endpoint="delivery",status="405"} 1`,
		`targetflow_edge_requests_total{endpoint="healthz",status="200"} 1`,
		`targetflow_edge_decision_duration_seconds_count 4`,
		`targetflow_edge_notifications_recorded_total{type="click"} 2`,
		`targetflow_edge_notifications_recorded_total{type="display"} 1`,
		`targetflow_edge_faults_injected_total{fault="stall"} 4`,
		`targetflow_edge_faults_injected_total{fault="reset"} 0`,
		`targetflow_edge_artifact_changes_total 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(text, "go_goroutines") {
		t.Error("/metrics exposes the global registry's collectors")
	}
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	s := newEdge(t)
	got := do(t, httpClient(t), http.MethodGet, startEdge(t, s)+"/healthz", "", nil)
	var health map[string]string
	decodeJSON(t, got.body, &health)
	if got.status != 200 || health["status"] != "ok" || health["artifactETag"] != s.ArtifactETag() {
		t.Fatalf("healthz %d %v", got.status, health)
	}
}

// TestOffersMetricShowsTheSplit sends many visitors to the hero A/B test
// (two experiences, 50/50) and reads the split from /metrics.
func TestOffersMetricShowsTheSplit(t *testing.T) {
	t.Parallel()
	s := newEdge(t)
	const visitors = 400
	for i := range visitors {
		body := fmt.Sprintf(`{"id":{"tntId":"split-visitor-%d"},"context":{"channel":"web"},"execute":{"pageLoad":{},"mboxes":[{"index":0,"name":"hero"}]}}`, i)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, deliveryPath, strings.NewReader(body)))
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
		}
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	counts := map[string]int{}
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if !strings.HasPrefix(line, "targetflow_edge_offers_total{") {
			continue
		}
		labels, value, _ := strings.Cut(line, " ")
		n, err := strconv.Atoi(value)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		counts[labels] = n
	}
	a := counts[`targetflow_edge_offers_total{activity="910001",experience="0",location="hero"}`]
	b := counts[`targetflow_edge_offers_total{activity="910001",experience="1",location="hero"}`]
	if a+b != visitors || a < visitors*35/100 || b < visitors*35/100 {
		t.Errorf("hero split %d / %d of %d visitors, want about half each (all: %v)", a, b, visitors, counts)
	}
	pageLoad := counts[`targetflow_edge_offers_total{activity="910006",experience="0",location="target-global-mbox"}`] +
		counts[`targetflow_edge_offers_total{activity="910006",experience="1",location="target-global-mbox"}`]
	if pageLoad != visitors {
		t.Errorf("pageLoad offers %d, want %d", pageLoad, visitors)
	}
}
