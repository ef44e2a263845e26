package edge

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/edgectl/edge/edge/site"
)

func TestResponseWriter(t *testing.T) {
	ops, _ := newHeaderOps(site.Headers{Set: map[string]string{"X-Site": "shop"}, Remove: []string{"Server"}})

	t.Run("headers applied on the final status only", func(t *testing.T) {
		rec := &codesRecorder{ResponseRecorder: httptest.NewRecorder()}
		w := &responseWriter{ResponseWriter: rec, headers: &ops}
		w.Header().Set("Link", "</app.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		if w.status != 0 {
			t.Fatalf("status after 103 = %d; want still 0", w.status)
		}
		w.Header().Set("Server", "node")
		w.Write([]byte("hello"))
		w.WriteHeader(500) // superfluous: ignored
		if w.finish() != 200 || w.bytes != 5 {
			t.Errorf("status, bytes = %d, %d; want 200, 5", w.status, w.bytes)
		}
		if rec.Header().Get("X-Site") != "shop" || rec.Header().Get("Server") != "" {
			t.Errorf("headers = %v; want X-Site set and Server removed", rec.Header())
		}
		if len(rec.codes) != 2 || rec.codes[0] != 103 || rec.codes[1] != 200 {
			t.Errorf("statuses sent = %v; want [103 200]", rec.codes)
		}
	})
	t.Run("empty response", func(t *testing.T) {
		rec := httptest.NewRecorder()
		w := &responseWriter{ResponseWriter: rec, headers: &ops}
		if w.finish() != 200 || rec.Header().Get("X-Site") != "shop" {
			t.Errorf("empty response: status %d, headers %v", w.status, rec.Header())
		}
	})
	t.Run("flush sends the status", func(t *testing.T) {
		rec := httptest.NewRecorder()
		w := &responseWriter{ResponseWriter: rec}
		http.NewResponseController(w).Flush()
		if !rec.Flushed || w.status != 200 {
			t.Errorf("flushed %v, status %d; want true, 200", rec.Flushed, w.status)
		}
	})
	t.Run("hijack unsupported", func(t *testing.T) {
		w := &responseWriter{ResponseWriter: httptest.NewRecorder()}
		if _, _, err := w.Hijack(); err == nil || w.hijacked {
			t.Error("Hijack on a recorder succeeded")
		}
	})
}

func TestProtoLabel(t *testing.T) {
	for _, tc := range []struct {
		major, minor int
		want         string
	}{{2, 0, "h2"}, {1, 1, "http/1.1"}, {1, 0, "http/1.0"}, {1, 9, "http/1.1"}} {
		r := &http.Request{ProtoMajor: tc.major, ProtoMinor: tc.minor}
		if got := protoLabel(r); got != tc.want {
			t.Errorf("protoLabel(%d.%d) = %q; want %q", tc.major, tc.minor, got, tc.want)
		}
	}
}

// codesRecorder records every WriteHeader call; httptest.ResponseRecorder takes a 1xx
// status for the final one.
type codesRecorder struct {
	*httptest.ResponseRecorder
	codes []int
}

func (r *codesRecorder) WriteHeader(code int) {
	r.codes = append(r.codes, code)
	if code >= 200 {
		r.ResponseRecorder.WriteHeader(code)
	}
}
