package demo_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"testing"

	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/visitor"
)

func TestVisitorsAreValidRecordsForTheArtifact(t *testing.T) {
	t.Parallel()
	locations := map[string]bool{}
	for _, name := range []string{demo.MboxHero, demo.MboxCart, demo.MboxFeatureFlags, demo.MboxRecommendations, demo.ViewHome, demo.ViewCart} {
		locations[name] = true
	}
	sc := bufio.NewScanner(bytes.NewReader(demo.Visitors()))
	var n, notify, gold int
	for sc.Scan() {
		n++
		var v visitor.Record
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		if v.ID == nil || (v.ID.TntID == "" && v.ID.ThirdPartyID == "" && v.ID.MarketingCloudVisitorID == "") {
			t.Fatalf("line %d: no visitor id", n)
		}
		for _, names := range [][]string{v.Execute, v.Prefetch, v.Views} {
			for _, name := range names {
				if !locations[name] {
					t.Fatalf("line %d: %q is not a location of the demo artifact", n, name)
				}
			}
		}
		if v.Notify != nil && *v.Notify {
			notify++
		}
		if v.Parameters[demo.ParamLoyaltyTier] == "gold" {
			gold++
		}
	}
	if n != demo.VisitorCount {
		t.Fatalf("%d records, VisitorCount says %d", n, demo.VisitorCount)
	}
	if notify == 0 || gold == 0 {
		t.Errorf("mix lacks notifying (%d) or gold (%d) visitors", notify, gold)
	}
}
