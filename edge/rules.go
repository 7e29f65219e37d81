package edge

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/targetflow/targetflow/internal/obfuscation"
)

// artifactState is one installed artifact: its bytes as served, its
// obfuscated form, their ETags and the engine that decides from it. It is
// never changed once installed; SetArtifact installs a new one.
type artifactState struct {
	json       []byte
	jsonETag   string
	bin        []byte // nil without an organization id
	binETag    string
	clientCode string // meta.clientCode
	globalMbox string // the pageLoad location
	engine     decisionEngine
}

// artifactHeader is the part of an artifact the edge checks before handing
// it to the engine.
type artifactHeader struct {
	Version string `json:"version"`
	Meta    struct {
		ClientCode string `json:"clientCode"`
	} `json:"meta"`
	GlobalMbox string `json:"globalMbox"`
	Rules      *struct {
		Mboxes map[string]json.RawMessage `json:"mboxes"`
		Views  map[string]json.RawMessage `json:"views"`
	} `json:"rules"`
}

// plainArtifact returns the JSON of payload, deobfuscating it first when it
// is a rules.bin, and checks that it looks like an artifact of version 1.
func plainArtifact(payload []byte, organizationID string) ([]byte, artifactHeader, error) {
	var header artifactHeader
	if obfuscation.IsObfuscated(payload) {
		if organizationID == "" {
			return nil, header, errors.New("artifact is obfuscated (rules.bin) and no organization id is configured")
		}
		plain, err := obfuscation.Decode(organizationID, payload)
		if err != nil {
			return nil, header, err
		}
		payload = plain
	}
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, header, errors.New("artifact is not a JSON object")
	}
	if err := json.Unmarshal(trimmed, &header); err != nil {
		return nil, header, fmt.Errorf("artifact is not valid JSON: %w", err)
	}
	if major, _, _ := strings.Cut(header.Version, "."); major != "1" {
		return nil, header, fmt.Errorf("artifact version %q is not supported: want 1.x.x", header.Version)
	}
	if header.Rules == nil {
		return nil, header, errors.New("artifact has no rules object")
	}
	return payload, header, nil
}

func etagOf(data []byte) string {
	sum := sha256.Sum256(data)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// obfuscationKey derives the rules.bin key from the organization id and the
// artifact, so that the same artifact always gives the same rules.bin (and
// ETag) and a changed one a different key.
func obfuscationKey(organizationID string, artifact []byte) (string, error) {
	h := sha256.New()
	h.Write([]byte(organizationID))
	h.Write([]byte{0})
	h.Write(artifact)
	return obfuscation.NewKey(bytes.NewReader(h.Sum(nil)))
}

// etagMatches reports whether an If-None-Match header value names etag.
func etagMatches(ifNoneMatch, etag string) bool {
	for _, candidate := range strings.Split(ifNoneMatch, ",") {
		candidate = strings.TrimSpace(candidate)
		if candidate == "*" || strings.TrimPrefix(candidate, "W/") == etag {
			return true
		}
	}
	return false
}

// serveRules answers GET/HEAD of rules.json or rules.bin.
func (s *Server) serveRules(w http.ResponseWriter, r *http.Request, endpoint string) {
	if !allowOnly(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	if answer, handled := s.control(endpoint, r, nil, nil); handled && s.answerAs(w, r, answer) {
		return
	}
	client, environment := r.PathValue("client"), r.PathValue("environment")
	if client != s.client {
		writeError(w, http.StatusNotFound, "no artifact for client %q: this edge serves client %q", client, s.client)
		return
	}
	if environment != s.environment {
		writeError(w, http.StatusNotFound, "no artifact for environment %q: this edge serves environment %q", environment, s.environment)
		return
	}
	state := s.state.Load()
	body, etag, contentType := state.json, state.jsonETag, "application/json"
	if endpoint == endpointRulesBin {
		if state.bin == nil {
			writeError(w, http.StatusNotFound, "rules.bin needs an organization id: start the edge with one")
			return
		}
		body, etag, contentType = state.bin, state.binETag, "application/octet-stream"
	}
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "no-cache")
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}
