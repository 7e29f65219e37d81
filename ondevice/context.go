package ondevice

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/internal/jsonlogic"
)

// urlField indexes the attributes of a page or referring URL.
type urlField int

const (
	urlURL urlField = iota
	urlPath
	urlQuery
	urlFragment
	urlSubdomain
	urlDomain
	urlTopLevelDomain
	urlFieldCount
)

var urlFieldNames = [urlFieldCount]string{"url", "path", "query", "fragment", "subdomain", "domain", "topLevelDomain"}

// urlContext holds the attributes rules see for a URL (page.* and
// referring.*): each attribute and its lower-case twin (name + "_lc").
type urlContext struct {
	values [urlFieldCount]string
	lower  [urlFieldCount]string
}

// userContext is what rules see under user.*.
type userContext struct {
	browserType    string
	platform       string
	locale         string
	browserVersion int
}

// geoContext is what rules see under geo.*; empty strings and nil numbers
// are absent.
type geoContext struct {
	country, region, city string
	latitude, longitude   *float64
}

// requestContext is the part of the rule context shared by every rule of a
// request: timing, user agent, page, referrer and geo. The user agent and
// URLs are parsed on first use: most artifacts read few of them.
type requestContext struct {
	timestamp float64 // milliseconds since the Unix epoch
	timeHHMM  string  // 24-hour UTC time, "HHmm"
	day       int     // 1 = Monday ... 7 = Sunday, UTC
	geo       geoContext

	userAgent    string
	hints        *delivery.ClientHints
	pageURL      string
	referringURL string

	userBuilt       bool
	user            userContext
	page, referring *urlContext // parsed on first use
}

func (rc *requestContext) userContext() *userContext {
	if !rc.userBuilt {
		rc.user = browserContext(rc.userAgent, rc.hints)
		rc.userBuilt = true
	}
	return &rc.user
}

func (rc *requestContext) pageContext() *urlContext {
	if rc.page == nil {
		c := newURLContext(rc.pageURL)
		rc.page = &c
	}
	return rc.page
}

func (rc *requestContext) referringContext() *urlContext {
	if rc.referring == nil {
		c := newURLContext(rc.referringURL)
		rc.referring = &c
	}
	return rc.referring
}

// detailScope is the part of the rule context shared by every rule of one
// mbox, view or pageLoad request: its own address, if any, stands for the
// page and the referrer, and its parameters are mbox.*.
type detailScope struct {
	rc      *requestContext
	address *delivery.Address
	params  delivery.Parameters

	mboxBuilt         bool
	flatChecked, flat bool
	page              *urlContext // the detail's own address, parsed on first use
	mbox              map[string]any
	scope             ruleScope // reused by each rule evaluated for this detail
}

// flatParams reports whether no parameter name has a dot, in which case
// mbox.* reads the parameters directly instead of building mbox objects.
func (ds *detailScope) flatParams() bool {
	if !ds.flatChecked {
		ds.flat = true
		for k := range ds.params {
			if strings.IndexByte(k, '.') >= 0 {
				ds.flat = false
				break
			}
		}
		ds.flatChecked = true
	}
	return ds.flat
}

// mboxValue reads mbox.<rest> as json-logic would from the mbox context
// (undefined when absent).
func (ds *detailScope) mboxValue(rest []string) jsonlogic.Value {
	if len(rest) == 1 && ds.flatParams() {
		name := rest[0]
		if v, ok := ds.params[name]; ok {
			if base, isTwin := strings.CutSuffix(name, "_lc"); isTwin {
				if orig, ok := ds.params[base]; ok {
					return jsonlogic.String(strings.ToLower(orig))
				}
			}
			return jsonlogic.String(v)
		}
		if base, isTwin := strings.CutSuffix(name, "_lc"); isTwin {
			if orig, ok := ds.params[base]; ok {
				return jsonlogic.String(strings.ToLower(orig))
			}
		}
		return jsonlogic.Value{}
	}
	var cur any = ds.mboxContext()
	for _, p := range rest {
		m, ok := cur.(map[string]any)
		if !ok {
			return jsonlogic.Value{}
		}
		if cur, ok = m[p]; !ok {
			return jsonlogic.Value{}
		}
	}
	return jsonlogic.ValueOf(cur)
}

