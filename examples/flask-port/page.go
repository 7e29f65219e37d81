package main

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"sort"
	"strings"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/target"
)

//go:embed static/index.html.tmpl static/page.html.tmpl static/img/*.svg
var staticFiles embed.FS

// pageTemplates parses the templates of GET / and GET /page. They are
// parsed once per app, not kept in package variables.
func pageTemplates() (index, page *template.Template, err error) {
	if index, err = template.ParseFS(staticFiles, "static/index.html.tmpl"); err != nil {
		return nil, nil, err
	}
	page, err = template.ParseFS(staticFiles, "static/page.html.tmpl")
	return index, page, err
}

// indexView is what the explorer page shows of the visitor's identity.
type indexView struct {
	// VisitorCookieName is the name the explorer's "set a test ECID"
	// control writes the AMCV_ cookie under, as VisitorAPI.js does.
	VisitorCookieName string
	// ECID is the Experience Cloud ID of the visitor's AMCV_ cookie, "" when
	// it has none; OptedOut says the cookie says the visitor opted out.
	ECID     string
	OptedOut bool
	// Malformed lists what of the cookie could not be read.
	Malformed []string
}

// pageView is what the /page template renders: the page as a visitor sees
// it, with the Target content in place, the timings drawn, and the state
// handed to at.js and VisitorAPI.js.
type pageView struct {
	Timings   pageTimingsView
	Waterfall waterfall
	// Promo is the promotion bar, as the page-load actions leave it.
	Promo pageSlot
	// Banners are the JSON offers with a headline (the hero), HTML the
	// HTML offers, Data the other JSON offers, each from an executed mbox.
	Banners []banner
	HTML    []htmlOffer
	Data    []dataOffer
	// Unapplied lists page-load actions for elements this page lacks.
	Unapplied []string
	// Handoff lists what the page hands to at.js (prefetched views and
	// mboxes) and the visitor's identity.
	Handoff  []string
	Identity identityView
	// Script is the page's <script>: visitorState and serverState.
	Script template.HTML
	// RawJSON is the Delivery API answer, indented, for the <details>.
	RawJSON string
}

type pageTimingsView struct {
	Target, Work, Total, Sum, Hidden string
}

// pageSlot is an element of the page that page-load actions can change.
type pageSlot struct {
	HTML  template.HTML
	Style template.CSS
}

type banner struct {
	Mbox, Headline, Image, CTA string
}

type htmlOffer struct {
	Mbox string
	HTML template.HTML
}

type dataOffer struct {
	Mbox   string
	Fields []dataField
}

type dataField struct{ Key, Value string }

type identityView struct {
	ECID, SDID, TntID string
	CustomerIDs       []string
}

// defaultPromo is the promotion bar before Target changes it.
const defaultPromo = "Welcome to the targetflow demo shop"

// newPageView renders resp, its timings and the page's script (with the
// page's CSP nonce).
func newPageView(resp *target.Response, t pageTimings, nonce string) (pageView, error) {
	v := pageView{
		Timings: pageTimingsView{
			Target: roundMillis(t.Target), Work: roundMillis(t.Work), Total: roundMillis(t.Total),
			Sum: roundMillis(t.Target + t.Work), Hidden: roundMillis(t.hidden()),
		},
		Waterfall: newWaterfall(t),
		Promo:     pageSlot{HTML: defaultPromo},
	}
	answer := resp.Response
	if answer == nil {
		answer = &delivery.DeliveryResponse{}
	}
	if ex := answer.Execute; ex != nil {
		if pl := ex.PageLoad; pl != nil {
			v.applyPageLoad(pl.Options)
		}
		for _, m := range ex.Mboxes {
			v.addMbox(m)
		}
	}
	if pf := answer.Prefetch; pf != nil {
		for _, view := range pf.Views {
			v.Handoff = append(v.Handoff, fmt.Sprintf("view %s: %d option(s) with event tokens, for at.js's triggerView", view.Name, len(view.Options)))
		}
		for _, m := range pf.Mboxes {
			v.Handoff = append(v.Handoff, fmt.Sprintf("mbox %s: %d option(s) with event tokens", m.Name, len(m.Options)))
		}
	}
	if req := resp.Request; req != nil {
		if id := req.ID; id != nil {
			v.Identity.ECID, v.Identity.TntID = id.MarketingCloudVisitorID, id.TntID
		}
		if ec := req.ExperienceCloud; ec != nil && ec.Analytics != nil {
			v.Identity.SDID = ec.Analytics.SupplementalDataID
		}
	}
	if answer.ID != nil && answer.ID.TntID != "" {
		v.Identity.TntID = answer.ID.TntID
	}
	for _, c := range resp.VisitorState.CustomerIDs {
		v.Identity.CustomerIDs = append(v.Identity.CustomerIDs, c.IntegrationCode+": "+c.ID+" ("+string(c.AuthenticatedState)+")")
	}

	script := target.NewPageScript(resp)
	script.Nonce = nonce
	v.Script = template.HTML(script.HTML()) // escaped for a script context by PageScript

	raw, err := json.Marshal(answer)
	if err != nil {
		return v, fmt.Errorf("encoding the answer: %w", err)
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, raw, "", "  "); err != nil {
		return v, fmt.Errorf("indenting the answer: %w", err)
	}
	v.RawJSON = indented.String()
	return v, nil
}

