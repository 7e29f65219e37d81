package delivery

import (
	"encoding/json"
	"math"
	"math/bits"
	"reflect"
	"slices"
	"strconv"
)

// AppendRequestJSON appends the JSON encoding of r to dst: byte for byte
// what encoding/json's Encoder writes with SetEscapeHTML(false), without
// the trailing newline, several times faster (no reflection; parameter maps
// written with sorted keys as encoding/json writes them). The Target
// client encodes every Delivery API call this way, with MarshalRequestJSON.
//
// A number JSON cannot represent (NaN or an infinity), which encoding/json
// refuses, is written as null; MarshalRequestJSON reports it instead.
func AppendRequestJSON(dst []byte, r *DeliveryRequest) []byte {
	dst, _ = MarshalRequestJSON(dst, r)
	return dst
}

// MarshalRequestJSON is AppendRequestJSON that fails where encoding/json
// fails: on a NaN or infinite number. The error is a *FieldError naming the
// field, wrapping the *json.UnsupportedValueError encoding/json returns; the bytes are
// still written (the number as null), so the error is the caller's choice.
func MarshalRequestJSON(dst []byte, r *DeliveryRequest) ([]byte, error) {
	if r == nil {
		return append(dst, "null"...), nil
	}
	e := requestEncoder{index: -1}
	dst = e.request(dst, r)
	return dst, e.err
}

// requestEncoder writes a DeliveryRequest and keeps the first number JSON
// cannot represent. list, index, object and sub say where the writer is,
// so that the error names the field (as in "execute.mboxes[1].order.total");
// they are static strings, set as the writer enters a member, so the
// happy path builds no path.
type requestEncoder struct {
	list   string // the list being written ("execute.mboxes"), or ""
	index  int    // the element of list, or -1
	object string // the object being written, under list when set ("context.geo")
	sub    string // the object being written under object ("order"), or ""
	err    error
}

// at sets where the following members are, for error messages.
func (e *requestEncoder) at(list string, index int, object string) {
	e.list, e.index, e.object = list, index, object
}

// number writes a float64 member as encoding/json does; a NaN or an
// infinity is written as null and recorded. Besides whole numbers (time
// offsets, screen sizes: appendJSONFloat writes them as integers), numbers
// with two decimals (the telemetry's milliseconds) take a path several
// times faster than formatting a float, with the same result: they are
// written as their decimals, since below 1e9 no shorter decimal is as
// close to the float.
func (e *requestEncoder) number(w *objectWriter, quoted string, f float64) {
	w.member(quoted)
	switch {
	case f != math.Trunc(f) && math.Abs(f) < 1e9:
		// f is the float nearest hundredths/100 exactly when dividing
		// (correctly rounded) gives f back.
		if hundredths := math.Round(f * 100); hundredths/100 == f {
			w.dst = appendHundredths(w.dst, int64(hundredths))
			return
		}
	case math.IsNaN(f) || math.IsInf(f, 0):
		e.fail(quoted, f)
	}
	w.dst = appendJSONFloat(w.dst, f)
}

// appendHundredths writes n/100 with one or two decimals; n is not a
// multiple of 100.
func appendHundredths(dst []byte, n int64) []byte {
	if n < 0 {
		dst = append(dst, '-')
		n = -n
	}
	dst = strconv.AppendInt(dst, n/100, 10)
	frac := n % 100
	if frac%10 == 0 {
		return append(dst, '.', byte('0'+frac/10))
	}
	return append(dst, '.', byte('0'+frac/10), byte('0'+frac%10))
}

// Word-wide byte tests (as in "Bit Twiddling Hacks"): for a uint64 x,
// (x - ones*n) &^ x & highs is not 0 exactly when some byte of x is less
// than n (n <= 128).
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// isPlainASCII reports whether s has only bytes from 0x20 to 0x7f other
// than '"' and '\\': bytes a JSON string holds as they are.
func isPlainASCII(s string) bool { return plainPrefix(s) == len(s) }

