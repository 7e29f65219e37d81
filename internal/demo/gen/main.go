package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/targetflow/targetflow/delivery"
)

// globalMbox is the demo's pageLoad location: the default one.
const globalMbox = delivery.GlobalMbox

// Identity of the demo site, mirrored by the constants of package demo.
const (
	clientCode   = "targetflow-demo"
	generatedAt  = "2026-11-01T00:00:00.000Z"
	remoteMbox   = "recommendations"
	artifactVers = "1.0.0"
)

type artifact struct {
	Version             string             `json:"version"`
	Meta                artifactMeta       `json:"meta"`
	GlobalMbox          string             `json:"globalMbox"`
	GeoTargetingEnabled bool               `json:"geoTargetingEnabled"`
	ResponseTokens      []string           `json:"responseTokens"`
	RemoteMboxes        []string           `json:"remoteMboxes"`
	RemoteViews         []string           `json:"remoteViews"`
	LocalMboxes         []string           `json:"localMboxes"`
	LocalViews          []string           `json:"localViews"`
	Rules               map[string]ruleSet `json:"rules"`
}

type artifactMeta struct {
	ClientCode  string `json:"clientCode"`
	Environment string `json:"environment"`
	GeneratedAt string `json:"generatedAt"`
}

type ruleSet map[string][]rule

type rule struct {
	RuleKey     string         `json:"ruleKey"`
	ActivityID  int            `json:"activityId"`
	Meta        map[string]any `json:"meta"`
	Condition   any            `json:"condition"`
	Consequence consequence    `json:"consequence"`
}

type consequence struct {
	Name    string   `json:"name"`
	Options []option `json:"options"`
	Metrics []metric `json:"metrics"`
}

type option struct {
	Type       string `json:"type"`
	EventToken string `json:"eventToken"`
	Content    any    `json:"content"`
}

type metric struct {
	Type       string `json:"type"`
	Selector   string `json:"selector"`
	EventToken string `json:"eventToken"`
}

type action struct {
	Type        string `json:"type"`
	Selector    string `json:"selector"`
	CSSSelector string `json:"cssSelector"`
	Content     any    `json:"content"`
}

// activity describes one activity; each experience becomes one rule.
type activity struct {
	id           int
	name         string
	kind         string // "ab" or "landing" (experience targeting)
	location     string
	locationType string // "mbox" or "view"
	experiences  []experience
}

type experience struct {
	name        string
	audienceIDs []int
	condition   any // nil: allocation split only (A/B)
	offerType   string
	content     any
	metrics     []metric
}

func allocation(from, to int) any {
	lower := map[string]any{"<=": []any{from, map[string]any{"var": "allocation"}}}
	if from > 0 {
		lower = map[string]any{"<": []any{from, map[string]any{"var": "allocation"}}}
	}
	return map[string]any{"and": []any{lower, map[string]any{">=": []any{to, map[string]any{"var": "allocation"}}}}}
}

func equals(variable, value string) any {
	return map[string]any{"==": []any{value, map[string]any{"var": variable}}}
}

func token(parts ...any) string {
	sum := sha256.Sum256(fmt.Append(nil, parts...))
	return base64.StdEncoding.EncodeToString(sum[:24])
}

func metricToken(parts ...any) string {
	sum := sha256.Sum256(fmt.Append(nil, append([]any{"metric"}, parts...)...))
	return base64.StdEncoding.EncodeToString(sum[:16])
}

func (a activity) rules() []rule {
	out := make([]rule, 0, len(a.experiences))
	share := 100 / len(a.experiences)
	for i, e := range a.experiences {
		meta := map[string]any{
			"activity.id":     a.id,
			"activity.name":   a.name,
			"activity.type":   a.kind,
			"experience.id":   i,
			"experience.name": e.name,
			"location.name":   a.location,
			"location.type":   a.locationType,
			"location.id":     0,
			"audience.ids":    append([]int{}, e.audienceIDs...),
			"option.id":       i + 2,
			"option.name":     fmt.Sprintf("Offer%d", i+2),
		}
		if a.locationType == "mbox" {
			meta["offer.id"] = a.id*10 + i
			meta["offer.name"] = fmt.Sprintf("/%s/experiences/%d/offer", a.location, i)
		}
		condition := e.condition
		if a.kind == "ab" {
			split := allocation(i*share, (i+1)*share)
			if i == len(a.experiences)-1 {
				split = allocation(i*share, 100)
			}
			if condition == nil {
				condition = split
			} else {
				condition = map[string]any{"and": []any{split, condition}}
			}
		}
		ruleKey := fmt.Sprint(a.id)
		if a.locationType == "view" {
			ruleKey = fmt.Sprintf("%d-%d", a.id, i)
		}
		metrics := e.metrics
		if metrics == nil {
			metrics = []metric{}
		}
		out = append(out, rule{
			RuleKey:    ruleKey,
			ActivityID: a.id,
			Meta:       meta,
			Condition:  condition,
			Consequence: consequence{
				Name:    a.location,
				Options: []option{{Type: e.offerType, EventToken: token(a.id, i), Content: e.content}},
				Metrics: metrics,
			},
		})
	}
	return out
}

func setHTML(selector, html string) action {
	return action{Type: "setHtml", Selector: selector, CSSSelector: selector, Content: html}
}

