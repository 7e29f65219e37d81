package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/visitor"
)

// CSV emits one visitor per row of r after the header row (see the package
// documentation for the columns). Quoted fields may hold commas, quotes
// ("") and line breaks. A malformed row (a bare or unterminated quote, the
// wrong number of fields, bytes that are not UTF-8 text, a row longer than
// MaxLineBytes) becomes one failed item naming its line, with the row's
// bytes for a dead-letter output, and the rows after it are read.
func CSV(r io.Reader, opts ...Option) *pipeline.Source[visitor.Envelope] {
	cfg := newConfig("csv", opts)
	sk := &skipper{through: cfg.skip}
	return pipeline.NewSource(cfg.name, func(ctx context.Context, emit pipeline.Emit[visitor.Envelope]) error {
		return readCSV(ctx, r, cfg, sk, nil, emit)
	}, pipeline.Buffer(cfg.buffer))
}

// CSVFile is CSV over the file at path, opened when the run starts and
// closed when the source ends. The path "-" reads standard input. A run
// with a checkpoint records the file and resumes it exactly.
func CSVFile(path string, opts ...Option) *pipeline.Source[visitor.Envelope] {
	cfg := newConfig(path, opts)
	in := newFileInput(path, cfg.skip)
	return pipeline.NewSource(cfg.name, func(ctx context.Context, emit pipeline.Emit[visitor.Envelope]) error {
		return in.read(func(r io.Reader) error { return readCSV(ctx, r, cfg, &in.skipper, in.verify, emit) })
	}, pipeline.Buffer(cfg.buffer), pipeline.WithInput(in))
}

// csvColumn says where a column's cells go.
type csvColumn struct {
	kind int // one of the col* constants
	name string
}

const (
	colTntID = iota
	colThirdPartyID
	colMarketingCloudID
	colProfile
	colParameter
)

func csvColumns(header []string) ([]csvColumn, error) {
	cols := make([]csvColumn, len(header))
	seen := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.TrimSpace(h)
		if h == "" {
			return nil, fmt.Errorf("header column %d is empty", i+1)
		}
		if j, dup := seen[h]; dup {
			return nil, fmt.Errorf("header column %d %q repeats column %d", i+1, h, j+1)
		}
		seen[h] = i
		switch {
		case h == "tntId":
			cols[i] = csvColumn{kind: colTntID}
		case h == "thirdPartyId":
			cols[i] = csvColumn{kind: colThirdPartyID}
		case h == "marketingCloudVisitorId":
			cols[i] = csvColumn{kind: colMarketingCloudID}
		case strings.HasPrefix(h, "profile.") && len(h) > len("profile."):
			cols[i] = csvColumn{kind: colProfile, name: strings.TrimPrefix(h, "profile.")}
		default:
			cols[i] = csvColumn{kind: colParameter, name: h}
		}
	}
	return cols, nil
}

// csvRow is one row as read: its first line, offset and bytes.
type csvRow struct {
	line   int
	offset int64
	raw    []byte
	length int // when longer than MaxLineBytes, else 0
}

// csvRows splits an input into rows: a row is a line, or several when a
// quoted field holds line breaks. A quote left open at the end of the input
// (or past MaxLineBytes) makes the row its first line alone; the lines after
// it are read again as rows of their own.
type csvRows struct {
	lr   *lineReader
	back []csvRow // lines read ahead and given back
}

func (c *csvRows) nextLine() (csvRow, error) {
	if n := len(c.back); n > 0 {
		r := c.back[0]
		c.back = c.back[1:]
		return r, nil
	}
	text, line, offset, length, err := c.lr.readLine(visitor.MaxRawBytes)
	if err != nil {
		return csvRow{}, err
	}
	return csvRow{line: line, offset: offset, raw: bytes.Clone(text), length: length}, nil
}

// next returns the next non-empty row, its fields, and why it is malformed.
func (c *csvRows) next(fields []string) (csvRow, []string, error, error) {
	for {
		row, err := c.nextLine()
		if err != nil {
			return row, nil, nil, err
		}
		if row.length == 0 && len(bytes.TrimSpace(row.raw)) == 0 {
			continue
		}
		if row.length > 0 {
			return row, nil, fmt.Errorf("row is %d bytes, longer than the limit of %d", row.length, MaxLineBytes), nil
		}
		fields, open, perr := splitCSV(row.raw, fields)
		if !open {
			return row, fields, perr, nil
		}
		// A quoted field goes on on the next lines.
		joined := row
		var taken []csvRow
		for open {
			more, err := c.nextLine()
			if err != nil || more.length > 0 || len(joined.raw)+1+len(more.raw) > MaxLineBytes {
				if err == nil {
					taken = append(taken, more)
				} else if !errors.Is(err, io.EOF) {
					return row, nil, nil, err
				}
				c.back = append(taken, c.back...)
				return row, nil, fmt.Errorf("quoted field not terminated (the quote opens on line %d)", row.line), nil
			}
			taken = append(taken, more)
			joined.raw = append(append(joined.raw, '\n'), more.raw...)
			fields, open, perr = splitCSV(joined.raw, fields)
		}
		return joined, fields, perr, nil
	}
}

