package proxy

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"path"
	"strings"
)

// CleanPath returns the request path used for matching routes and forwarded upstream:
// rooted, with "." and ".." segments and repeated slashes resolved (a trailing slash is
// kept), so "/api/../admin" is "/admin". p is the decoded path (url.URL.Path): "%2e%2e"
// is a ".." segment and "%2f" a slash here, as an app decoding the path would see them.
func CleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] == '/' && !needsClean(p) {
		return p
	}
	c := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// needsClean reports whether p has "//", "/./" or "/../" segments (or ends in "/." or
// "/..").
func needsClean(p string) bool {
	for i := 0; i < len(p); i++ {
		if p[i] != '/' || i+1 >= len(p) {
			continue
		}
		switch rest := p[i+1:]; {
		case rest[0] == '/':
			return true
		case rest == "." || strings.HasPrefix(rest, "./"):
			return true
		case rest == ".." || strings.HasPrefix(rest, "../"):
			return true
		}
	}
	return false
}

// cleanURLPath replaces u's path by CleanPath of it when that differs, so the upstream gets
// the path the route matched, with no dot-segment left to climb out of a base path. The
// raw (escaped) form is then dropped: "/a/%2e%2e/b" is forwarded as "/b". A path that
// needs no cleaning is forwarded as the client escaped it ("/files/a%2Fb" stays).
func cleanURLPath(u *url.URL) {
	if c := CleanPath(u.Path); c != u.Path {
		u.Path, u.RawPath = c, ""
	}
}

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
