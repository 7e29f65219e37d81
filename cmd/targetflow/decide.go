package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/internal/demo"
	"github.com/targetflow/targetflow/ondevice"
	"github.com/targetflow/targetflow/pipeline"
)

const decideUsage = `usage: targetflow decide --artifact PATH|URL|demo --client CODE [--organization-id ORG]
                         [--input FILE|-] [--output FILE|-] [--workers N]
       targetflow decide --artifact PATH|URL|demo --client CODE --generate N [--output FILE|-]

Decides Delivery API requests on-device. Reads JSON lines, each a
DeliveryRequest, and writes one JSON line per input line, in input order: the
DeliveryResponse GetOffers returns in on-device mode. Blank lines are skipped
and a byte-order mark is ignored. A line that is not valid JSON or not a valid
request gives {"error":{"line":N,"message":"..."}} in its place and the run
goes on. Exit status: 0 when every line was decided, 1 when any line failed,
2 on usage or artifact errors, 3 when the output could not be written.

--artifact demo uses the bundled demo artifact (client ` + demo.Client + `).
--generate N writes N sample requests for the artifact instead of deciding.

flags:
`

// decideMaxLine bounds one input line.
const decideMaxLine = 16 << 20

// decideChunkLines is how many lines one worker task decides at a time.
const decideChunkLines = 128

// decideGCPercent is the GOGC of a decide run when GOGC is not set.
const decideGCPercent = 400

type decideFlags struct {
	artifact, client, organizationID string
	input, output                    string
	workers                          int
	generate                         int
	otlpEndpoint                     string
}

func parseDecideFlags(args []string, stderr io.Writer) (decideFlags, error) {
	var f decideFlags
	fs := flag.NewFlagSet("decide", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, decideUsage)
		fs.PrintDefaults()
	}
	fs.StringVar(&f.artifact, "artifact", "", "rules artifact: a rules.json or rules.bin file, an http(s) URL, or \"demo\" (required)")
	fs.StringVar(&f.client, "client", "", "Target client code (required unless --artifact demo)")
	fs.StringVar(&f.organizationID, "organization-id", "", "Experience Cloud organization id (required for rules.bin)")
	fs.StringVar(&f.input, "input", "-", "JSON lines of DeliveryRequest, or - for stdin")
	fs.StringVar(&f.output, "output", "-", "where to write the JSON lines of DeliveryResponse, or - for stdout")
	fs.IntVar(&f.workers, "workers", runtime.GOMAXPROCS(0), "requests decided in parallel")
	fs.IntVar(&f.generate, "generate", 0, "write this many sample requests instead of deciding")
	fs.StringVar(&f.otlpEndpoint, "otlp-endpoint", "", otlpEndpointUsage)
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if f.artifact == "" {
		return f, errors.New("--artifact is required")
	}
	if f.artifact == "demo" {
		f.client = firstNonEmpty(f.client, demo.Client)
		f.organizationID = firstNonEmpty(f.organizationID, demo.OrganizationID)
	}
	if f.client == "" {
		return f, errors.New("--client is required")
	}
	if f.workers < 1 {
		return f, fmt.Errorf("--workers must be at least 1, got %d", f.workers)
	}
	if f.generate < 0 {
		return f, fmt.Errorf("--generate must not be negative, got %d", f.generate)
	}
	if f.generate == 0 {
		return f, refuseSameFiles(map[string]string{"--input": f.input, "--output": f.output})
	}
	return f, nil
}

