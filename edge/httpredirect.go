package edge

import (
	"net"
	"net/http"
	"strings"
	"time"
)

// serveHTTP is the handler of the plain-HTTP listener: a request for a host some site of
// the current snapshot serves is redirected to the same host, path and query over HTTPS;
// any other host gets 404, so the listener never redirects to a name it does not serve.
//
// GET and HEAD get 301 Moved Permanently (understood by every client and cached); other
// methods get 308 Permanent Redirect, which keeps the method and body. ACME HTTP-01
// challenges (SetChallenges) are answered first, also for names no site serves yet.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &responseWriter{ResponseWriter: w}
	var site *siteEntry
	host := hostOnly(r.Host)
	if s.serveHTTP01(rw, r, host) { // before the redirect, and for names not served yet
		s.observe(r, nil, rw.finish(), rw.bytes, time.Since(start), nil)
		return
	}
	snap := s.Current()
	switch e := snap.lookup(host); {
	case e == nil:
		http.Error(rw, "404 Not Found", http.StatusNotFound)
	case !strings.HasPrefix(r.URL.Path, "/") && r.URL.Path != "":
		site = e.site
		http.Error(rw, "400 Bad Request", http.StatusBadRequest)
	default:
		site = e.site
		code := http.StatusPermanentRedirect
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			code = http.StatusMovedPermanently
		}
		authority := host
		if strings.IndexByte(host, ':') >= 0 { // IPv6 literal
			authority = "[" + host + "]"
		}
		if s.redirectPort != "" {
			authority = net.JoinHostPort(host, s.redirectPort)
		}
		rw.Header().Set("Location", "https://"+authority+r.URL.RequestURI())
		rw.WriteHeader(code)
	}
	status := rw.finish()
	s.observe(r, site, status, rw.bytes, time.Since(start), nil)
}
