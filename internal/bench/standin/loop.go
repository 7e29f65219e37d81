package standin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sourcegraph/conc"

	"github.com/targetflow/targetflow/delivery"
)

// LoopConfig is what Loop posts, where and how many at once.
type LoopConfig struct {
	// BaseURL is the stand-in's (or an edge's) "http://host:port".
	BaseURL string
	// OrganizationID is the imsOrgId of the query.
	OrganizationID string
	// Visitors is the number of requests: one per visitor, numbered from 1,
	// visitor n having the tntId "%032x" of n (the README's visitors files).
	Visitors int
	// Concurrency is the number of goroutines posting (default 256).
	Concurrency int
	// Mboxes are the executed mboxes (default hero and cart).
	Mboxes []string
	// Timeout, when positive, gives every call a context of its own that
	// ends after it, as targetflow run's --timeout does (one per attempt).
	Timeout time.Duration
	// Decode decodes every answer into the Delivery API model as the client
	// does (delivery.DecodeResponse over a recycled buffer holding the
	// whole answer, response tokens shared between answers), instead of
	// discarding it.
	Decode bool
}

// LoopResult counts the answers of a Loop.
type LoopResult struct {
	// OK is the number of 2xx answers read to their end.
	OK int64
	// Failed is the number of calls that failed or were answered non-2xx.
	Failed int64
	// FirstError is the first failure, nil when none failed.
	FirstError error
}

// Loop posts cfg.Visitors Delivery API requests to cfg.BaseURL from
// cfg.Concurrency goroutines over one keep-alive net/http client, reads
// every answer to its end and discards it (with cfg.Decode, decodes it;
// with cfg.Timeout, each call has a timeout of its own). It returns when
// every request was answered or ctx ended (then with ctx's error); its
// goroutines end before it returns.
func Loop(ctx context.Context, cfg LoopConfig) (LoopResult, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 256
	}
	if len(cfg.Mboxes) == 0 {
		cfg.Mboxes = []string{"hero", "cart"}
	}
	if _, err := url.Parse(cfg.BaseURL); err != nil || cfg.BaseURL == "" {
		return LoopResult{}, fmt.Errorf("standin: base URL %q: must be http://host:port", cfg.BaseURL)
	}
	transport := &http.Transport{
		MaxIdleConns:        cfg.Concurrency * 2,
		MaxIdleConnsPerHost: cfg.Concurrency * 2,
		IdleConnTimeout:     90 * time.Second,
	}
	defer transport.CloseIdleConnections()
	p := &poster{
		client:   &http.Client{Transport: transport},
		endpoint: cfg.BaseURL + "/rest/v1/delivery?imsOrgId=" + url.QueryEscape(cfg.OrganizationID) + "&sessionId=",
		cfg:      cfg,
	}
	if cfg.Decode {
		p.tokens = delivery.NewSharedObjects(64, 1<<20)
	}
	res := Visit(ctx, cfg.Visitors, cfg.Concurrency, p.post)
	return res, ctx.Err()
}

// Visit calls call for visitors 1 to visitors, each once, from concurrency
// goroutines, until all are done or ctx ended, and counts the calls that
// succeeded and failed. Its goroutines end before it returns.
func Visit(ctx context.Context, visitors, concurrency int, call func(ctx context.Context, n int64) error) LoopResult {
	var (
		next, ok, failed atomic.Int64
		firstOnce        sync.Once
		first            error
		wg               conc.WaitGroup
	)
	for range max(concurrency, 1) {
		wg.Go(func() {
			// A context per goroutine, as each of the pipeline's workers
			// has: what a call derives from it registers there, not with
			// the one ctx of every goroutine under its lock.
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			for ctx.Err() == nil {
				n := next.Add(1)
				if n > int64(visitors) {
					return
				}
				if err := call(ctx, n); err != nil {
					failed.Add(1)
					firstOnce.Do(func() { first = err })
					continue
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	return LoopResult{OK: ok.Load(), Failed: failed.Load(), FirstError: first}
}

// poster makes the calls of a Loop.
type poster struct {
	client   *http.Client
	endpoint string
	cfg      LoopConfig
	tokens   *delivery.SharedObjects // with cfg.Decode
	buffers  sync.Pool               // of *bytes.Buffer, with cfg.Decode
}

// post makes the call of visitor n.
func (p *poster) post(ctx context.Context, n int64) error {
	if p.cfg.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.cfg.Timeout)
		defer cancel()
	}
	requestID := id(n, 1)
	body := AppendRequest(make([]byte, 0, 768), n, requestID, p.cfg.Mboxes)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint+id(n, 2)+"&version=0.1.0", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = http.Header{
		"Content-Type":      {"application/json"},
		"Accept":            {"application/json"},
		"X-Exc-Sdk":         {"AdobeTargetGo"},
		"X-Exc-Sdk-Version": {"0.1.0"},
		"X-Request-Id":      {requestID},
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.Copy(io.Discard, resp.Body)
		return errors.New("standin: answered " + resp.Status)
	}
	return p.read(resp.Body)
}

// read reads an answer to its end: discarded, or with cfg.Decode decoded.
func (p *poster) read(body io.Reader) error {
	if !p.cfg.Decode {
		_, err := io.Copy(io.Discard, body)
		return err
	}
	buf, ok := p.buffers.Get().(*bytes.Buffer)
	if !ok {
		buf = new(bytes.Buffer)
	}
	defer p.buffers.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(body); err != nil {
		return err
	}
	_, _, err := delivery.DecodeResponse(buf.Bytes(), p.tokens)
	return err
}

// id is a UUID-shaped identifier of visitor n, distinct per salt.
func id(n, salt int64) string {
	var b [36]byte
	s := fmt.Appendf(b[:0], "%08x-%04x-4%03x-8%03x-%012x", uint32(n), salt, 0, 0, n)
	return string(s)
}

// AppendRequest appends to dst the body targetflow run sends for visitor n
// with --execute mboxes (the default telemetry on): the same members in
// the same order and of the same size, with the visitor's tntId, requestId
// and a telemetry entry of an earlier call.
func AppendRequest(dst []byte, n int64, requestID string, mboxes []string) []byte {
	dst = append(dst, `{"requestId":"`...)
	dst = append(dst, requestID...)
	dst = append(dst, `","id":{"tntId":"`...)
	dst = fmt.Appendf(dst, "%032x", n)
	dst = append(dst, `"},"context":{"channel":"web","timeOffsetInMinutes":0},"experienceCloud":{"analytics":{"supplementalDataId":"`...)
	dst = fmt.Appendf(dst, "%016X-%016X", uint64(n), uint64(n)*2654435761)
	dst = append(dst, `","logging":"server_side"}},"execute":{"mboxes":[`...)
	for i, name := range mboxes {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"index":`...)
		dst = strconv.AppendInt(dst, int64(i), 10)
		dst = append(dst, `,"name":`...)
		dst = strconv.AppendQuote(dst, name)
		dst = append(dst, '}')
	}
	dst = append(dst, `]},"telemetry":{"entries":[{"requestId":"`...)
	dst = append(dst, id(n, 3)...)
	dst = append(dst, `","timestamp":1796158712790,"mode":"edge","execution":21.03,"parsing":0.03,`+
		`"features":{"decisioningMethod":"server-side","executeMboxCount":`...)
	dst = strconv.AppendInt(dst, int64(len(mboxes)), 10)
	dst = append(dst, `},"request":{"timeToFirstByte":20.93,"download":0.03,"responseSize":1207}}]}}`...)
	return dst
}
