package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/sourcegraph/conc"
	"go.uber.org/zap"

	"github.com/targetflow/targetflow/delivery"
	"github.com/targetflow/targetflow/target"
)

// Content security policies of the HTML pages: the explorer runs its own
// inline script and calls this server only; the rendered page runs only its
// own script, the one carrying the visitor state and the serverState,
// allowed by a nonce made for each answer, so that no script in offer
// content can run; its images are the app's (or, against a real edge,
// https ones). Nothing loads a script or a style from outside the app.
const (
	indexCSP      = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'"
	pageCSPFormat = "default-src 'none'; script-src 'nonce-%s'; style-src 'unsafe-inline'; img-src 'self' https:"
	imageCSP      = "default-src 'none'; style-src 'unsafe-inline'"
)

// serveIndex renders the endpoint explorer page, with what the visitor's
// AMCV_ cookie says (the endpoints it calls pass that cookie on).
func (a *app) serveIndex(w http.ResponseWriter, r *http.Request) {
	cookie := target.ParseVisitorCookie(target.VisitorCookieFromRequest(r, a.cfg.OrganizationID), a.now())
	view := indexView{
		VisitorCookieName: target.VisitorCookieName(a.cfg.OrganizationID),
		ECID:              cookie.MarketingCloudVisitorID,
		OptedOut:          cookie.OptedOut,
		Malformed:         cookie.Malformed,
	}
	var html bytes.Buffer
	if err := a.index.Execute(&html, view); err != nil {
		writeError(w, http.StatusInternalServerError, "rendering the page: "+err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", indexCSP)
	_, _ = w.Write(html.Bytes())
}

// serveImage serves the stand-in pictures of the demo artifact's offers
// (/img/hero-season.jpg …): drawings embedded in the app, as SVG.
func (a *app) serveImage(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	base := strings.TrimSuffix(name, path.Ext(name))
	data, err := fs.ReadFile(staticFiles, "static/img/"+base+".svg")
	if base == "" || strings.ContainsAny(base, "/.") || err != nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/svg+xml")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", imageCSP)
	_, _ = w.Write(data)
}

// executePageLoad executes the page load (the global mbox): all the offers
// of a page at load time.
func (a *app) executePageLoad(w http.ResponseWriter, r *http.Request) {
	vr, err := readVisitorRequest(r, a.cfg.OrganizationID)
	if err != nil {
		writeFailure(w, "get_offers", err)
		return
	}
	req := vr.deliveryRequest()
	req.Execute = &delivery.ExecuteRequest{PageLoad: &delivery.RequestDetails{}}
	a.getOffers(w, r, vr.getOffersOptions(req))
}

// executeMbox executes the mboxes of ?mbox=a,b (index = position); 204
// without mbox.
func (a *app) executeMbox(w http.ResponseWriter, r *http.Request) {
	vr, err := readVisitorRequest(r, a.cfg.OrganizationID)
	if err != nil {
		writeFailure(w, "get_offers", err)
		return
	}
	mboxes, err := names(vr.query, "mbox")
	if err != nil {
		writeFailure(w, "get_offers", err)
		return
	}
	if len(mboxes) == 0 {
		writeNoContent(w)
		return
	}
	req := vr.deliveryRequest()
	req.Execute = &delivery.ExecuteRequest{Mboxes: mboxRequests(mboxes)}
	a.getOffers(w, r, vr.getOffersOptions(req))
}

// prefetchMbox executes ?mbox=... and prefetches ?prefetch=... in one
// request; 204 when both are absent.
func (a *app) prefetchMbox(w http.ResponseWriter, r *http.Request) {
	vr, err := readVisitorRequest(r, a.cfg.OrganizationID)
	if err != nil {
		writeFailure(w, "get_offers", err)
		return
	}
	execute, err := names(vr.query, "mbox")
	if err != nil {
		writeFailure(w, "get_offers", err)
		return
	}
	prefetch, err := names(vr.query, "prefetch")
	if err != nil {
		writeFailure(w, "get_offers", err)
		return
	}
	if len(execute) == 0 && len(prefetch) == 0 {
		writeNoContent(w)
		return
	}
	req := vr.deliveryRequest()
	if len(execute) > 0 {
		req.Execute = &delivery.ExecuteRequest{Mboxes: mboxRequests(execute)}
	}
	if len(prefetch) > 0 {
		req.Prefetch = &delivery.PrefetchRequest{Mboxes: mboxRequests(prefetch)}
	}
	a.getOffers(w, r, vr.getOffersOptions(req))
}

// getOffers is the synchronous path: call, then answer.
func (a *app) getOffers(w http.ResponseWriter, r *http.Request, opts target.GetOffersOptions) {
	resp, err := a.client.GetOffers(r.Context(), opts)
	if err != nil {
		a.targetFailed(w, r, "get_offers", err)
		return
	}
	writeOffers(w, resp)
}

// prefetchViewOptions reads ?view=a,b and builds the sample's view
// prefetch: a fresh request id and the sample's customer ids. A nil
// options with a nil error means there is nothing to prefetch (204).
func prefetchViewOptions(r *http.Request, orgID string, newID func() string) (*target.GetOffersOptions, bool, error) {
	vr, err := readVisitorRequest(r, orgID)
	if err != nil {
		return nil, false, err
	}
	views, err := names(vr.query, "view")
	if err != nil {
		return nil, false, err
	}
	async, err := asyncFlag(vr.query)
	if err != nil {
		return nil, false, err
	}
	if len(views) == 0 {
		return nil, false, nil
	}
	req := vr.deliveryRequest()
	req.RequestID = newID()
	req.Prefetch = &delivery.PrefetchRequest{Views: viewRequests(views)}
	opts := vr.getOffersOptions(req)
	opts.CustomerIDs = sampleCustomerIDs()
	return &opts, async, nil
}

// prefetchView prefetches the views of ?view=...; with async=true it takes
// the sample's callback path (the Python 2.7 style): the call runs on its
// own goroutine and hands its outcome to a success or an error callback,
// and the handler waits for the callback as the sample waits on its
// AsyncResult.
func (a *app) prefetchView(w http.ResponseWriter, r *http.Request) {
	opts, async, err := prefetchViewOptions(r, a.cfg.OrganizationID, a.newID)
	if err != nil {
		writeFailure(w, "get_offers", err)
		return
	}
	if opts == nil {
		writeNoContent(w)
		return
	}
	if !async {
		a.getOffers(w, r, *opts)
		return
	}
	wait := getOffersWithCallbacks(r.Context(), a.client, *opts,
		func(resp *target.Response) { writeOffers(w, resp) },
		func(err error) { a.targetFailed(w, r, "get_offers", err) },
	)
	wait()
}

// prefetchViewFuture is /prefetchViewAsyncio: with async=true the call is
// started as a future (the Go rendering of asyncio.to_thread) and awaited.
func (a *app) prefetchViewFuture(w http.ResponseWriter, r *http.Request) {
	opts, async, err := prefetchViewOptions(r, a.cfg.OrganizationID, a.newID)
	if err != nil {
		writeFailure(w, "get_offers", err)
		return
	}
	if opts == nil {
		writeNoContent(w)
		return
	}
	if !async {
		a.getOffers(w, r, *opts)
		return
	}
	future := a.client.GetOffersAsync(r.Context(), *opts)
	resp, err := future.Wait(r.Context())
	if err != nil {
		a.targetFailed(w, r, "get_offers", err)
		return
	}
	writeOffers(w, resp)
}

// getOffersWithCallbacks is the Go rendering of the Python SDK's
// options["callback"] and options["err_callback"]: it starts GetOffers on a
// goroutine and calls exactly one of onOffers or onError with the outcome.
// The returned wait blocks until that callback has returned; the goroutine
// is owned by a conc.WaitGroup, so a panic in a callback is re-raised by
// wait, on the caller's goroutine.
func getOffersWithCallbacks(ctx context.Context, client *target.Client, opts target.GetOffersOptions,
	onOffers func(*target.Response), onError func(error)) (wait func()) {
	var wg conc.WaitGroup
	wg.Go(func() {
		resp, err := client.GetOffers(ctx, opts)
		if err != nil {
			onError(err)
			return
		}
		onOffers(resp)
	})
	return wg.Wait
}

// sendNotifications turns the sample's body into one display notification
// per displayed mbox and view and sends them.
func (a *app) sendNotifications(w http.ResponseWriter, r *http.Request) {
	vr, err := readVisitorRequest(r, a.cfg.OrganizationID)
	if err != nil {
		writeFailure(w, "send_notifications", err)
		return
	}
	body, err := decodeNotificationsBody(r.Body)
	if err != nil {
		writeFailure(w, "send_notifications", err)
		return
	}
	req := vr.deliveryRequest()
	req.Notifications = body.notifications(a.now(), a.newID)
	resp, err := a.client.SendNotifications(r.Context(), target.SendNotificationsOptions{
		Request:            req,
		TargetCookie:       vr.targetCookie,
		TargetLocationHint: vr.locationHint,
		VisitorCookie:      vr.visitorCookie,
	})
	if err != nil {
		a.targetFailed(w, r, "send_notifications", err)
		return
	}
	writeOffers(w, resp)
}

// renderPage renders a page whose Target call (execute the page load and
// the mboxes of ?mbox=..., prefetch the views of ?view=... and the mboxes
// of ?prefetch=... for at.js) runs in parallel with the simulated other
// work of --work, and reports both in a Server-Timing header. The page
// shows the offers as a visitor would see them and carries the visitor
// state and the serverState in its script.
func (a *app) renderPage(w http.ResponseWriter, r *http.Request) {
	vr, err := readVisitorRequest(r, a.cfg.OrganizationID)
	if err != nil {
		writeFailure(w, "get_offers", err)
		return
	}
	var lists [3][]string
	for i, param := range []string{"mbox", "view", "prefetch"} {
		if lists[i], err = names(vr.query, param); err != nil {
			writeFailure(w, "get_offers", err)
			return
		}
	}
	mboxes, views, prefetch := lists[0], lists[1], lists[2]
	req := vr.deliveryRequest()
	req.Execute = &delivery.ExecuteRequest{PageLoad: &delivery.RequestDetails{}, Mboxes: mboxRequests(mboxes)}
	if len(views) > 0 || len(prefetch) > 0 {
		req.Prefetch = &delivery.PrefetchRequest{Mboxes: mboxRequests(prefetch)}
		if len(views) > 0 {
			req.Prefetch.Views = viewRequests(views)
		}
	}

	var resp *target.Response
	timings, err := runAlongside(r.Context(), a.cfg.Work, func(ctx context.Context) error {
		var callErr error
		resp, callErr = a.client.GetOffers(ctx, vr.getOffersOptions(req))
		return callErr
	})
	w.Header().Set("Server-Timing", timings.serverTiming())
	if err != nil {
		a.targetFailed(w, r, "get_offers", err)
		return
	}
	nonce := newNonce()
	view, err := newPageView(resp, timings, nonce)
	var html bytes.Buffer
	if err == nil {
		err = a.page.Execute(&html, view)
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "rendering the page: "+err.Error())
		return
	}
	setTargetCookies(w, resp.TargetCookie, resp.TargetLocationHintCookie)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", fmt.Sprintf(pageCSPFormat, nonce))
	_, _ = w.Write(html.Bytes())
}

// newNonce returns a fresh Content-Security-Policy nonce: 128 random bits.
func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return base64.StdEncoding.EncodeToString(b[:])
}

// targetFailed logs a failed Target call and answers it: 500 with the
// sample's message, or nothing when the visitor has gone away.
func (a *app) targetFailed(w http.ResponseWriter, r *http.Request, call string, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		a.logger.Debug("visitor went away during the Target call", zap.String("path", r.URL.Path), zap.Error(err))
		return
	}
	a.logger.Warn("Target call failed", zap.String("call", call), zap.String("path", r.URL.Path), zap.Error(err))
	writeFailure(w, call, err)
}
