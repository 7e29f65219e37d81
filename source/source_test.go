package source_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"go.uber.org/goleak"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/pipeline"
	"github.com/targetflow/targetflow/sink"
	"github.com/targetflow/targetflow/source"
	"github.com/targetflow/targetflow/visitor"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func collect(t *testing.T, src *pipeline.Source[visitor.Envelope]) ([]*visitor.Item, error) {
	t.Helper()
	var items []*visitor.Item
	_, err := pipeline.From(src).To(sink.Collect(&items)).Run(context.Background())
	return items, err
}

// outcome is what a test expects of one emitted item.
type outcome struct {
	seq  int64
	line int
	// errHas is a substring of the item's error; empty: no error.
	errHas string
	id     string // the visitor's tntId or thirdPartyId
}

func check(t *testing.T, items []*visitor.Item, want []outcome) {
	t.Helper()
	if len(items) != len(want) {
		t.Fatalf("got %d items, want %d", len(items), len(want))
	}
	for i, w := range want {
		it := items[i]
		if it.Pos.Seq != w.seq || it.Pos.Line != w.line {
			t.Errorf("item %d: seq %d line %d, want seq %d line %d", i, it.Pos.Seq, it.Pos.Line, w.seq, w.line)
		}
		switch {
		case w.errHas == "" && it.Err != nil:
			t.Errorf("item %d: unexpected error %v", i, it.Err)
		case w.errHas != "":
			var ie *visitor.Error
			if !errors.As(it.Err, &ie) || ie.Kind != visitor.KindInvalid || ie.Line != w.line || !strings.Contains(ie.Error(), w.errHas) {
				t.Errorf("item %d: error %v, want an invalid-input error at line %d containing %q", i, it.Err, w.line, w.errHas)
			}
			if len(it.Value.Raw) == 0 {
				t.Errorf("item %d: failed item without its raw text", i)
			}
		}
		if w.id != "" {
			if it.Value.Record == nil || it.Value.Record.ID == nil || (it.Value.Record.ID.TntID != w.id && it.Value.Record.ID.ThirdPartyID != w.id) {
				t.Errorf("item %d: visitor %+v, want id %q", i, it.Value.Record, w.id)
			}
		}
	}
}

func TestJSONL(t *testing.T) {
	t.Parallel()
	input := `{"id":{"tntId":"a"},"execute":["hero"],"parameters":{"p":"1"}}

{"id":{"thirdPartyId":"b"},"prefetch":["cart"],"notify":true}
{"id":{"tntId":"c"},"execute":"hero"}
not json at all
{"request":{"id":{"tntId":"d"},"execute":{"mboxes":[{"index":0,"name":"x"}]}}}
   {"id":{"tntId":"e"}}   
`
	tests := []struct {
		name string
		skip int64
		want []outcome
	}{
		{"all", 0, []outcome{
			{seq: 1, line: 1, id: "a"},
			{seq: 2, line: 3, id: "b"},
			{seq: 3, line: 4, errHas: "Record.execute"},
			{seq: 4, line: 5, errHas: "not a JSON object"},
			{seq: 5, line: 6},
			{seq: 6, line: 7, id: "e"},
		}},
		{"skip 3 keeps numbering", 3, []outcome{
			{seq: 4, line: 5, errHas: "not a JSON object"},
			{seq: 5, line: 6},
			{seq: 6, line: 7, id: "e"},
		}},
		{"skip past the end", 10, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			items, err := collect(t, source.JSONL(strings.NewReader(input), source.Skip(tt.skip)))
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			check(t, items, tt.want)
		})
	}
}

