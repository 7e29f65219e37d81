package edge_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/edge"
	"github.com/targetflow/targetflow/internal/demo"
)

// errorAnswer is the shape of every error answer.
type errorAnswer struct {
	Status  *int    `json:"status"`
	Message *string `json:"message"`
}

func TestDeliveryErrorPaths(t *testing.T) {
	t.Parallel()
	base := startEdge(t, newEdge(t, edge.WithMaxBodyBytes(4096)))
	client := httpClient(t)
	web := `"context":{"channel":"web"}`
	tests := []struct {
		name    string
		method  string
		path    string
		body    string
		status  int
		message string
	}{
		{"GET", http.MethodGet, deliveryPath, "", 405, "method GET is not allowed"},
		{"PUT", http.MethodPut, deliveryPath, "{}", 405, "use POST"},
		{"DELETE", http.MethodDelete, deliveryPath, "", 405, "method DELETE"},
		{"no imsOrgId", http.MethodPost, "/rest/v1/delivery?sessionId=s", `{` + web + `}`, 400, "imsOrgId is required"},
		{"empty imsOrgId", http.MethodPost, "/rest/v1/delivery?imsOrgId=&sessionId=s", `{` + web + `}`, 400, "imsOrgId is required"},
		{"no sessionId", http.MethodPost, "/rest/v1/delivery?imsOrgId=O", `{` + web + `}`, 400, "sessionId is required"},
		{"blank sessionId", http.MethodPost, "/rest/v1/delivery?imsOrgId=O&sessionId=%20", `{` + web + `}`, 400, "sessionId is required"},
		{"empty body", http.MethodPost, deliveryPath, "", 400, "the body is empty"},
		{"not JSON", http.MethodPost, deliveryPath, "hello", 400, "not valid JSON"},
		{"truncated JSON", http.MethodPost, deliveryPath, `{"context":`, 400, "not valid JSON"},
		{"two objects", http.MethodPost, deliveryPath, `{}{}`, 400, "not valid JSON"},
		{"array", http.MethodPost, deliveryPath, `[{"context":{"channel":"web"}}]`, 400, "the body is an array, not a Delivery API request"},
		{"string", http.MethodPost, deliveryPath, `"request"`, 400, "the body is a string, not a Delivery API request"},
		{"null", http.MethodPost, deliveryPath, `null`, 400, "the body is null, not a Delivery API request"},
		{"number", http.MethodPost, deliveryPath, `42`, 400, "the body is a number, not a Delivery API request"},
		{"wrong field type", http.MethodPost, deliveryPath, `{` + web + `,"execute":5}`, 400, "execute 5 must be an object, not a number"},
		{"wrong nested type", http.MethodPost, deliveryPath, `{` + web + `,"execute":{"mboxes":[{"index":"one","name":"hero"}]}}`, 400, `execute.mboxes[0].index "one" must be an integer, not a string`},
		{"object parameter", http.MethodPost, deliveryPath, `{` + web + `,"execute":{"mboxes":[{"index":0,"name":"hero","parameters":{"a":{}}}]}}`, 400, "execute.mboxes[0].parameters.a {} must be a string, number or boolean, not an object"},
		{"no context", http.MethodPost, deliveryPath, `{}`, 400, "context is required"},
		{"no channel", http.MethodPost, deliveryPath, `{"context":{}}`, 400, "context.channel is required"},
		{"bad channel", http.MethodPost, deliveryPath, `{"context":{"channel":"tv"}}`, 400, `context.channel "tv"`},
		{"bad platform", http.MethodPost, deliveryPath, `{"context":{"channel":"mobile","mobilePlatform":{"deviceType":"phone","platformType":"palm"}}}`, 400, "platformType \"palm\""},
		{"execute mbox without name", http.MethodPost, deliveryPath, `{` + web + `,"execute":{"mboxes":[{"index":0,"name":"hero"},{"index":1}]}}`, 400, "execute.mboxes[1].name is required"},
		{"prefetch mbox without name", http.MethodPost, deliveryPath, `{` + web + `,"prefetch":{"mboxes":[{"index":0,"name":" "}]}}`, 400, `prefetch.mboxes[0].name " " must not be blank`},
		{"notification without id", http.MethodPost, deliveryPath, `{` + web + `,"notifications":[{"type":"display","timestamp":1}]}`, 400, "notifications[0].id is required"},
		{"notification bad type", http.MethodPost, deliveryPath, `{` + web + `,"notifications":[{"id":"n","type":"view","timestamp":1}]}`, 400, `notifications[0].type "view"`},
		{"notification mbox and view", http.MethodPost, deliveryPath, `{` + web + `,"notifications":[{"id":"n","type":"click","timestamp":1,"mbox":{"name":"a"},"view":{"name":"b"}}]}`, 400, "notifications[0] has both an mbox and a view: they are exclusive"},
		{"tntId too long", http.MethodPost, deliveryPath, `{` + web + `,"id":{"tntId":"` + strings.Repeat("t", 129) + `"}}`, 400, "id.tntId \"ttt"},
		{"tntId too long, its length", http.MethodPost, deliveryPath, `{` + web + `,"id":{"tntId":"` + strings.Repeat("t", 129) + `"}}`, 400, "must be at most 128 characters, not 129"},
		{"thirdPartyId too long", http.MethodPost, deliveryPath, `{` + web + `,"id":{"thirdPartyId":"` + strings.Repeat("é", 129) + `"}}`, 400, "id.thirdPartyId"},
		{"marketingCloudVisitorId too long", http.MethodPost, deliveryPath, `{` + web + `,"id":{"marketingCloudVisitorId":"` + strings.Repeat("m", 300) + `"}}`, 400, "id.marketingCloudVisitorId"},
		{"windows platform", http.MethodPost, deliveryPath, `{"context":{"channel":"mobile","mobilePlatform":{"platformType":"windows"}}}`, 400, `context.mobilePlatform.platformType "windows" must be "android" or "ios"`},
		{"customer id without code", http.MethodPost, deliveryPath, `{` + web + `,"id":{"customerIds":[{"id":"c1"}]}}`, 400, "id.customerIds[0].integrationCode is required"},
		{"body over limit", http.MethodPost, deliveryPath, `{` + web + `,"requestId":"` + strings.Repeat("x", 5000) + `"}`, 413, "larger than 4096 bytes"},
		{"unknown path", http.MethodGet, "/rest/v2/delivery", "", 404, "no such endpoint"},
		{"root", http.MethodGet, "/", "", 404, "no such endpoint"},
		{"rules wrong method", http.MethodPost, "/" + demo.Client + "/production/rules/v1/rules.json", "{}", 405, "use GET, HEAD"},
		{"rules wrong client", http.MethodGet, "/someone-else/production/rules/v1/rules.json", "", 404, `client "someone-else"`},
		{"rules wrong environment", http.MethodGet, "/" + demo.Client + "/staging/rules/v1/rules.json", "", 404, `environment "staging"`},
		{"healthz POST", http.MethodPost, "/healthz", "", 405, "use GET, HEAD"},
		{"metrics DELETE", http.MethodDelete, "/metrics", "", 405, "use GET, HEAD"},
		{"notifications PUT", http.MethodPut, "/notifications", "", 405, "use GET, DELETE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := do(t, client, tc.method, base+tc.path, tc.body, map[string]string{"Content-Type": "application/json"})
			if got.status != tc.status {
				t.Fatalf("status %d, want %d (body %s)", got.status, tc.status, got.body)
			}
			if ct := got.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			var e errorAnswer
			decodeJSON(t, got.body, &e)
			if e.Status == nil || *e.Status != tc.status || e.Message == nil {
				t.Fatalf("body %s is not {\"status\":%d,\"message\":...}", got.body, tc.status)
			}
			if !strings.Contains(*e.Message, tc.message) {
				t.Errorf("message %q does not contain %q", *e.Message, tc.message)
			}
			if tc.status == 405 && got.header.Get("Allow") == "" {
				t.Errorf("405 without an Allow header")
			}
		})
	}
}