// plainPrefix returns the length of the longest prefix of s whose bytes
// are all from 0x20 to 0x7f other than '"' and '\\', eight bytes at a time:
// of a word's bytes tested together, the lowest one flagged is exactly the
// first special byte (a borrow flags only bytes above the one that caused
// it).
func plainPrefix[T string | []byte](s T) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		quote := x ^ (ones * '"')
		backslash := x ^ (ones * '\\')
		special := x | // a byte of 0x80 or more
			(x-ones*0x20)&^x | // a control character
			(quote-ones)&^quote | // '"'
			(backslash-ones)&^backslash // '\\'
		if special &= highs; special != 0 {
			return i + bits.TrailingZeros64(special)/8
		}
	}
	for ; i < len(s); i++ {
		if b := s[i]; b < 0x20 || b >= 0x80 || b == '"' || b == '\\' {
			return i
		}
	}
	return len(s)
}

// fail records a number encoding/json refuses, with the path of its field,
// the member quoted ("name":).
func (e *requestEncoder) fail(quoted string, f float64) {
	if e.err != nil {
		return
	}
	name := quoted[1 : len(quoted)-2]
	path := e.list
	if e.index >= 0 {
		path += "[" + strconv.Itoa(e.index) + "]"
	}
	for _, part := range []string{e.object, e.sub, name} {
		if part == "" {
			continue
		}
		if path != "" {
			path += "."
		}
		path += part
	}
	text := strconv.FormatFloat(f, 'g', -1, 64)
	e.err = &FieldError{Field: path, Value: text, Reason: "cannot be encoded: JSON has no NaN or infinity",
		Err: &json.UnsupportedValueError{Value: reflect.ValueOf(f), Str: text}}
}

func (e *requestEncoder) request(dst []byte, r *DeliveryRequest) []byte {
	w := objectWriter{dst: append(dst, '{')}
	w.str(`"requestId":`, r.RequestID)
	w.str(`"impressionId":`, r.ImpressionID)
	if r.ID != nil {
		w.member(`"id":`)
		w.dst = appendVisitorID(w.dst, r.ID)
	}
	optionalInt(&w, `"environmentId":`, r.EnvironmentID)
	if r.Property != nil {
		w.member(`"property":`)
		w.dst = append(w.dst, `{"token":`...)
		w.dst = appendJSONString(w.dst, r.Property.Token)
		w.dst = append(w.dst, '}')
	}
	if r.Trace != nil {
		w.member(`"trace":`)
		w.dst = append(w.dst, `{"authorizationToken":`...)
		w.dst = appendJSONString(w.dst, r.Trace.AuthorizationToken)
		if len(r.Trace.Usage) > 0 {
			w.dst = append(w.dst, `,"usage":`...)
			w.dst = appendStringMap(w.dst, r.Trace.Usage)
		}
		w.dst = append(w.dst, '}')
	}
	if r.Context != nil {
		w.member(`"context":`)
		w.dst = e.context(w.dst, r.Context)
	}
	if r.ExperienceCloud != nil {
		w.member(`"experienceCloud":`)
		w.dst = appendExperienceCloud(w.dst, r.ExperienceCloud)
	}
	if r.Execute != nil {
		w.member(`"execute":`)
		w.dst = e.execute(w.dst, r.Execute)
	}
	if r.Prefetch != nil {
		w.member(`"prefetch":`)
		w.dst = e.prefetch(w.dst, r.Prefetch)
	}
	if r.Telemetry != nil {
		w.member(`"telemetry":`)
		w.dst = e.telemetry(w.dst, r.Telemetry)
	}
	if len(r.Notifications) > 0 {
		w.member(`"notifications":`)
		w.dst = e.notifications(w.dst, r.Notifications)
	}
	if r.QAMode != nil {
		// Rare (QA links only) and free of floats: encoding/json writes it.
		w.member(`"qaMode":`)
		w.dst = appendFallback(w.dst, r.QAMode)
	}
	if r.Preview != nil {
		w.member(`"preview":`)
		pw := objectWriter{dst: append(w.dst, '{')}
		pw.str(`"token":`, r.Preview.Token)
		w.dst = append(pw.dst, '}')
	}
	return append(w.dst, '}')
}

