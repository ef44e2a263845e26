package proxy

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
)

// ErrorWriter makes the bodies of one request's error responses (a site's error pages),
// so the proxy needs to know nothing of sites. Attach it with SetErrorWriter.
type ErrorWriter interface {
	// WriteError answers r with status as the whole response: the proxy's own errors
	// (502, 503, 504, 400, 408), with Retry-After and Cache-Control already set.
	WriteError(w http.ResponseWriter, r *http.Request, status int)
	// UpstreamPage returns the body and content type that replace the body of an
	// upstream's response with status (5xx only), or ok false to pass it on as it is.
	UpstreamPage(status int) (contentType string, body []byte, ok bool)
}

// SetErrorWriter makes ew answer the errors of the request whose context is ctx, which
// must carry an Info (WithInfo); it reports whether it did.
func SetErrorWriter(ctx context.Context, ew ErrorWriter) bool {
	info := infoFrom(ctx)
	if info == nil {
		return false
	}
	info.errors = ew
	return true
}

// replacedHeaders describe the upstream's body: a replaced body does not carry them.
var replacedHeaders = []string{"Content-Encoding", "Content-Range", "ETag", "Last-Modified", "Content-Disposition", "Trailer", "Transfer-Encoding", "Content-Md5", "Digest"}

// modifyResponse replaces the body of an upstream's 5xx response with the request's error
// page, when its ErrorWriter has one: the status and the other headers (Retry-After,
// Set-Cookie...) are kept; the upstream's body is closed unread.
func (h *Handler) modifyResponse(resp *http.Response) error {
	if resp.StatusCode < 500 || resp.StatusCode > 599 || resp.Request == nil {
		return nil
	}
	info := infoFrom(resp.Request.Context())
	if info == nil || info.errors == nil {
		return nil
	}
	ctype, body, ok := info.errors.UpstreamPage(resp.StatusCode)
	if !ok {
		return nil
	}
	_ = resp.Body.Close()
	for _, k := range replacedHeaders {
		resp.Header.Del(k)
	}
	resp.Header.Set("Content-Type", ctype)
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	resp.Header.Set("Cache-Control", "no-store")
	resp.Header.Set("X-Content-Type-Options", "nosniff")
	resp.TransferEncoding, resp.Trailer, resp.Uncompressed = nil, nil, false
	resp.ContentLength = int64(len(body))
	if resp.Request.Method == http.MethodHead {
		body = nil
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return nil
}
