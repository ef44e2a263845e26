package edge

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/edgectl/edge/edge/site"
)

// corsHandler answers a route's CORS preflights at the edge and adds the CORS headers to
// the responses for allowed origins. It wraps the encodeHandler (or the route's handler).
// The route's upstream's own Access-Control-* response headers are replaced: the edge
// owns CORS on the route.
type corsHandler struct {
	next      http.Handler
	anyOrigin bool
	exact     map[string]bool // "https://app.example.com"
	wild      []wildOrigin
	methods   map[string]bool
	allowM    string // Access-Control-Allow-Methods
	anyHeader bool
	headers   map[string]bool // lower-case
	allowH    string          // Access-Control-Allow-Headers
	expose    string
	creds     bool
	maxAge    string
}

// wildOrigin is "https://*.example.com": the scheme's prefix and the host's suffix (with
// the port, if any).
type wildOrigin struct{ prefix, suffix string }

// wrapCORS returns h wrapped in a corsHandler when route r declares CORS, else h.
func wrapCORS(h http.Handler, r *site.Route) (http.Handler, error) {
	if r.CORS == nil {
		return h, nil
	}
	c := r.CORS.WithDefaults()
	if err := c.Check(); err != nil {
		return nil, err
	}
	ch := &corsHandler{next: h, exact: map[string]bool{}, methods: map[string]bool{}, headers: map[string]bool{},
		allowM: strings.Join(c.Methods, ", "), expose: strings.Join(c.Expose, ", "), creds: c.Credentials}
	for _, o := range c.Origins {
		scheme, host, _ := strings.Cut(o, "://")
		switch {
		case o == "*":
			ch.anyOrigin = true
		case strings.HasPrefix(host, "*."):
			ch.wild = append(ch.wild, wildOrigin{prefix: scheme + "://", suffix: host[1:]})
		default:
			ch.exact[o] = true
		}
	}
	for _, m := range c.Methods {
		ch.methods[m] = true
	}
	var names []string
	for _, hd := range c.Headers {
		if hd == "*" {
			ch.anyHeader = true
			continue
		}
		ch.headers[strings.ToLower(hd)] = true
		names = append(names, hd)
	}
	ch.allowH = strings.Join(names, ", ")
	if ch.anyHeader {
		ch.allowH = "*"
	}
	if c.MaxAge > 0 {
		ch.maxAge = strconv.FormatInt(int64(c.MaxAge.Seconds()), 10)
	}
	return ch, nil
}

// Unwrap returns the wrapped handler.
func (c *corsHandler) Unwrap() http.Handler { return c.next }

// ServeHTTP answers a preflight, or serves r with the CORS headers added.
func (c *corsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if isUpgrade(r) {
		c.next.ServeHTTP(w, r) // WebSocket: the app checks Origin itself
		return
	}
	origin := r.Header.Get("Origin")
	if r.Method == http.MethodOptions && origin != "" && r.Header.Get("Access-Control-Request-Method") != "" {
		c.preflight(w, r, origin)
		return
	}
	cw := &corsWriter{ResponseWriter: w, c: c}
	if origin != "" && c.allowed(origin) {
		cw.origin = origin
	}
	c.next.ServeHTTP(cw, r)
	if !cw.done {
		cw.WriteHeader(http.StatusOK) // an empty response gets the headers too
	}
}

// preflight answers an OPTIONS preflight: 204 with the allowed methods and headers, or 403
// when the origin, the method or a header is not allowed.
func (c *corsHandler) preflight(w http.ResponseWriter, r *http.Request, origin string) {
	h := w.Header()
	h["Vary"] = []string{"Origin, Access-Control-Request-Method, Access-Control-Request-Headers"}
	method := r.Header.Get("Access-Control-Request-Method")
	if !c.allowed(origin) || !(c.methods[method] || method == "GET" || method == "HEAD" || method == "POST") ||
		!c.headersAllowed(r.Header["Access-Control-Request-Headers"]) {
		writeError(w, r, nil, http.StatusForbidden)
		return
	}
	c.allowOrigin(h, origin)
	h["Access-Control-Allow-Methods"] = []string{c.allowM}
	if c.allowH != "" {
		h["Access-Control-Allow-Headers"] = []string{c.allowH}
	}
	if c.maxAge != "" {
		h["Access-Control-Max-Age"] = []string{c.maxAge}
	}
	w.WriteHeader(http.StatusNoContent)
}

// allowOrigin sets Access-Control-Allow-Origin (and -Credentials) for an allowed origin.
func (c *corsHandler) allowOrigin(h http.Header, origin string) {
	if c.anyOrigin && !c.creds {
		h["Access-Control-Allow-Origin"] = []string{"*"}
	} else {
		h["Access-Control-Allow-Origin"] = []string{origin}
	}
	if c.creds {
		h["Access-Control-Allow-Credentials"] = []string{"true"}
	}
}

// allowed reports whether origin, as the browser sent it, is allowed. Origins are compared
// in lower case; a wildcard covers one or more labels, not the bare domain.
func (c *corsHandler) allowed(origin string) bool {
	if c.anyOrigin {
		return true
	}
	if len(origin) > 512 {
		return false
	}
	o := strings.ToLower(origin)
	if c.exact[o] {
		return true
	}
	for _, wo := range c.wild {
		if len(o) > len(wo.prefix)+len(wo.suffix) && strings.HasPrefix(o, wo.prefix) && strings.HasSuffix(o, wo.suffix) {
			if validLabels(o[len(wo.prefix) : len(o)-len(wo.suffix)]) {
				return true
			}
		}
	}
	return false
}

// validLabels reports whether s is dot-separated non-empty DNS labels (letters, digits,
// hyphens): what a wildcard origin's "*" may stand for.
func validLabels(s string) bool {
	for _, l := range strings.Split(s, ".") {
		if l == "" || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return false
		}
	}
	return true
}

// headersAllowed reports whether every header of an Access-Control-Request-Headers field
// is allowed, reading at most 64 names of 4 KiB (a longer list is refused).
func (c *corsHandler) headersAllowed(values []string) bool {
	if c.anyHeader {
		return true
	}
	n, size := 0, 0
	for _, v := range values {
		size += len(v)
		for _, name := range strings.Split(v, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if name == "" {
				continue
			}
			if n++; n > site.MaxCORSList || size > 4<<10 || !c.headers[name] {
				return false
			}
		}
	}
	return true
}
