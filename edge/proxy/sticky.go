package proxy

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/edgectl/edge/edge/site"
)

// stickyToken is the cookie value naming upstream u for the sticky cookie named cookie:
// 96 bits of SHA-256 over both, URL-safe base64 (16 characters). Every edge server
// computes the same value without sharing anything, whatever the other upstreams of the
// route and whatever the snapshot; it shows the upstream's address to nobody who does not
// already know it (it is a hash, not a secret: whoever knows the URL can compute it; a
// client gains nothing by choosing among a route's upstreams, which balancing would give
// it anyway).
func stickyToken(cookie string, u *url.URL) string {
	h := sha256.New()
	h.Write([]byte("edge sticky v1\x00"))
	h.Write([]byte(cookie))
	h.Write([]byte{0})
	h.Write([]byte(u.String()))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:12])
}

// stickyCookie is the Set-Cookie value that pins a client to the upstream whose token is
// given: Secure (edge serves HTTPS), HttpOnly unless turned off, SameSite, Path and the
// optional Max-Age of s (defaults applied).
func stickyCookie(s *site.Sticky, token string) string {
	c := &http.Cookie{
		Name:     s.Cookie,
		Value:    token,
		Path:     s.Path,
		Secure:   true,
		HttpOnly: !s.NoHTTPOnly,
	}
	switch s.SameSite {
	case site.SameSiteStrict:
		c.SameSite = http.SameSiteStrictMode
	case site.SameSiteNone:
		c.SameSite = http.SameSiteNoneMode
	default:
		c.SameSite = http.SameSiteLaxMode
	}
	if s.MaxAge > 0 {
		c.MaxAge = max(1, int(s.MaxAge.Seconds()))
	}
	return c.String()
}

// stuckTarget returns the index of the target the request's sticky cookie names, when
// that target is available and untried; else -1 (no cookie, a value naming no upstream of
// the route, or an upstream that is down or ejected): the request is balanced and the
// cookie set again. A client sending the cookie several times (paths overlapping) is
// pinned by the first value naming an upstream of the route. The Cookie headers are
// scanned in place: no allocation.
func (h *Handler) stuckTarget(r *http.Request, tried uint64) int {
	if h.tokens == nil {
		return -1
	}
	name := h.cfg.Sticky.Cookie
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			k, v, ok := strings.Cut(textproto.TrimString(part), "=")
			if !ok || k != name {
				continue
			}
			i, ok := h.tokens[v]
			if !ok {
				continue
			}
			var now int64
			if (i < 64 && tried&(1<<i) != 0) || !h.targets[i].up.availableNow(&now) {
				return -1
			}
			return i
		}
	}
	return -1
}

// initSticky sets the sticky cookie of every target and the token index; nothing without
// Sticky.
func (h *Handler) initSticky() {
	s := h.cfg.Sticky
	if s == nil {
		return
	}
	h.tokens = make(map[string]int, len(h.targets))
	for i := range h.targets {
		t := &h.targets[i]
		tok := stickyToken(s.Cookie, t.url)
		t.cookie = stickyCookie(s, tok)
		h.tokens[tok] = i
	}
}

// availableNow is available without the end of the ejection.
func (up *upstream) availableNow(now *int64) bool {
	ok, _ := up.available(now)
	return ok
}
