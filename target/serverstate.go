package target

import (
	"encoding/json"
	"html"

	"github.com/targetflow/targetflow/delivery"
)

// ServerState is the {request, response} pair that at.js (2.2 and later)
// reads from window.targetGlobalSettings.serverState to apply what the
// server already fetched without calling Target again, as the Java SDK's
// getServerState() and the Node.js samples hand it over.
type ServerState struct {
	Request  *delivery.DeliveryRequest  `json:"request"`
	Response *delivery.DeliveryResponse `json:"response"`
}

// ServerState returns the at.js serverState of the call: the request that
// was sent and Target's answer, keeping what at.js can apply in the
// browser — the prefetched views, mboxes and page load with their event
// tokens (at.js sends their display notifications when it renders them) and
// the executed page load (whose presence stops at.js from asking for the
// page load again) — and leaving out the execute mboxes (content for the
// server itself, already rendered and counted), notifications and
// telemetry. The request and response of r are not modified. Nil when r is
// nil.
//
// The page must also set targetGlobalSettings.overrideMboxEdgeServer =
// true, as PageScript does and the Node.js samples do: the server's call
// went to the visitor's edge cluster (Response.Response.EdgeHost,
// mboxedge{N}.tt.omtrdc.net, remembered in the mboxEdgeCluster cookie), and
// at.js must send its own calls — the notifications of the content it
// applies from serverState, later views and mboxes — to that same cluster,
// where the visitor's session and profile live. Without it at.js calls
// {client}.tt.omtrdc.net, which may land in another cluster: the visitor's
// profile updates split and the notifications may not match the session
// that produced the event tokens.
func (r *Response) ServerState() *ServerState {
	if r == nil {
		return nil
	}
	return &ServerState{Request: serverStateRequest(r.Request), Response: serverStateResponse(r.Response)}
}

func serverStateRequest(req *delivery.DeliveryRequest) *delivery.DeliveryRequest {
	if req == nil {
		return nil
	}
	out := *req
	out.Notifications = nil
	out.Telemetry = nil
	if ex := req.Execute; ex != nil {
		out.Execute = nil
		if ex.PageLoad != nil {
			out.Execute = &delivery.ExecuteRequest{PageLoad: ex.PageLoad}
		}
	}
	return &out
}

func serverStateResponse(resp *delivery.DeliveryResponse) *delivery.DeliveryResponse {
	if resp == nil {
		return nil
	}
	out := *resp
	out.Notifications = nil
	out.TelemetryServerToken = ""
	if ex := resp.Execute; ex != nil {
		out.Execute = nil
		if ex.PageLoad != nil {
			out.Execute = &delivery.ExecuteResponse{PageLoad: ex.PageLoad}
		}
	}
	return &out
}

// MarshalJSON writes s as {"request":…,"response":…}, the members with
// the names of the Delivery API.
func (s *ServerState) MarshalJSON() ([]byte, error) {
	return s.AppendJSON(nil), nil
}

// AppendJSON appends the JSON of s (as MarshalJSON writes it) to dst.
func (s *ServerState) AppendJSON(dst []byte) []byte {
	if s == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, `{"request":`...)
	dst = delivery.AppendRequestJSON(dst, s.Request)
	dst = append(dst, `,"response":`...)
	dst = delivery.AppendResponseJSON(dst, s.Response)
	return append(dst, '}')
}

// ScriptJSON returns the JSON of v made safe to write inside an HTML
// <script> element: "<", ">" and "&" (so no "</script>", "<!--" or
// "-->"), and the line terminators U+2028 and U+2029, are written as \u
// escapes. These only ever occur inside JSON strings, where the escapes
// mean the same characters, so the value is unchanged: offer content from
// Target cannot end the script or open a comment in the page.
func ScriptJSON(v any) ([]byte, error) {
	var raw []byte
	switch x := v.(type) {
	case VisitorState:
		raw = x.AppendJSON(nil)
	case *ServerState:
		raw = x.AppendJSON(nil)
	default:
		var err error
		if raw, err = json.Marshal(v); err != nil {
			return nil, err
		}
	}
	return appendScriptSafe(make([]byte, 0, len(raw)+len(raw)/16), raw), nil
}