func (ds *detailScope) pageContext() *urlContext {
	if ds.address == nil {
		return ds.rc.pageContext()
	}
	if ds.page == nil {
		c := newURLContext(ds.address.URL)
		ds.page = &c
	}
	return ds.page
}

func (ds *detailScope) referringContext() *urlContext {
	if ds.address == nil {
		return ds.rc.referringContext()
	}
	// As in the SDKs, a detail's own address is also its referrer.
	return ds.pageContext()
}

func (ds *detailScope) mboxContext() map[string]any {
	if !ds.mboxBuilt {
		ds.mbox = mboxContext(ds.params)
		ds.mboxBuilt = true
	}
	return ds.mbox
}

// ruleScope is the data one rule condition is evaluated against.
type ruleScope struct {
	ds         *detailScope
	allocation float64
	data       *jsonlogic.Value // generic form, built on first use
}

// newRequestContext builds the request-level rule context.
func newRequestContext(now time.Time, ctx *delivery.Context) requestContext {
	var rc requestContext
	rc.init(now, ctx)
	return rc
}

// init sets the request-level rule context of a zero rc, in place.
func (rc *requestContext) init(now time.Time, ctx *delivery.Context) {
	now = now.UTC()
	rc.timestamp = float64(now.UnixMilli())
	rc.timeHHMM = twoDigits(now.Hour()) + twoDigits(now.Minute())
	rc.day = int(now.Weekday())
	if rc.day == 0 {
		rc.day = 7
	}
	if ctx != nil {
		rc.userAgent, rc.hints = ctx.UserAgent, ctx.ClientHints
		if a := ctx.Address; a != nil {
			rc.pageURL, rc.referringURL = a.URL, a.ReferringURL
		}
		if g := ctx.Geo; g != nil {
			rc.geo = geoContext{country: g.CountryCode, region: g.StateCode, city: g.City, latitude: g.Latitude, longitude: g.Longitude}
		}
	}
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// newURLContext parses a URL into the attributes rules see.
func newURLContext(rawURL string) urlContext {
	var c urlContext
	parts := parseURL(rawURL)
	c.values[urlURL] = rawURL
	c.values[urlPath] = parts.path
	c.values[urlQuery] = parts.query
	c.values[urlFragment] = parts.fragment
	sub, domain, tld := parseDomain(parts.host)
	c.values[urlSubdomain] = sub
	c.values[urlDomain] = domain
	c.values[urlTopLevelDomain] = tld
	for i, v := range c.values {
		c.lower[i] = strings.ToLower(v)
	}
	return c
}

type urlParts struct {
	host, path, query, fragment string
}

// parseURL splits a URL the way the SDKs' loose URI parser does: an optional
// scheme, an optional "//", an authority whose host is kept, then the path up
// to "?", the query up to "#", and the fragment.
func parseURL(raw string) urlParts {
	rest := raw
	if i := strings.IndexAny(rest, ":/?#."); i > 0 && rest[i] == ':' {
		// A scheme, unless this is the "user:password@" form.
		if at := strings.IndexByte(rest, '@'); at < 0 || strings.ContainsAny(rest[i+1:at], ":/") {
			rest = rest[i+1:]
		}
	}
	rest = strings.TrimPrefix(rest, "//")
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority := rest[:end]
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		authority = authority[at+1:]
	}
	host := authority
	if colon := strings.IndexByte(host, ':'); colon >= 0 {
		host = host[:colon]
	}
	var p urlParts
	p.host = host
	rest = rest[end:]
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		p.fragment = rest[i+1:]
		rest = rest[:i]
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		p.query = rest[i+1:]
		rest = rest[:i]
	}
	p.path = rest
	return p
}

// parseDomain splits a host into subdomain, registrable domain and public
// suffix using the public suffix list. A host that is not a valid domain
// name under a listed suffix is its own domain, with empty subdomain and
// suffix. A leading "www" label is not part of the subdomain.
func parseDomain(host string) (subdomain, domain, topLevelDomain string) {
	if host == "" {
		return "", "", ""
	}
	lower := strings.ToLower(host)
	if !validDomainName(lower) {
		return "", host, ""
	}
	suffix, icann := publicsuffix.PublicSuffix(lower)
	if !icann && !strings.Contains(suffix, ".") {
		// Only the default "*" rule matched: the suffix is not listed.
		return "", host, ""
	}
	registrable, err := publicsuffix.EffectiveTLDPlusOne(lower)
	if err != nil {
		return "", host, ""
	}
	sub := strings.TrimSuffix(strings.TrimSuffix(lower, registrable), ".")
	if strings.HasPrefix(sub, "www") {
		if len(sub) > 4 {
			sub = sub[4:]
		} else {
			sub = ""
		}
	}
	return sub, registrable, suffix
}