func setStyle(selector string, style map[string]string) action {
	return action{Type: "setStyle", Selector: selector, CSSSelector: selector, Content: style}
}

func activities() []activity {
	always := allocation(0, 100) // everybody: the whole allocation range
	return []activity{
		{
			id: 910001, name: "Hero banner test", kind: "ab", location: "hero", locationType: "mbox",
			experiences: []experience{
				{name: "Control", offerType: "json", content: map[string]any{
					"headline": "New season, new gear", "image": "/img/hero-season.jpg", "cta": "Shop now"}},
				{name: "Free shipping", offerType: "json", content: map[string]any{
					"headline": "Free shipping on every order", "image": "/img/hero-shipping.jpg", "cta": "Start shopping"}},
			},
		},
		{
			id: 910002, name: "Cart incentives", kind: "landing", location: "cart", locationType: "mbox",
			experiences: []experience{
				{name: "Gold members", audienceIDs: []int{920001}, condition: equals("mbox.loyaltyTier", "gold"),
					offerType: "html", content: `<div class="cart-banner gold">Gold members: 15% off this order</div>`},
				{name: "Safari visitors", audienceIDs: []int{920002}, condition: equals("user.browserType", "safari"),
					offerType: "html", content: `<div class="cart-banner">Pay in one tap with Apple Pay</div>`},
				{name: "Everybody else", condition: always,
					offerType: "html", content: `<div class="cart-banner">Free returns within 30 days</div>`},
			},
		},
		{
			id: 910003, name: "Checkout feature flags", kind: "ab", location: "feature-flags", locationType: "mbox",
			experiences: []experience{
				{name: "Current checkout", offerType: "json", content: map[string]any{
					"checkoutFlow": "multi-step", "showReviews": true, "freeShippingThreshold": 50, "searchRanker": "bm25"}},
				{name: "One-page checkout", offerType: "json", content: map[string]any{
					"checkoutFlow": "one-page", "showReviews": true, "freeShippingThreshold": 35, "searchRanker": "learned"}},
			},
		},
		{
			id: 910004, name: "Home page layout", kind: "ab", location: "home", locationType: "view",
			experiences: []experience{
				{name: "Grid", offerType: "actions", content: []action{
					setHTML("#home-title", "Trending this week")},
					metrics: []metric{{Type: "click", Selector: "#home-grid > A:nth-of-type(1)", EventToken: metricToken(910004, 0)}}},
				{name: "Carousel", offerType: "actions", content: []action{
					setHTML("#home-title", "Picked for you"),
					setStyle("#home-grid", map[string]string{"display": "flex", "priority": "important"})},
					metrics: []metric{{Type: "click", Selector: "#home-grid > A:nth-of-type(1)", EventToken: metricToken(910004, 1)}}},
			},
		},
		{
			id: 910005, name: "Cart view by browser", kind: "landing", location: "cart", locationType: "view",
			experiences: []experience{
				{name: "Chrome", audienceIDs: []int{920003}, condition: equals("user.browserType", "chrome"),
					offerType: "actions", content: []action{setHTML("#cart-note", "Save your cart to Chrome sync")}},
				{name: "Other browsers", condition: always,
					offerType: "actions", content: []action{setHTML("#cart-note", "Your cart is saved for 7 days")}},
			},
		},
		{
			id: 910006, name: "Site-wide promo bar", kind: "ab", location: globalMbox, locationType: "view",
			experiences: []experience{
				{name: "No promo", offerType: "actions", content: []action{
					setStyle("#promo-bar", map[string]string{"display": "none"})}},
				{name: "Weekend sale", offerType: "actions", content: []action{
					setHTML("#promo-bar", "Weekend sale: 20% off outerwear")}},
			},
		},
		{
			id: 910007, name: "Recommendations algorithm", kind: "ab", location: remoteMbox, locationType: "mbox",
			experiences: []experience{
				{name: "Top sellers", offerType: "json", content: map[string]any{
					"algorithm": "top-sellers", "items": []string{"sku-1001", "sku-1002", "sku-1003"}}},
				{name: "Recently viewed", offerType: "json", content: map[string]any{
					"algorithm": "recently-viewed", "items": []string{"sku-2001", "sku-2002", "sku-2003"}}},
			},
		},
	}
}

func build() artifact {
	a := artifact{
		Version:             artifactVers,
		Meta:                artifactMeta{ClientCode: clientCode, Environment: "production", GeneratedAt: generatedAt},
		GlobalMbox:          globalMbox,
		GeoTargetingEnabled: false,
		ResponseTokens: []string{
			"activity.id", "activity.name", "experience.id", "experience.name",
			"offer.id", "offer.name", "option.id", "option.name",
		},
		RemoteMboxes: []string{remoteMbox},
		RemoteViews:  []string{},
		LocalMboxes:  []string{"cart", "feature-flags", "hero", globalMbox},
		LocalViews:   []string{"cart", "home"},
		Rules:        map[string]ruleSet{"mboxes": {}, "views": {}},
	}
	for _, act := range activities() {
		kind := "mboxes"
		if act.locationType == "view" && act.location != globalMbox {
			kind = "views"
		}
		a.Rules[kind][act.location] = append(a.Rules[kind][act.location], act.rules()...)
	}
	return a
}

func write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(build())
}

func main() {
	if err := write(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
