package sink

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strconv"

	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/visitor"
)

// lineWriter writes JSON lines through a buffer and confirms each item once
// the OS has accepted every byte of its line: when the buffer fills, when
// the sink flushes, and when the run ends. Writing a file, it is also the
// file's pipeline.Output: it knows the length confirmed so far and a digest
// of the bytes before it, truncates a partial line after a failed write,
// and on resume checks and truncates the file to what a checkpoint
// recorded.
type lineWriter struct {
	name string
	w    io.Writer
	// file is set for a file sink (path != ""), once opened.
	path   string
	file   *os.File
	append bool

	bufSize int
	buf     []byte
	pending []pendingLine
	acks    *pipeline.Acks[visitor.Envelope]
	written int64  // bytes the OS accepted, all of them confirmed lines
	tail    []byte // the last tailBytes of them
	failed  error
}

type pendingLine struct {
	it  *visitor.Item
	end int64 // offset after the line
}

// tailBytes is how many of the last bytes a checkpoint's digest covers.
const tailBytes = 4 << 10

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (lw *lineWriter) queue(it *visitor.Item, line []byte, acks *pipeline.Acks[visitor.Envelope]) error {
	if lw.failed != nil {
		return lw.failed
	}
	if lw.w == nil {
		return fmt.Errorf("%s is not open: a file sink opens its file when the run starts", lw.name)
	}
	lw.acks = acks
	lw.buf = append(lw.buf, line...)
	lw.pending = append(lw.pending, pendingLine{it: it, end: lw.written + int64(len(lw.buf))})
	if len(lw.buf) >= lw.bufSize {
		return lw.flush()
	}
	return nil
}

// flush writes the buffer out and confirms its lines. After a failed
// write it confirms the lines the OS accepted whole, truncates a file back
// to the end of the last of them, and gives the others back.
func (lw *lineWriter) flush() error {
	if lw.failed != nil {
		return lw.failed
	}
	if len(lw.buf) == 0 {
		return nil
	}
	n, err := lw.w.Write(lw.buf)
	if err == nil && n < len(lw.buf) {
		err = io.ErrShortWrite
	}
	if err == nil {
		lw.accepted(lw.buf)
		for i, p := range lw.pending {
			lw.acks.Ack(p.it, nil)
			lw.pending[i] = pendingLine{}
		}
		lw.pending, lw.buf = lw.pending[:0], lw.buf[:0]
		return nil
	}
	reached := lw.written + int64(n)
	whole := lw.written
	var i int
	for ; i < len(lw.pending) && lw.pending[i].end <= reached; i++ {
		whole = lw.pending[i].end
	}
	if lw.file != nil && reached > whole {
		if terr := lw.file.Truncate(whole); terr != nil {
			err = errors.Join(err, fmt.Errorf("removing the partial line: %w", terr))
		} else if _, serr := lw.file.Seek(whole, io.SeekStart); serr != nil {
			err = errors.Join(err, serr)
		}
	}
	lw.accepted(lw.buf[:whole-lw.written])
	for _, p := range lw.pending[:i] {
		lw.acks.Ack(p.it, nil)
	}
	lw.failed = fmt.Errorf("%s: %w", lw.name, err)
	for _, p := range lw.pending[i:] {
		lw.acks.Ack(p.it, lw.failed)
	}
	lw.pending, lw.buf = nil, nil
	return lw.failed
}

// accepted records bytes the OS accepted.
func (lw *lineWriter) accepted(b []byte) {
	lw.written += int64(len(b))
	if lw.file == nil {
		return
	}
	if len(b) >= tailBytes {
		lw.tail = append(lw.tail[:0], b[len(b)-tailBytes:]...)
		return
	}
	lw.tail = append(lw.tail, b...)
	if extra := len(lw.tail) - tailBytes; extra > 0 {
		lw.tail = lw.tail[:copy(lw.tail, lw.tail[extra:])]
	}
}

func tailDigest(b []byte) string {
	return strconv.Itoa(len(b)) + ":" + strconv.FormatUint(uint64(crc32.Checksum(b, castagnoli)), 16)
}

// Name implements pipeline.Output.
func (lw *lineWriter) Name() string { return lw.name }

// Open implements pipeline.Output: it opens the file, fresh, appended to,
// or at the length a checkpoint recorded.
func (lw *lineWriter) Open(at *pipeline.OutputState) error {
	if lw.path == "" {
		return nil
	}
	switch {
	case at != nil:
		return lw.openAt(at)
	case lw.append:
		f, err := os.OpenFile(lw.path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return err
		}
		size, err := f.Seek(0, io.SeekEnd)
		if err == nil && size > 0 {
			last := make([]byte, 1)
			if _, err = f.ReadAt(last, size-1); err == nil && last[0] != '\n' {
				err = fmt.Errorf("%s does not end with a line break: its last line is partial (a run killed without a checkpoint); repair it or start over", lw.path)
			}
		}
		if err == nil {
			err = lw.readTail(f, size)
		}
		if err != nil {
			f.Close()
			return err
		}
		lw.file, lw.w, lw.written = f, f, size
		return nil
	}
	f, err := os.OpenFile(lw.path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	lw.file, lw.w = f, f
	return nil
}

func (lw *lineWriter) openAt(at *pipeline.OutputState) error {
	flags := os.O_RDWR
	if at.Length == 0 {
		flags |= os.O_CREATE
	}
	f, err := os.OpenFile(lw.path, flags, 0o644)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		f.Close()
		return err
	}
	info, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	if info.Size() < at.Length {
		return fail(fmt.Errorf("%s is %d bytes, shorter than the %d bytes the checkpoint recorded: it was changed or replaced", lw.path, info.Size(), at.Length))
	}
	if err := lw.readTail(f, at.Length); err != nil {
		return fail(err)
	}
	if got := tailDigest(lw.tail); got != at.Tail {
		return fail(fmt.Errorf("the bytes of %s before offset %d are not those the checkpoint recorded (digest %s, want %s): it was changed or replaced", lw.path, at.Length, got, at.Tail))
	}
	if err := f.Truncate(at.Length); err != nil {
		return fail(err)
	}
	if _, err := f.Seek(at.Length, io.SeekStart); err != nil {
		return fail(err)
	}
	lw.file, lw.w, lw.written = f, f, at.Length
	return nil
}

func (lw *lineWriter) readTail(f *os.File, end int64) error {
	start := max(end-tailBytes, 0)
	lw.tail = make([]byte, end-start, tailBytes)
	if _, err := f.ReadAt(lw.tail, start); err != nil && !(errors.Is(err, io.EOF) && end == 0) {
		return fmt.Errorf("reading %s: %w", lw.path, err)
	}
	return nil
}

// State implements pipeline.Output.
func (lw *lineWriter) State() pipeline.OutputState {
	return pipeline.OutputState{Name: lw.name, Length: lw.written, Tail: tailDigest(lw.tail)}
}

// Sync implements pipeline.Output.
func (lw *lineWriter) Sync() error {
	if lw.file == nil {
		return nil
	}
	return lw.file.Sync()
}

// Close implements pipeline.Output.
func (lw *lineWriter) Close() error {
	if lw.file == nil {
		return nil
	}
	err := lw.file.Close()
	lw.file = nil
	return err
}