func TestJSONLDecodesEveryField(t *testing.T) {
	t.Parallel()
	line := `{"id":{"tntId":"a","customerIds":[{"id":"c1","integrationCode":"crm","authenticatedState":"authenticated"}]},` +
		`"context":{"channel":"web","address":{"url":"https://shop.example/"}},"parameters":{"p":"1"},` +
		`"profileParameters":{"age":"30"},"execute":["m1"],"prefetch":["m2"],"views":["home"],"pageLoad":true,"notify":false}`
	v, err := visitor.DecodeRecord([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	want := &visitor.Record{
		ID:                &delivery.VisitorID{TntID: "a", CustomerIDs: []delivery.CustomerID{{ID: "c1", IntegrationCode: "crm", AuthenticatedState: delivery.AuthAuthenticated}}},
		Context:           &delivery.Context{Channel: delivery.ChannelWeb, Address: &delivery.Address{URL: "https://shop.example/"}},
		Parameters:        delivery.Parameters{"p": "1"},
		ProfileParameters: delivery.Parameters{"age": "30"},
		Execute:           []string{"m1"}, Prefetch: []string{"m2"}, Views: []string{"home"},
		PageLoad: &yes, Notify: &no,
	}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("decoded %+v\nwant    %+v", v, want)
	}
}

// TestJSONLLineTooLong: a 50 MB line is one invalid record (its start kept,
// with its length), and the lines after it are read; Skip gets past it.
func TestJSONLLineTooLong(t *testing.T) {
	t.Parallel()
	long := `{"id":{"tntId":"` + strings.Repeat("x", 50<<20) + `"}}`
	input := "{}\n" + long + "\n" + `{"id":{"tntId":"after"}}` + "\n"
	items, err := collect(t, source.JSONL(strings.NewReader(input)))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	check(t, items, []outcome{{seq: 1, line: 1}, {seq: 2, line: 2, errHas: fmt.Sprintf("line is %d bytes, longer than the limit of %d", len(long), source.MaxLineBytes)}, {seq: 3, line: 3, id: "after"}})
	if got := items[1].Value; got.RawLength != len(long) || len(got.Raw) != visitor.MaxRawBytes || !strings.HasPrefix(long, string(got.Raw)) {
		t.Errorf("raw %d bytes (length %d), want the first %d bytes of the line and its length %d", len(got.Raw), got.RawLength, visitor.MaxRawBytes, len(long))
	}
	items, err = collect(t, source.JSONL(strings.NewReader(input), source.Skip(2)))
	if err != nil || len(items) != 1 || items[0].Pos.Seq != 3 {
		t.Fatalf("Skip(2): %v, %d items", err, len(items))
	}
}

func TestCSV(t *testing.T) {
	t.Parallel()
	input := "tntId,thirdPartyId,marketingCloudVisitorId,page,profile.tier\n" +
		"a,,,home,gold\n" +
		",b,mc-b,cart,\n" +
		"c,only-two-fields\n" +
		"d,,,\"quoted, page\",silver\n"
	items, err := collect(t, source.CSV(strings.NewReader(input)))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	check(t, items, []outcome{
		{seq: 1, line: 2, id: "a"},
		{seq: 2, line: 3, id: "b"},
		{seq: 3, line: 4, errHas: "wrong number of fields"},
		{seq: 4, line: 5, id: "d"},
	})
	wantVisitors := map[int]*visitor.Record{
		0: {ID: &delivery.VisitorID{TntID: "a"}, Parameters: delivery.Parameters{"page": "home"}, ProfileParameters: delivery.Parameters{"tier": "gold"}},
		1: {ID: &delivery.VisitorID{ThirdPartyID: "b", MarketingCloudVisitorID: "mc-b"}, Parameters: delivery.Parameters{"page": "cart"}},
		3: {ID: &delivery.VisitorID{TntID: "d"}, Parameters: delivery.Parameters{"page": "quoted, page"}, ProfileParameters: delivery.Parameters{"tier": "silver"}},
	}
	for i, want := range wantVisitors {
		if !reflect.DeepEqual(items[i].Value.Record, want) {
			t.Errorf("row %d: %+v, want %+v", i, items[i].Value.Record, want)
		}
	}
}

// TestCSVBadRowKeepsItsStart: an invalid row keeps at most MaxRawBytes of
// itself, cut at a character boundary, with its whole length: a row the
// reader read whole, and one longer than MaxLineBytes that the reader cut.
func TestCSVBadRowKeepsItsStart(t *testing.T) {
	t.Parallel()
	for _, size := range []int{visitor.MaxRawBytes + 1001, source.MaxLineBytes + 1001} {
		bad := "a," + strings.Repeat("é", size/2) // one field too few, in 2-byte characters
		input := "tntId,page,profile.tier\n" + bad + "\nb,home,gold\n"
		items, err := collect(t, source.CSV(strings.NewReader(input)))
		if err != nil {
			t.Fatalf("%d bytes: Run: %v", len(bad), err)
		}
		if len(items) != 2 || items[0].Err == nil || items[1].Err != nil {
			t.Fatalf("%d bytes: %d items; want the bad row and the row after it", len(bad), len(items))
		}
		got := items[0].Value
		if got.RawLength != len(bad) || len(got.Raw) > visitor.MaxRawBytes || len(got.Raw) < visitor.MaxRawBytes-1 ||
			!strings.HasPrefix(bad, string(got.Raw)) || !utf8.Valid(got.Raw) {
			t.Errorf("%d bytes: kept %d bytes (valid UTF-8: %v), length %d; want the first %d or so of them, whole characters, and the row's length",
				len(bad), len(got.Raw), utf8.Valid(got.Raw), got.RawLength, visitor.MaxRawBytes)
		}
	}
}

func TestCSVBadHeaderIsFatal(t *testing.T) {
	t.Parallel()
	tests := []struct{ header, want string }{
		{"tntId,page,page\n", `column 3 "page" repeats column 2`},
		{"tntId,,page\n", "column 2 is empty"},
	}
	for _, tt := range tests {
		_, err := collect(t, source.CSV(strings.NewReader(tt.header+"a,b,c\n")))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("header %q: error %v, want %q", tt.header, err, tt.want)
		}
	}
}

func TestFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	jsonl := filepath.Join(dir, "v.jsonl")
	csvPath := filepath.Join(dir, "v.csv")
	if err := os.WriteFile(jsonl, []byte(`{"id":{"tntId":"a"}}`+"\n"+`{"id":{"tntId":"b"}}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(csvPath, []byte("tntId\na\nb\nc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		src     *pipeline.Source[visitor.Envelope]
		want    int
		wantErr string
	}{
		{"jsonl", source.JSONLFile(jsonl), 2, ""},
		{"csv", source.CSVFile(csvPath, source.Skip(1)), 2, ""},
		{"missing", source.JSONLFile(filepath.Join(dir, "absent.jsonl")), 0, "absent.jsonl"},
	}
	for _, tt := range tests {
		items, err := collect(t, tt.src)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.wantErr)
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case len(items) != tt.want:
			t.Errorf("%s: %d items, want %d", tt.name, len(items), tt.want)
		}
	}
}

func TestSliceAndChan(t *testing.T) {
	t.Parallel()
	vs := []visitor.Record{{Execute: []string{"a"}}, {Execute: []string{"b"}}, {Execute: []string{"c"}}}
	items, err := collect(t, source.Slice(vs, source.Skip(1)))
	if err != nil || len(items) != 2 || items[0].Pos.Seq != 2 || items[0].Value.Record.Execute[0] != "b" {
		t.Fatalf("Slice: %v, %d items", err, len(items))
	}
	ch := make(chan visitor.Record, len(vs))
	for _, v := range vs {
		ch <- v
	}
	close(ch)
	items, err = collect(t, source.Chan(ch))
	if err != nil || len(items) != 3 || items[2].Pos.Seq != 3 || items[2].Value.Record.Execute[0] != "c" {
		t.Fatalf("Chan: %v, %d items", err, len(items))
	}
}

func TestChanStopsOnCancel(t *testing.T) {
	t.Parallel()
	ch := make(chan visitor.Record, 1) // never closed
	ch <- visitor.Record{}
	ctx, cancel := context.WithCancel(context.Background())
	var items []*visitor.Item
	// The run is cancelled once the one visitor has been written; the source
	// is then blocked on a channel that never closes, and must stop.
	written := sink.Func(func(_ context.Context, it *visitor.Item) error {
		items = append(items, it)
		cancel()
		return nil
	})
	_, err := pipeline.From(source.Chan(ch)).To(written).Run(ctx)
	if !errors.Is(err, context.Canceled) || len(items) != 1 {
		t.Fatalf("Run: %v with %d items, want context.Canceled after 1", err, len(items))
	}
}

func TestBlockedReadStopsOnCancel(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"jsonl", "csv"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			pr, pw := io.Pipe() // never written to after the first record: the read blocks
			defer pw.Close()
			ctx, cancel := context.WithCancel(context.Background())
			src := source.JSONL(pr)
			first := `{"id":{"tntId":"a"}}` + "\n"
			if format == "csv" {
				src = source.CSV(pr)
				first = "tntId\na\n"
			}
			go func() {
				_, _ = io.WriteString(pw, first)
			}()
			var items []*visitor.Item
			sk := sink.Func(func(_ context.Context, it *visitor.Item) error {
				items = append(items, it)
				cancel()
				return nil
			})
			_, err := pipeline.From(src).To(sk).Run(ctx)
			if !errors.Is(err, context.Canceled) || len(items) != 1 {
				t.Fatalf("Run: %v with %d items, want context.Canceled after 1", err, len(items))
			}
		})
	}
}
