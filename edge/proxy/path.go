package proxy

import (
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

// setTarget points out at base, joining base's path and query with the request's as
// httputil.ProxyRequest.SetURL does. path, rawPath and rawQuery are the request's.
func setTarget(out *url.URL, base *url.URL, path, rawPath, rawQuery string) {
	out.Scheme = base.Scheme
	out.Host = base.Host
	if base.Path == "" || base.Path == "/" {
		out.Path, out.RawPath = path, rawPath
	} else if base.RawPath == "" && rawPath == "" {
		out.Path, out.RawPath = singleJoiningSlash(base.Path, path), ""
	} else {
		req := url.URL{Path: path, RawPath: rawPath}
		out.Path = singleJoiningSlash(base.Path, path)
		out.RawPath = singleJoiningSlash(base.EscapedPath(), req.EscapedPath())
	}
	switch {
	case base.RawQuery == "":
		out.RawQuery = rawQuery
	case rawQuery == "":
		out.RawQuery = base.RawQuery
	default:
		out.RawQuery = base.RawQuery + "&" + rawQuery
	}
}

func singleJoiningSlash(a, b string) string {
	aslash := strings.HasSuffix(a, "/")
	bslash := strings.HasPrefix(b, "/")
	switch {
	case aslash && bslash:
		return a + b[1:]
	case !aslash && !bslash:
		return a + "/" + b
	}
	return a + b
}
