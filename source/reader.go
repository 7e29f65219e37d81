package source

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// lineReader reads the lines of an input, keeping what a checkpoint and a
// dead-letter output need: each line's number and byte offset, its exact
// bytes, and, for a line longer than the limit, its start and its length.
type lineReader struct {
	r      *bufio.Reader
	limit  int
	line   int   // number of the last line read
	offset int64 // byte offset of the next line
	buf    []byte
}

func newLineReader(r io.Reader, limit int) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, 64<<10), limit: limit}
}

// readLine returns the next line without its terminator ("\n" or "\r\n"),
// its number and offset, and its length when it is longer than the limit
// (then text holds its first maxKeep bytes). The text is valid until the
// next call. At the end of the input it returns io.EOF.
func (lr *lineReader) readLine(maxKeep int) (text []byte, line int, offset int64, length int, err error) {
	lr.buf = lr.buf[:0]
	offset = lr.offset
	total := 0
	keep := lr.limit + 2 // the limit, and room for "\r\n"
	ended := false
	for {
		part, err := lr.r.ReadSlice('\n')
		total += len(part)
		if room := keep - len(lr.buf); room > 0 {
			lr.buf = append(lr.buf, part[:min(len(part), room)]...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, 0, 0, 0, err
		}
		if total == 0 {
			return nil, 0, 0, 0, io.EOF
		}
		ended = len(part) > 0 && part[len(part)-1] == '\n'
		break
	}
	lr.line++
	lr.offset += int64(total)
	n := total
	if ended {
		n--
		if n > 0 && n-1 < len(lr.buf) && lr.buf[n-1] == '\r' {
			n--
		}
	}
	text = lr.buf[:min(n, len(lr.buf))]
	if lr.line == 1 && bytes.HasPrefix(text, []byte("\ufeff")) { // a byte-order mark
		text, n = text[3:], n-3
	}
	if n > lr.limit {
		return truncate(text, maxKeep), lr.line, offset, n, nil
	}
	return text, lr.line, offset, 0, nil
}

// truncate returns the first n bytes of b, cut at a UTF-8 character
// boundary when b is text.
func truncate(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	cut := n
	for cut > n-4 && cut > 0 && b[cut]&0xC0 == 0x80 {
		cut--
	}
	return b[:cut]
}

// skipper says which records a source leaves out: the first n (Skip), and
// those a checkpoint recorded as done.
type skipper struct {
	through int64
	done    map[int64]bool
}

func (s *skipper) skip(seq int64) bool {
	return seq <= s.through || s.done[seq]
}
