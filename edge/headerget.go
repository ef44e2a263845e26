package edge

import "net/http"

// headerGet is h.Get(key) for a key in canonical form (a constant such as
// "Content-Length"), without canonicalizing it again: http.Header.Get runs
// textproto.CanonicalMIMEHeaderKey on every call, several times per response on the
// HTTP/1.1 loop's path.
func headerGet(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}
