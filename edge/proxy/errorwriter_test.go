package proxy

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/edgectl/edge/edge/site"
	"github.com/edgectl/edge/tests/testenv"
)

// pagesOf is an ErrorWriter answering every status with "page <status>"; upstream says
// whether upstream 5xx bodies are replaced.
type pagesOf struct{ upstream bool }

func (p pagesOf) WriteError(w http.ResponseWriter, _ *http.Request, status int) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(status)
	fmt.Fprintf(w, "page %d", status)
}

func (p pagesOf) UpstreamPage(status int) (string, []byte, bool) {
	return "text/html", fmt.Appendf(nil, "page %d", status), p.upstream
}

// TestErrorWriter: the proxy's own errors go through the request's ErrorWriter; an
// upstream's 5xx body is replaced only when it says so, keeping the status and headers.
func TestErrorWriter(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Up", "1")
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(503)
		io.WriteString(w, "raw upstream body")
	}))
	t.Cleanup(up.Close)
	closed := testenv.DeadAddr(t)
	m := newManager(t, Options{})
	live := mustHandler(t, m, site.Route{Path: "/", Upstreams: []*url.URL{mustURL(t, up.URL)}})
	dead := mustNamedHandler(t, m, "dead", site.Route{Path: "/", Upstreams: []*url.URL{mustURL(t, "http://"+closed)}})
	for _, tc := range []struct {
		h        http.Handler
		ew       ErrorWriter
		status   int
		body, up string
	}{
		{dead, pagesOf{}, 502, "page 502", ""},
		{dead, nil, 502, "502 Bad Gateway\n", ""},
		{live, pagesOf{upstream: true}, 503, "page 503", "1"},
		{live, pagesOf{}, 503, "raw upstream body", "1"},
	} {
		h, ew := tc.h, tc.ew
		fe := front(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r = r.WithContext(WithInfo(r.Context(), new(Info)))
			if ew != nil && !SetErrorWriter(r.Context(), ew) {
				t.Error("SetErrorWriter refused a context with an Info")
			}
			h.ServeHTTP(w, r)
		}))
		tr := &http.Transport{DisableCompression: true}
		res, err := (&http.Client{Transport: tr}).Get(fe.URL)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		tr.CloseIdleConnections()
		if res.StatusCode != tc.status || string(b) != tc.body || res.Header.Get("X-Up") != tc.up {
			t.Errorf("ew %v: %d %q X-Up %q; want %d %q %q", tc.ew, res.StatusCode, b, res.Header.Get("X-Up"), tc.status, tc.body, tc.up)
		}
		if tc.body == "page 503" && (res.Header.Get("Content-Encoding") != "" || res.ContentLength != int64(len(tc.body))) {
			t.Errorf("replaced body: Content-Encoding %q, length %d", res.Header.Get("Content-Encoding"), res.ContentLength)
		}
	}
}
