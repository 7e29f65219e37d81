package ondevice

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"

	"github.com/targetflow/targetflow/delivery"
)

// macroPattern matches campaign macros such as ${campaign.id} or
// ${mbox.param}.
var macroPattern = regexp.MustCompile(`\$\{([a-zA-Z0-9_.]*?)\}`)

// replaceCampaignMacros expands the macros of html options and of the string
// content of actions options, from the rule's meta, then the request
// detail (name, index), then its parameters. An unknown macro is kept as
// written.
func replaceCampaignMacros(rule *preparedRule, opts []delivery.Option, det detail) {
	for i := range opts {
		o := &opts[i]
		if !bytes.Contains(o.Content, []byte("${")) {
			continue
		}
		switch o.Type {
		case delivery.OptionHTML:
			var html string
			if json.Unmarshal(o.Content, &html) != nil {
				continue
			}
			if replaced, changed := expandMacros(html, rule, det); changed {
				o.Content = mustMarshalString(replaced)
			}
		case delivery.OptionActions:
			var actions []map[string]json.RawMessage
			if json.Unmarshal(o.Content, &actions) != nil {
				continue
			}
			changed := false
			for _, a := range actions {
				var content string
				if json.Unmarshal(a["content"], &content) != nil {
					continue
				}
				if replaced, ok := expandMacros(content, rule, det); ok {
					a["content"] = mustMarshalString(replaced)
					changed = true
				}
			}
			if changed {
				if data, err := json.Marshal(actions); err == nil {
					o.Content = data
				}
			}
		}
	}
}

func mustMarshalString(s string) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return bytes.TrimRight(buf.Bytes(), "\n")
}

func expandMacros(text string, rule *preparedRule, det detail) (string, bool) {
	changed := false
	out := macroPattern.ReplaceAllStringFunc(text, func(macro string) string {
		name := macro[2 : len(macro)-1]
		key := macroKey(name)
		if v, ok := macroValue(key, rule, det); ok {
			changed = true
			return v
		}
		return macro
	})
	return out, changed
}

// macroKey normalizes a macro name: campaign means activity, recipe means
// experience, only the last two parts count, and "mbox" parts are dropped.
func macroKey(name string) string {
	lower := strings.ToLower(name)
	var sb strings.Builder
	for i := 0; i < len(name); {
		switch {
		case strings.HasPrefix(lower[i:], "campaign"):
			sb.WriteString("activity")
			i += len("campaign")
		case strings.HasPrefix(lower[i:], "recipe"):
			sb.WriteString("experience")
			i += len("recipe")
		default:
			sb.WriteByte(name[i])
			i++
		}
	}
	parts := strings.Split(sb.String(), ".")
	if len(parts) > 2 {
		parts = parts[len(parts)-2:]
	}
	kept := parts[:0]
	for _, p := range parts {
		if p != "mbox" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, ".")
}

func macroValue(key string, rule *preparedRule, det detail) (string, bool) {
	if v, ok := rule.meta[key]; ok {
		return jsString(v), true
	}
	switch key {
	case "name":
		if det.hasName {
			return det.name, true
		}
	case "index":
		if det.hasIndex {
			return strconv.Itoa(det.index), true
		}
	}
	if v, ok := det.params[key]; ok {
		return v, true
	}
	return "", false
}