var mintedTntID = regexp.MustCompile(`^[0-9a-f]{32}\.28_0$`)

func TestDeliveryResponseShape(t *testing.T) {
	t.Parallel()
	s := newEdge(t)
	base := startEdge(t, s)
	client := httpClient(t)

	tests := []struct {
		name      string
		body      string
		requestID string // "" means minted
		tntID     string // "" means minted
		edgeHost  string
	}{
		{
			name:     "no id",
			body:     `{"context":{"channel":"web"},"execute":{"mboxes":[{"index":0,"name":"hero"}]}}`,
			edgeHost: "mboxedge28.tt.omtrdc.net",
		},
		{
			name:      "tntId with location hint",
			body:      `{"requestId":"req-7","id":{"tntId":"f00dcafe.35_0"},"context":{"channel":"web"},"execute":{"mboxes":[{"index":0,"name":"hero"}]}}`,
			requestID: "req-7",
			tntID:     "f00dcafe.35_0",
			edgeHost:  "mboxedge35.tt.omtrdc.net",
		},
		{
			name:     "thirdPartyId only",
			body:     `{"id":{"thirdPartyId":"crm-42"},"context":{"channel":"web"},"prefetch":{"mboxes":[{"index":0,"name":"cart"}]}}`,
			edgeHost: "mboxedge28.tt.omtrdc.net",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := do(t, client, http.MethodPost, base+deliveryPath, tc.body, nil)
			if got.status != http.StatusOK {
				t.Fatalf("status %d: %s", got.status, got.body)
			}
			var resp delivery.DeliveryResponse
			decodeJSON(t, got.body, &resp)
			if resp.Status != 200 || resp.Client != demo.Client || resp.EdgeHost != tc.edgeHost {
				t.Errorf("status/client/edgeHost = %d/%q/%q, want 200/%q/%q", resp.Status, resp.Client, resp.EdgeHost, demo.Client, tc.edgeHost)
			}
			if tc.requestID != "" && resp.RequestID != tc.requestID {
				t.Errorf("requestId %q, want %q", resp.RequestID, tc.requestID)
			}
			if tc.requestID == "" && len(resp.RequestID) != 36 {
				t.Errorf("minted requestId %q is not a UUID", resp.RequestID)
			}
			if resp.ID == nil {
				t.Fatal("response has no id")
			}
			if tc.tntID != "" && resp.ID.TntID != tc.tntID {
				t.Errorf("tntId %q, want %q", resp.ID.TntID, tc.tntID)
			}
			if tc.tntID == "" && !mintedTntID.MatchString(resp.ID.TntID) {
				t.Errorf("minted tntId %q does not match %v", resp.ID.TntID, mintedTntID)
			}
		})
	}
}

