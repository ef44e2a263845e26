package proxy

import (
	"context"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/edgectl/edge/edge/internal/edgetest"
	"github.com/edgectl/edge/edge/site"
)

// TestCopyBodyOneBatchWhenThere: a body of known length that is all there when the proxy
// reads it leaves in one batch, although it takes several reads (the connection's 16 KiB
// buffer, then the 32 KiB copy buffer): the batch is not ended between reads that do not
// wait (tryBody). The upstream writes each response in one write, which loopback delivers
// at once; the request is repeated a few times on the kept-alive upstream connection so
// that a split delivery (a small first window) cannot fail the test.
func TestCopyBodyOneBatchWhenThere(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("tryBody reads without waiting on Linux only (rawio)")
	}
	const n = 40 << 10
	body := strings.Repeat("x", n)
	up := edgetest.CannedUpstream(t, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"+
		"Content-Length: "+strconv.Itoa(n)+"\r\n\r\n"+body)
	h := mustHandler(t, newManager(t, Options{}), site.Route{Path: "/", Upstreams: []*url.URL{up}})
	var calls string
	for range 5 {
		rec := httptest.NewRecorder()
		probe := &batchProbe{ResponseWriter: rec}
		b := &recBatcher{w: probe}
		ctx, cancel := context.WithCancel(WithInfo(context.Background(), &Info{Batch: b}))
		req := httptest.NewRequestWithContext(ctx, "GET", "http://site.test/", nil)
		h.ServeHTTP(probe, req)
		cancel()
		if rec.Body.String() != body {
			t.Fatalf("body of %d bytes; want the upstream's %d", rec.Body.Len(), n)
		}
		calls = strings.Join(b.calls, " ")
		if calls == "start" && probe.in == n {
			return
		}
	}
	t.Fatalf("batch calls %q; want one batch, left on for the server to end", calls)
}