// appendScriptSafe appends the JSON text src to dst with the characters
// that matter to an HTML script element escaped.
func appendScriptSafe(dst, src []byte) []byte {
	const hexDigits = "0123456789abcdef"
	start := 0
	for i := 0; i < len(src); i++ {
		b := src[i]
		switch {
		case b == '<' || b == '>' || b == '&':
			dst = append(dst, src[start:i]...)
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			start = i + 1
		case b == 0xE2 && i+2 < len(src) && src[i+1] == 0x80 && (src[i+2] == 0xA8 || src[i+2] == 0xA9):
			// U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR end a
			// line in older JavaScript engines.
			dst = append(dst, src[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[src[i+2]&0xf])
			i += 2
			start = i + 1
		}
	}
	return append(dst, src[start:]...)
}

// PageScript is the inline <script> a server-rendered page needs to hand
// the server's Target call to the browser: the visitor state to the
// Visitor API (VisitorAPI.js) and the serverState to at.js. Put its HTML
// after the <script> that loads VisitorAPI.js and before the one that
// loads at.js. Everything in it is escaped for a script context, so no
// offer content or id can break out of the element.
type PageScript struct {
	// OrganizationID is the first argument of Visitor.getInstance; empty
	// means VisitorState's.
	OrganizationID string
	// VisitorState is passed as Visitor.getInstance(org, {serverState: …})
	// when the page defines Visitor; the zero value leaves the Visitor call
	// out (for a page that calls Visitor.getInstance itself: pass it
	// ScriptJSON(resp.VisitorState)).
	VisitorState VisitorState
	// ServerState becomes window.targetGlobalSettings.serverState, with
	// overrideMboxEdgeServer set to true (see Response.ServerState); nil
	// leaves at.js's settings alone.
	ServerState *ServerState
	// Nonce is the script's Content-Security-Policy nonce, if the page has
	// one.
	Nonce string
}

// NewPageScript returns the PageScript of a Target answer: its visitor
// state and its serverState.
func NewPageScript(resp *Response) PageScript {
	if resp == nil {
		return PageScript{}
	}
	return PageScript{VisitorState: resp.VisitorState, ServerState: resp.ServerState()}
}

// HTML returns the <script> element.
func (p PageScript) HTML() string {
	return string(p.AppendHTML(nil))
}

// AppendHTML appends the <script> element to dst.
func (p PageScript) AppendHTML(dst []byte) []byte {
	dst = append(dst, "<script"...)
	if p.Nonce != "" {
		dst = append(dst, ` nonce="`...)
		dst = append(dst, html.EscapeString(p.Nonce)...)
		dst = append(dst, '"')
	}
	dst = append(dst, ">\n"...)
	if p.ServerState != nil {
		dst = append(dst, "(function (s) {\n  s.overrideMboxEdgeServer = true;\n  s.serverState = "...)
		dst = appendScriptSafe(dst, p.ServerState.AppendJSON(nil))
		dst = append(dst, ";\n})(window.targetGlobalSettings = window.targetGlobalSettings || {});\n"...)
	}
	org := p.OrganizationID
	if org == "" {
		org = p.VisitorState.OrganizationID
	}
	if p.VisitorState.OrganizationID != "" {
		dst = append(dst, "if (window.Visitor && window.Visitor.getInstance) {\n  window.Visitor.getInstance("...)
		dst = appendScriptSafe(dst, delivery.AppendJSONString(nil, org))
		dst = append(dst, ", {serverState: "...)
		dst = appendScriptSafe(dst, p.VisitorState.AppendJSON(nil))
		dst = append(dst, "});\n}\n"...)
	}
	return append(dst, "</script>"...)
}