func (e *requestEncoder) context(dst []byte, c *Context) []byte {
	w := objectWriter{dst: append(dst, '{')}
	w.str(`"channel":`, string(c.Channel))
	if m := c.MobilePlatform; m != nil {
		w.member(`"mobilePlatform":`)
		mw := objectWriter{dst: append(w.dst, '{')}
		mw.str(`"deviceName":`, m.DeviceName)
		mw.str(`"deviceType":`, string(m.DeviceType))
		mw.str(`"platformType":`, string(m.PlatformType))
		mw.str(`"version":`, m.Version)
		w.dst = append(mw.dst, '}')
	}
	if a := c.Application; a != nil {
		w.member(`"application":`)
		aw := objectWriter{dst: append(w.dst, '{')}
		aw.str(`"id":`, a.ID)
		aw.str(`"name":`, a.Name)
		aw.str(`"version":`, a.Version)
		w.dst = append(aw.dst, '}')
	}
	if s := c.Screen; s != nil {
		e.at("", -1, "context.screen")
		w.member(`"screen":`)
		sw := objectWriter{dst: append(w.dst, '{')}
		e.optionalNumber(&sw, `"width":`, s.Width)
		e.optionalNumber(&sw, `"height":`, s.Height)
		e.optionalNumber(&sw, `"colorDepth":`, s.ColorDepth)
		e.optionalNumber(&sw, `"pixelRatio":`, s.PixelRatio)
		sw.str(`"orientation":`, string(s.Orientation))
		w.dst = append(sw.dst, '}')
	}
	if win := c.Window; win != nil {
		e.at("", -1, "context.window")
		w.member(`"window":`)
		ww := objectWriter{dst: append(w.dst, '{')}
		e.optionalNumber(&ww, `"width":`, win.Width)
		e.optionalNumber(&ww, `"height":`, win.Height)
		w.dst = append(ww.dst, '}')
	}
	if b := c.Browser; b != nil {
		w.member(`"browser":`)
		bw := objectWriter{dst: append(w.dst, '{')}
		bw.str(`"host":`, b.Host)
		bw.str(`"language":`, b.Language)
		bw.str(`"webGLRenderer":`, b.WebGLRenderer)
		w.dst = append(bw.dst, '}')
	}
	if c.Address != nil {
		w.member(`"address":`)
		w.dst = appendAddress(w.dst, c.Address)
	}
	if g := c.Geo; g != nil {
		e.at("", -1, "context.geo")
		w.member(`"geo":`)
		gw := objectWriter{dst: append(w.dst, '{')}
		gw.str(`"ipAddress":`, g.IPAddress)
		if g.Latitude != nil {
			e.number(&gw, `"latitude":`, *g.Latitude)
		}
		if g.Longitude != nil {
			e.number(&gw, `"longitude":`, *g.Longitude)
		}
		gw.str(`"countryCode":`, g.CountryCode)
		gw.str(`"stateCode":`, g.StateCode)
		gw.str(`"city":`, g.City)
		gw.str(`"zip":`, g.Zip)
		w.dst = append(gw.dst, '}')
	}
	if c.TimeOffsetInMinutes != nil {
		e.at("", -1, "context")
		e.number(&w, `"timeOffsetInMinutes":`, *c.TimeOffsetInMinutes)
	}
	w.str(`"userAgent":`, c.UserAgent)
	if h := c.ClientHints; h != nil {
		w.member(`"clientHints":`)
		hw := objectWriter{dst: append(w.dst, '{')}
		if h.Mobile != nil {
			hw.member(`"mobile":`)
			hw.dst = strconv.AppendBool(hw.dst, *h.Mobile)
		}
		hw.str(`"model":`, h.Model)
		hw.str(`"platform":`, h.Platform)
		hw.str(`"platformVersion":`, h.PlatformVersion)
		hw.str(`"browserUAWithMajorVersion":`, h.BrowserUAWithMajorVersion)
		hw.str(`"browserUAWithFullVersion":`, h.BrowserUAWithFullVersion)
		hw.str(`"architecture":`, h.Architecture)
		hw.str(`"bitness":`, h.Bitness)
		w.dst = append(hw.dst, '}')
	}
	optionalTrue(&w, `"beacon":`, c.Beacon)
	return append(w.dst, '}')
}