func TestDeliveryRecordsNotifications(t *testing.T) {
	t.Parallel()
	s := newEdge(t)
	base := startEdge(t, s)
	client := httpClient(t)
	body := `{"id":{"tntId":"visitor-1.28_0"},"context":{"channel":"web"},"notifications":[
		{"id":"n-1","type":"display","timestamp":1700000000000,"tokens":["tok-a"],"mbox":{"name":"hero"}},
		{"id":"n-2","type":"click","timestamp":1700000000001,"tokens":["tok-b"],"view":{"name":"home"}},
		{"id":"n-3","type":"display","timestamp":1700000000002,"tokens":["tok-c","tok-d"],"pageLoad":{}}]}`
	got := do(t, client, http.MethodPost, base+deliveryPath, body, nil)
	if got.status != http.StatusOK {
		t.Fatalf("status %d: %s", got.status, got.body)
	}
	var resp delivery.DeliveryResponse
	decodeJSON(t, got.body, &resp)
	var ids []string
	for _, n := range resp.Notifications {
		ids = append(ids, n.ID)
	}
	if strings.Join(ids, ",") != "n-1,n-2,n-3" {
		t.Errorf("notification receipts %v, want n-1,n-2,n-3", ids)
	}

	listed := do(t, client, http.MethodGet, base+"/notifications", "", nil)
	var list struct {
		Notifications []edge.NotificationRecord `json:"notifications"`
		Forgotten     int64                     `json:"forgotten"`
	}
	decodeJSON(t, listed.body, &list)
	if len(list.Notifications) != 3 {
		t.Fatalf("GET /notifications listed %d records, want 3: %s", len(list.Notifications), listed.body)
	}
	first, second, third := list.Notifications[0], list.Notifications[1], list.Notifications[2]
	if first.ID != "n-1" || first.Type != delivery.MetricDisplay || first.Mbox != "hero" || first.Tokens[0] != "tok-a" ||
		first.SessionID != "session-1" || first.TntID != "visitor-1.28_0" || first.Timestamp != 1700000000000 {
		t.Errorf("first record %+v", first)
	}
	if second.Type != delivery.MetricClick || second.View != "home" || second.Mbox != "" {
		t.Errorf("second record %+v", second)
	}
	if !third.PageLoad || len(third.Tokens) != 2 {
		t.Errorf("third record %+v", third)
	}

	filtered := do(t, client, http.MethodGet, base+"/notifications?type=click", "", nil)
	decodeJSON(t, filtered.body, &list)
	if len(list.Notifications) != 1 || list.Notifications[0].ID != "n-2" {
		t.Errorf("?type=click listed %+v", list.Notifications)
	}
	if n := len(s.Notifications()); n != 3 {
		t.Errorf("Server.Notifications has %d records, want 3", n)
	}
	if del := do(t, client, http.MethodDelete, base+"/notifications", "", nil); del.status != http.StatusNoContent {
		t.Errorf("DELETE /notifications status %d", del.status)
	}
	if n := len(s.Notifications()); n != 0 {
		t.Errorf("after DELETE, %d records remain", n)
	}
}

