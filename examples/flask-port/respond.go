package main

import (
	"encoding/json"
	"errors"
	"net/http"

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
// refused included), and a failed Target call as 500, with the message the
// sample's error callback gives ("Exception during get_offers call: ...").
func writeFailure(w http.ResponseWriter, call string, err error) {
	var in *inputError
	if errors.As(err, &in) {
		writeInputError(w, in)
		return
	}
	status := http.StatusInternalServerError
	var invalid *target.ValidationError
	if errors.As(err, &invalid) {
		status = http.StatusBadRequest
	}
	writeError(w, status, "Exception during "+call+" call: "+err.Error())
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
