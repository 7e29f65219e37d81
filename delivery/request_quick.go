package delivery

import (
	"bytes"
	"slices"
	"strconv"
)

// quickRequest decodes the requests SDKs send most (the common members of
// a request, in exact case, with plain ASCII strings) in one pass over the
// bytes, without reflection; the engine took 3.3 µs for a target client's
// request. It reports ok only when data is such a request, decoded as the
// engine decodes it; for anything else (another member, another case, an
// escape, null, an empty array, invalid JSON) it reports false and the
// engine decodes data, errors included.
func quickRequest(data []byte) (req *DeliveryRequest, ok bool) {
	block := new(requestBlock)
	s := quickScanner{data: data, block: block}
	req = &block.request
	var seen uint32
	ok = s.object(func(name []byte) bool {
		switch string(name) {
		case "requestId":
			return s.once(&seen, 0) && s.str(&req.RequestID)
		case "impressionId":
			return s.once(&seen, 1) && s.str(&req.ImpressionID)
		case "id":
			req.ID = &block.id
			return s.once(&seen, 2) && s.visitorID(req.ID)
		case "environmentId":
			return s.once(&seen, 3) && s.int64(&req.EnvironmentID)
		case "property":
			req.Property = &block.property
			return s.once(&seen, 4) && s.property(req.Property)
		case "context":
			req.Context = &block.context
			return s.once(&seen, 5) && s.context(req.Context)
		case "experienceCloud":
			req.ExperienceCloud = &block.experienceCloud
			return s.once(&seen, 6) && s.experienceCloud(req.ExperienceCloud)
		case "execute":
			req.Execute = &block.execute
			return s.once(&seen, 7) && s.execute(req.Execute)
		case "prefetch":
			req.Prefetch = &block.prefetch
			return s.once(&seen, 8) && s.prefetch(req.Prefetch)
		case "telemetry":
			req.Telemetry = &block.telemetry
			return s.once(&seen, 9) && s.telemetry(req.Telemetry)
		}
		return false
	})
	s.space()
	if !ok || s.pos != len(s.data) {
		return nil, false
	}
	return req, true
}

// quickScanner reads the JSON quickRequest accepts. Its methods report
// whether they read what they were asked for; after false the scanner is
// not used any more.
type quickScanner struct {
	data  []byte
	pos   int
	block *requestBlock
	// tokens, when set, shares the response-token maps of answers.
	tokens *SharedObjects
}

// requestBlock holds a request and the parts of it that it has at most once,
// allocated together: one allocation instead of up to ten.
type requestBlock struct {
	request         DeliveryRequest
	id              VisitorID
	property        Property
	context         Context
	timeOffset      float64
	address         Address // of the context
	experienceCloud ExperienceCloud
	analytics       AnalyticsRequest
	execute         ExecuteRequest
	prefetch        PrefetchRequest
	telemetry       Telemetry
}

// once marks member bit of an object as seen, and reports whether it had
// not been: a member named twice is left to the engine.
func (s *quickScanner) once(seen *uint32, bit uint) bool {
	if *seen&(1<<bit) != 0 {
		return false
	}
	*seen |= 1 << bit
	return true
}

