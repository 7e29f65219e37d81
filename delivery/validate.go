package delivery

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// FieldError is a request value that is wrong: the one error of a bad
// Delivery API request in targetflow. DecodeRequest, ValidateRequest and
// MarshalRequestJSON return it; the edge answers its message with a 400,
// targetflow decide writes it for the line, the on-device engine returns
// it, and target.Client wraps it (in a *target.ValidationError on-device;
// server-side the edge's answer carries the same message).
type FieldError struct {
	// Field is the path of the field at fault, as "context.channel" or
	// "execute.mboxes[1].name"; empty when the body as a whole is not a
	// request.
	Field string
	// Value is the offending value as JSON text (abbreviated when long);
	// empty when the value is missing.
	Value string
	// Reason says what is wrong, as "is required" or
	// `must be "web" or "mobile"`.
	Reason string
	// Err is the underlying error, when there is one (a
	// *json.UnsupportedValueError for a NaN, a JSON syntax error ...).
	Err error
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString("delivery: invalid request: ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteByte(' ')
	}
	if e.Value != "" {
		b.WriteString(e.Value)
		b.WriteByte(' ')
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap returns the underlying error, if any.
func (e *FieldError) Unwrap() error { return e.Err }

// maxShownValue bounds the bytes of a value shown in a FieldError.
const maxShownValue = 64

// abbreviate shortens the JSON text of a value for a message, saying how
// long it was.
func abbreviate(text string) string {
	if len(text) <= maxShownValue {
		return text
	}
	cut := maxShownValue
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut] + "…(" + strconv.Itoa(len(text)) + " bytes)"
}

// MaxIDLength is the specification's maxLength of a visitor's tntId,
// thirdPartyId and marketingCloudVisitorId, in characters.
const MaxIDLength = 128

// ValidateRequest checks what the Delivery API requires of a request,
// naming the first field at fault with a *FieldError: a context with a
// channel of the specification's (and, with a mobile platform, its
// platform type); visitor ids of at most MaxIDLength characters; customer
// ids with an id and an integration code; a name for every mbox; for every
// notification an id, a type display or click, and not both an mbox and a
// view. Enumerations the request leaves empty are not checked (a mobile
// platform's device type, for instance: the SDKs leave it out).
//
// It is the one validator of a request: the edge, the on-device engine
// (Decide), targetflow decide and so target.Client give the same verdict
// and the same message for the same request.
func ValidateRequest(req *DeliveryRequest) error {
	if req == nil {
		return &FieldError{Reason: "the request is nil"}
	}
	c := req.Context
	switch {
	case c == nil:
		return &FieldError{Field: "context", Reason: "is required"}
	case c.Channel == "":
		return &FieldError{Field: "context.channel", Reason: "is required"}
	case !c.Channel.Valid():
		return &FieldError{Field: "context.channel", Value: quote(string(c.Channel)), Reason: `must be "web" or "mobile"`}
	}
	if mp := c.MobilePlatform; mp != nil {
		switch {
		case mp.PlatformType == "":
			return &FieldError{Field: "context.mobilePlatform.platformType", Reason: "is required"}
		case !mp.PlatformType.Valid():
			return &FieldError{Field: "context.mobilePlatform.platformType", Value: quote(string(mp.PlatformType)), Reason: `must be "android" or "ios"`}
		case mp.DeviceType != "" && !mp.DeviceType.Valid():
			return &FieldError{Field: "context.mobilePlatform.deviceType", Value: quote(string(mp.DeviceType)), Reason: `must be "phone" or "tablet"`}
		}
	}
	if id := req.ID; id != nil {
		for _, f := range [...]struct{ field, value string }{
			{"id.tntId", id.TntID},
			{"id.thirdPartyId", id.ThirdPartyID},
			{"id.marketingCloudVisitorId", id.MarketingCloudVisitorID},
		} {
			if len(f.value) > MaxIDLength && utf8.RuneCountInString(f.value) > MaxIDLength {
				return &FieldError{Field: f.field, Value: quote(f.value),
					Reason: "must be at most " + strconv.Itoa(MaxIDLength) + " characters, not " + strconv.Itoa(utf8.RuneCountInString(f.value))}
			}
		}
		for i, cid := range id.CustomerIDs {
			switch {
			case cid.ID == "":
				return &FieldError{Field: "id.customerIds[" + strconv.Itoa(i) + "].id", Reason: "is required"}
			case cid.IntegrationCode == "":
				return &FieldError{Field: "id.customerIds[" + strconv.Itoa(i) + "].integrationCode", Reason: "is required"}
			}
		}
	}
	if x := req.Execute; x != nil {
		if err := validateMboxes("execute.mboxes", x.Mboxes); err != nil {
			return err
		}
	}
	if p := req.Prefetch; p != nil {
		if err := validateMboxes("prefetch.mboxes", p.Mboxes); err != nil {
			return err
		}
	}
	for i := range req.Notifications {
		n := &req.Notifications[i]
		field := "notifications[" + strconv.Itoa(i) + "]"
		switch {
		case n.ID == "":
			return &FieldError{Field: field + ".id", Reason: "is required"}
		case n.Type == "":
			return &FieldError{Field: field + ".type", Reason: "is required"}
		case !n.Type.Valid():
			return &FieldError{Field: field + ".type", Value: quote(string(n.Type)), Reason: `must be "display" or "click"`}
		case n.Mbox != nil && n.View != nil:
			return &FieldError{Field: field, Reason: "has both an mbox and a view: they are exclusive"}
		}
	}
	return nil
}

func validateMboxes(field string, mboxes []MboxRequest) error {
	for i := range mboxes {
		if strings.TrimSpace(mboxes[i].Name) == "" {
			fe := &FieldError{Field: field + "[" + strconv.Itoa(i) + "].name", Reason: "is required"}
			if mboxes[i].Name != "" {
				fe.Value, fe.Reason = quote(mboxes[i].Name), "must not be blank"
			}
			return fe
		}
	}
	return nil
}

// quote is a string value as JSON text, abbreviated for a message.
func quote(s string) string {
	if len(s) > maxShownValue {
		return abbreviate(strconv.Quote(s))
	}
	return strconv.Quote(s)
}
