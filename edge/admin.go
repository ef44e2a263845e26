package edge

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// mountAdmin mounts /healthz, /readyz and /metrics on the admin mux.
func (s *Server) mountAdmin() {
	s.adminMux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	s.adminMux.HandleFunc("GET /readyz", s.readyz)
	s.adminMux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{
		ErrorLog: slogPrinter{s},
	}))
}

// readyz answers 200 once a snapshot is served and the server is not draining, 503
// otherwise; the body says which.
func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case s.draining.Load():
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("draining\n"))
	case s.state.Load() == nil:
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("no snapshot yet\n"))
	default:
		snap := s.Current()
		w.Write([]byte("ready generation=" + strconv.FormatUint(snap.Generation(), 10) + " revision=" + snap.Commit() + "\n"))
	}
}

// slogPrinter adapts the server's logger to promhttp's ErrorLog.
type slogPrinter struct{ s *Server }

func (p slogPrinter) Println(v ...any) { p.s.log.Error("edge: metrics", "err", v) }