// decideCommand implements "targetflow decide".
func decideCommand(ctx context.Context, args []string, std stdio) int {
	f, err := parseDecideFlags(args, std.Err)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(std.Err, "targetflow decide: %v\n", err)
		return exitUsage
	}
	tel, err := startTelemetry(ctx, f.otlpEndpoint, "targetflow-decide", sampleChunks)
	if err != nil {
		fmt.Fprintf(std.Err, "targetflow decide: %v\n", err)
		return exitUsage
	}
	defer func() {
		if err := tel.shutdown(ctx); err != nil {
			fmt.Fprintf(std.Err, "targetflow decide: warning: exporting the last spans and metrics: %v\n", err)
		}
	}()
	opts := []ondevice.Option{
		ondevice.WithClient(f.client),
		ondevice.WithOrganizationID(f.organizationID),
		ondevice.WithPollingInterval(0),
		ondevice.WithTelemetry(false),
	}
	switch {
	case f.artifact == "demo":
		opts = append(opts, ondevice.WithArtifactPayload(demo.Artifact()))
	case strings.HasPrefix(f.artifact, "http://") || strings.HasPrefix(f.artifact, "https://"):
		// A batch run fails fast rather than retrying for minutes.
		opts = append(opts, ondevice.WithArtifactURL(f.artifact), ondevice.WithRetry(3, 500*time.Millisecond))
	default:
		opts = append(opts, ondevice.WithArtifactFile(f.artifact))
	}
	engine, err := ondevice.New(opts...)
	if err == nil {
		if err = engine.WaitReady(ctx); err != nil {
			engine.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(std.Err, "targetflow decide: artifact: %v\n", err)
		return exitUsage
	}
	if os.Getenv("GOGC") == "" {
		// The live heap of a run is small and flat (a few chunks), so the
		// default GOGC collects every few hundred requests; a higher target
		// halves the run time and keeps memory flat (about 40 MB).
		defer debug.SetGCPercent(debug.SetGCPercent(decideGCPercent))
	}
	defer engine.Close()

	out, closeOut, err := decideOpenOutput(f.output, std.Out)
	if err != nil {
		fmt.Fprintf(std.Err, "targetflow decide: %v\n", err)
		return exitUsage
	}
	if f.generate > 0 {
		err := writeSampleRequests(out, engine.Artifact(), f.generate, 1)
		if cerr := closeOut(); err == nil {
			err = cerr
		}
		if err != nil {
			fmt.Fprintf(std.Err, "targetflow decide: %v\n", err)
			return exitFailed
		}
		return exitOK
	}
	in, closeIn, err := decideOpenInput(f.input, std.In)
	if err != nil {
		closeOut()
		fmt.Fprintf(std.Err, "targetflow decide: %v\n", err)
		return exitUsage
	}
	defer closeIn()
	failed, err := decideLines(ctx, engine, in, out, f.workers, tel)
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	switch {
	case err != nil && ctx.Err() != nil:
		fmt.Fprintf(std.Err, "targetflow decide: interrupted: %v\n", err)
		return exitInterrupted
	case err != nil:
		fmt.Fprintf(std.Err, "targetflow decide: %v\n", err)
		if writeFailure(err) || errors.Is(err, syscall.EPIPE) {
			return exitOutput
		}
		return exitFailed
	case failed > 0:
		fmt.Fprintf(std.Err, "targetflow decide: %d line(s) failed\n", failed)
		return exitFailed
	}
	return exitOK
}

func decideOpenInput(path string, stdin io.Reader) (io.Reader, func() error, error) {
	if path == "-" || path == "" {
		return stdin, func() error { return nil }, nil
	}
	file, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--input: %w", err)
	}
	return file, file.Close, nil
}

// decideOpenOutput returns a buffered writer; its close flushes (and closes
// a file).
func decideOpenOutput(path string, stdout io.Writer) (io.Writer, func() error, error) {
	target, closeTarget := stdout, func() error { return nil }
	if path != "-" && path != "" {
		file, err := os.Create(path)
		if err != nil {
			return nil, nil, fmt.Errorf("--output: %w", err)
		}
		target, closeTarget = file, file.Close
	}
	w := bufio.NewWriterSize(target, 256<<10)
	return w, func() error {
		err := w.Flush()
		if cerr := closeTarget(); err == nil {
			err = cerr
		}
		return err
	}, nil
}

// decideChunk is a run of input lines decided by one task: the item a
// decide pipeline carries. Lines are decided in chunks because one request
// takes a few microseconds: per chunk, the runtime's hand-offs cost nothing.
type decideChunk struct {
	lines   [][]byte // slices of buf
	lineNos []int    // the input line of each
	tooLong []bool
	buf     []byte
	out     bytes.Buffer
	failed  int
}