// splitCSV splits one row into its fields. open reports a quoted field still
// open at the end of the text.
func splitCSV(text []byte, fields []string) (_ []string, open bool, err error) {
	fields = fields[:0]
	for i := 0; ; {
		if i < len(text) && text[i] == '"' {
			var cell []byte
			j := i + 1
			for {
				k := bytes.IndexByte(text[j:], '"')
				if k < 0 {
					return fields, true, nil
				}
				cell = append(cell, text[j:j+k]...)
				j += k + 1
				if j < len(text) && text[j] == '"' {
					cell = append(cell, '"')
					j++
					continue
				}
				break
			}
			fields = append(fields, string(cell))
			if j == len(text) {
				return fields, false, nil
			}
			if text[j] != ',' {
				return fields, false, fmt.Errorf("column %d: %q after the closing quote", len(fields), text[j])
			}
			i = j + 1
			continue
		}
		k := bytes.IndexByte(text[i:], ',')
		cell := text[i:]
		if k >= 0 {
			cell = text[i : i+k]
		}
		if q := bytes.IndexByte(cell, '"'); q >= 0 {
			return fields, false, fmt.Errorf("column %d: bare quote in an unquoted field", len(fields)+1)
		}
		fields = append(fields, string(cell))
		if k < 0 {
			return fields, false, nil
		}
		i += k + 1
	}
}

func readCSV(ctx context.Context, r io.Reader, cfg config, sk *skipper, verify func(pipeline.Position) error, emit pipeline.Emit[visitor.Envelope]) error {
	defer interruptible(ctx, r)()
	rows := &csvRows{lr: newLineReader(r, MaxLineBytes)}
	readErr := func(err error) error {
		if ctx.Err() != nil {
			return nil // the read was interrupted by the cancellation
		}
		return fmt.Errorf("after line %d: %w", rows.lr.line, err)
	}
	_, header, bad, err := rows.next(nil)
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return readErr(err)
	case bad != nil:
		return fmt.Errorf("header: %w", bad)
	}
	cols, err := csvColumns(header)
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	var seq int64
	var fields []string
	for {
		row, fs, bad, err := rows.next(fields)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return readErr(err)
		}
		fields = fs
		seq++
		pos := pipeline.Position{Seq: seq, Line: row.line, Offset: row.offset}
		if verify != nil {
			if err := verify(pos); err != nil {
				return err
			}
		}
		if sk.skip(seq) {
			continue
		}
		switch {
		case bad == nil && !utf8.Valid(row.raw):
			bad = fmt.Errorf("not UTF-8 text (first bad byte at column %d)", invalidUTF8At(row.raw)+1)
		case bad == nil && bytes.IndexByte(row.raw, 0) >= 0:
			bad = errors.New("binary data (a NUL byte) in a text row")
		case bad == nil && len(fields) != len(cols):
			bad = fmt.Errorf("wrong number of fields: %d, the header has %d", len(fields), len(cols))
		}
		it := &visitor.Item{Pos: pos}
		if bad != nil {
			it.Value.KeepRaw(row.raw)
			if row.length > 0 { // the reader had cut the row: its length
				it.Value.RawLength = row.length
			}
			it.Err = visitor.Invalid(cfg.name, row.line, fmt.Errorf("invalid CSV row: %w", bad))
		} else {
			it.Value.Record = csvVisitor(cols, fields)
		}
		if !emit(it) {
			return nil
		}
	}
}

func csvVisitor(cols []csvColumn, record []string) *visitor.Record {
	v := &visitor.Record{}
	id := func() *delivery.VisitorID {
		if v.ID == nil {
			v.ID = &delivery.VisitorID{}
		}
		return v.ID
	}
	for i, cell := range record {
		if cell == "" {
			continue
		}
		switch c := cols[i]; c.kind {
		case colTntID:
			id().TntID = cell
		case colThirdPartyID:
			id().ThirdPartyID = cell
		case colMarketingCloudID:
			id().MarketingCloudVisitorID = cell
		case colProfile:
			if v.ProfileParameters == nil {
				v.ProfileParameters = delivery.Parameters{}
			}
			v.ProfileParameters[c.name] = cell
		default:
			if v.Parameters == nil {
				v.Parameters = delivery.Parameters{}
			}
			v.Parameters[c.name] = cell
		}
	}
	return v
}