// optionalNumber writes an omitempty float64 member.
func (e *requestEncoder) optionalNumber(w *objectWriter, quoted string, f float64) {
	if f != 0 {
		e.number(w, quoted, f)
	}
}

func appendExperienceCloud(dst []byte, ec *ExperienceCloud) []byte {
	w := objectWriter{dst: append(dst, '{')}
	if am := ec.AudienceManager; am != nil {
		w.member(`"audienceManager":`)
		aw := objectWriter{dst: append(w.dst, '{')}
		optionalInt(&aw, `"locationHint":`, int64(am.LocationHint))
		aw.str(`"blob":`, am.Blob)
		w.dst = append(aw.dst, '}')
	}
	if a := ec.Analytics; a != nil {
		w.member(`"analytics":`)
		aw := objectWriter{dst: append(w.dst, '{')}
		aw.str(`"supplementalDataId":`, a.SupplementalDataID)
		aw.str(`"logging":`, string(a.Logging))
		aw.str(`"trackingServer":`, a.TrackingServer)
		aw.str(`"trackingServerSecure":`, a.TrackingServerSecure)
		w.dst = append(aw.dst, '}')
	}
	return append(w.dst, '}')
}

func (e *requestEncoder) execute(dst []byte, x *ExecuteRequest) []byte {
	w := objectWriter{dst: append(dst, '{')}
	if x.PageLoad != nil {
		e.at("", -1, "execute.pageLoad")
		w.member(`"pageLoad":`)
		w.dst = e.pageLoad(w.dst, x.PageLoad)
	}
	if len(x.Mboxes) > 0 {
		w.member(`"mboxes":`)
		w.dst = e.mboxes(w.dst, "execute.mboxes", x.Mboxes)
	}
	return append(w.dst, '}')
}

func (e *requestEncoder) prefetch(dst []byte, p *PrefetchRequest) []byte {
	w := objectWriter{dst: append(dst, '{')}
	if len(p.Views) > 0 {
		w.member(`"views":`)
		w.dst = append(w.dst, '[')
		for i := range p.Views {
			if i > 0 {
				w.dst = append(w.dst, ',')
			}
			v := &p.Views[i]
			e.at("prefetch.views", i, "")
			vw := objectWriter{dst: append(w.dst, '{')}
			vw.str(`"name":`, v.Name)
			vw.str(`"key":`, v.Key)
			e.details(&vw, v.Address, v.Parameters, v.ProfileParameters, v.Order, v.Product)
			w.dst = append(vw.dst, '}')
		}
		w.dst = append(w.dst, ']')
	}
	if p.PageLoad != nil {
		e.at("", -1, "prefetch.pageLoad")
		w.member(`"pageLoad":`)
		w.dst = e.pageLoad(w.dst, p.PageLoad)
	}
	if len(p.Mboxes) > 0 {
		w.member(`"mboxes":`)
		w.dst = e.mboxes(w.dst, "prefetch.mboxes", p.Mboxes)
	}
	return append(w.dst, '}')
}

func (e *requestEncoder) pageLoad(dst []byte, d *RequestDetails) []byte {
	w := objectWriter{dst: append(dst, '{')}
	e.details(&w, d.Address, d.Parameters, d.ProfileParameters, d.Order, d.Product)
	return append(w.dst, '}')
}

