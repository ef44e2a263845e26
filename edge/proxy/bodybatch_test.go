package proxy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgectl/edge/edge/site"
)

// recBatcher records the batch calls of a response and the bytes written inside a batch.
type recBatcher struct {
	w     *batchProbe
	calls []string
	onEnd func()
}

func (b *recBatcher) StartBatch() { b.calls = append(b.calls, "start"); b.w.on = true }

func (b *recBatcher) EndBatch() error {
	b.calls = append(b.calls, "end")
	b.w.on = false
	if b.onEnd != nil {
		b.onEnd()
	}
	return nil
}

// batchProbe is a ResponseWriter counting the body bytes written inside and outside a
// batch.
type batchProbe struct {
	http.ResponseWriter
	on          bool
	in, outside int
}

func (w *batchProbe) Write(p []byte) (int, error) {
	if w.on {
		w.in += len(p)
	} else {
		w.outside += len(p)
	}
	return w.ResponseWriter.Write(p)
}

// TestCopyBodyBatches: the direct forward path batches the body of a known length of 4 KiB
// or more (every byte written inside a batch, which it leaves on at the end for the server
// to end), and never a smaller body, an event stream or a body of unknown length; a slow
// body's batch ends before the proxy waits for the rest (the upstream sends the rest only
// then).
func TestCopyBodyBatches(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	be := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		switch r.URL.Path {
		case "/sse":
			w.Header().Set("Content-Type", "text/event-stream")
		case "/chunked":
			w.(http.Flusher).Flush() // no Content-Length: chunked
		case "/slow":
			w.Header().Set("Content-Length", strconv.Itoa(2*n))
			w.Write([]byte(strings.Repeat("s", n)))
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-time.After(time.Minute): // the test fails below instead of hanging
			}
		default:
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		w.Write([]byte(strings.Repeat("x", n)))
	})
	h := mustHandler(t, newManager(t, Options{}), site.Route{Path: "/", Upstreams: []*url.URL{be.URL}})
	for _, tc := range []struct {
		path    string
		batched bool
	}{
		{"/?n=15", false},
		{"/?n=4095", false},
		{"/?n=4096", true},
		{"/?n=65536", true},
		{"/sse?n=65536", false},
		{"/chunked?n=65536", false},
		{"/slow?n=8192", true},
	} {
		t.Run(tc.path, func(t *testing.T) {
			probe := &batchProbe{ResponseWriter: httptest.NewRecorder()}
			b := &recBatcher{w: probe}
			slow := strings.HasPrefix(tc.path, "/slow")
			if slow {
				b.onEnd = func() { once.Do(func() { close(release) }) }
			}
			ctx, cancel := context.WithCancel(WithInfo(context.Background(), &Info{Batch: b}))
			defer cancel()
			req := httptest.NewRequestWithContext(ctx, "GET", "http://site.test"+tc.path, nil)
			start := time.Now()
			h.ServeHTTP(probe, req)
			calls := strings.Join(b.calls, " ")
			if got := probe.in > 0; got != tc.batched || probe.on != tc.batched {
				t.Errorf("%d bytes batched, %d not, batch left on %v (calls %q); want batched %v", probe.in, probe.outside, probe.on, calls, tc.batched)
			}
			if tc.batched && probe.outside != 0 {
				t.Errorf("%d body bytes written outside a batch", probe.outside)
			}
			if slow && (!strings.HasPrefix(calls, "start end start") || time.Since(start) > 50*time.Second) {
				t.Errorf("batch calls %q; want the first batch ended before the rest came", calls)
			}
		})
	}
}