// decideLines decides every non-blank line of in and writes the results to
// out in input order, on the pipeline runtime: a source reads chunks of
// lines, a stage decides up to workers chunks at once and keeps their order,
// a sink writes them. Memory holds a few chunks per worker, whatever the
// input length. Each chunk is a span of tel, and the run's figures its
// metrics. It returns the number of failed lines, and an error when
// reading or writing failed or ctx was cancelled.
func decideLines(ctx context.Context, engine *ondevice.Engine, in io.Reader, out io.Writer, workers int, tel *telemetry) (failed int, err error) {
	tracer := tel.tracerProvider.Tracer("github.com/targetflow/targetflow/cmd/targetflow")
	// Chunks and their buffers are recycled once written.
	chunks := sync.Pool{New: func() any { return new(decideChunk) }}
	src := pipeline.NewSource("requests", func(ctx context.Context, emit pipeline.Emit[*decideChunk]) error {
		return decideReadChunks(ctx, in, &chunks, emit)
	}, pipeline.Buffer(1))
	decide := pipeline.NewStage("decide", func(ctx context.Context, it *pipeline.Item[*decideChunk]) error {
		ctx, span := tracer.Start(ctx, "targetflow.decide.chunk")
		decideChunkLinesTo(ctx, engine, it.Value)
		if span.IsRecording() {
			span.SetAttributes(chunkAttributes(it.Value)...)
		}
		span.End()
		return nil
	}, pipeline.Concurrency(workers), pipeline.Ordered(true), pipeline.Buffer(1))
	write := pipeline.NewSink("output", func(_ context.Context, it *pipeline.Item[*decideChunk]) error {
		chunk := it.Value
		failed += chunk.failed
		_, err := out.Write(chunk.out.Bytes())
		it.Value = nil
		chunks.Put(chunk)
		if err != nil {
			return fmt.Errorf("writing output: %w", err)
		}
		return nil
	}, pipeline.Buffer(1))
	p := pipeline.From(src, pipeline.WithGrace(0)).Via(decide).To(write)
	if err := tel.observePipeline(p.Snapshot); err != nil {
		return 0, err
	}
	_, err = p.Run(ctx)
	return failed, err
}

// decideReadChunks reads in as chunks of decideChunkLines non-blank lines
// and emits them; a byte-order mark at the start is ignored.
func decideReadChunks(ctx context.Context, in io.Reader, chunks *sync.Pool, emit pipeline.Emit[*decideChunk]) error {
	reader := bufio.NewReaderSize(in, 256<<10)
	lineNo := 0
	for {
		chunk := chunks.Get().(*decideChunk)
		chunk.reset()
		var readErr error
		for len(chunk.lines) < decideChunkLines {
			line, tooLong, err := decideReadLine(reader)
			if err != nil && (err != io.EOF || (line == nil && !tooLong)) {
				readErr = err
				break
			}
			lineNo++
			if lineNo == 1 {
				line = bytes.TrimPrefix(line, []byte("\ufeff"))
			}
			if !tooLong && len(bytes.TrimSpace(line)) == 0 {
				if err == io.EOF {
					readErr = io.EOF
					break
				}
				continue // blank lines are skipped, as "targetflow run" skips them
			}
			start := len(chunk.buf)
			chunk.buf = append(chunk.buf, line...)
			chunk.lines = append(chunk.lines, chunk.buf[start:len(chunk.buf):len(chunk.buf)])
			chunk.lineNos = append(chunk.lineNos, lineNo)
			chunk.tooLong = append(chunk.tooLong, tooLong)
			if err == io.EOF {
				readErr = io.EOF
				break
			}
		}
		if len(chunk.lines) > 0 {
			// The chunk's buffer may have moved while growing: re-slice lines.
			chunk.rebase()
			if !emit(&pipeline.Item[*decideChunk]{Pos: pipeline.Position{Line: chunk.lineNos[0]}, Value: chunk}) {
				return nil
			}
		}
		switch {
		case readErr == io.EOF:
			return nil
		case readErr != nil:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("reading input after line %d: %w", lineNo, readErr)
		}
	}
}

// reset empties the chunk for reuse, keeping its buffers.
func (c *decideChunk) reset() {
	c.lines, c.lineNos, c.tooLong = c.lines[:0], c.lineNos[:0], c.tooLong[:0]
	c.buf = c.buf[:0]
	c.out.Reset()
	c.failed = 0
}

// rebase points the chunk's lines into its final buffer.
func (c *decideChunk) rebase() {
	offset := 0
	for i, l := range c.lines {
		n := len(l)
		c.lines[i] = c.buf[offset : offset+n : offset+n]
		offset += n
	}
}

