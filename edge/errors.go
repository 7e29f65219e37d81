package edge

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/targetflow/targetflow/ondevice"
)

// errorBody is the shape of every error answer, as the real edge gives it:
// {"status":400,"message":"..."}.
type errorBody struct {
	Status  int    `json:"status"`
	Message string `json:"message"`
}

// writeError answers status with a JSON error body.
func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	body, err := json.Marshal(errorBody{Status: status, Message: fmt.Sprintf(format, args...)})
	if err != nil {
		body = []byte(`{"status":500,"message":"encoding the error failed"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeJSON answers 200 with v as JSON.
func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encoding the answer failed: %v", err)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// ArtifactError says why an artifact was refused (Source names where it
// came from); the artifact that was serving before keeps serving. It is
// ondevice.ArtifactError: one type for the edge and the engine.
type ArtifactError = ondevice.ArtifactError
