package edge

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/internal/reqcancel"
)

// TestH3ReqCtxHook: under a connection context carrying h3CancelSource, a request's
// h3ReqCtx takes reqcancel.AfterFunc on its hook (no allocation, unlike context.AfterFunc
// on quic-go's context), and the function runs when quic-go's context ends while the
// handler runs on its worker: h3WorkerPool.serve fires the hook.
func TestH3ReqCtxHook(t *testing.T) {
	connCtx := reqcancel.WithSource(context.Background(), h3CancelSource{})
	quicCtx, cancel := context.WithCancel(connCtx)
	defer cancel()
	c := &h3ReqCtx{Context: quicCtx}
	if n := testing.AllocsPerRun(100, func() { reqcancel.AfterFunc(c, func() {}).Stop() }); n != 0 {
		t.Fatalf("reqcancel.AfterFunc on an h3ReqCtx: %v allocations; want 0 (the hook)", n)
	}
	if h := (h3CancelSource{}).Hook(quicCtx); h != nil {
		t.Fatal("a hook for quic-go's own context")
	}

	p := newH3Pool(1)
	ran := make(chan struct{})
	registered := make(chan struct{})
	r := httptest.NewRequest("GET", "/", nil).WithContext(c)
	go func() {
		<-registered
		cancel()
	}()
	p.serve(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		reg := reqcancel.AfterFunc(r.Context(), func() { close(ran) })
		close(registered)
		select {
		case <-ran:
		case <-time.After(10 * time.Second):
			t.Error("the registered function did not run when the context ended")
		}
		reg.Stop()
	}), httptest.NewRecorder(), r)
}

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
