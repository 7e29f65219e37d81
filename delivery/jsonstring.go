package delivery

// AppendJSONString appends s to dst as a JSON string, escaped as the wire
// model's encoders escape strings (as encoding/json does without HTML
// escaping: quote, backslash and control characters, U+2028 and U+2029;
// invalid UTF-8 replaced by U+FFFD). For encoders of other JSON documents
// that must agree with these, such as target's visitor state.
func AppendJSONString(dst []byte, s string) []byte {
	return appendJSONString(dst, s)
}
