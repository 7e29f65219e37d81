package featureflags

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"

	"go.uber.org/zap"

	"github.com/targetflow/targetflow/ondevice"
)

// artifactInfo is what the provider reads of an artifact, once per
// artifact: the type of each activity (for the reason of an evaluation
// whose answer has no activity.type token) and the JSON offers of each
// mbox (for the flag keys a new artifact changes), and the details
// evaluations made while it was the last seen.
type artifactInfo struct {
	activityTypes map[int64]string
	// offers maps an mbox to its flag keys, each to the values its rules'
	// JSON offers give it (the raw JSON texts, in artifact order).
	offers map[string]map[string][]string
	// details are the resolution details evaluations made with this
	// artifact, shared (Provider.detail).
	details detailCache
}

// artifactDocument is the part of rules.json the provider reads.
type artifactDocument struct {
	Rules struct {
		Mboxes map[string][]artifactRule `json:"mboxes"`
		Views  map[string][]artifactRule `json:"views"`
	} `json:"rules"`
}

type artifactRule struct {
	Meta struct {
		ActivityID   json.Number `json:"activity.id"`
		ActivityType string      `json:"activity.type"`
	} `json:"meta"`
	Consequence struct {
		Options []struct {
			Type    string          `json:"type"`
			Content json.RawMessage `json:"content"`
		} `json:"options"`
	} `json:"consequence"`
}

// newArtifactInfo reads art; an artifact it cannot read (the engine could)
// gives an empty info, logged.
func newArtifactInfo(art *ondevice.Artifact, logger *zap.Logger) *artifactInfo {
	info := &artifactInfo{activityTypes: map[int64]string{}, offers: map[string]map[string][]string{}}
	var doc artifactDocument
	if err := json.Unmarshal(art.Raw(), &doc); err != nil {
		logger.Warn("featureflags: the artifact's rules could not be read; reasons fall back to the response tokens", zap.Error(err))
		return info
	}
	record := func(r artifactRule) {
		if id, err := strconv.ParseInt(r.Meta.ActivityID.String(), 10, 64); err == nil && r.Meta.ActivityType != "" {
			info.activityTypes[id] = r.Meta.ActivityType
		}
	}
	for _, rules := range doc.Rules.Views {
		for _, r := range rules {
			record(r)
		}
	}
	for mbox, rules := range doc.Rules.Mboxes {
		for _, r := range rules {
			record(r)
			for _, o := range r.Consequence.Options {
				if o.Type != "json" {
					continue
				}
				var content map[string]json.RawMessage
				if json.Unmarshal(unquoteObject(o.Content), &content) != nil {
					continue
				}
				keys := info.offers[mbox]
				if keys == nil {
					keys = map[string][]string{}
					info.offers[mbox] = keys
				}
				for key, value := range content {
					keys[key] = append(keys[key], compact(value))
				}
			}
		}
	}
	return info
}

// changedFlags returns the flag keys (of any mbox) whose offers differ
// between info and next, sorted.
func (info *artifactInfo) changedFlags(next *artifactInfo) []string {
	changed := map[string]bool{}
	compare := func(a, b map[string]map[string][]string) {
		for mbox, keys := range a {
			for key, values := range keys {
				if !slices.Equal(values, b[mbox][key]) {
					changed[key] = true
				}
			}
		}
	}
	compare(info.offers, next.offers)
	compare(next.offers, info.offers)
	return slices.Sorted(maps.Keys(changed))
}

// unquoteObject returns the object a JSON offer holds: its content, or the
// object inside a JSON string (as some edges send them).
func unquoteObject(content json.RawMessage) []byte {
	content = bytes.TrimSpace(content)
	if len(content) > 0 && content[0] == '"' {
		var inner string
		if json.Unmarshal(content, &inner) == nil {
			return []byte(inner)
		}
	}
	return content
}

func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}
