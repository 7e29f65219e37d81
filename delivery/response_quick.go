package delivery

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// quickResponse decodes the answers Target sends most (status, ids,
// execute and prefetch mboxes with their options, response tokens, click
// metrics and Analytics payloads, notification ids, in exact case, with plain ASCII names
// and strings; offer content any JSON) in one pass over the bytes,
// validating what it reads, without the engine's decoder: reading an
// answer token by token through the engine was most of what a bulk run
// spends on it. It reports ok only when data is such an answer, decoded as
// ReadResponse decodes it through the engine; for anything else (another
// member, a member twice, an escape in a string outside content, null, an
// empty array, invalid JSON) it reports false, and the engine decodes data,
// errors included. The fuzz tests hold the two to the same results.
func quickResponse(data []byte, tokens *SharedObjects) (answer *DeliveryResponse, ok bool) {
	block := new(responseBlock)
	s := quickScanner{data: data, tokens: tokens}
	answer = &block.response
	var seen uint32
	ok = s.object(func(name []byte) bool {
		switch string(name) {
		case "status":
			return s.once(&seen, 0) && s.int(&answer.Status)
		case "requestId":
			return s.once(&seen, 1) && s.str(&answer.RequestID)
		case "id":
			answer.ID = &block.id
			return s.once(&seen, 2) && s.visitorID(answer.ID)
		case "client":
			return s.once(&seen, 3) && s.str(&answer.Client)
		case "edgeHost":
			return s.once(&seen, 4) && s.str(&answer.EdgeHost)
		case "execute":
			answer.Execute = &block.execute
			var seenExecute uint32
			return s.once(&seen, 5) && s.object(func(name []byte) bool {
				return string(name) == "mboxes" && s.once(&seenExecute, 0) && s.mboxResponses(&answer.Execute.Mboxes)
			})
		case "prefetch":
			answer.Prefetch = &block.prefetch
			var seenPrefetch uint32
			return s.once(&seen, 6) && s.object(func(name []byte) bool {
				return string(name) == "mboxes" && s.once(&seenPrefetch, 0) && s.mboxResponses(&answer.Prefetch.Mboxes)
			})
		case "telemetryServerToken":
			return s.once(&seen, 7) && s.str(&answer.TelemetryServerToken)
		case "notifications":
			return s.once(&seen, 8) && s.array(func() bool {
				answer.Notifications = append(answer.Notifications, NotificationResponse{})
				n := &answer.Notifications[len(answer.Notifications)-1]
				var seenNotification uint32
				return s.object(func(name []byte) bool {
					return string(name) == "id" && s.once(&seenNotification, 0) && s.str(&n.ID)
				})
			})
		}
		return false
	})
	s.space()
	if !ok || s.pos != len(s.data) || answer.empty() {
		return nil, false
	}
	return answer, true
}

// responseBlock holds an answer and the parts of it that it has at most
// once, allocated together.
type responseBlock struct {
	response DeliveryResponse
	id       VisitorID
	execute  ExecuteResponse
	prefetch PrefetchResponse
}

// mboxResponses reads a non-empty array of mboxes into a slice of their
// number.
func (s *quickScanner) mboxResponses(dst *[]MboxResponse) bool {
	var read [4]MboxResponse // most answers have a few mboxes: grown on the stack
	mboxes := read[:0]
	ok := s.array(func() bool {
		mboxes = append(mboxes, MboxResponse{})
		m := &mboxes[len(mboxes)-1]
		var seen uint32
		return s.object(func(name []byte) bool {
			switch string(name) {
			case "index":
				return s.once(&seen, 0) && s.int(&m.Index)
			case "name":
				return s.once(&seen, 1) && s.str(&m.Name)
			case "options":
				return s.once(&seen, 2) && s.options(&m.Options)
			case "metrics":
				return s.once(&seen, 3) && s.metrics(&m.Metrics)
			case "analytics":
				return s.once(&seen, 4) && s.analytics(&m.Analytics)
			case "state":
				return s.once(&seen, 5) && s.str(&m.State)
			}
			return false
		})
	})
	*dst = append([]MboxResponse(nil), mboxes...)
	return ok
}