// pageAction is one action of a page-load "actions" offer.
type pageAction struct {
	Type     string          `json:"type"`
	Selector string          `json:"selector"`
	Content  json.RawMessage `json:"content"`
}

// applyPageLoad applies the page-load actions to the page's slots, as at.js
// would apply them in the browser: setHtml, setText and setStyle on
// "#promo-bar", remove of it. Actions for other elements are listed.
func (v *pageView) applyPageLoad(options []delivery.Option) {
	for _, o := range options {
		if o.Type != delivery.OptionActions {
			continue
		}
		var actions []pageAction
		if err := json.Unmarshal(o.Content, &actions); err != nil {
			v.Unapplied = append(v.Unapplied, "page-load actions that are not a list: "+err.Error())
			continue
		}
		for _, a := range actions {
			if a.Selector != "#promo-bar" {
				v.Unapplied = append(v.Unapplied, fmt.Sprintf("%s on %s (no such element on this page)", a.Type, a.Selector))
				continue
			}
			switch a.Type {
			case "setHtml":
				v.Promo.HTML = template.HTML(contentText(a.Content)) // Target's own HTML, shown as at.js shows it
			case "setText":
				v.Promo.HTML = template.HTML(template.HTMLEscapeString(contentText(a.Content)))
			case "setStyle":
				v.Promo.Style = styleText(a.Content)
			case "remove":
				v.Promo.Style = "display: none"
			default:
				v.Unapplied = append(v.Unapplied, fmt.Sprintf("%s on %s (not applied by this page)", a.Type, a.Selector))
			}
		}
	}
}

// styleText turns a setStyle action's {"property": "value"} into CSS, with
// the property names and values a page style needs ("display: none",
// "color: #ff0000 !important"); a property or value with anything else is
// left out, so offer content cannot inject CSS.
func styleText(raw json.RawMessage) template.CSS {
	var props map[string]any
	if json.Unmarshal(raw, &props) != nil {
		return ""
	}
	important := ""
	if p, _ := props["priority"].(string); p == "important" {
		important = " !important"
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		if k != "priority" && cssIdent(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		value := fmt.Sprint(props[k])
		if cssValue(value) {
			parts = append(parts, k+": "+value+important)
		}
	}
	return template.CSS(strings.Join(parts, "; ")) // built from checked names and values only
}

// cssIdent reports whether s is a CSS property name: letters and dashes.
func cssIdent(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '-' {
			return false
		}
	}
	return true
}

// cssValue reports whether s is a plain CSS value: words, numbers, units,
// colours, no functions, quotes, escapes or separators.
func cssValue(s string) bool {
	if s == "" || len(s) > 80 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case r == ' ' || r == '#' || r == '.' || r == '%' || r == '-' || r == ',':
		default:
			return false
		}
	}
	return true
}

