package edge

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/edgectl/edge/edge/site"
)

// encodeHandler is the innermost wrapper of a route's handler: it sets the route's
// Cache-Control rules on responses and compresses them for clients that accept it.
// Upgrade requests (WebSocket) pass untouched.
type encodeHandler struct {
	next      http.Handler
	compress  *compressConfig // nil: no compression
	cache     cacheRules
	siteStats *compressStats // nil: not counted
}

// compressConfig is a route's Compress, prepared.
type compressConfig struct {
	exact     map[string]bool // media types
	majors    map[string]bool // "text" for "text/*"
	suffixes  map[string]bool // "+json" for "application/*+json", by major: "application/+json"
	minSize   int64
	encodings []string
}

// wrapEncode returns h wrapped in an encodeHandler when route r declares compression or
// Cache-Control rules, else h itself.
func wrapEncode(h http.Handler, r *site.Route, stats *compressStats) (http.Handler, error) {
	if r.Compress == nil && len(r.CacheControl) == 0 {
		return h, nil
	}
	e := &encodeHandler{next: h, siteStats: stats}
	var err error
	if e.cache, err = newCacheRules(r.CacheControl); err != nil {
		return nil, err
	}
	if r.Compress != nil {
		if e.compress, err = newCompressConfig(r.Compress.WithDefaults()); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// newCompressConfig validates c, its defaults applied, and prepares it.
func newCompressConfig(c site.Compress) (*compressConfig, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	if len(c.Encodings) > 3 {
		return nil, fmt.Errorf("compress: %d encodings; at most 3", len(c.Encodings))
	}
	cc := &compressConfig{exact: map[string]bool{}, majors: map[string]bool{}, suffixes: map[string]bool{},
		minSize: c.MinSize, encodings: c.Encodings}
	for _, t := range c.Types {
		major, minor, _ := strings.Cut(t, "/")
		switch {
		case minor == "*":
			cc.majors[major] = true
		case strings.HasPrefix(minor, "*+"):
			cc.suffixes[major+"/"+minor[1:]] = true
		default:
			cc.exact[t] = true
		}
	}
	return cc, nil
}

// Unwrap returns the wrapped handler.
func (e *encodeHandler) Unwrap() http.Handler { return e.next }

// ServeHTTP serves r through the wrapped handler with a writer that applies the rules.
func (e *encodeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if isUpgrade(r) {
		e.next.ServeHTTP(w, r)
		return
	}
	ew := &encodeWriter{ResponseWriter: w, h: e, head: r.Method == http.MethodHead}
	if len(e.cache) > 0 {
		ew.cacheValue = e.cache.match(r.URL.Path)
	}
	if e.compress != nil {
		ew.candidate = true
		if r.Header.Get("Range") == "" && !hasToken(r.Header["Cache-Control"], "no-transform") {
			ew.coding = negotiateEncoding(r.Header["Accept-Encoding"], e.compress.encodings)
		}
	}
	defer ew.release()
	e.next.ServeHTTP(ew, r)
	ew.finish()
}

// isUpgrade reports whether r asks for another protocol on its connection (HTTP/1.1
// Upgrade, HTTP/2 extended CONNECT): such responses are never rewritten.
func isUpgrade(r *http.Request) bool {
	return r.Method == http.MethodConnect || (r.ProtoMajor == 1 && r.Header.Get("Upgrade") != "")
}

// compressibleType reports whether the Content-Type value ct is one of the configured
// media types.
func (c *compressConfig) compressibleType(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	major, minor, ok := strings.Cut(mt, "/")
	if !ok || major == "" || minor == "" {
		return false
	}
	if c.exact[mt] || c.majors[major] {
		return true
	}
	if i := strings.LastIndexByte(minor, '+'); i >= 0 {
		return c.suffixes[major+"/"+minor[i:]]
	}
	return false
}

// hasToken reports whether the comma-separated values hold token (case-insensitive),
// reading at most 4 KiB of them.
func hasToken(values []string, token string) bool {
	budget := 4 << 10
	for _, v := range values {
		if len(v) > budget {
			v = v[:budget]
		}
		budget -= len(v)
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			t, _, _ = strings.Cut(t, "=")
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
