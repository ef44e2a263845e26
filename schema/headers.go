package schema

import (
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"
)

// managedHeaders are the headers a site may neither set nor remove: they frame the message
// or concern one connection (hop-by-hop), and the edge and the HTTP stacks on either side
// write them. Setting one breaks every response of the site (a Content-Length that does
// not match the body, a connection-specific header HTTP/2 clients must refuse); removing
// one does nothing or breaks framing. Names are canonical; any name starting with Proxy-
// is managed too.
var managedHeaders = map[string]string{
	"Content-Length":    "it frames the response body, which the edge writes",
	"Transfer-Encoding": "it frames the response body, which the edge writes",
	"Trailer":           "it announces trailers, which belong to the framing of the response",
	"Host":              "it names the server of a request, never of a response",
	"Connection":        "it is a hop-by-hop header about one connection (HTTP/2 clients refuse responses carrying it)",
	"Keep-Alive":        "it is a hop-by-hop header about one connection (HTTP/2 clients refuse responses carrying it)",
	"Upgrade":           "it is a hop-by-hop header about one connection (HTTP/2 clients refuse responses carrying it)",
	"Te":                "it is a hop-by-hop request header about one connection",
}

// managedHeader returns why a site may not set or remove header name, or "" when it may.
func managedHeader(name string) string {
	canon := http.CanonicalHeaderKey(name)
	if why, ok := managedHeaders[canon]; ok {
		return why
	}
	if strings.HasPrefix(canon, "Proxy-") {
		return "Proxy- headers are hop-by-hop headers between a client and its proxy"
	}
	return ""
}

// checkHeaderSet returns why a site may not set header name to val, or "".
func checkHeaderSet(name, val string) string {
	if why := managedHeader(name); why != "" {
		return fmt.Sprintf("header %s cannot be set: %s", name, why)
	}
	if !httpguts.ValidHeaderFieldValue(val) {
		return fmt.Sprintf("header %s has a control character (a line break, NUL, ...) in its value; a header value is one line of text", name)
	}
	return ""
}

// checkHeaderRemove returns why a site may not remove header name, or "".
func checkHeaderRemove(name string) string {
	if why := managedHeader(name); why != "" {
		return fmt.Sprintf("header %s cannot be removed: %s", name, why)
	}
	return ""
}
