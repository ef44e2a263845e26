package h3srv_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/edgectl/edge/edge/internal/h3srv"
)

// ctxWaiter's handler signals started, waits for its request context to end, and
// reports the context's error on returned.
type ctxWaiter struct {
	started  chan struct{}
	returned chan error
}

func newCtxWaiter() *ctxWaiter {
	return &ctxWaiter{started: make(chan struct{}, 1), returned: make(chan error, 1)}
}

func (c *ctxWaiter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/wait" {
		w.WriteHeader(http.StatusOK)
		return
	}
	c.started <- struct{}{}
	<-r.Context().Done()
	c.returned <- r.Context().Err()
}

// TestWireClientResetCancelsContext: the client abandoning its request stream
// (STOP_SENDING and RESET_STREAM, H3_REQUEST_CANCELLED) ends the handler's request
// context; the connection stays usable.
func TestWireClientResetCancelsContext(t *testing.T) {
	for _, tc := range []struct {
		name string
		fin  bool
	}{
		{"body still open", false},
		{"request complete", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newCtxWaiter()
			ts := startServer(t, &h3srv.Server{Handler: h})
			rc := dialReady(t, ts)
			method := "GET"
			if !tc.fin {
				method = "POST"
			}
			str := rc.openRequest(t, headersFrame(reqFields(ts, method, "/wait")...), tc.fin)
			recv(t, h.started, "the handler")
			str.CancelRead(h3RequestCancelled)
			str.CancelWrite(h3RequestCancelled)
			if err := recv(t, h.returned, "the handler to return"); err == nil {
				t.Error("request context ended without an error")
			}
			rc.get(t, ts, "/")
			wantConnOpen(t, rc)
		})
	}
}

// TestWireTransportCancelCancelsContext: the same through quic-go's client, cancelling
// the request's context.
func TestWireTransportCancelCancelsContext(t *testing.T) {
	h := newCtxWaiter()
	ts := startServer(t, &h3srv.Server{Handler: h})
	ctx, cancel := context.WithCancel(guardCtx(t))
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.url("/wait"), nil)
	client := newH3Client(t)
	errc := make(chan error, 1)
	go func() {
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	recv(t, h.started, "the handler")
	cancel()
	recv(t, h.returned, "the handler to return")
	if err := recv(t, errc, "the client"); err == nil {
		t.Error("the cancelled request succeeded")
	}
}
