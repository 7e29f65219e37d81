package demo_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/internal/sdktesting"
)

// kind names the JSON type of a decoded value.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// commonKeys returns the keys every object in objs has, with the JSON kind
// the first object gives them.
func commonKeys(objs []map[string]any) map[string]string {
	if len(objs) == 0 {
		return nil
	}
	keys := map[string]string{}
	for k, v := range objs[0] {
		keys[k] = kind(v)
	}
	for _, o := range objs[1:] {
		for k := range keys {
			if _, ok := o[k]; !ok {
				delete(keys, k)
			}
		}
	}
	return keys
}

func decodeObject(t *testing.T, data []byte, what string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s is not a JSON object: %v", what, err)
	}
	return v
}

// rulesOf lists every rule of an artifact, with the path it was found at.
func rulesOf(t *testing.T, artifact map[string]any) (rules []map[string]any, paths []string) {
	t.Helper()
	sets, _ := artifact["rules"].(map[string]any)
	for _, setName := range []string{"mboxes", "views"} {
		set, _ := sets[setName].(map[string]any)
		for location, list := range set {
			items, ok := list.([]any)
			if !ok {
				t.Fatalf("rules.%s.%s is %s, want array", setName, location, kind(list))
			}
			for i, item := range items {
				rule, ok := item.(map[string]any)
				if !ok {
					t.Fatalf("rules.%s.%s[%d] is %s, want object", setName, location, i, kind(item))
				}
				rules = append(rules, rule)
				paths = append(paths, fmt.Sprintf("rules.%s.%s[%d]", setName, location, i))
			}
		}
	}
	return rules, paths
}

func nested(objs []map[string]any, key string) []map[string]any {
	var out []map[string]any
	for _, o := range objs {
		if v, ok := o[key].(map[string]any); ok {
			out = append(out, v)
		}
	}
	return out
}

func optionsOf(rules []map[string]any) []map[string]any {
	var out []map[string]any
	for _, c := range nested(rules, "consequence") {
		for _, o := range c["options"].([]any) {
			out = append(out, o.(map[string]any))
		}
	}
	return out
}

func checkKeys(t *testing.T, path string, want map[string]string, got map[string]any) {
	t.Helper()
	names := make([]string, 0, len(want))
	for k := range want {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v, ok := got[k]
		if !ok {
			t.Errorf("%s: missing key %q", path, k)
			continue
		}
		if kind(v) != want[k] {
			t.Errorf("%s.%s is %s, want %s", path, k, kind(v), want[k])
		}
	}
}

// TestArtifactMatchesSchema checks the demo artifact against the shape of the
// conformance data's artifact.json: every top-level key it has, and every key
// that all of its rules (and their meta, consequence and options) share, must
// be present in the demo with the same JSON type.
func TestArtifactMatchesSchema(t *testing.T) {
	t.Parallel()
	refData, err := os.ReadFile(filepath.Join(sdktesting.Dir(t), "artifact.json"))
	if err != nil {
		t.Fatalf("read reference artifact.json: %v", err)
	}
	ref := decodeObject(t, refData, "artifact.json")
	got := decodeObject(t, demo.Artifact(), "demo artifact")

	top := map[string]string{}
	for k, v := range ref {
		top[k] = kind(v)
	}
	checkKeys(t, "artifact", top, got)
	checkKeys(t, "artifact.meta", commonKeys(nested([]map[string]any{ref}, "meta")), got["meta"].(map[string]any))

	refRules, _ := rulesOf(t, ref)
	gotRules, paths := rulesOf(t, got)
	if len(gotRules) == 0 {
		t.Fatal("demo artifact has no rules")
	}
	ruleKeys := commonKeys(refRules)
	metaKeys := commonKeys(nested(refRules, "meta"))
	consequenceKeys := commonKeys(nested(refRules, "consequence"))
	optionKeys := commonKeys(optionsOf(refRules))
	for i, rule := range gotRules {
		checkKeys(t, paths[i], ruleKeys, rule)
		checkKeys(t, paths[i]+".meta", metaKeys, rule["meta"].(map[string]any))
		consequence := rule["consequence"].(map[string]any)
		checkKeys(t, paths[i]+".consequence", consequenceKeys, consequence)
		for j, option := range consequence["options"].([]any) {
			checkKeys(t, fmt.Sprintf("%s.consequence.options[%d]", paths[i], j), optionKeys, option.(map[string]any))
		}
	}
}