// addMbox places an executed mbox's offers on the page: a JSON offer with a
// headline as a banner, other JSON as data, HTML in place.
func (v *pageView) addMbox(m delivery.MboxResponse) {
	for _, o := range m.Options {
		switch o.Type {
		case delivery.OptionJSON:
			var fields map[string]any
			if json.Unmarshal(o.Content, &fields) != nil {
				v.Data = append(v.Data, dataOffer{Mbox: m.Name, Fields: []dataField{{Key: "content", Value: string(o.Content)}}})
				continue
			}
			if headline, ok := fields["headline"].(string); ok {
				image, _ := fields["image"].(string)
				cta, _ := fields["cta"].(string)
				v.Banners = append(v.Banners, banner{Mbox: m.Name, Headline: headline, Image: image, CTA: cta})
				continue
			}
			v.Data = append(v.Data, dataOffer{Mbox: m.Name, Fields: sortedFields(fields)})
		case delivery.OptionHTML:
			v.HTML = append(v.HTML, htmlOffer{Mbox: m.Name, HTML: template.HTML(contentText(o.Content))})
		default:
			v.Data = append(v.Data, dataOffer{Mbox: m.Name, Fields: []dataField{{Key: string(o.Type), Value: contentText(o.Content)}}})
		}
	}
}

func sortedFields(fields map[string]any) []dataField {
	out := make([]dataField, 0, len(fields))
	for k, val := range fields {
		text, ok := val.(string)
		if !ok {
			data, _ := json.Marshal(val)
			text = string(data)
		}
		out = append(out, dataField{Key: k, Value: text})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// waterfall is the SVG picture of the page's timings: the Target call and
// the other work side by side from the start of the page, the parallel
// total they took, and the sum they would have taken one after the other.
type waterfall struct {
	Width, Height int
	Bars          []waterfallBar
	Ticks         []waterfallTick
	AxisY         int
}

type waterfallBar struct {
	Label, Value string
	X, Y, W      float64
	Class        string
}

type waterfallTick struct {
	X     float64
	Label string
}

// Layout of the waterfall, in SVG user units.
const (
	waterfallLabelWidth = 190
	waterfallBarsWidth  = 420
	waterfallRowHeight  = 30
	waterfallBarHeight  = 18
)

func newWaterfall(t pageTimings) waterfall {
	sum := t.Target + t.Work
	longest := max(sum, t.Total, time.Millisecond)
	scale := waterfallBarsWidth / float64(longest)
	w := waterfall{Width: waterfallLabelWidth + waterfallBarsWidth + 90}
	row := func(i int) float64 { return float64(i*waterfallRowHeight + 6) }
	bar := func(label string, d time.Duration, start time.Duration, i int, class string) waterfallBar {
		return waterfallBar{Label: label, Value: roundMillis(d), X: waterfallLabelWidth + float64(start)*scale,
			Y: row(i), W: max(float64(d)*scale, 1), Class: class}
	}
	w.Bars = []waterfallBar{
		bar("Adobe Target call", t.Target, 0, 0, "target"),
		bar("other server work", t.Work, 0, 1, "work"),
		bar("page, in parallel (total)", t.Total, 0, 2, "total"),
		bar("one after the other (sum)", t.Target, 0, 3, "sum-target"),
		bar("", t.Work, t.Target, 3, "sum-work"),
	}
	w.Bars[3].Value = ""
	w.Bars[4].Value = roundMillis(sum)
	w.AxisY = 4*waterfallRowHeight + 6
	w.Height = w.AxisY + 22
	step := niceStep(longest)
	for d := time.Duration(0); d <= longest; d += step {
		w.Ticks = append(w.Ticks, waterfallTick{X: waterfallLabelWidth + float64(d)*scale, Label: roundTick(d)})
	}
	return w
}

// niceStep is a round tick interval giving about five ticks up to d.
func niceStep(d time.Duration) time.Duration {
	for _, s := range []time.Duration{
		100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
		time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond,
		25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
		time.Second, 2 * time.Second, 5 * time.Second,
	} {
		if d/s <= 5 {
			return s
		}
	}
	return 10 * time.Second
}

func roundTick(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	return fmt.Sprintf("%g ms", float64(d)/float64(time.Millisecond))
}

// contentText is offer content as text: a JSON string (html, redirect)
// unquoted, anything else (json, actions) as the edge sent it.
func contentText(raw json.RawMessage) string {
	var s string
	if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

func roundMillis(d time.Duration) string {
	return d.Round(10 * time.Microsecond).String()
}