func (e *requestEncoder) mboxes(dst []byte, list string, mboxes []MboxRequest) []byte {
	dst = append(dst, '[')
	for i := range mboxes {
		if i > 0 {
			dst = append(dst, ',')
		}
		m := &mboxes[i]
		e.at(list, i, "")
		w := objectWriter{dst: append(dst, '{')}
		w.member(`"index":`)
		w.dst = strconv.AppendInt(w.dst, int64(m.Index), 10)
		w.str(`"name":`, m.Name)
		e.details(&w, m.Address, m.Parameters, m.ProfileParameters, m.Order, m.Product)
		dst = append(w.dst, '}')
	}
	return append(dst, ']')
}

// details writes the RequestDetails members that pageLoad, mbox, view and
// notification requests share, in their order.
func (e *requestEncoder) details(w *objectWriter, a *Address, params, profile Parameters, o *Order, p *Product) {
	if a != nil {
		w.member(`"address":`)
		w.dst = appendAddress(w.dst, a)
	}
	if len(params) > 0 {
		w.member(`"parameters":`)
		w.dst = appendStringMap(w.dst, params)
	}
	if len(profile) > 0 {
		w.member(`"profileParameters":`)
		w.dst = appendStringMap(w.dst, profile)
	}
	if o != nil {
		w.member(`"order":`)
		w.dst = e.order(w.dst, o)
	}
	if p != nil {
		w.member(`"product":`)
		pw := objectWriter{dst: append(w.dst, '{')}
		pw.str(`"id":`, p.ID)
		pw.str(`"categoryId":`, p.CategoryID)
		w.dst = append(pw.dst, '}')
	}
}

func appendAddress(dst []byte, a *Address) []byte {
	w := objectWriter{dst: append(dst, '{')}
	w.str(`"url":`, a.URL)
	w.str(`"referringUrl":`, a.ReferringURL)
	return append(w.dst, '}')
}

func (e *requestEncoder) order(dst []byte, o *Order) []byte {
	e.sub = "order"
	w := objectWriter{dst: append(dst, '{')}
	w.str(`"id":`, o.ID)
	if o.Total != nil {
		e.number(&w, `"total":`, *o.Total)
	}
	if len(o.PurchasedProductIDs) > 0 {
		w.member(`"purchasedProductIds":`)
		w.dst = appendStrings(w.dst, o.PurchasedProductIDs)
	}
	w.str(`"time":`, o.Time)
	if o.ExperienceLocalID != nil {
		w.member(`"experienceLocalId":`)
		w.dst = strconv.AppendInt(w.dst, int64(*o.ExperienceLocalID), 10)
	}
	optionalTrue(&w, `"duplicate":`, o.Duplicate)
	optionalTrue(&w, `"outlier":`, o.Outlier)
	e.sub = ""
	return append(w.dst, '}')
}

func (e *requestEncoder) telemetry(dst []byte, t *Telemetry) []byte {
	if len(t.Entries) == 0 {
		return append(dst, '{', '}')
	}
	dst = append(dst, `{"entries":[`...)
	for i := range t.Entries {
		if i > 0 {
			dst = append(dst, ',')
		}
		en := &t.Entries[i]
		e.at("telemetry.entries", i, "")
		w := objectWriter{dst: append(dst, '{')}
		w.str(`"requestId":`, en.RequestID)
		optionalInt(&w, `"timestamp":`, en.Timestamp)
		w.str(`"mode":`, string(en.Mode))
		e.optionalNumber(&w, `"execution":`, en.Execution)
		e.optionalNumber(&w, `"parsing":`, en.Parsing)
		if f := en.Features; f != nil {
			w.member(`"features":`)
			fw := objectWriter{dst: append(w.dst, '{')}
			fw.str(`"decisioningMethod":`, string(f.DecisioningMethod))
			optionalInt(&fw, `"executeMboxCount":`, int64(f.ExecuteMboxCount))
			optionalTrue(&fw, `"executePageLoad":`, f.ExecutePageLoad)
			optionalInt(&fw, `"prefetchMboxCount":`, int64(f.PrefetchMboxCount))
			optionalTrue(&fw, `"prefetchPageLoad":`, f.PrefetchPageLoad)
			optionalInt(&fw, `"prefetchViewCount":`, int64(f.PrefetchViewCount))
			w.dst = append(fw.dst, '}')
		}
		if q := en.Request; q != nil {
			e.sub = "request"
			w.member(`"request":`)
			qw := objectWriter{dst: append(w.dst, '{')}
			e.optionalNumber(&qw, `"dns":`, q.DNS)
			e.optionalNumber(&qw, `"tls":`, q.TLS)
			e.optionalNumber(&qw, `"timeToFirstByte":`, q.TimeToFirstByte)
			e.optionalNumber(&qw, `"download":`, q.Download)
			optionalInt(&qw, `"responseSize":`, q.ResponseSize)
			w.dst = append(qw.dst, '}')
			e.sub = ""
		}
		w.str(`"telemetryServerToken":`, en.TelemetryServerToken)
		dst = append(w.dst, '}')
	}
	return append(dst, ']', '}')
}

