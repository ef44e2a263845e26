package edge

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/edgectl/edge/edge/proxy"
)

// TestBatcherForLoopRequest: batcherFor gives a request of the HTTP/1.1 loop, under its
// own context, what batcherOf finds in that context (its connection's helloConn), request
// after request, and nothing while plainHTTP1Writes is set; any other request gets
// batcherOf's answer.
func TestBatcherForLoopRequest(t *testing.T) {
	hc := &helloConn{}
	base := context.WithValue(context.Background(), helloConnKey{}, hc)
	c := &h1Conn{}
	for i := range 3 { // one response per request, the connection's lookup kept
		w := &h1Response{c: c}
		w.ctx.Context = base
		r := httptest.NewRequest("GET", "/", nil)
		r = r.WithContext(&w.ctx)
		if got, want := batcherFor(w, r), batcherOf(r); got != want || got != proxy.Batcher(h1Batcher{hc}) {
			t.Fatalf("request %d: batcherFor = %v, batcherOf = %v; want the helloConn's", i, got, want)
		}
	}
	w := &h1Response{c: c}
	w.ctx.Context = base
	plainHTTP1Writes.Store(true)
	got := batcherFor(w, httptest.NewRequest("GET", "/", nil).WithContext(&w.ctx))
	plainHTTP1Writes.Store(false)
	if got != nil {
		t.Errorf("plainHTTP1Writes: batcherFor = %v; want nil", got)
	}
	// Under another context (a handler's own), the request's context decides.
	other := httptest.NewRequest("GET", "/", nil)
	if got := batcherFor(w, other); got != nil {
		t.Errorf("request under another context: batcherFor = %v; want batcherOf's nil", got)
	}
	if got := batcherFor(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil).WithContext(base)); got != proxy.Batcher(h1Batcher{hc}) {
		t.Errorf("other writer: batcherFor = %v; want batcherOf's", got)
	}
}