func (s *quickScanner) space() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// next skips whitespace and reports whether the next byte is c, which it
// then consumes.
func (s *quickScanner) next(c byte) bool {
	s.space()
	if s.pos < len(s.data) && s.data[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

// object reads an object, calling member with each name (a plain string,
// valid until the next read) positioned at the member's value.
func (s *quickScanner) object(member func(name []byte) bool) bool {
	if !s.next('{') {
		return false
	}
	if s.next('}') {
		return true
	}
	for {
		name, ok := s.plain()
		if !ok || !s.next(':') {
			return false
		}
		s.space()
		if s.pos == len(s.data) || !member(name) {
			return false
		}
		if s.next(',') {
			continue
		}
		return s.next('}')
	}
}

// array reads a non-empty array, calling element before each element.
func (s *quickScanner) array(element func() bool) bool {
	if !s.next('[') {
		return false
	}
	for {
		s.space()
		if s.pos == len(s.data) || !element() {
			return false
		}
		if s.next(',') {
			continue
		}
		return s.next(']')
	}
}

// plain reads a string of printable ASCII without escapes and returns its
// bytes, which are the string's value.
func (s *quickScanner) plain() ([]byte, bool) {
	if !s.next('"') {
		return nil, false
	}
	if i := s.pos + plainPrefix(s.data[s.pos:]); i < len(s.data) && s.data[i] == '"' {
		text := s.data[s.pos:i]
		s.pos = i + 1
		return text, true
	}
	return nil, false // an escape, a byte outside printable ASCII, or no end
}

// str reads a plain string into a string of any string type.
func str[S ~string](s *quickScanner, dst *S) bool {
	text, ok := s.plain()
	*dst = S(text)
	return ok
}

// enum reads a plain string into an enumeration; the values SDKs send are
// returned as constants, which allocates nothing.
func enum[S ~string](s *quickScanner, dst *S) bool {
	text, ok := s.plain()
	*dst = S(knownValue(text))
	return ok
}

// knownValue returns text as a string: a constant for the enumeration
// values SDKs send, else a copy.
func knownValue(text []byte) string {
	switch string(text) {
	case "web":
		return "web"
	case "mobile":
		return "mobile"
	case "server_side":
		return "server_side"
	case "client_side":
		return "client_side"
	case "edge":
		return "edge"
	case "local":
		return "local"
	case "hybrid":
		return "hybrid"
	case "server-side":
		return "server-side"
	case "on-device":
		return "on-device"
	case "html":
		return "html"
	case "json":
		return "json"
	}
	return string(text)
}

func (s *quickScanner) str(dst *string) bool { return str(s, dst) }

func (s *quickScanner) bool(dst *bool) bool {
	switch {
	case bytes.HasPrefix(s.data[s.pos:], []byte("true")):
		*dst, s.pos = true, s.pos+len("true")
	case bytes.HasPrefix(s.data[s.pos:], []byte("false")):
		*dst, s.pos = false, s.pos+len("false")
	default:
		return false
	}
	return s.delimited()
}

// delimited reports whether a number or literal just read ends where JSON
// lets it end.
func (s *quickScanner) delimited() bool {
	if s.pos == len(s.data) {
		return true
	}
	switch s.data[s.pos] {
	case ' ', '\t', '\n', '\r', ',', '}', ']':
		return true
	}
	return false
}

// number reads a JSON number and returns its text.
func (s *quickScanner) number() ([]byte, bool) {
	start, b, i := s.pos, s.data, s.pos
	digits := func() bool {
		first := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > first
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return nil, false
		}
	}
	s.pos = i
	return b[start:i], s.delimited()
}

// int64 reads an integer of at most 18 digits (which no int overflows).
func (s *quickScanner) int64(dst *int64) bool {
	text, ok := s.number()
	if !ok || len(text) == 0 || len(text) > 18 || text[0] == '-' {
		return false
	}
	var n int64
	for _, c := range text {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int64(c-'0')
	}
	*dst = n
	return true
}

func (s *quickScanner) int(dst *int) bool {
	var n int64
	if !s.int64(&n) {
		return false
	}
	*dst = int(n)
	return true
}

func (s *quickScanner) float64(dst *float64) bool {
	text, ok := s.number()
	if !ok {
		return false
	}
	f, err := strconv.ParseFloat(string(text), 64)
	*dst = f
	return err == nil
}

// parameters reads a parameters object as decodeParameters does:
// numbers and booleans as their JSON text.
func (s *quickScanner) parameters(dst *Parameters) bool {
	params := make(Parameters)
	*dst = params
	return s.object(func(name []byte) bool {
		var text string
		switch c := s.data[s.pos]; {
		case c == '"':
			if !s.str(&text) {
				return false
			}
		case c == 't' || c == 'f':
			start := s.pos
			var b bool
			if !s.bool(&b) {
				return false
			}
			text = string(s.data[start:s.pos])
		case c == 'n':
			if !bytes.HasPrefix(s.data[s.pos:], []byte("null")) {
				return false
			}
			s.pos += len("null")
			if !s.delimited() {
				return false
			}
		default:
			number, ok := s.number()
			if !ok {
				return false
			}
			text = string(number)
		}
		params[string(name)] = text
		return true
	})
}

func (s *quickScanner) visitorID(id *VisitorID) bool {
	var seen uint32
	return s.object(func(name []byte) bool {
		switch string(name) {
		case "tntId":
			return s.once(&seen, 0) && s.str(&id.TntID)
		case "thirdPartyId":
			return s.once(&seen, 1) && s.str(&id.ThirdPartyID)
		case "marketingCloudVisitorId":
			return s.once(&seen, 2) && s.str(&id.MarketingCloudVisitorID)
		}
		return false
	})
}

func (s *quickScanner) property(p *Property) bool {
	var seen uint32
	return s.object(func(name []byte) bool {
		return string(name) == "token" && s.once(&seen, 0) && s.str(&p.Token)
	})
}

func (s *quickScanner) address(a *Address) bool {
	var seen uint32
	return s.object(func(name []byte) bool {
		switch string(name) {
		case "url":
			return s.once(&seen, 0) && s.str(&a.URL)
		case "referringUrl":
			return s.once(&seen, 1) && s.str(&a.ReferringURL)
		}
		return false
	})
}

func (s *quickScanner) context(c *Context) bool {
	var seen uint32
	return s.object(func(name []byte) bool {
		switch string(name) {
		case "channel":
			return s.once(&seen, 0) && enum(s, &c.Channel)
		case "userAgent":
			return s.once(&seen, 1) && s.str(&c.UserAgent)
		case "timeOffsetInMinutes":
			c.TimeOffsetInMinutes = &s.block.timeOffset
			return s.once(&seen, 2) && s.float64(c.TimeOffsetInMinutes)
		case "address":
			c.Address = &s.block.address
			return s.once(&seen, 3) && s.address(c.Address)
		case "beacon":
			return s.once(&seen, 4) && s.bool(&c.Beacon)
		}
		return false
	})
}

func (s *quickScanner) experienceCloud(e *ExperienceCloud) bool {
	var seen uint32
	return s.object(func(name []byte) bool {
		if string(name) != "analytics" || !s.once(&seen, 0) {
			return false
		}
		a := &s.block.analytics
		e.Analytics = a
		var seenAnalytics uint32
		return s.object(func(name []byte) bool {
			switch string(name) {
			case "supplementalDataId":
				return s.once(&seenAnalytics, 0) && s.str(&a.SupplementalDataID)
			case "logging":
				return s.once(&seenAnalytics, 1) && enum(s, &a.Logging)
			case "trackingServer":
				return s.once(&seenAnalytics, 2) && s.str(&a.TrackingServer)
			case "trackingServerSecure":
				return s.once(&seenAnalytics, 3) && s.str(&a.TrackingServerSecure)
			}
			return false
		})
	})
}

// details reads the members of a page load, mbox or view request that the
// quick path knows, at bits 8 and up of seen.
func (s *quickScanner) details(name []byte, seen *uint32, d *RequestDetails) bool {
	switch string(name) {
	case "address":
		d.Address = new(Address)
		return s.once(seen, 8) && s.address(d.Address)
	case "parameters":
		return s.once(seen, 9) && s.parameters(&d.Parameters)
	case "profileParameters":
		return s.once(seen, 10) && s.parameters(&d.ProfileParameters)
	}
	return false
}

func (s *quickScanner) pageLoad(dst **RequestDetails) bool {
	d := new(RequestDetails)
	*dst = d
	var seen uint32
	return s.object(func(name []byte) bool { return s.details(name, &seen, d) })
}

// mboxes reads mbox requests into a slice of their number (the engine
// grows one by doubling).
func (s *quickScanner) mboxes(dst *[]MboxRequest) bool {
	read := make([]MboxRequest, 0, 8)
	defer func() { *dst = slices.Clone(read) }()
	return s.array(func() bool {
		var m MboxRequest
		var d RequestDetails
		var seen uint32
		ok := s.object(func(name []byte) bool {
			switch string(name) {
			case "index":
				return s.once(&seen, 0) && s.int(&m.Index)
			case "name":
				return s.once(&seen, 1) && s.str(&m.Name)
			}
			return s.details(name, &seen, &d)
		})
		m.Address, m.Parameters, m.ProfileParameters = d.Address, d.Parameters, d.ProfileParameters
		read = append(read, m)
		return ok
	})
}

func (s *quickScanner) execute(x *ExecuteRequest) bool {
	var seen uint32
	return s.object(func(name []byte) bool {
		switch string(name) {
		case "pageLoad":
			return s.once(&seen, 0) && s.pageLoad(&x.PageLoad)
		case "mboxes":
			return s.once(&seen, 1) && s.mboxes(&x.Mboxes)
		}
		return false
	})
}

func (s *quickScanner) prefetch(p *PrefetchRequest) bool {
	var seen uint32
	return s.object(func(name []byte) bool {
		switch string(name) {
		case "pageLoad":
			return s.once(&seen, 0) && s.pageLoad(&p.PageLoad)
		case "mboxes":
			return s.once(&seen, 1) && s.mboxes(&p.Mboxes)
		case "views":
			return s.once(&seen, 2) && s.array(func() bool {
				var v ViewRequest
				var d RequestDetails
				var seenView uint32
				ok := s.object(func(name []byte) bool {
					switch string(name) {
					case "name":
						return s.once(&seenView, 0) && s.str(&v.Name)
					case "key":
						return s.once(&seenView, 1) && s.str(&v.Key)
					}
					return s.details(name, &seenView, &d)
				})
				v.Address, v.Parameters, v.ProfileParameters = d.Address, d.Parameters, d.ProfileParameters
				p.Views = append(p.Views, v)
				return ok
			})
		}
		return false
	})
}

func (s *quickScanner) telemetry(t *Telemetry) bool {
	var seen uint32
	return s.object(func(name []byte) bool {
		return string(name) == "entries" && s.once(&seen, 0) && s.array(func() bool {
			var e TelemetryEntry
			ok := s.telemetryEntry(&e)
			t.Entries = append(t.Entries, e)
			return ok
		})
	})
}

func (s *quickScanner) telemetryEntry(e *TelemetryEntry) bool {
	var seen uint32
	return s.object(func(name []byte) bool {
		switch string(name) {
		case "requestId":
			return s.once(&seen, 0) && s.str(&e.RequestID)
		case "timestamp":
			return s.once(&seen, 1) && s.int64(&e.Timestamp)
		case "mode":
			return s.once(&seen, 2) && enum(s, &e.Mode)
		case "execution":
			return s.once(&seen, 3) && s.float64(&e.Execution)
		case "parsing":
			return s.once(&seen, 4) && s.float64(&e.Parsing)
		case "telemetryServerToken":
			return s.once(&seen, 5) && s.str(&e.TelemetryServerToken)
		case "features":
			e.Features = new(TelemetryFeatures)
			return s.once(&seen, 6) && s.telemetryFeatures(e.Features)
		case "request":
			r := new(TelemetryRequest)
			e.Request = r
			var seenRequest uint32
			return s.once(&seen, 7) && s.object(func(name []byte) bool {
				switch string(name) {
				case "dns":
					return s.once(&seenRequest, 0) && s.float64(&r.DNS)
				case "tls":
					return s.once(&seenRequest, 1) && s.float64(&r.TLS)
				case "timeToFirstByte":
					return s.once(&seenRequest, 2) && s.float64(&r.TimeToFirstByte)
				case "download":
					return s.once(&seenRequest, 3) && s.float64(&r.Download)
				case "responseSize":
					return s.once(&seenRequest, 4) && s.int64(&r.ResponseSize)
				}
				return false
			})
		}
		return false
	})
}

func (s *quickScanner) telemetryFeatures(f *TelemetryFeatures) bool {
	var seen uint32
	return s.object(func(name []byte) bool {
		switch string(name) {
		case "decisioningMethod":
			return s.once(&seen, 0) && enum(s, &f.DecisioningMethod)
		case "executeMboxCount":
			return s.once(&seen, 1) && s.int(&f.ExecuteMboxCount)
		case "executePageLoad":
			return s.once(&seen, 2) && s.bool(&f.ExecutePageLoad)
		case "prefetchMboxCount":
			return s.once(&seen, 3) && s.int(&f.PrefetchMboxCount)
		case "prefetchPageLoad":
			return s.once(&seen, 4) && s.bool(&f.PrefetchPageLoad)
		case "prefetchViewCount":
			return s.once(&seen, 5) && s.int(&f.PrefetchViewCount)
		}
		return false
	})
}
