package main

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"syscall"

	"github.com/targetflow/targetflow/target"
)

// errorBody is the JSON of every error answer, in the Delivery API's own
// error shape.
type errorBody struct {
	Status  int    `json:"status"`
	Message string `json:"message"`
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encoding the response: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// writeError answers status with a JSON error carrying message.
func writeError(w http.ResponseWriter, status int, message string) {
	body, _ := json.Marshal(errorBody{Status: status, Message: message})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// writeNoContent answers 204, the sample's "No Content" for a request that
// names nothing to decide.
func writeNoContent(w http.ResponseWriter) {
	w.WriteHeader(http.StatusNoContent)
}

// writeInputError answers bad input with 400 (or 413) naming what was wrong.
func writeInputError(w http.ResponseWriter, err *inputError) {
	writeError(w, err.status(), err.Error())
}

// writeFailure answers err: bad input as 400/413 (a request the client
// refused included); an edge's 4xx as that status, with its message (a
// notifications body too large for the edge is its 413, a 429 keeps its
// Retry-After); the app's own overload (no free Target call, no file left
// for a connection) as 503 with Retry-After; any other failed Target call
// as 500, with the message the sample's error callback gives ("Exception
// during get_offers call: ...").
func writeFailure(w http.ResponseWriter, call string, err error) {
	var in *inputError
	if errors.As(err, &in) {
		writeInputError(w, in)
		return
	}
	status := http.StatusInternalServerError
	var invalid *target.ValidationError
	var edgeErr *target.HTTPError
	switch {
	case errors.As(err, &invalid):
		status = http.StatusBadRequest
	case errors.As(err, &edgeErr) && visitorsFault(edgeErr.Status):
		status = edgeErr.Status
		if wait := edgeErr.RetryAfter(); wait > 0 {
			w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(wait.Seconds())), 10))
		}
	case errors.As(err, &edgeErr) && edgeErr.Status >= 400 && edgeErr.Status < 500:
		// Another 4xx (401, 403, 404: a wrong client code, property
		// token or organization) is the app's set-up, not the visitor's
		// request: a bad gateway.
		status = http.StatusBadGateway
	case overloaded(err):
		w.Header().Set("Retry-After", retryAfterSeconds)
		writeError(w, http.StatusServiceUnavailable, "Exception during "+call+" call: "+err.Error()+": retry later")
		return
	}
	writeError(w, status, "Exception during "+call+" call: "+err.Error())
}

// overloaded reports whether err says the app itself is out of capacity:
// no free Target call, or no file left for a connection.
func overloaded(err error) bool {
	return errors.Is(err, errOverloaded) || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// setTargetCookies sets the Target cookie and the location-hint cookie of
// an answer on the response, with their max-age, as the sample's
// set_target_cookies does. Cookies with no value are skipped.
func setTargetCookies(w http.ResponseWriter, cookies ...*target.Cookie) {
	for _, c := range cookies {
		if c == nil || c.Value == "" {
			continue
		}
		http.SetCookie(w, c.HTTPCookie())
	}
}

// visitorsFault reports whether an edge's 4xx answer is about what the
// visitor sent (a request the edge refused, too large, too many), and so
// passed back to the visitor as it is.
func visitorsFault(status int) bool {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		return true
	}
	return false
}
