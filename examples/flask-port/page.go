package main

import (
	"embed"
	"encoding/json"
	"html/template"
	"time"

	"github.com/targetflow/targetflow/delivery"
)

//go:embed static/index.html static/page.html.tmpl
var staticFiles embed.FS

// pageTemplate parses the template of GET /page. It is parsed once per app,
// not kept in a package variable.
func pageTemplate() (*template.Template, error) {
	return template.ParseFS(staticFiles, "static/page.html.tmpl")
}

// pageView is what the /page template renders.
type pageView struct {
	Target, Work, Total, Hidden string
	Locations                   []pageLocation
}

// pageLocation is one decided location (the page load or an mbox) and its
// offers.
type pageLocation struct {
	Name   string
	Offers []pageOffer
}

// pageOffer is one offer, its content rendered as text: the template
// escapes it, so offer HTML is shown, not run.
type pageOffer struct {
	Type    string
	Content string
}

// newPageView renders the execute part of resp and the timings.
func newPageView(resp *delivery.DeliveryResponse, t pageTimings) pageView {
	v := pageView{
		Target: roundMillis(t.Target),
		Work:   roundMillis(t.Work),
		Total:  roundMillis(t.Total),
		Hidden: roundMillis(t.hidden()),
	}
	if resp == nil || resp.Execute == nil {
		return v
	}
	if pl := resp.Execute.PageLoad; pl != nil {
		v.Locations = append(v.Locations, pageLocation{Name: "page load", Offers: pageOffers(pl.Options)})
	}
	for _, m := range resp.Execute.Mboxes {
		v.Locations = append(v.Locations, pageLocation{Name: "mbox " + m.Name, Offers: pageOffers(m.Options)})
	}
	return v
}

func pageOffers(options []delivery.Option) []pageOffer {
	out := make([]pageOffer, 0, len(options))
	for _, o := range options {
		out = append(out, pageOffer{Type: string(o.Type), Content: contentText(o.Content)})
	}
	return out
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