func TestBeaconAnswersNoContent(t *testing.T) {
	t.Parallel()
	s := newEdge(t)
	base := startEdge(t, s)
	body := `{"context":{"channel":"web","beacon":true},"notifications":[{"id":"b-1","type":"display","timestamp":1,"mbox":{"name":"hero"}}]}`
	got := do(t, httpClient(t), http.MethodPost, base+deliveryPath, body, nil)
	if got.status != http.StatusNoContent || len(got.body) != 0 {
		t.Fatalf("beacon answered %d with %q, want 204 and no body", got.status, got.body)
	}
	if recs := s.Notifications(); len(recs) != 1 || recs[0].ID != "b-1" {
		t.Fatalf("beacon notifications recorded: %+v", recs)
	}
}

func TestNotificationLimitKeepsTheNewest(t *testing.T) {
	t.Parallel()
	s := newEdge(t, edge.WithNotificationLimit(2))
	base := startEdge(t, s)
	client := httpClient(t)
	for _, id := range []string{"a", "b", "c"} {
		body := `{"context":{"channel":"web"},"notifications":[{"id":"` + id + `","type":"display","timestamp":1}]}`
		if got := do(t, client, http.MethodPost, base+deliveryPath, body, nil); got.status != 200 {
			t.Fatalf("status %d: %s", got.status, got.body)
		}
	}
	recs := s.Notifications()
	if len(recs) != 2 || recs[0].ID != "b" || recs[1].ID != "c" {
		t.Fatalf("kept %+v, want b, c", recs)
	}
	var list struct {
		Forgotten int64 `json:"forgotten"`
	}
	decodeJSON(t, do(t, client, http.MethodGet, base+"/notifications", "", nil).body, &list)
	if list.Forgotten != 1 {
		t.Errorf("forgotten = %d, want 1", list.Forgotten)
	}
}