func (e *requestEncoder) notifications(dst []byte, notifications []Notification) []byte {
	dst = append(dst, '[')
	for i := range notifications {
		if i > 0 {
			dst = append(dst, ',')
		}
		n := &notifications[i]
		e.at("notifications", i, "")
		w := objectWriter{dst: append(dst, '{')}
		w.member(`"id":`)
		w.dst = appendJSONString(w.dst, n.ID)
		w.str(`"impressionId":`, n.ImpressionID)
		w.str(`"type":`, string(n.Type))
		w.member(`"timestamp":`)
		w.dst = strconv.AppendInt(w.dst, n.Timestamp, 10)
		if len(n.Tokens) > 0 {
			w.member(`"tokens":`)
			w.dst = appendStrings(w.dst, n.Tokens)
		}
		if m := n.Mbox; m != nil {
			w.member(`"mbox":`)
			mw := objectWriter{dst: append(w.dst, '{')}
			mw.str(`"name":`, m.Name)
			mw.str(`"state":`, m.State)
			w.dst = append(mw.dst, '}')
		}
		if v := n.View; v != nil {
			w.member(`"view":`)
			vw := objectWriter{dst: append(w.dst, '{')}
			vw.str(`"name":`, v.Name)
			vw.str(`"key":`, v.Key)
			vw.str(`"state":`, v.State)
			w.dst = append(vw.dst, '}')
		}
		if p := n.PageLoad; p != nil {
			w.member(`"pageLoad":`)
			pw := objectWriter{dst: append(w.dst, '{')}
			pw.str(`"state":`, p.State)
			w.dst = append(pw.dst, '}')
		}
		e.details(&w, n.Address, n.Parameters, n.ProfileParameters, n.Order, n.Product)
		dst = append(w.dst, '}')
	}
	return append(dst, ']')
}

// optionalInt writes an omitempty integer member.
func optionalInt(w *objectWriter, quoted string, n int64) {
	if n != 0 {
		w.member(quoted)
		w.dst = strconv.AppendInt(w.dst, n, 10)
	}
}

// optionalTrue writes an omitempty bool member.
func optionalTrue(w *objectWriter, quoted string, b bool) {
	if b {
		w.member(quoted)
		w.dst = append(w.dst, "true"...)
	}
}

// appendStrings writes a list of strings.
func appendStrings(dst []byte, list []string) []byte {
	dst = append(dst, '[')
	for i, s := range list {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, s)
	}
	return append(dst, ']')
}

// appendStringMap writes a map of strings with sorted keys, as
// encoding/json does (it compares keys as strings, byte by byte).
func appendStringMap(dst []byte, m map[string]string) []byte {
	var keysBuf [16]string
	keys := keysBuf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		dst = appendJSONString(dst, m[k])
	}
	return append(dst, '}')
}