type artifactDoc struct {
	Meta struct {
		ClientCode  string `json:"clientCode"`
		Environment string `json:"environment"`
	} `json:"meta"`
	GlobalMbox   string   `json:"globalMbox"`
	RemoteMboxes []string `json:"remoteMboxes"`
	LocalMboxes  []string `json:"localMboxes"`
	LocalViews   []string `json:"localViews"`
	Rules        struct {
		Mboxes map[string][]ruleDoc `json:"mboxes"`
		Views  map[string][]ruleDoc `json:"views"`
	} `json:"rules"`
}

type ruleDoc struct {
	ActivityID int `json:"activityId"`
	Meta       struct {
		ActivityType string `json:"activity.type"`
		LocationName string `json:"location.name"`
		LocationType string `json:"location.type"`
	} `json:"meta"`
	Consequence struct {
		Name    string `json:"name"`
		Options []struct {
			Type       string          `json:"type"`
			EventToken string          `json:"eventToken"`
			Content    json.RawMessage `json:"content"`
		} `json:"options"`
	} `json:"consequence"`
}

// TestArtifactContent checks that the artifact holds what the package
// documents: the locations, the remote-only mbox, the offer types, and
// distinct event tokens.
func TestArtifactContent(t *testing.T) {
	t.Parallel()
	var a artifactDoc
	if err := json.Unmarshal(demo.Artifact(), &a); err != nil {
		t.Fatalf("decode demo artifact: %v", err)
	}
	if a.Meta.ClientCode != demo.Client || a.Meta.Environment != demo.Environment || a.GlobalMbox != demo.GlobalMbox {
		t.Errorf("identity = %q/%q/%q, want %q/%q/%q", a.Meta.ClientCode, a.Meta.Environment, a.GlobalMbox,
			demo.Client, demo.Environment, demo.GlobalMbox)
	}
	if !slices.Equal(a.RemoteMboxes, []string{demo.MboxRecommendations}) {
		t.Errorf("remoteMboxes = %v, want [%s]", a.RemoteMboxes, demo.MboxRecommendations)
	}
	for _, m := range []string{demo.MboxHero, demo.MboxCart, demo.MboxFeatureFlags, demo.GlobalMbox} {
		if !slices.Contains(a.LocalMboxes, m) {
			t.Errorf("localMboxes %v lacks %q", a.LocalMboxes, m)
		}
	}
	if slices.Contains(a.LocalMboxes, demo.MboxRecommendations) {
		t.Errorf("remote-only mbox %q is also listed as local", demo.MboxRecommendations)
	}
	for _, v := range []string{demo.ViewHome, demo.ViewCart} {
		if !slices.Contains(a.LocalViews, v) || len(a.Rules.Views[v]) == 0 {
			t.Errorf("view %q is not a local view with rules", v)
		}
	}
	wantTypes := map[string]string{
		demo.MboxHero: "json", demo.MboxCart: "html", demo.MboxFeatureFlags: "json",
		demo.MboxRecommendations: "json", demo.GlobalMbox: "actions",
	}
	for mbox, want := range wantTypes {
		rules := a.Rules.Mboxes[mbox]
		if len(rules) < 2 {
			t.Errorf("mbox %q has %d rules, want at least 2", mbox, len(rules))
		}
		for _, r := range rules {
			if r.Consequence.Name != mbox || r.Meta.LocationName != mbox || len(r.Consequence.Options) != 1 {
				t.Errorf("mbox %q rule of activity %d names %q/%q with %d options", mbox, r.ActivityID,
					r.Consequence.Name, r.Meta.LocationName, len(r.Consequence.Options))
				continue
			}
			if got := r.Consequence.Options[0].Type; got != want {
				t.Errorf("mbox %q offer type %q, want %q", mbox, got, want)
			}
		}
	}
	if got := a.Rules.Mboxes[demo.MboxCart][0].Meta.ActivityType; got != "landing" {
		t.Errorf("cart activity type %q, want landing (experience targeting)", got)
	}
	seen := map[string]bool{}
	all := [][]ruleDoc{}
	for _, rules := range a.Rules.Mboxes {
		all = append(all, rules)
	}
	for _, rules := range a.Rules.Views {
		all = append(all, rules)
	}
	for _, rules := range all {
		for _, r := range rules {
			for _, o := range r.Consequence.Options {
				if o.EventToken == "" || seen[o.EventToken] {
					t.Errorf("activity %d: empty or repeated event token %q", r.ActivityID, o.EventToken)
				}
				seen[o.EventToken] = true
				if !json.Valid(o.Content) {
					t.Errorf("activity %d: content is not JSON", r.ActivityID)
				}
			}
		}
	}
}

func TestArtifactReturnsCopy(t *testing.T) {
	t.Parallel()
	first := demo.Artifact()
	first[0] = 'X'
	if demo.Artifact()[0] != '{' {
		t.Fatal("changing the returned artifact changed the bundled one")
	}
}
