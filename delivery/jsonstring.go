package delivery

// AppendJSONString appends s to dst as a JSON string, escaped as the wire
// model's encoders escape strings (as encoding/json does without HTML
// escaping: quote, backslash and control characters, U+2028 and U+2029;
// invalid UTF-8 replaced by U+FFFD). For encoders of other JSON documents
// that must agree with these, such as target's visitor state.
func AppendJSONString(dst []byte, s string) []byte {
	return appendJSONString(dst, s)
}

// AppendVisitorIDJSON appends id as JSON to dst: byte for byte what
// encoding/json's Encoder writes with SetEscapeHTML(false), as
// AppendResponseJSON writes an answer's id. For encoders of documents that
// hold an id, such as the JSON-lines results.
func AppendVisitorIDJSON(dst []byte, id *VisitorID) []byte {
	if id == nil {
		return append(dst, "null"...)
	}
	return appendVisitorID(dst, id)
}
