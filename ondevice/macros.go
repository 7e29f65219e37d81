package ondevice

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/targetflow/targetflow/delivery"
)

// Campaign macros such as ${campaign.id}, ${mbox.name} or ${mbox.param} in
// html offers and in the string content of actions offers are expanded
// from the rule's meta, then the request detail (name, index), then its
// parameters. An unknown macro is kept as written. Templates are parsed
// once per artifact.

// macroTemplate is a text split into literals and macros.
type macroTemplate struct {
	segments []macroSegment
}

type macroSegment struct {
	text    string // literal text, or the macro as written
	key     string // normalized macro key
	isMacro bool
}

// optionMacros holds the templates of one option of a rule.
type optionMacros struct {
	content json.RawMessage // the option's original content (identity)
	html    *macroTemplate
	actions []map[string]json.RawMessage
	// actionTemplates[i] is the template of action i's content, or nil.
	actionTemplates []*macroTemplate
}

// parseMacroTemplate splits text at ${name} macros, name being letters,
// digits, "_" and "."; it returns nil when text has no macro.
func parseMacroTemplate(text string) *macroTemplate {
	var t macroTemplate
	rest := text
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			break
		}
		j := i + 2
		for j < len(rest) && isMacroNameByte(rest[j]) {
			j++
		}
		if j >= len(rest) || rest[j] != '}' {
			t.segments = append(t.segments, macroSegment{text: rest[:i+2]})
			rest = rest[i+2:]
			continue
		}
		if i > 0 {
			t.segments = append(t.segments, macroSegment{text: rest[:i]})
		}
		t.segments = append(t.segments, macroSegment{text: rest[i : j+1], key: macroKey(rest[i+2 : j]), isMacro: true})
		rest = rest[j+1:]
	}
	hasMacro := false
	for _, s := range t.segments {
		hasMacro = hasMacro || s.isMacro
	}
	if !hasMacro {
		return nil
	}
	if rest != "" {
		t.segments = append(t.segments, macroSegment{text: rest})
	}
	return &t
}

func isMacroNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.'
}

func (t *macroTemplate) expand(rule *preparedRule, det detail) (string, bool) {
	var sb strings.Builder
	changed := false
	for _, s := range t.segments {
		if s.isMacro {
			if v, ok := macroValue(s.key, rule, det); ok {
				sb.WriteString(v)
				changed = true
				continue
			}
		}
		sb.WriteString(s.text)
	}
	return sb.String(), changed
}

// prepareMacros finds the options of a rule that hold macros.
func prepareMacros(options []delivery.Option) []optionMacros {
	var out []optionMacros
	for _, o := range options {
		if len(o.Content) == 0 || !bytes.Contains(o.Content, []byte("${")) {
			continue
		}
		switch o.Type {
		case delivery.OptionHTML:
			var html string
			if json.Unmarshal(o.Content, &html) != nil {
				continue
			}
			if t := parseMacroTemplate(html); t != nil {
				out = append(out, optionMacros{content: o.Content, html: t})
			}
		case delivery.OptionActions:
			var actions []map[string]json.RawMessage
			if json.Unmarshal(o.Content, &actions) != nil {
				continue
			}
			templates := make([]*macroTemplate, len(actions))
			any := false
			for i, a := range actions {
				var content string
				if json.Unmarshal(a["content"], &content) != nil {
					continue
				}
				templates[i] = parseMacroTemplate(content)
				any = any || templates[i] != nil
			}
			if any {
				out = append(out, optionMacros{content: o.Content, actions: actions, actionTemplates: templates})
			}
		}
	}
	return out
}

// replaceCampaignMacros expands the macros of a matched rule's options.
func replaceCampaignMacros(rule *preparedRule, opts []delivery.Option, det detail) {
	for i := range opts {
		o := &opts[i]
		if len(o.Content) == 0 {
			continue
		}
		for _, m := range rule.macros {
			if len(m.content) == 0 || &m.content[0] != &o.Content[0] {
				continue
			}
			if m.html != nil {
				if replaced, changed := m.html.expand(rule, det); changed {
					o.Content = marshalJSONString(replaced)
				}
				break
			}
			actions := make([]map[string]json.RawMessage, len(m.actions))
			changed := false
			for j, a := range m.actions {
				actions[j] = a
				t := m.actionTemplates[j]
				if t == nil {
					continue
				}
				replaced, ok := t.expand(rule, det)
				if !ok {
					continue
				}
				c := make(map[string]json.RawMessage, len(a))
				for k, v := range a {
					c[k] = v
				}
				c["content"] = marshalJSONString(replaced)
				actions[j] = c
				changed = true
			}
			if changed {
				if data, err := json.Marshal(actions); err == nil {
					o.Content = data
				}
			}
			break
		}
	}
}

// marshalJSONString encodes s as a JSON string without HTML escaping.
func marshalJSONString(s string) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return bytes.TrimRight(buf.Bytes(), "\n")
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