// TestConcurrentDeliveries decides the same visitor from many goroutines at
// once (run with -race): answers must not share mutable state.
func TestConcurrentDeliveries(t *testing.T) {
	t.Parallel()
	s := newEdge(t)
	body := `{"id":{"tntId":"same-visitor.28_0"},"context":{"channel":"web"},"execute":{"mboxes":[{"index":0,"name":"hero"},{"index":1,"name":"feature-flags"}]},"prefetch":{"views":[{}]}}`
	var wg sync.WaitGroup
	answers := make([]string, 16)
	for i := range answers {
		wg.Go(func() {
			for range 20 {
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, deliveryPath, strings.NewReader(body)))
				var resp delivery.DeliveryResponse
				if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || rec.Code != 200 {
					t.Errorf("status %d: %v", rec.Code, err)
					return
				}
				resp.RequestID = ""
				out, _ := json.Marshal(resp)
				answers[i] = string(out)
			}
		})
	}
	wg.Wait()
	for i, a := range answers {
		if a != answers[0] {
			t.Fatalf("answer %d differs from answer 0:\n%s\n%s", i, a, answers[0])
		}
	}
}

func TestCrossOriginCalls(t *testing.T) {
	t.Parallel()
	base := startEdge(t, newEdge(t))
	client := httpClient(t)
	origin := map[string]string{"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}
	preflight := do(t, client, http.MethodOptions, base+deliveryPath, "", origin)
	if preflight.status != http.StatusNoContent ||
		preflight.header.Get("Access-Control-Allow-Origin") != "https://shop.example" ||
		preflight.header.Get("Access-Control-Allow-Methods") != "POST" {
		t.Fatalf("preflight: %d %v", preflight.status, preflight.header)
	}
	call := do(t, client, http.MethodPost, base+deliveryPath, validRequest, map[string]string{"Origin": "https://shop.example"})
	if call.status != http.StatusOK || call.header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("cross-origin call: %d %v", call.status, call.header)
	}
	if plain := do(t, client, http.MethodOptions, base+deliveryPath, "", nil); plain.status != http.StatusMethodNotAllowed {
		t.Errorf("OPTIONS without Origin answered %d, want 405", plain.status)
	}
}

// TestMintedTntIDIsTheAllocatedOne: a visitor who brings no id the engine
// allocates by (only customer ids here) gets a tntId minted before the
// decision, so that the experience answered is the one the visitor keeps
// getting when it comes back with that tntId.
func TestMintedTntIDIsTheAllocatedOne(t *testing.T) {
	t.Parallel()
	base := startEdge(t, newEdge(t))
	client := httpClient(t)
	experienceOf := func(body string) (experience any, tntID string) {
		t.Helper()
		got := do(t, client, http.MethodPost, base+deliveryPath, body, nil)
		if got.status != http.StatusOK {
			t.Fatalf("status %d: %s", got.status, got.body)
		}
		var resp delivery.DeliveryResponse
		decodeJSON(t, got.body, &resp)
		if resp.ID == nil || resp.ID.TntID == "" || len(resp.Execute.Mboxes) != 1 || len(resp.Execute.Mboxes[0].Options) != 1 {
			t.Fatalf("answer without a tntId or a hero offer: %s", got.body)
		}
		return resp.Execute.Mboxes[0].Options[0].ResponseTokens["experience.id"], resp.ID.TntID
	}
	// One visitor in two would get another experience on return if the
	// first decision were allocated by some other id: 20 visitors make a
	// false pass a one-in-a-million event.
	for i := range 20 {
		first, tntID := experienceOf(fmt.Sprintf(`{"id":{"customerIds":[{"id":"member-%d","integrationCode":"crm","authenticatedState":"authenticated"}]},`+
			`"context":{"channel":"web"},"execute":{"mboxes":[{"index":0,"name":"hero"}]}}`, i))
		again, _ := experienceOf(fmt.Sprintf(`{"id":{"tntId":%q},"context":{"channel":"web"},"execute":{"mboxes":[{"index":0,"name":"hero"}]}}`, tntID))
		if first != again {
			t.Fatalf("visitor %d got experience %v, then %v on return with its minted tntId %s", i, first, again, tntID)
		}
	}
}
