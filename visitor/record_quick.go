package visitor

import "github.com/targetflow/targetflow/delivery"

// quickRecord decodes the record most bulk inputs are made of, a visitor
// id alone ({"id":{"tntId":"…"}}, with thirdPartyId and
// marketingCloudVisitorId too), without reflection: exactly one member
// "id" holding an object of those members, each at most once, with plain
// ASCII strings, no whitespace. ok is false for anything else, which
// encoding/json then decodes (errors included); for what it takes, the
// record is the one encoding/json decodes (the fuzz test holds the two to
// that).
func quickRecord(data []byte) (_ *Record, ok bool) {
	const prefix = `{"id":{`
	if len(data) < len(prefix)+2 || string(data[:len(prefix)]) != prefix || string(data[len(data)-2:]) != "}}" {
		return nil, false
	}
	block := new(struct {
		record Record
		id     delivery.VisitorID
	})
	block.record.ID = &block.id
	body := data[len(prefix) : len(data)-2]
	var text string // the record's strings, cut from one copy of its id
	var seen uint8
	for i := 0; i < len(body); {
		if i > 0 {
			if body[i] != ',' {
				return nil, false
			}
			i++
		}
		name, next, ok := plainString(body, i)
		if !ok || next >= len(body) || body[next] != ':' {
			return nil, false
		}
		valueAt := next + 1
		_, end, ok := plainString(body, valueAt)
		if !ok {
			return nil, false
		}
		if text == "" {
			text = string(body)
		}
		value := text[valueAt+1 : end-1]
		var field *string
		var bit uint8
		switch string(name) {
		case "tntId":
			field, bit = &block.id.TntID, 1
		case "thirdPartyId":
			field, bit = &block.id.ThirdPartyID, 2
		case "marketingCloudVisitorId":
			field, bit = &block.id.MarketingCloudVisitorID, 4
		default:
			return nil, false
		}
		if seen&bit != 0 {
			return nil, false // a name twice: encoding/json's rule decides
		}
		seen |= bit
		*field = value
		i = end
	}
	if seen == 0 {
		return nil, false
	}
	return &block.record, true
}

// plainString reads the JSON string at data[i]: one of printable ASCII
// characters without escapes. It returns its text and the index after its
// closing quote.
func plainString(data []byte, i int) (text []byte, next int, ok bool) {
	if i >= len(data) || data[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(data); j++ {
		switch c := data[j]; {
		case c == '"':
			return data[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x7f:
			return nil, 0, false
		}
	}
	return nil, 0, false
}
