package h3srv_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/edgectl/edge/edge/internal/h3srv"
)

// batchKinds are responses of every shape around the batch's held last write: small,
// just under and over the held size, streamed, flushed first, with trailers, HEAD, 204.
var batchKinds = []struct {
	path   string
	method string
	status int
	body   string
	trail  string
}{
	{path: "/small", method: "GET", status: 200, body: "hello"},
	{path: "/under", method: "GET", status: 200, body: strings.Repeat("u", 1100)},
	{path: "/over", method: "GET", status: 200, body: strings.Repeat("o", 1300)},
	{path: "/big", method: "GET", status: 200, body: strings.Repeat("b", 40<<10)},
	{path: "/flushed", method: "GET", status: 200, body: "first,second"},
	{path: "/trailers", method: "GET", status: 200, body: "with trailers", trail: "done"},
	{path: "/head", method: "HEAD", status: 200},
	{path: "/empty", method: "GET", status: http.StatusNoContent},
}

// batchHandler answers each of batchKinds once all n requests run, so that their
// handlers return together and their streams end in the same batches.
func batchHandler(n int32) http.Handler {
	var mu sync.Mutex
	running := int32(0)
	all := make(chan struct{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if running++; running == n {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-r.Context().Done():
			return
		}
		switch r.URL.Path {
		case "/flushed":
			io.WriteString(w, "first,")
			w.(http.Flusher).Flush()
			io.WriteString(w, "second")
		case "/trailers":
			w.Header().Set("Trailer", "X-Result")
			io.WriteString(w, "with trailers")
			w.Header().Set("X-Result", "done")
		case "/head":
			w.Header().Set("Content-Length", "5")
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		default:
			for _, k := range batchKinds {
				if k.path == r.URL.Path {
					io.WriteString(w, k.body)
				}
			}
		}
	})
}

// TestWireBatchMixedResponses has many handlers of one connection return together, with
// responses of every shape, and checks each response whole: held last writes, writes too
// large to hold, trailers after a held write, and streams with nothing left to write all
// complete.
func TestWireBatchMixedResponses(t *testing.T) {
	const rounds = 8
	n := int32(rounds * len(batchKinds))
	ts := startServer(t, &h3srv.Server{Handler: batchHandler(n)})
	client := newH3Client(t)
	ctx := guardCtx(t)
	errs := make(chan error, n)
	for i := range int(n) {
		go func() { errs <- checkBatchKind(ctx, client, ts, i%len(batchKinds)) }()
	}
	for range n {
		if err := recv(t, errs, "a response"); err != nil {
			t.Error(err)
		}
	}
}

// checkBatchKind requests batchKinds[k] and checks the response.
func checkBatchKind(ctx context.Context, client *http.Client, ts *testServer, k int) error {
	want := batchKinds[k]
	req, _ := http.NewRequestWithContext(ctx, want.method, ts.url(want.path), nil)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", want.path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		return fmt.Errorf("%s: body: %w", want.path, err)
	case resp.StatusCode != want.status:
		return fmt.Errorf("%s: status %d, want %d", want.path, resp.StatusCode, want.status)
	case string(body) != want.body:
		return fmt.Errorf("%s: body of %d bytes %.20q, want %d bytes", want.path, len(body), body, len(want.body))
	case resp.Trailer.Get("X-Result") != want.trail:
		return fmt.Errorf("%s: trailer %q, want %q", want.path, resp.Trailer.Get("X-Result"), want.trail)
	case want.method == "HEAD" && resp.ContentLength != 5:
		return fmt.Errorf("%s: Content-Length %d, want 5", want.path, resp.ContentLength)
	}
	return nil
}

// TestWireBatchStalledStream: a stream whose client grants no more flow-control credit
// (it does not read the body) must not hold up the other responses of its batch. Each
// round, two handlers return together with responses small enough to be held; the client
// reads one and leaves the other unread, its stream window (100 bytes) full.
func TestWireBatchStalledStream(t *testing.T) {
	const rounds = 12
	var mu sync.Mutex
	var waiting []chan struct{}
	ts := startServer(t, &h3srv.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ch := make(chan struct{})
		mu.Lock()
		waiting = append(waiting, ch)
		if len(waiting) == 2 { // both of the round run: release them together
			close(waiting[0])
			close(waiting[1])
			waiting = nil
		}
		mu.Unlock()
		select {
		case <-ch:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, strings.Repeat("x", 1000))
	})})
	tr := &http3.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h3"}},
		QUICConfig:      &quic.Config{InitialStreamReceiveWindow: 100, MaxStreamReceiveWindow: 100},
	}
	t.Cleanup(func() { tr.Close() })
	client := &http.Client{Transport: tr}
	ctx := guardCtx(t)
	for i := range rounds {
		stalled := make(chan error, 1)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", ts.url(fmt.Sprintf("/stalled%d", i)), nil)
			resp, err := client.Do(req)
			if err == nil {
				t.Cleanup(func() { resp.Body.Close() }) // never read: its window stays full
			}
			stalled <- err
		}()
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.url(fmt.Sprintf("/read%d", i)), nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || len(body) != 1000 {
			t.Fatalf("round %d: read %d bytes, %v; want 1000", i, len(body), err)
		}
		if err := recv(t, stalled, "the stalled stream's response header"); err != nil {
			t.Fatalf("round %d: stalled stream: %v", i, err)
		}
	}
}