func (s *quickScanner) options(dst *[]Option) bool {
	return s.array(func() bool {
		*dst = append(*dst, Option{})
		o := &(*dst)[len(*dst)-1]
		var seen uint32
		return s.object(func(name []byte) bool {
			switch string(name) {
			case "type":
				return s.once(&seen, 0) && enum(s, &o.Type)
			case "content":
				raw, ok := s.rawValue(0)
				o.Content = append([]byte(nil), raw...)
				return s.once(&seen, 1) && ok && len(raw) > 0 && raw[0] != 'n'
			case "eventToken":
				return s.once(&seen, 2) && s.str(&o.EventToken)
			case "responseTokens":
				return s.once(&seen, 3) && s.responseTokens(&o.ResponseTokens)
			}
			return false
		})
	})
}

// responseTokens reads an object of plain names and plain string, number
// and boolean values, as ResponseTokens' decoder decodes them (numbers as
// float64); null, a nested value, a repeated name or an empty object is
// left to the engine.
func (s *quickScanner) responseTokens(dst *ResponseTokens) bool {
	end, ok := s.plainObjectEnd()
	if !ok {
		return false
	}
	raw := s.data[s.pos:end]
	if s.tokens != nil {
		if shared := s.tokens.Lookup(raw); shared != nil {
			// The same bytes were decoded before, to the object's end.
			*dst, s.pos = shared, end
			return true
		}
	}
	tokens := make(ResponseTokens, min(bytes.Count(raw, []byte(":")), maxTokensHint))
	*dst = tokens
	// The strings of the tokens are cut from one copy of their object.
	start, text := s.pos, ""
	ok = s.object(func(name []byte) bool {
		key := tokenName(name)
		var (
			value any
			ok    bool
		)
		switch c := s.data[s.pos]; {
		case c == '"':
			at := s.pos + 1
			var plain []byte
			plain, ok = s.plain()
			switch {
			case !ok:
			case string(plain) == "server-side":
				value = "server-side" // every server-side option's decisioning method
			default:
				if text == "" {
					text = string(raw)
				}
				value = text[at-start : at-start+len(plain)]
			}
		case c == 't' || c == 'f':
			var b bool
			ok = s.bool(&b)
			value = b
		default:
			var number []byte
			if number, ok = s.number(); ok {
				var f float64
				f, ok = parseNumber(number)
				value = boxFloat(f)
			}
		}
		before := len(tokens)
		tokens[key] = value
		return ok && len(tokens) > before // a name twice is left to the engine
	})
	if ok && s.tokens != nil && s.pos == end {
		s.tokens.add(raw, text, tokens)
	}
	return ok
}

// parseNumber returns the value of a JSON number: at once for an integer
// of up to 15 digits (which a float64 holds exactly), else by ParseFloat;
// ok is false when it is out of range.
func parseNumber(text []byte) (float64, bool) {
	if len(text) <= 15 {
		n, i := 0, 0
		if text[0] == '-' {
			i = 1
		}
		for ; i < len(text) && '0' <= text[i] && text[i] <= '9'; i++ {
			n = n*10 + int(text[i]-'0')
		}
		if i == len(text) {
			if text[0] == '-' {
				return -float64(n), true
			}
			return float64(n), true
		}
	}
	f, err := strconv.ParseFloat(string(text), 64)
	return f, err == nil
}

// maxTokensHint bounds the size a tokens map is made with (from the colons
// of the object, which values may hold too).
const maxTokensHint = 32

// plainObjectEnd returns the index after the object at the scanner's
// position, when no value in it is an object or an array (as the response
// tokens Target sends); ok is false otherwise.
func (s *quickScanner) plainObjectEnd() (end int, ok bool) {
	for i := s.pos + 1; i < len(s.data); i++ {
		switch s.data[i] {
		case '"':
			close := bytes.IndexByte(s.data[i+1:], '"')
			if close < 0 {
				return 0, false
			}
			i += 1 + close // a backslash before it fails the token's scan
		case '{', '[':
			return 0, false
		case '}':
			return i + 1, true
		}
	}
	return 0, false
}

// smallFloats are the boxed whole numbers 0 to 1023: option and experience
// ids, which would otherwise cost an allocation each.
var smallFloats = func() (boxed [1024]any) {
	for i := range boxed {
		boxed[i] = float64(i)
	}
	return boxed
}()

// boxFloat returns f as an any, from smallFloats when it is one of them.
func boxFloat(f float64) any {
	if f >= 0 && f < float64(len(smallFloats)) && f == float64(int(f)) && !(f == 0 && 1/f < 0) {
		return smallFloats[int(f)]
	}
	return f
}

