package edge

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
)

// TestHTTP3CancelReachesUpstream: a client that gives up on an HTTP/3 request ends the
// proxy's upstream request (through the request's hook).
func TestHTTP3CancelReachesUpstream(t *testing.T) {
	srv := startServer(t, Options{HTTPListen: Off, AdminListen: Off})
	arrived, gone := make(chan struct{}, 1), make(chan struct{}, 1)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
		gone <- struct{}{}
	}))
	defer backend.Close()
	st := testSite(t, "slow", "slow.test")
	st.Routes[0].Upstreams = []*url.URL{mustURL(backend.URL)}
	publish(t, srv, 1, st)
	client, _ := h3Client(t, srv.HTTP3Addr())
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", "https://slow.test/", nil)
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		errc <- err
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the request did not reach the backend")
	}
	cancel()
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream request was not ended when the client gave up")
	}
	if err := <-errc; err == nil {
		t.Fatal("the cancelled request succeeded")
	}
}
