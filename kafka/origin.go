package kafka

import (
	"bytes"
	"strconv"

	"github.com/targetflow/targetflow/pipeline"
)

// AppendOrigin appends the JSON member naming the Kafka record an item came
// from, `"kafka":{"topic":"…","partition":N,"offset":N}`, to dst. Topic
// names hold only letters, digits, '.', '_' and '-', so they need no
// escaping.
func AppendOrigin(dst []byte, pos pipeline.Position) []byte {
	dst = append(dst, `"kafka":{"topic":"`...)
	dst = append(dst, pos.Stream...)
	dst = append(dst, `","partition":`...)
	dst = strconv.AppendInt(dst, int64(pos.Partition), 10)
	dst = append(dst, `,"offset":`...)
	dst = strconv.AppendInt(dst, pos.Offset, 10)
	return append(dst, '}')
}

// WithOrigin returns the JSON object obj (one line, a trailing newline
// allowed) with the origin member of pos added as its last member; obj is
// returned unchanged when it is not an object or pos names no topic.
func WithOrigin(obj []byte, pos pipeline.Position) []byte {
	body := bytes.TrimRight(obj, "\n")
	if pos.Stream == "" || len(body) < 2 || body[0] != '{' || body[len(body)-1] != '}' {
		return obj
	}
	out := make([]byte, 0, len(obj)+64)
	out = append(out, body[:len(body)-1]...)
	if len(body) > 2 {
		out = append(out, ',')
	}
	out = AppendOrigin(out, pos)
	out = append(out, '}')
	return append(out, obj[len(body):]...)
}