func (s *quickScanner) metrics(dst *[]Metric) bool {
	return s.array(func() bool {
		*dst = append(*dst, Metric{})
		m := &(*dst)[len(*dst)-1]
		var seen uint32
		return s.object(func(name []byte) bool {
			switch string(name) {
			case "type":
				return s.once(&seen, 0) && s.metricType(&m.Type)
			case "selector":
				return s.once(&seen, 1) && s.str(&m.Selector)
			case "eventToken":
				return s.once(&seen, 2) && s.str(&m.EventToken)
			case "analytics":
				return s.once(&seen, 3) && s.analytics(&m.Analytics)
			}
			return false
		})
	})
}

func (s *quickScanner) metricType(dst *MetricType) bool {
	text, ok := s.plain()
	switch MetricType(text) {
	case MetricClick:
		*dst = MetricClick
	case MetricDisplay:
		*dst = MetricDisplay
	default:
		*dst = MetricType(text)
	}
	return ok
}

func (s *quickScanner) analytics(dst **AnalyticsResponse) bool {
	a := new(AnalyticsResponse)
	*dst = a
	var seen uint32
	return s.object(func(name []byte) bool {
		if string(name) != "payload" || !s.once(&seen, 0) {
			return false
		}
		p := new(AnalyticsPayload)
		a.Payload = p
		var seenPayload uint32
		return s.object(func(name []byte) bool {
			switch string(name) {
			case "pe":
				return s.once(&seenPayload, 0) && s.str(&p.PE)
			case "tnta":
				return s.once(&seenPayload, 1) && s.str(&p.TNTA)
			}
			return false
		})
	})
}

// maxRawDepth bounds the nesting of content the quick path reads; deeper
// content is left to the engine.
const maxRawDepth = 64

// rawValue reads any JSON value, validating it as the engine's decoder
// does (strings of valid UTF-8 with valid escapes; invalid UTF-8, which the
// engine's options accept, is left to the engine), and returns its bytes.
func (s *quickScanner) rawValue(depth int) ([]byte, bool) {
	if depth > maxRawDepth || s.pos >= len(s.data) {
		return nil, false
	}
	start := s.pos
	switch c := s.data[s.pos]; {
	case c == '"':
		if !s.jsonString() {
			return nil, false
		}
	case c == '{':
		s.pos++
		if !s.next('}') {
			for {
				s.space()
				if !s.jsonString() || !s.next(':') {
					return nil, false
				}
				s.space()
				if _, ok := s.rawValue(depth + 1); !ok {
					return nil, false
				}
				if s.next(',') {
					continue
				}
				if !s.next('}') {
					return nil, false
				}
				break
			}
		}
	case c == '[':
		s.pos++
		if !s.next(']') {
			for {
				s.space()
				if _, ok := s.rawValue(depth + 1); !ok {
					return nil, false
				}
				if s.next(',') {
					continue
				}
				if !s.next(']') {
					return nil, false
				}
				break
			}
		}
	case c == 't' || c == 'f':
		var b bool
		if !s.bool(&b) {
			return nil, false
		}
	case c == 'n':
		if !bytes.HasPrefix(s.data[s.pos:], []byte("null")) {
			return nil, false
		}
		s.pos += len("null")
		if !s.delimited() {
			return nil, false
		}
	default:
		if _, ok := s.number(); !ok {
			return nil, false
		}
	}
	return s.data[start:s.pos], true
}

// jsonString reads a JSON string of valid UTF-8 with valid escapes.
func (s *quickScanner) jsonString() bool {
	if s.pos >= len(s.data) || s.data[s.pos] != '"' {
		return false
	}
	for i := s.pos + 1; i < len(s.data); {
		// Plain bytes stand for themselves: skipped a word at a time.
		if i += plainPrefix(s.data[i:]); i == len(s.data) {
			return false
		}
		switch c := s.data[i]; {
		case c == '"':
			s.pos = i + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if i+1 >= len(s.data) {
				return false
			}
			switch s.data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(s.data) {
					return false
				}
				if _, err := strconv.ParseUint(string(s.data[i+2:i+6]), 16, 16); err != nil {
					return false
				}
				i += 6
			default:
				return false
			}
		default: // 0x80 or more
			r, size := utf8.DecodeRune(s.data[i:])
			if r == utf8.RuneError && size <= 1 {
				return false
			}
			i += size
		}
	}
	return false
}
