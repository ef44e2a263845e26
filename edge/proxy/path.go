package proxy

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
)

// stripPrefix removes prefix from u's path (and raw path), leaving at least "/".
func stripPrefix(u *url.URL, prefix string) {
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix == "" {
		return
	}
	u.Path = trimPath(u.Path, prefix)
	if u.RawPath != "" {
		if strings.HasPrefix(u.RawPath, prefix) {
			u.RawPath = trimPath(u.RawPath, prefix)
		} else {
			u.RawPath = "" // recomputed from Path by EscapedPath
		}
	}
}

func trimPath(p, prefix string) string {
	rest, ok := strings.CutPrefix(p, prefix)
	if !ok {
		return p
	}
	if rest == "" {
		return "/"
	}
	if rest[0] != '/' {
		return "/" + rest
	}
	return rest
}

// setTarget points req at base as httputil.ProxyRequest.SetURL does (base's path and
// query joined with the request's), keeping the request's Host header for the app.
func setTarget(req *http.Request, base *url.URL) {
	host := req.Host
	(&httputil.ProxyRequest{Out: req}).SetURL(base)
	req.Host = host
}
