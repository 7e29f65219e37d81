package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/targetflow/targetflow/delivery"
)

// notificationsBody is the body of POST /sendNotifications, in the
// sample's shape: what a page displayed, taken from an earlier prefetch
// response.
//
//	{"mboxes":[{"name":"cart","state":"...","event_tokens":["..."]}],
//	 "views":[{"name":"home","key":"...","state":"...","event_tokens":["..."]}]}
type notificationsBody struct {
	Mboxes []displayedMbox `json:"mboxes"`
	Views  []displayedView `json:"views"`
}

// displayedMbox is one prefetched mbox the page displayed.
type displayedMbox struct {
	Name        string   `json:"name"`
	State       string   `json:"state"`
	EventTokens []string `json:"event_tokens"`
}

// displayedView is one prefetched view the page displayed.
type displayedView struct {
	Name        string   `json:"name"`
	Key         string   `json:"key"`
	State       string   `json:"state"`
	EventTokens []string `json:"event_tokens"`
}

// decodeNotificationsBody reads and checks a notifications body. The reader
// is expected to be limited by http.MaxBytesReader: an oversized body is an
// inputError with status 413, malformed JSON or a body that names nothing an
// inputError with status 400. Like Flask's get_json(force=True), it does not
// look at the Content-Type.
func decodeNotificationsBody(r io.Reader) (notificationsBody, error) {
	var body notificationsBody
	dec := json.NewDecoder(r)
	if err := dec.Decode(&body); err != nil {
		return body, bodyError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		if err == nil {
			return body, &inputError{Field: "body", Reason: "has data after the JSON object"}
		}
		return body, bodyError(err)
	}
	if len(body.Mboxes) == 0 && len(body.Views) == 0 {
		return body, &inputError{Field: "body", Reason: `names no "mboxes" and no "views" to notify`}
	}
	for i, m := range body.Mboxes {
		if m.Name == "" {
			return body, &inputError{Field: fmt.Sprintf("mboxes[%d].name", i), Reason: "is missing"}
		}
		if err := checkTokens(fmt.Sprintf("mboxes[%d].event_tokens", i), m.EventTokens); err != nil {
			return body, err
		}
	}
	for i, v := range body.Views {
		if v.Name == "" && v.Key == "" {
			return body, &inputError{Field: fmt.Sprintf("views[%d]", i), Reason: "has neither a name nor a key"}
		}
		if err := checkTokens(fmt.Sprintf("views[%d].event_tokens", i), v.EventTokens); err != nil {
			return body, err
		}
	}
	return body, nil
}

// checkTokens requires at least one event token and no empty one: a display
// notification without a token counts nothing.
func checkTokens(field string, tokens []string) error {
	if len(tokens) == 0 {
		return &inputError{Field: field, Reason: "is missing or empty"}
	}
	for i, t := range tokens {
		if t == "" {
			return &inputError{Field: fmt.Sprintf("%s[%d]", field, i), Reason: "is empty"}
		}
	}
	return nil
}

// bodyError turns a decoding error into an inputError that says what was
// wrong and where.
func bodyError(err error) error {
	var tooLarge *http.MaxBytesError
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooLarge):
		return &inputError{Field: "body", Reason: fmt.Sprintf("is larger than %d bytes", tooLarge.Limit), Status: http.StatusRequestEntityTooLarge}
	case errors.Is(err, io.EOF):
		return &inputError{Field: "body", Reason: "is empty; a JSON object is expected"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &inputError{Field: "body", Reason: "is truncated JSON"}
	case errors.As(err, &syntax):
		return &inputError{Field: "body", Reason: fmt.Sprintf("is not valid JSON at byte %d: %v", syntax.Offset, err)}
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return &inputError{Field: field, Reason: fmt.Sprintf("is a JSON %s, expected %s", typeErr.Value, typeErr.Type)}
	default:
		return &inputError{Field: "body", Reason: "cannot be read: " + err.Error()}
	}
}

// notifications builds one display notification per displayed view and
// mbox (views first, as the sample does), each with a fresh id and
// impression id from newID and the timestamp now.
func (b notificationsBody) notifications(now time.Time, newID func() string) []delivery.Notification {
	ts := delivery.TimestampMillis(now)
	out := make([]delivery.Notification, 0, len(b.Views)+len(b.Mboxes))
	for _, v := range b.Views {
		out = append(out, delivery.Notification{
			ID:           newID(),
			ImpressionID: newID(),
			Type:         delivery.MetricDisplay,
			Timestamp:    ts,
			Tokens:       append([]string(nil), v.EventTokens...),
			View:         &delivery.NotificationView{Name: v.Name, Key: v.Key, State: v.State},
		})
	}
	for _, m := range b.Mboxes {
		out = append(out, delivery.Notification{
			ID:           newID(),
			ImpressionID: newID(),
			Type:         delivery.MetricDisplay,
			Timestamp:    ts,
			Tokens:       append([]string(nil), m.EventTokens...),
			Mbox:         &delivery.NotificationMbox{Name: m.Name, State: m.State},
		})
	}
	return out
}