// validDomainName checks a lower-case host as the public suffix parser of the
// SDKs does: at most 253 bytes, labels of 1 to 63 letters, digits or hyphens,
// not starting or ending with a hyphen.
func validDomainName(host string) bool {
	host = strings.TrimSuffix(host, ".")
	if len(host) < 1 || len(host) > 253 {
		return false
	}
	for label := range strings.SplitSeq(host, ".") {
		if len(label) < 1 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// mboxContext builds what rules see under mbox.*: the request parameters,
// with dotted names expanded into nested objects, and an "_lc" lower-case
// twin beside every string value.
func mboxContext(params delivery.Parameters) map[string]any {
	if len(params) == 0 {
		return nil
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	root := make(map[string]any, len(params)*2)
	for _, key := range keys {
		val := params[key]
		if !expandableKey(key) {
			root[key] = val
			continue
		}
		parts := strings.Split(key, ".")
		cur := root
		ok := true
		for _, part := range parts[:len(parts)-1] {
			next, exists := cur[part]
			switch n := next.(type) {
			case map[string]any:
				cur = n
			default:
				if exists {
					ok = false // a plain value is in the way; the SDKs drop this key too
				} else {
					m := map[string]any{}
					cur[part] = m
					cur = m
				}
			}
			if !ok {
				break
			}
		}
		if ok {
			cur[parts[len(parts)-1]] = val
		}
	}
	addLowerCaseTwins(root)
	return root
}

func expandableKey(key string) bool {
	return strings.Contains(key, ".") && !strings.Contains(key, "..") && key[0] != '.' && key[len(key)-1] != '.'
}

func addLowerCaseTwins(m map[string]any) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for _, k := range keys {
		switch v := m[k].(type) {
		case string:
			m[k+"_lc"] = strings.ToLower(v)
		case map[string]any:
			addLowerCaseTwins(v)
		}
	}
}

// ruleVar is the jsonlogic.Vars of rule conditions: it compiles the var
// paths Target's rules use into direct reads of the rule scope; nil for
// other paths, which jsonlogic looks up in (*ruleScope).Root.
func ruleVar(path string) (read func(jsonlogic.Data) jsonlogic.Value, alwaysPresent bool) {
	absent := func(jsonlogic.Data) jsonlogic.Value { return jsonlogic.Value{} }
	parts := strings.Split(path, ".")
	head := parts[0]
	switch {
	case len(parts) == 1 && head == "allocation":
		return func(d jsonlogic.Data) jsonlogic.Value { return jsonlogic.Number(d.(*ruleScope).allocation) }, true
	case len(parts) == 1 && head == "current_timestamp":
		return func(d jsonlogic.Data) jsonlogic.Value { return jsonlogic.Number(d.(*ruleScope).ds.rc.timestamp) }, true
	case len(parts) == 1 && head == "current_time":
		return func(d jsonlogic.Data) jsonlogic.Value { return jsonlogic.String(d.(*ruleScope).ds.rc.timeHHMM) }, true
	case len(parts) == 1 && head == "current_day":
		return func(d jsonlogic.Data) jsonlogic.Value {
			return jsonlogic.Number(float64(d.(*ruleScope).ds.rc.day))
		}, true
	case len(parts) == 2 && (head == "page" || head == "referring"):
		field, lower, ok := urlFieldByName(parts[1])
		if !ok {
			return absent, false
		}
		isPage := head == "page"
		return func(d jsonlogic.Data) jsonlogic.Value { return d.(*ruleScope).urlFieldValue(isPage, field, lower) }, true
	case len(parts) == 2 && head == "user":
		switch parts[1] {
		case "browserType":
			return func(d jsonlogic.Data) jsonlogic.Value {
				return jsonlogic.String(d.(*ruleScope).ds.rc.userContext().browserType)
			}, true
		case "platform":
			return func(d jsonlogic.Data) jsonlogic.Value {
				return jsonlogic.String(d.(*ruleScope).ds.rc.userContext().platform)
			}, true
		case "locale":
			return func(d jsonlogic.Data) jsonlogic.Value {
				return jsonlogic.String(d.(*ruleScope).ds.rc.userContext().locale)
			}, true
		case "browserVersion":
			return func(d jsonlogic.Data) jsonlogic.Value {
				return jsonlogic.Number(float64(d.(*ruleScope).ds.rc.userContext().browserVersion))
			}, true
		}
		return absent, false
	case len(parts) == 2 && head == "geo":
		switch parts[1] {
		case "country", "region", "city":
			name := parts[1]
			return func(d jsonlogic.Data) jsonlogic.Value {
				g := &d.(*ruleScope).ds.rc.geo
				v := g.city
				switch name {
				case "country":
					v = g.country
				case "region":
					v = g.region
				}
				if v == "" {
					return jsonlogic.Value{}
				}
				return jsonlogic.String(v)
			}, false
		case "latitude", "longitude":
			isLat := parts[1] == "latitude"
			return func(d jsonlogic.Data) jsonlogic.Value {
				g := &d.(*ruleScope).ds.rc.geo
				p := g.longitude
				if isLat {
					p = g.latitude
				}
				if p == nil {
					return jsonlogic.Value{}
				}
				return jsonlogic.Number(*p)
			}, false
		}
		return absent, false
	case len(parts) >= 2 && head == "mbox":
		rest := parts[1:]
		return func(d jsonlogic.Data) jsonlogic.Value { return d.(*ruleScope).ds.mboxValue(rest) }, false
	}
	return nil, false
}

// urlFieldValue reads a field of the page URL (or of the referring URL),
// lower-cased when lower: page.domain, referring.path_lc ...
func (s *ruleScope) urlFieldValue(page bool, field urlField, lower bool) jsonlogic.Value {
	var c *urlContext // parsed on first use: read only the one asked for
	if page {
		c = s.ds.pageContext()
	} else {
		c = s.ds.referringContext()
	}
	if lower {
		return jsonlogic.String(c.lower[field])
	}
	return jsonlogic.String(c.values[field])
}

func urlFieldByName(name string) (field urlField, lower, ok bool) {
	base, isLower := strings.CutSuffix(name, "_lc")
	for i, n := range urlFieldNames {
		if n == base {
			return urlField(i), isLower, true
		}
	}
	return 0, false, false
}

// Root returns the whole rule context as generic data, for the var paths
// ruleVar does not resolve: it makes a *ruleScope the jsonlogic.Data of
// rule conditions.
func (s *ruleScope) Root() jsonlogic.Value {
	if s.data == nil {
		v := jsonlogic.ValueOf(s.toMap())
		s.data = &v
	}
	return *s.data
}

// toMap renders the rule context as the SDKs build it.
func (s *ruleScope) toMap() map[string]any {
	rc := s.ds.rc
	geo := map[string]any{}
	g := rc.geo
	if g.country != "" {
		geo["country"] = g.country
	}
	if g.region != "" {
		geo["region"] = g.region
	}
	if g.city != "" {
		geo["city"] = g.city
	}
	if g.latitude != nil {
		geo["latitude"] = *g.latitude
	}
	if g.longitude != nil {
		geo["longitude"] = *g.longitude
	}
	mbox := s.ds.mboxContext()
	if mbox == nil {
		mbox = map[string]any{}
	}
	user := rc.userContext()
	return map[string]any{
		"current_timestamp": rc.timestamp,
		"current_time":      rc.timeHHMM,
		"current_day":       float64(rc.day),
		"user": map[string]any{
			"browserType":    user.browserType,
			"platform":       user.platform,
			"locale":         user.locale,
			"browserVersion": float64(user.browserVersion),
		},
		"page":       s.ds.pageContext().toMap(),
		"referring":  s.ds.referringContext().toMap(),
		"geo":        geo,
		"mbox":       mbox,
		"allocation": s.allocation,
	}
}

func (c *urlContext) toMap() map[string]any {
	m := make(map[string]any, 2*int(urlFieldCount))
	for i, n := range urlFieldNames {
		m[n] = c.values[i]
		m[n+"_lc"] = c.lower[i]
	}
	return m
}