// decideReadLine reads one line without its newline. A line longer than
// decideMaxLine is skipped and reported with tooLong.
func decideReadLine(r *bufio.Reader) (line []byte, tooLong bool, err error) {
	var long []byte
	for {
		part, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			if !tooLong {
				long = append(long, part...)
				if len(long) > decideMaxLine {
					tooLong, long = true, nil
				}
			}
			continue
		}
		if err != nil && err != io.EOF {
			return nil, false, err
		}
		if err == io.EOF && len(part) == 0 && long == nil && !tooLong {
			return nil, false, io.EOF
		}
		if tooLong {
			return nil, true, err
		}
		if long != nil {
			part = append(long, part...)
		}
		if len(part) > decideMaxLine+2 || len(bytes.TrimRight(part, "\r\n")) > decideMaxLine {
			return nil, true, err
		}
		part = bytes.TrimSuffix(part, []byte("\n"))
		part = bytes.TrimSuffix(part, []byte("\r"))
		if part == nil {
			part = []byte{}
		}
		return part, false, err
	}
}

// decideChunkLinesTo decides each line of the chunk into chunk.out.
func decideChunkLinesTo(ctx context.Context, engine *ondevice.Engine, chunk *decideChunk) {
	for i, line := range chunk.lines {
		n := chunk.lineNos[i]
		if chunk.tooLong[i] {
			chunk.failed++
			decideWriteError(&chunk.out, n, fmt.Sprintf("line is longer than %d bytes", decideMaxLine))
			continue
		}
		req, err := delivery.DecodeRequest(line)
		if err != nil {
			chunk.failed++
			decideWriteError(&chunk.out, n, err.Error())
			continue
		}
		decision, err := engine.Decide(ctx, req)
		if err != nil {
			chunk.failed++
			decideWriteError(&chunk.out, n, err.Error())
			continue
		}
		line := delivery.AppendResponseJSON(chunk.out.AvailableBuffer(), decision.Response)
		chunk.out.Write(append(line, '\n'))
	}
}

func decideWriteError(w *bytes.Buffer, line int, message string) {
	w.WriteString(`{"error":{"line":`)
	w.WriteString(strconv.Itoa(line))
	w.WriteString(`,"message":`)
	msg, _ := json.Marshal(message)
	w.Write(msg)
	w.WriteString("}}\n")
}

// writeSampleRequests writes n Delivery API requests for the artifact's
// mboxes and views, varied the way a site's traffic is: new and returning
// visitors, 1 to 3 executed mboxes with parameters, prefetched views, page
// loads, several browsers and pages. The same seed gives the same requests.
func writeSampleRequests(w io.Writer, art *ondevice.Artifact, n int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	mboxes := art.LocalMboxes
	if len(mboxes) == 0 {
		mboxes = art.MboxNames()
	}
	views := art.ViewNames()
	userAgents := []string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
	}
	pages := []string{"https://www.example.com/", "https://www.example.com/cart", "https://shop.example.co.uk/products/shoes?color=red", "https://www.example.com/search?q=boots#results"}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := 0; i < n; i++ {
		req := delivery.DeliveryRequest{
			RequestID: fmt.Sprintf("req-%d", i+1),
			ID:        &delivery.VisitorID{TntID: fmt.Sprintf("%016x%016x.28_0", rng.Uint64(), rng.Uint64()%1000)},
			Context: &delivery.Context{
				Channel:   delivery.ChannelWeb,
				UserAgent: userAgents[rng.IntN(len(userAgents))],
				Address:   &delivery.Address{URL: pages[rng.IntN(len(pages))], ReferringURL: "https://www.google.com/"},
			},
		}
		if len(mboxes) > 0 {
			req.Execute = &delivery.ExecuteRequest{}
			for j, count := 0, 1+rng.IntN(3); j < count; j++ {
				m := delivery.MboxRequest{Index: j + 1, Name: mboxes[rng.IntN(len(mboxes))]}
				if rng.IntN(2) == 0 {
					m.Parameters = delivery.Parameters{demo.ParamLoyaltyTier: []string{"gold", "silver", "bronze"}[rng.IntN(3)]}
				}
				req.Execute.Mboxes = append(req.Execute.Mboxes, m)
			}
			if rng.IntN(4) == 0 {
				req.Execute.PageLoad = &delivery.RequestDetails{}
			}
		}
		if len(views) > 0 && rng.IntN(3) == 0 {
			req.Prefetch = &delivery.PrefetchRequest{Views: []delivery.ViewRequest{{Name: views[rng.IntN(len(views))]}}}
		}
		if err := enc.Encode(&req); err != nil {
			return fmt.Errorf("writing sample requests: %w", err)
		}
	}
	return nil
}
