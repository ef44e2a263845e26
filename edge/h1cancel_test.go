package edge

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/proxy"
)

// TestH1ClientGoneCancelsUpstream: an HTTP/1.1 client closing its connection while the
// proxied request waits for the upstream's answer cancels the upstream request (the
// upstream's request context ends: the proxy closed its connection), on the second
// request of a keep-alive connection as on the first. The request is client_closed and
// the upstream is spared. Through edge's loop the cancellation reaches the proxy through
// the request's reqcancel hook, not context.AfterFunc.
func TestH1ClientGoneCancelsUpstream(t *testing.T) {
	for _, second := range []bool{false, true} {
		t.Run(map[bool]string{false: "first", true: "second"}[second], func(t *testing.T) {
			arrived, ended := make(chan string, 2), make(chan struct{}, 2)
			b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				arrived <- r.URL.Path
				if r.URL.Path == "/quick" {
					io.WriteString(w, "quick")
					return
				}
				select {
				case <-r.Context().Done():
					ended <- struct{}{}
				case <-time.After(10 * time.Second):
				}
			}))
			t.Cleanup(b.Close)
			srv, buf := faultServer(t, mustURL(b.URL), nil)
			c, br := dialShopH1(t, srv.Addr().String())
			lines := 1
			if second {
				lines = 2
				io.WriteString(c, "GET /quick HTTP/1.1\r\nHost: shop.example.com\r\n\r\n")
				res, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(res.Body)
				if err != nil || string(body) != "quick" {
					t.Fatalf("first request: %q, %v", body, err)
				}
				<-arrived
			}
			io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: shop.example.com\r\n\r\n")
			select {
			case <-arrived:
			case <-time.After(10 * time.Second):
				t.Fatal("the request did not reach the upstream within 10 s")
			}
			c.Close() // the client goes away while the upstream works on its request
			select {
			case <-ended:
			case <-time.After(10 * time.Second):
				t.Fatal("the upstream request was not cancelled within 10 s of the client leaving")
			}
			line := accessLines(t, buf, lines)[lines-1]
			if line["outcome"] != proxy.OutcomeClientClosed {
				t.Errorf("access log outcome %v; want client_closed", line["outcome"])
			}
			checkUpstreamSpared(t, srv)
		})
	}
}
