package edge

import (
	"context"
	"net/http"
	"time"

	"github.com/edgectl/edge/edge/proxy"
)

// serveTLS is the handler of the HTTPS listener. It reads the current snapshot once and
// serves the whole request from it. The request is observed (access log, metrics) however
// the handler ends: a response aborted mid-body (http.ErrAbortHandler) is observed before
// the panic goes on to net/http, which resets the stream.
func (s *Server) serveTLS(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.ProtoMajor == 1 && headerGet(r.Header, "Upgrade") != "" {
		// It may become a hijacked connection, which Shutdown must wait for itself.
		s.upgrades.Add(1)
		defer s.upgrades.Add(-1)
	}
	if r.ProtoMajor < 3 {
		s.advertiseHTTP3(w.Header())
	}
	snap := s.Current()
	st := requestStateFor(w)
	st.rw.ResponseWriter, st.info.Batch = w, batcherFor(w, r)
	rw, info := &st.rw, &st.info
	var site *siteEntry
	defer func() {
		v := recover()
		status := rw.status
		switch {
		case v == nil:
			status = rw.finish()
		case v != http.ErrAbortHandler && info.Outcome == "":
			info.Outcome = outcomePanic
			if status == 0 {
				status = http.StatusInternalServerError
			}
		case status == 0:
			status = proxy.StatusClientClosed
		}
		s.observe(r, site, status, rw.bytes, time.Since(start), info)
		if v != nil {
			panic(v)
		}
	}()
	site = s.route(rw, r, snap, &site, st)
}

// requestState is what serveTLS keeps per request, in one allocation (or none: see
// requestStateFor): the response writer it wraps around the server's, and the proxy's
// report of the request.
type requestState struct {
	rw   responseWriter
	info proxy.Info
	ctx  proxy.InfoContext // the proxied request's context: info attached
	req  http.Request      // the proxied request (withPath's copy)
}

// requestStateFor returns a zero requestState for a request answered through w: the one
// held by the HTTP/1.1 loop's response (h1Response.state), which saves an allocation per
// request, else a new one.
func requestStateFor(w http.ResponseWriter) *requestState {
	if hw, ok := w.(*h1Response); ok && !hw.stateTaken {
		hw.stateTaken = true
		return &hw.state
	}
	return new(requestState)
}

// outcomePanic is the access log's outcome of a request whose handler panicked (a bug):
// net/http logs the panic and drops the connection.
const outcomePanic = "panic"

// route answers r from snap, in this order: 421 unless the Host belongs to the site of the
// connection's SNI; the site's client certificate (403), IP rule (403) and rate limit
// (429); 405 for CONNECT; maintenance (503); forbidden paths (404); redirects; rewrites;
// then the route with the longest path prefix (404 if none), whose handler carries the
// route's own steps (see routeHandlers). It returns the site that answered, or nil; it
// also stores it in *matched before calling the route's handler, so a request whose
// handler panics is observed with it.
func (s *Server) route(w *responseWriter, r *http.Request, snap *Snapshot, matched **siteEntry, st *requestState) *siteEntry {
	if snap == nil {
		writeError(w, r, nil, http.StatusServiceUnavailable)
		return nil
	}
	host := hostOnly(r.Host)
	site := snap.siteForRequest(r, host)
	if site == nil {
		writeError(w, r, snap.connSite(r), http.StatusMisdirectedRequest)
		return nil
	}
	*matched = site
	if !clientCertStep(w, r, site, s.metrics.access.denials()) {
		return site
	}
	if !site.headers.empty() {
		w.headers = &site.headers
	}
	if !s.admitSite(w, r, site) {
		return site
	}
	if r.Method == http.MethodConnect {
		writeError(w, r, site, http.StatusMethodNotAllowed)
		return site
	}
	if site.maintenance(w, r) {
		return site
	}
	p := cleanPath(r.URL.Path)
	if s.forbidPath(w, r, site, p) {
		return site
	}
	if rd := matchRedirect(site.redirects, host, p); rd != nil {
		if p != r.URL.Path {
			r = withPath(r.Context(), r, p)
		}
		http.Redirect(w, r, rd.location(r), rd.status)
		return site
	}
	if r2, p2 := site.rewrite(r, p); p2 != p {
		if s.forbidPath(w, r2, site, p2) { // a rewrite does not lead around them
			return site
		}
		r, p = r2, p2
	} else {
		r = r2
	}
	rt := matchRoute(site.routes, p)
	if rt == nil {
		writeError(w, r, site, http.StatusNotFound)
		return site
	}
	if rt.route != nil && rt.route.Static != nil { // no proxy below: no Info in the context, no copy of r
		if p != r.URL.Path {
			r = withPath(r.Context(), r, p)
		}
		rt.handler.ServeHTTP(w, r)
		return site
	}
	st.ctx.Init(r.Context(), &st.info) // proxy.WithInfo's, without an allocation
	rt.handler.ServeHTTP(w, st.withPath(r, p))
	return site
}

// withPath is withPath(&st.ctx, r, p), copied into st instead of a new allocation.
func (st *requestState) withPath(r *http.Request, p string) *http.Request {
	st.req = *r.WithContext(&st.ctx) // WithContext's own copy stays on the stack
	if p != r.URL.Path {
		// Seldom: the URL is then a copy of its own.
		u := *r.URL
		u.Path, u.RawPath = p, ""
		st.req.URL = &u
	}
	return &st.req
}

// withPath returns a shallow copy of r with ctx and, if it differs, the cleaned path p:
// what is routed is what is forwarded (and kept by redirects), so no dot-segment reaches
// an upstream to climb out of its base path. One copy whatever changes.
func withPath(ctx context.Context, r *http.Request, p string) *http.Request {
	r2 := r.WithContext(ctx)
	if p != r.URL.Path {
		u := *r.URL
		u.Path, u.RawPath = p, ""
		r2.URL = &u
	}
	return r2
}

// siteForRequest returns the site that may answer r, whose normalized Host is host, on its
// connection, or nil (421): the Host's site must be the site of the connection's SNI in this
// snapshot, so a site removed or moved is no longer served on connections opened before the
// swap. A connection that got the default site's certificate for an unknown or absent SNI is
// answered by the default site for any Host no other site claims.
func (s *Snapshot) siteForRequest(r *http.Request, host string) *siteEntry {
	sni := ""
	if r.TLS != nil {
		sni = r.TLS.ServerName
	}
	sni = normalizeName(sni)
	named := s.lookup(sni)
	conn := named
	if conn == nil {
		conn = s.def
	}
	if conn == nil || conn.site.pool != nil {
		return nil // a passthrough site's name now: not served here
	}
	h := named // the usual case: the Host is the SNI, looked up already
	if host != sni {
		h = s.lookup(host)
	}
	if h == nil {
		if named == nil { // the default certificate was sent: any unclaimed Host
			return conn.site
		}
		return nil
	}
	if h.site != conn.site {
		return nil
	}
	return h.site
}
