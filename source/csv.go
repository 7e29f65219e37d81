package source

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/pipeline"
)

// CSV emits one visitor per row of r after the header row (see the package
// documentation for the columns). A row with the wrong number of fields or
// broken quoting becomes a failed item naming its line.
func CSV(r io.Reader, opts ...Option) *pipeline.Source {
	cfg := newConfig("csv", opts)
	return pipeline.NewSource(cfg.name, func(ctx context.Context, emit pipeline.EmitFunc) error {
		return readCSV(ctx, r, cfg, emit)
	}, cfg.pipelineOptions()...)
}

// CSVFile is CSV over the file at path, opened when the run starts and
// closed when the source ends. The path "-" reads standard input.
func CSVFile(path string, opts ...Option) *pipeline.Source {
	cfg := newConfig("csv "+path, opts)
	return pipeline.NewSource(cfg.name, func(ctx context.Context, emit pipeline.EmitFunc) error {
		return withFile(path, func(r io.Reader) error { return readCSV(ctx, r, cfg, emit) })
	}, cfg.pipelineOptions()...)
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
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
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

func readCSV(ctx context.Context, r io.Reader, cfg config, emit pipeline.EmitFunc) error {
	defer interruptible(ctx, r)()
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) || (err != nil && ctx.Err() != nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	cols, err := csvColumns(header)
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	cr.FieldsPerRecord = len(cols)
	var seq int64
	for {
		record, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		line, _ := cr.FieldPos(0)
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			if ctx.Err() != nil {
				return nil // the read was interrupted by the cancellation
			}
			return fmt.Errorf("after line %d: %w", line, err)
		}
		seq++
		if seq <= cfg.skip {
			continue
		}
		it := &pipeline.Item{Seq: seq, Line: line}
		if pe != nil {
			if pe.StartLine > 0 {
				it.Line = pe.StartLine
			}
			it.Err = &pipeline.ItemError{Stage: cfg.name, Kind: pipeline.KindInvalid, Line: it.Line,
				Err: fmt.Errorf("invalid CSV row: %w", pe.Err)}
			it.Raw = []byte(strings.Join(record, ","))
		} else {
			it.Visitor = csvVisitor(cols, record)
		}
		if !emit(it) {
			return nil
		}
	}
}

func csvVisitor(cols []csvColumn, record []string) *pipeline.Visitor {
	v := &pipeline.Visitor{}
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
