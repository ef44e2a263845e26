package edge

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// forwardAuth is the handler of a route with ForwardAuth: it asks the auth service about
// each request (see site.ForwardAuth) and lets it through to next only on a 2xx answer,
// with the declared headers of that answer set on it. Client-sent headers of those names
// are removed first, whatever the answer, so that a client cannot forge an identity.
//
// Deny by default: an answer other than 2xx goes back to the client as it is (status, the
// headers in passedBack, a body of at most maxForwardAuthBody bytes); an auth service that
// cannot be reached, fails or does not answer within the timeout gets the client a 503
// (the app is never asked).
type forwardAuth struct {
	next   http.Handler
	site   string
	denied routeDenier
	cfg    site.ForwardAuth
	url    string
}

// maxForwardAuthBody bounds the body of an auth service's refusal that is passed back.
const maxForwardAuthBody = 64 << 10

// passedBack are the headers of a refusal sent to the client with it: what a login flow
// needs.
var passedBack = []string{"Www-Authenticate", "Location", "Set-Cookie", "Content-Type", "Cache-Control"}

// forwardAuthClient asks the auth services: no redirects followed (a redirect is an
// answer, for the client), no proxy from the environment, idle connections kept.
var forwardAuthClient = &http.Client{
	Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: time.Minute, // the route's timeout, on the context, comes first
		ForceAttemptHTTP2:     true,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// newForwardAuth returns the ForwardAuth handler of route r of st in front of next.
func newForwardAuth(st *Site, r *site.Route, next http.Handler, d Denials) (http.Handler, error) {
	cfg := r.ForwardAuth.WithDefaults()
	if cfg.URL == nil || (cfg.URL.Scheme != "http" && cfg.URL.Scheme != "https") || cfg.URL.Host == "" {
		return nil, errors.New("forward_auth: want an http or https URL with a host")
	}
	return &forwardAuth{next: next, site: st.Name, denied: newRouteDenier(st, d), cfg: cfg, url: cfg.URL.String()}, nil
}

// Unwrap returns the handler forwardAuth protects.
func (f *forwardAuth) Unwrap() http.Handler { return f.next }

func (f *forwardAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for _, h := range f.cfg.ResponseHeaders {
		delete(r.Header, h)
	}
	ctx, cancel := context.WithTimeout(r.Context(), f.cfg.Timeout)
	defer cancel()
	res, err := forwardAuthClient.Do(f.subrequest(ctx, r))
	if err != nil {
		f.fail(w, r, err)
		return
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxForwardAuthBody+1))
	if err != nil {
		f.fail(w, r, err)
		return
	}
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		for _, h := range f.cfg.ResponseHeaders {
			if vs := res.Header[h]; len(vs) > 0 {
				r.Header[h] = vs
			}
		}
		f.next.ServeHTTP(w, r)
		return
	}
	f.denied.denials.Count(f.site, DenyForwardAuth)
	for _, h := range passedBack {
		if vs := res.Header[h]; len(vs) > 0 {
			w.Header()[h] = vs
		}
	}
	if len(body) > maxForwardAuthBody || res.StatusCode < 300 || res.StatusCode > 599 {
		w.Header().Del("Content-Type")
		status := res.StatusCode
		if status < 300 || status > 599 {
			status = http.StatusForbidden
		}
		writeStatusPage(w, r, f.denied.pages.Page(status), status)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write(body)
}

// subrequest is the question about r: a GET carrying r's method, URI, host, scheme and
// client address in X-Forwarded-* headers, and the configured headers of r.
func (f *forwardAuth) subrequest(ctx context.Context, r *http.Request) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.url, nil) // the URL was checked
	for _, h := range f.cfg.RequestHeaders {
		if vs := r.Header[h]; len(vs) > 0 {
			req.Header[h] = vs
		}
	}
	req.Header.Set("X-Forwarded-Method", r.Method)
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-Host", r.Host)
	req.Header.Set("X-Forwarded-Uri", r.URL.RequestURI())
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		req.Header.Set("X-Forwarded-For", ip)
	}
	return req
}

// fail denies r because the auth service could not answer: 503.
func (f *forwardAuth) fail(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() == nil { // the client left: nothing to say about the service
		slog.Default().Warn("forward auth failed; request denied", "site", f.site, "auth_url", f.cfg.URL.Redacted(), "err", err)
	}
	f.denied.deny(w, r, http.StatusServiceUnavailable, DenyForwardAuthError)
}
